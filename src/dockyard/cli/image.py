"""``dockyard images``, ``image ls|rm|inspect|tag|history|save|prune``, ``import``,
``load``, ``save``, ``history``, ``rmi``, ``tag``."""

import posix
import sys

from dockyard.cli.context import (
    Context,
    confirm,
    daemon_error,
    parse_filters,
    parse_or_usage,
    write_atomically,
)
from dockyard.cli.flags import Flag, UsageError
from dockyard.cli.network import print_inspected
from dockyard.cli.output import ago, human_size, render_rows
from dockyard.client import jsonlite
from dockyard.client.http import APIError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LS_FLAGS = [
    Flag(("-a", "--all"), "all", "bool", help="Show all images (default hides intermediate "
         "images)"),
    Flag(("--digests",), "digests", "bool", help="Show digests"),
    Flag(("-f", "--filter"), "filter", "list", help="Filter output based on conditions "
         "provided"),
    Flag(("--format",), "format", help="Format output using a custom template"),
    Flag(("--no-trunc",), "no_trunc", "bool", help="Don't truncate output"),
    Flag(("-q", "--quiet"), "quiet", "bool", help="Only show image IDs"),
]
LS_HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID",
              "CreatedSince": "CREATED", "Size": "SIZE", "Digest": "DIGEST",
              "CreatedAt": "CREATED AT"}


def _rows(images: "list[dict[str, Any]]", no_trunc: bool) -> "list[dict[str, Any]]":
    rows = []
    for image in images:
        image_id = image["Id"] if no_trunc else image["Id"].removeprefix("sha256:")[:12]
        for tag in image.get("RepoTags") or ["<none>:<none>"]:
            repo, _, name = tag.rpartition(":")
            rows.append({"Repository": repo, "Tag": name, "ID": image_id,
                         "CreatedSince": ago(image["Created"]), "Size":
                         human_size(image["Size"]), "Digest": "<none>",
                         "CreatedAt": str(image["Created"])})
    return rows


def ls(ctx: Context, args: list[str], cmd: str = "image ls") -> int:
    opts, rest = parse_or_usage(cmd, f"dockyard {cmd} [OPTIONS] [REPOSITORY[:TAG]]",
                                "List images", LS_FLAGS, args, (0, 1))
    filters = list(opts["filter"])
    if rest:
        filters.append(f"reference={rest[0]}")
    try:
        images = ctx.client().get("/images/json", {"filters": parse_filters(filters),
                                                   "all": "1" if opts["all"] else None})
    except APIError as err:
        return daemon_error(err)
    rows = _rows(images, opts["no_trunc"])
    if opts["quiet"]:
        for row in dict.fromkeys(r["ID"] for r in rows):
            print(row)
        return 0
    fmt = opts["format"] or "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    sys.stdout.write(render_rows(fmt, rows, LS_HEADERS))
    return 0


def rm(ctx: Context, args: list[str], cmd: str = "image rm") -> int:
    opts, refs = parse_or_usage(
        cmd, f"dockyard {cmd} [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images",
        [Flag(("-f", "--force"), "force", "bool", help="Force removal of the image"),
         Flag(("--no-prune",), "no_prune", "bool", help="Do not delete untagged parents")],
        args, (1, None))
    status = 0
    for ref in refs:
        try:
            result = ctx.client().delete(f"/images/{quote(ref)}",
                                         {"force": "1" if opts["force"] else None})
        except APIError as err:
            status = daemon_error(err)
            continue
        for entry in result:
            for action, value in entry.items():
                print(f"{action}: {value}")
    return status


def inspect(ctx: Context, args: list[str]) -> int:
    opts, refs = parse_or_usage(
        "image inspect", "dockyard image inspect [OPTIONS] IMAGE [IMAGE...]",
        "Display detailed information on one or more images",
        [Flag(("-f", "--format"), "format", help="Format output using a custom template")],
        args, (1, None))
    docs, errors = [], []
    for ref in refs:
        try:
            docs.append(ctx.client().get(f"/images/{quote(ref)}/json"))
        except APIError as err:
            errors.append(err)
    print_inspected(docs, opts["format"])
    status = 0
    for error in errors:
        status = daemon_error(error)
    return status


def tag(ctx: Context, args: list[str], cmd: str = "image tag") -> int:
    _, (source, target) = parse_or_usage(
        cmd, f"dockyard {cmd} SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
        "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", [], args, (2, 2))
    repo, tag_ = target, ""
    slash, colon = target.rfind("/"), target.rfind(":")
    if colon > slash:
        repo, tag_ = target[:colon], target[colon + 1:]
    try:
        ctx.client().request("POST", f"/images/{quote(source)}/tag",
                             query={"repo": repo, "tag": tag_ or None})
    except APIError as err:
        return daemon_error(err)
    return 0


