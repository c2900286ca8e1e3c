"""``dockyard volume create|ls|inspect|rm|prune``, docker's way."""

import sys

from dockyard.cli.context import Context, confirm, daemon_error, parse_filters, parse_or_usage
from dockyard.cli.flags import Flag, UsageError
from dockyard.cli.network import print_inspected
from dockyard.cli.output import human_size, render_rows
from dockyard.client.http import APIError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LS_HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Mountpoint": "MOUNTPOINT",
              "Labels": "LABELS", "Scope": "SCOPE", "CreatedAt": "CREATED AT"}


def _kv(values: list[str]) -> dict[str, str]:
    return {k: v for k, _, v in (value.partition("=") for value in values)}


def create(ctx: Context, args: list[str]) -> int:
    flags = [Flag(("-d", "--driver"), "driver", default="local", help="Specify volume driver "
                  "name"),
             Flag(("--label",), "label", "list", help="Set metadata for a volume"),
             Flag(("--name",), "name", help="Specify volume name"),
             Flag(("-o", "--opt"), "opt", "list", help="Set driver specific options")]
    opts, rest = parse_or_usage("volume create", "dockyard volume create [OPTIONS] [VOLUME]",
                                "Create a volume", flags, args, (0, 1))
    if rest and opts["name"] and rest[0] != opts["name"]:
        raise UsageError(f'conflicting options: cannot specify a volume-name through both '
                         f'--name and as a positional arg ("{opts["name"]}", "{rest[0]}")')
    name = rest[0] if rest else opts["name"] or ""
    try:
        doc = ctx.client().post("/volumes/create", {
            "Name": name, "Driver": opts["driver"], "DriverOpts": _kv(opts["opt"]),
            "Labels": _kv(opts["label"])})
    except APIError as err:
        return daemon_error(err)
    print(doc["Name"])
    return 0


def ls(ctx: Context, args: list[str]) -> int:
    flags = [Flag(("-f", "--filter"), "filter", "list", help="Provide filter values"),
             Flag(("--format",), "format", help="Format output using a custom template"),
             Flag(("-q", "--quiet"), "quiet", "bool", help="Only display volume names")]
    opts, _ = parse_or_usage("volume ls", "dockyard volume ls [OPTIONS]", "List volumes",
                             flags, args, (0, 0))
    try:
        doc = ctx.client().get("/volumes", {"filters": parse_filters(opts["filter"])})
    except APIError as err:
        return daemon_error(err)
    volumes: list[dict[str, Any]] = sorted(doc.get("Volumes") or [], key=lambda v: v["Name"])
    if opts["quiet"]:
        for v in volumes:
            print(v["Name"])
        return 0
    rows = [{**v, "Labels": ",".join(f"{k}={x}" for k, x in (v.get("Labels") or {}).items())}
            for v in volumes]
    sys.stdout.write(render_rows(opts["format"] or "table {{.Driver}}\t{{.Name}}", rows,
                                 LS_HEADERS))
    return 0


def inspect(ctx: Context, args: list[str]) -> int:
    opts, refs = parse_or_usage(
        "volume inspect", "dockyard volume inspect [OPTIONS] VOLUME [VOLUME...]",
        "Display detailed information on one or more volumes",
        [Flag(("-f", "--format"), "format", help="Format output using a custom template")],
        args, (1, None))
    docs, status = [], 0
    client = ctx.client()
    for ref in refs:
        try:
            docs.append(client.get(f"/volumes/{quote(ref)}"))
        except APIError as err:
            print(f"Error response from daemon: {err.message}", file=sys.stderr)
            status = 1
    print_inspected(docs, opts["format"])
    return status


def rm(ctx: Context, args: list[str]) -> int:
    opts, refs = parse_or_usage(
        "volume rm", "dockyard volume rm [OPTIONS] VOLUME [VOLUME...]",
        "Remove one or more volumes",
        [Flag(("-f", "--force"), "force", "bool", help="Force the removal of one or more "
              "volumes")], args, (1, None))
    status = 0
    client = ctx.client()
    for ref in refs:
        try:
            client.request("DELETE", f"/volumes/{quote(ref)}",
                           query={"force": "1" if opts["force"] else None})
        except APIError as err:
            print(f"Error response from daemon: {err.message}", file=sys.stderr)
            status = 1
            continue
        print(ref)
    return status


def prune(ctx: Context, args: list[str]) -> int:
    flags = [Flag(("-a", "--all"), "all", "bool", help="Remove all unused volumes, not just "
                  "anonymous ones"),
             Flag(("--filter",), "filter", "list", help="Provide filter values"),
             Flag(("-f", "--force"), "force", "bool", help="Do not prompt for confirmation")]
    opts, _ = parse_or_usage("volume prune", "dockyard volume prune [OPTIONS]",
                             "Remove unused local volumes", flags, args, (0, 0))
    what = "all local volumes" if opts["all"] else "all anonymous local volumes"
    if not opts["force"] and not confirm(f"WARNING! This will remove {what} not used by at "
                                         "least one container."):
        return 0
    filters = list(opts["filter"]) + (["all=true"] if opts["all"] else [])
    try:
        doc = ctx.client().post("/volumes/prune", None, {"filters": parse_filters(filters)})
    except APIError as err:
        return daemon_error(err)
    deleted = doc.get("VolumesDeleted") or []
    if deleted:
        print("Deleted Volumes:")
        for name in deleted:
            print(name)
        print()
    print(f"Total reclaimed space: {human_size(int(doc.get('SpaceReclaimed') or 0), 4)}")
    return 0


COMMANDS = {"create": create, "ls": ls, "list": ls, "inspect": inspect, "rm": rm,
            "remove": rm, "prune": prune}


def main(ctx: Context, args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        if args and args[0] not in ("-h", "--help"):
            raise UsageError(f'unknown command "{args[0]}" for "dockyard volume"')
        print("\nUsage:  dockyard volume COMMAND\n\nManage volumes\n\nCommands:\n"
              "  create      Create a volume\n"
              "  inspect     Display detailed information on one or more volumes\n"
              "  ls          List volumes\n"
              "  prune       Remove unused local volumes\n"
              "  rm          Remove one or more volumes\n")
        return 0
    return COMMANDS[args[0]](ctx, args[1:])
