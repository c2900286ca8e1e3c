"""``dockyard update``: a container's restart policy and memory limits, as ``docker
update`` changes them (the daemon warns of the resources it cannot limit)."""

import sys

from dockyard.cli.context import Context, parse_or_usage
from dockyard.cli.flags import Flag, UsageError
from dockyard.client.http import APIError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FLAGS = [
    Flag(("--restart",), "restart", help="Restart policy to apply when a container exits"),
    Flag(("-m", "--memory"), "memory", help="Memory limit"),
    Flag(("--memory-swap",), "memory_swap", help='Swap limit equal to memory plus swap: '
         '-1 to enable unlimited swap'),
    Flag(("--cpus",), "cpus", help="Number of CPUs"),
    Flag(("-c", "--cpu-shares"), "cpu_shares", "int", help="CPU shares (relative weight)"),
    Flag(("--pids-limit",), "pids_limit", "int", help="Tune container pids limit (set -1 "
         "for unlimited)"),
]


def update_body(opts: "dict[str, Any]") -> "dict[str, Any]":
    """The ``POST /containers/{id}/update`` body of the flags given."""
    from dockyard.cli.run_opts import memory_flag, restart_flag

    body: dict[str, Any] = {}
    if opts["restart"]:
        body["RestartPolicy"] = restart_flag(opts["restart"])
    if opts["memory"]:
        body["Memory"] = memory_flag(opts["memory"], "-m, --memory")
    if opts["memory_swap"]:
        body["MemorySwap"] = memory_flag(opts["memory_swap"], "--memory-swap",
                                          allow_unlimited=True)
    if opts["cpus"]:
        try:
            body["NanoCpus"] = round(float(opts["cpus"]) * 1e9)
        except ValueError:
            raise UsageError(f'invalid argument "{opts["cpus"]}" for "--cpus" flag: failed '
                             f'to parse {opts["cpus"]} as a rational number') from None
    if opts["cpu_shares"]:
        body["CpuShares"] = opts["cpu_shares"]
    if opts["pids_limit"]:
        body["PidsLimit"] = opts["pids_limit"]
    return body


def update(ctx: Context, args: list[str]) -> int:
    opts, refs = parse_or_usage(
        "update", "dockyard update [OPTIONS] CONTAINER [CONTAINER...]",
        "Update configuration of one or more containers", FLAGS, args, (1, None))
    body = update_body(opts)
    if not body:
        raise UsageError("you must provide one or more flags when using this command")
    client = ctx.client()
    failed = False
    for ref in refs:
        try:
            reply = client.post(f"/containers/{quote(ref)}/update", body)
        except APIError as err:
            print(f"Error response from daemon: {err.message}", file=sys.stderr)
            failed = True
            continue
        for warning in reply.get("Warnings") or []:
            print(f"WARNING: {warning}", file=sys.stderr)
        print(ref)
    return 1 if failed else 0