def import_(ctx: Context, args: list[str]) -> int:
    opts, rest = parse_or_usage(
        "import", "dockyard import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
        "Import the contents from a tarball to create a filesystem image",
        [Flag(("-c", "--change"), "change", "list", help="Apply Dockerfile instruction to the "
              "created image"),
         Flag(("-m", "--message"), "message", help="Set commit message for imported image"),
         Flag(("--platform",), "platform", help="Set platform if server is multi-platform "
              "capable")], args, (1, 2))
    source = rest[0]
    if "://" in source:
        print(f"importing from a URL ({source}) needs network access, which Dockyard does "
              "not use: download the tarball and import the file", file=sys.stderr)
        return 1
    try:
        if source == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(source, "rb") as handle:
                data = handle.read()
    except OSError as err:
        print(f"open {source}: {err.strerror}", file=sys.stderr)
        return 1
    query = {"fromSrc": "-", "repo": rest[1] if len(rest) > 1 else None,
             "message": opts["message"], "changes": opts["change"] or None}
    try:
        response = ctx.client().request("POST", "/images/create", query=query, body=data,
                                        headers={"Content-Type": "application/x-tar"},
                                        stream=True)
        return _print_progress(response.lines())
    except APIError as err:
        return daemon_error(err)


def _print_progress(lines: "Any") -> int:
    """Docker's JSON progress stream: print statuses, stop at the first error."""
    for line in lines:
        doc = jsonlite.loads(line)
        if doc.get("error") or doc.get("errorDetail"):
            message = doc.get("error") or doc["errorDetail"].get("message", "")
            print(message, file=sys.stderr)
            return 1
        text = doc.get("status") or doc.get("stream") or ""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def load(ctx: Context, args: list[str]) -> int:
    opts, _ = parse_or_usage(
        "load", "dockyard load [OPTIONS]", "Load an image from a tar archive or STDIN",
        [Flag(("-i", "--input"), "input", help="Read from tar archive file, instead of STDIN"),
         Flag(("-q", "--quiet"), "quiet", "bool", help="Suppress the load output")],
        args, (0, 0))
    try:
        if opts["input"]:
            with open(opts["input"], "rb") as handle:
                data = handle.read()
        else:
            if posix.isatty(0):
                print("requested load from stdin, but stdin is empty", file=sys.stderr)
                return 1
            data = sys.stdin.buffer.read()
    except OSError as err:
        print(f"open {opts['input']}: {err.strerror}", file=sys.stderr)
        return 1
    try:
        response = ctx.client().request("POST", "/images/load", body=data,
                                        headers={"Content-Type": "application/x-tar"},
                                        stream=True)
        return _print_progress(response.lines())
    except APIError as err:
        return daemon_error(err)


HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                   "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}


def _ellipsis(text: str, width: int) -> str:
    """The docker CLI's ``Ellipsis``: at most ``width`` characters, the last one "…"."""
    return text if len(text) <= width else text[:width - 1] + "…"


def _created_at(seconds: int) -> str:
    """Go's ``time.Unix(s, 0).UTC().Format(time.RFC3339)``."""
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _history_rows(items: "list[dict[str, Any]]", human: bool, trunc: bool
                  ) -> "list[dict[str, Any]]":
    rows = []
    for item in items:
        image_id = str(item.get("Id") or "")
        if trunc:
            image_id = image_id.partition(":")[2][:12] if ":" in image_id else image_id[:12]
        created = int(item.get("Created") or 0)
        created_by = str(item.get("CreatedBy") or "").replace("\t", " ")
        size = int(item.get("Size") or 0)
        rows.append({
            "ID": image_id,
            "CreatedSince": ago(created) if human else _created_at(created),
            "CreatedAt": _created_at(created),
            "CreatedBy": _ellipsis(created_by, 45) if trunc else created_by,
            "Size": human_size(size) if human else str(size),
            "Comment": str(item.get("Comment") or ""),
        })
    return rows


