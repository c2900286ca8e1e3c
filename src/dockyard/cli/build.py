"""``dockyard build`` (docker's classic builder output) and ``dockyard commit``."""

import sys

from dockyard.cli.context import Context, daemon_error, parse_or_usage
from dockyard.cli.flags import Flag
from dockyard.client.http import APIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _pairs(items: "list[str] | None", keep_unset: bool) -> "dict[str, Any]":
    """KEY=VALUE items; a bare KEY takes the client's environment value, as docker's."""
    import os

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        out[key] = value if sep else os.environ.get(key) if keep_unset else ""
    return out


def build(ctx: Context, args: "list[str]", cmd: str = "build") -> int:
    opts, rest = parse_or_usage(
        cmd, f"dockyard {cmd} [OPTIONS] PATH", "Build an image from a Dockerfile",
        [Flag(("-t", "--tag"), "tag", "list", help="Name and optionally a tag "
              "(format: \"name:tag\")"),
         Flag(("-f", "--file"), "file", help="Name of the Dockerfile (default: "
              "\"PATH/Dockerfile\")"),
         Flag(("--build-arg",), "build_arg", "list", help="Set build-time variables"),
         Flag(("--label",), "label", "list", help="Set metadata for an image"),
         Flag(("--target",), "target", help="Set the target build stage to build"),
         Flag(("--no-cache",), "no_cache", "bool", help="Do not use cache when building the "
              "image"),
         Flag(("-q", "--quiet"), "quiet", "bool", help="Suppress the build output and print "
              "image ID on success"),
         Flag(("--network",), "network", help="Set the networking mode for the RUN "
              "instructions during build"),
         Flag(("--add-host",), "add_host", "list", help="Add a custom host-to-IP mapping"),
         Flag(("--rm",), "rm", "optbool", help="Remove intermediate containers after a "
              "successful build"),
         Flag(("--force-rm",), "force_rm", "bool", help="Always remove intermediate "
              "containers"),
         Flag(("--iidfile",), "iidfile", help="Write the image ID to the file")],
        args, (1, 1))
    import os

    from dockyard.client.buildctx import BuildFailed
    from dockyard.client.buildctx import build as send

    directory = rest[0]
    dockerfile = opts["file"] or "Dockerfile"
    if os.path.isabs(dockerfile) or dockerfile.startswith("../"):
        dockerfile = os.path.relpath(dockerfile, directory)
    if not os.path.isfile(os.path.join(directory, dockerfile)):
        print("unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
              f"lstat {os.path.abspath(os.path.join(directory, dockerfile))}: no such file "
              "or directory", file=sys.stderr)
        return 1
    try:
        image = send(ctx.client(), directory, tags=opts["tag"] or (), dockerfile=dockerfile,
                     build_args=_pairs(opts["build_arg"], True),
                     labels=_pairs(opts["label"], False), target=opts["target"] or "",
                     no_cache=opts["no_cache"], quiet=opts["quiet"],
                     network=opts["network"] or "", extra_hosts=opts["add_host"] or (),
                     remove=opts["rm"] is not False, force_remove=opts["force_rm"],
                     show=sys.stdout.write,
                     on_context=None if opts["quiet"] else _sending)
    except BuildFailed as err:
        print(err.message, file=sys.stderr)
        return 1
    except APIError as err:
        return daemon_error(err)
    except OSError as err:
        print(err, file=sys.stderr)
        return 1
    if opts["quiet"]:
        print(image)
    if opts["iidfile"]:
        with open(opts["iidfile"], "w") as handle:
            handle.write(image)
    return 0


def _sending(size: int) -> None:
    from dockyard.cli.output import human_size

    print(f"Sending build context to Docker daemon  {human_size(size, 4)}\n")


def commit(ctx: Context, args: "list[str]", cmd: str = "commit") -> int:
    opts, rest = parse_or_usage(
        cmd, f"dockyard {cmd} [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
        "Create a new image from a container's changes",
        [Flag(("-a", "--author"), "author", help="Author (e.g., \"John Hannibal Smith "
              "<hannibal@a-team.com>\")"),
         Flag(("-c", "--change"), "change", "list", help="Apply Dockerfile instruction to the "
              "created image"),
         Flag(("-m", "--message"), "message", help="Commit message"),
         Flag(("-p", "--pause"), "pause", "optbool", help="Pause container during commit "
              "(default true)")],
        args, (1, 2))
    repo, tag = "", ""
    if len(rest) > 1:
        name = rest[1]
        slash = name.rfind("/")
        colon = name.rfind(":")
        repo, tag = (name[:colon], name[colon + 1:]) if colon > slash else (name, "")
    query = {"container": rest[0], "repo": repo or None, "tag": tag or None,
             "author": opts["author"], "comment": opts["message"],
             "changes": opts["change"] or None,
             "pause": "0" if opts["pause"] is False else "1"}
    try:
        doc = ctx.client().request("POST", "/commit", query=query, json_body={}).json()
    except APIError as err:
        return daemon_error(err)
    print(doc["Id"])
    return 0