def history(ctx: Context, args: list[str], cmd: str = "image history") -> int:
    opts, (ref,) = parse_or_usage(
        cmd, f"dockyard {cmd} [OPTIONS] IMAGE", "Show the history of an image",
        [Flag(("--format",), "format", help="Format output using a custom template"),
         Flag(("-H", "--human"), "human", "bool", default=True,
              help="Print sizes and dates in human readable format"),
         Flag(("--no-trunc",), "no_trunc", "bool", help="Don't truncate output"),
         Flag(("-q", "--quiet"), "quiet", "bool", help="Only show image IDs")],
        args, (1, 1))
    try:
        items = ctx.client().get(f"/images/{quote(ref)}/history")
    except APIError as err:
        return daemon_error(err)
    rows = _history_rows(items, opts["human"], not opts["no_trunc"])
    fmt = opts["format"]
    if not fmt or fmt == "table":
        fmt = ("{{.ID}}" if opts["quiet"] else
               "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
               if opts["human"] else
               "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}")
    if fmt == "{{.ID}}":
        sys.stdout.write("".join(row["ID"] + "\n" for row in rows))
        return 0
    sys.stdout.write(render_rows(fmt, rows, HISTORY_HEADERS))
    return 0


def save(ctx: Context, args: list[str], cmd: str = "image save") -> int:
    opts, refs = parse_or_usage(
        cmd, f"dockyard {cmd} [OPTIONS] IMAGE [IMAGE...]",
        "Save one or more images to a tar archive (streamed to STDOUT by default)",
        [Flag(("-o", "--output"), "output", help="Write to a file, instead of STDOUT")],
        args, (1, None))
    output = opts["output"]
    if not output and posix.isatty(1):
        print("cowardly refusing to save to a terminal. Use the -o flag or redirect",
              file=sys.stderr)
        return 1
    try:
        response = ctx.client().request("GET", "/images/get", query={"names": refs},
                                        stream=True)
    except APIError as err:
        return daemon_error(err)
    if not output:
        for chunk in response.chunks():
            sys.stdout.buffer.write(chunk)
        return 0
    return _save_to(output, response.chunks())


def _save_to(path: str, chunks: "Any") -> int:
    """``save -o``: docker's errors for a directory that is not there, then the archive
    written atomically."""
    import os
    import stat

    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(directory).st_mode
    except OSError as err:
        print(f"failed to save image: invalid output path: stat {directory}: "
              f"{(err.strerror or str(err)).lower()}", file=sys.stderr)
        return 1
    if not stat.S_ISDIR(mode):
        print(f"failed to save image: invalid output path: stat {directory}: not a directory",
              file=sys.stderr)
        return 1
    return write_atomically(path, chunks)


DANGLING_WARNING = "WARNING! This will remove all dangling images."
ALL_WARNING = ("WARNING! This will remove all images without at least one container "
               "associated to them.")


def prune(ctx: Context, args: list[str]) -> int:
    opts, _ = parse_or_usage(
        "image prune", "dockyard image prune [OPTIONS]", "Remove unused images",
        [Flag(("-a", "--all"), "all", "bool", help="Remove all unused images, not just "
              "dangling ones"),
         Flag(("--filter",), "filter", "list", help='Provide filter values (e.g. '
              '"until=<timestamp>")'),
         Flag(("-f", "--force"), "force", "bool", help="Do not prompt for confirmation")],
        args, (0, 0))
    if not opts["force"] and not confirm(ALL_WARNING if opts["all"] else DANGLING_WARNING):
        return 0
    # As docker: the mode travels as a dangling filter beside the user's own filters.
    filters = [*opts["filter"], f"dangling={'false' if opts['all'] else 'true'}"]
    from dockyard.cli.disk import prune_images

    try:
        reclaimed, text = prune_images(ctx.client(), filters)
    except APIError as err:
        return daemon_error(err)
    print(text, end="")
    print(f"Total reclaimed space: {human_size(reclaimed, 4)}")
    return 0


COMMANDS = {"ls": ls, "list": ls, "rm": rm, "remove": rm, "inspect": inspect, "tag": tag,
            "import": import_, "load": load, "history": history, "save": save,
            "prune": prune}


def main(ctx: Context, args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help") or args[0] not in (*COMMANDS, "build"):
        if args and args[0] not in ("-h", "--help"):
            raise UsageError(f'unknown command "{args[0]}" for "dockyard image"')
        print("\nUsage:  dockyard image COMMAND\n\nManage images\n\nCommands:\n"
              "  build       Build an image from a Dockerfile\n"
              "  history     Show the history of an image\n"
              "  import      Import the contents from a tarball to create a filesystem image\n"
              "  inspect     Display detailed information on one or more images\n"
              "  load        Load an image from a tar archive or STDIN\n"
              "  ls          List images\n"
              "  prune       Remove unused images\n"
              "  rm          Remove one or more images\n"
              "  save        Save one or more images to a tar archive (streamed to STDOUT by "
              "default)\n"
              "  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n")
        return 0
    if args[0] == "build":
        from dockyard.cli.build import build

        return build(ctx, args[1:], "image build")
    return COMMANDS[args[0]](ctx, args[1:])
