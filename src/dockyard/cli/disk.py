"""``system df`` and the prunes that free what it counts: ``system prune`` and
``container prune``, with docker's tables, prompts and ``Total reclaimed space`` line."""

import sys

from dockyard.cli.context import Context, confirm, daemon_error, parse_filters, parse_or_usage
from dockyard.cli.flags import Flag, UsageError
from dockyard.cli.output import ago, human_size, render_rows, tabwrite
from dockyard.client.http import APIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from dockyard.client.http import Client

DF_HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
              "Reclaimable": "RECLAIMABLE"}
DF_DEFAULT = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"


def _reclaimable(reclaimable: int, total: int) -> str:
    """docker's RECLAIMABLE cell: with a share of the total once there is a total."""
    text = human_size(reclaimable, 4)
    return f"{text} ({reclaimable * 100 // total}%)" if total > 0 else text


def summary_rows(usage: "dict[str, Any]") -> "list[dict[str, Any]]":
    """The four rows of ``docker system df`` from a ``GET /system/df`` answer."""
    images = usage.get("Images") or []
    layers = int(usage.get("LayersSize") or 0)
    # Bytes only images in use hold: what removing every unused image cannot free.
    used = sum(i["Size"] - i["SharedSize"] for i in images
               if i.get("Containers", 0) > 0 and i["Size"] >= 0 and i["SharedSize"] >= 0)
    containers = usage.get("Containers") or []
    rw = sum(c.get("SizeRw") or 0 for c in containers)
    idle_rw = sum(c.get("SizeRw") or 0 for c in containers if c.get("State") != "running")
    volumes = usage.get("Volumes") or []
    sizes = [(v["UsageData"]["Size"], v["UsageData"]["RefCount"]) for v in volumes]
    volume_bytes = sum(size for size, _ in sizes if size >= 0)
    unused_bytes = sum(size for size, refs in sizes if size >= 0 and refs == 0)
    return [
        {"Type": "Images", "TotalCount": len(images),
         "Active": sum(1 for i in images if i.get("Containers", 0) > 0),
         "Size": human_size(layers, 4), "Reclaimable": _reclaimable(layers - used, layers)},
        {"Type": "Containers", "TotalCount": len(containers),
         "Active": sum(1 for c in containers if c.get("State") == "running"),
         "Size": human_size(rw, 4), "Reclaimable": _reclaimable(idle_rw, rw)},
        {"Type": "Local Volumes", "TotalCount": len(volumes),
         "Active": sum(1 for _, refs in sizes if refs > 0),
         "Size": human_size(volume_bytes, 4),
         "Reclaimable": _reclaimable(unused_bytes, volume_bytes)},
        {"Type": "Build Cache", "TotalCount": 0, "Active": 0, "Size": "0B",
         "Reclaimable": "0B"},
    ]


def verbose_text(usage: "dict[str, Any]") -> str:
    """``docker system df -v``: one table per kind of object."""
    from dockyard.cli.container import ps_rows

    images = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE",
               "UNIQUE SIZE", "CONTAINERS"]]
    for i in usage.get("Images") or []:
        for tag in i.get("RepoTags") or ["<none>:<none>"]:
            repo, _, name = tag.rpartition(":")
            images.append([repo, name, i["Id"].removeprefix("sha256:")[:12], ago(i["Created"]),
                           human_size(i["Size"]), human_size(i["SharedSize"], 4),
                           human_size(i["Size"] - i["SharedSize"], 4), str(i["Containers"])])
    containers = [["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED",
                   "STATUS", "NAMES"]]
    raw = usage.get("Containers") or []
    for c, row in zip(raw, ps_rows(raw, no_trunc=False), strict=True):
        local = sum(1 for m in c.get("Mounts") or [] if m.get("Type") == "volume")
        containers.append([row["ID"], row["Image"], row["Command"], str(local),
                           human_size(c.get("SizeRw") or 0), row["RunningFor"], row["Status"],
                           row["Names"]])
    volumes = [["VOLUME NAME", "LINKS", "SIZE"]]
    for v in usage.get("Volumes") or []:
        volumes.append([v["Name"], str(v["UsageData"]["RefCount"]),
                        human_size(v["UsageData"]["Size"])])
    cache = [["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"]]
    return (f"Images space usage:\n\n{tabwrite(images)}\n"
            f"Containers space usage:\n\n{tabwrite(containers)}\n"
            f"Local Volumes space usage:\n\n{tabwrite(volumes)}\n"
            f"Build cache usage: 0B\n\n{tabwrite(cache)}")


def df(ctx: Context, args: list[str]) -> int:
    opts, _ = parse_or_usage(
        "system df", "dockyard system df [OPTIONS]", "Show docker disk usage",
        [Flag(("--format",), "format", help="Format output using a custom template"),
         Flag(("-v", "--verbose"), "verbose", "bool", help="Show detailed information on "
              "space usage")], args, (0, 0))
    if opts["verbose"] and opts["format"]:
        raise UsageError("the verbose and the format options conflict")
    try:
        usage = ctx.client().get("/system/df")
    except APIError as err:
        return daemon_error(err)
    if opts["verbose"]:
        print(verbose_text(usage), end="")
        return 0
    print(render_rows(opts["format"] or DF_DEFAULT, summary_rows(usage), DF_HEADERS), end="")
    return 0


# ------------------------------------------------------------------------ prunes

def _pruner(kind: str) -> "Callable[[Client, list[str]], tuple[int, str]]":
    """The prune of ``kind`` (Containers, Networks, Volumes): (bytes reclaimed, docker's
    "Deleted Kind:" section, or nothing when nothing went)."""
    def prune(client: "Client", filters: list[str]) -> tuple[int, str]:
        doc = client.post(f"/{kind.lower()}/prune", query={"filters": parse_filters(filters)})
        deleted = doc.get(f"{kind}Deleted") or []
        text = f"Deleted {kind}:\n" + "".join(f"{d}\n" for d in deleted) + "\n" if deleted else ""
        return int(doc.get("SpaceReclaimed") or 0), text
    return prune


_prune_containers = _pruner("Containers")
_prune_networks = _pruner("Networks")
_prune_volumes = _pruner("Volumes")


def prune_images(client: "Client", filters: list[str]) -> tuple[int, str]:
    """(bytes reclaimed, docker's "Deleted Images:" section) of an image prune."""
    doc = client.post("/images/prune", query={"filters": parse_filters(filters)})
    lines = []
    for entry in doc.get("ImagesDeleted") or []:
        for key, label in (("Untagged", "untagged"), ("Deleted", "deleted")):
            if entry.get(key):
                lines.append(f"{label}: {entry[key]}\n")
    text = "Deleted Images:\n" + "".join(lines) + "\n" if lines else ""
    return int(doc.get("SpaceReclaimed") or 0), text


def system_prune(ctx: Context, args: list[str]) -> int:
    opts, _ = parse_or_usage(
        "system prune", "dockyard system prune [OPTIONS]", "Remove unused data",
        [Flag(("-a", "--all"), "all", "bool", help="Remove all unused images not just "
              "dangling ones"),
         Flag(("--filter",), "filter", "list", help='Provide filter values (e.g. '
              '"label=<key>=<value>")'),
         Flag(("-f", "--force"), "force", "bool", help="Do not prompt for confirmation"),
         Flag(("--volumes",), "volumes", "bool", help="Prune anonymous volumes")],
        args, (0, 0))
    if opts["volumes"] and any(f.partition("=")[0].strip().lower() == "until"
                               for f in opts["filter"]):
        # Refused before anything is pruned: volume prune has no "until".
        print('ERROR: The "until" filter is not supported with "--volumes"', file=sys.stderr)
        return 1
    doomed = ["all stopped containers", "all networks not used by at least one container"]
    if opts["volumes"]:
        doomed.append("all anonymous volumes not used by at least one container")
    doomed.append("all images without at least one container associated to them"
                  if opts["all"] else "all dangling images")
    doomed.append("unused build cache")
    if not opts["force"] and not confirm(
            "WARNING! This will remove:\n" + "".join(f"  - {d}\n" for d in doomed)):
        return 0
    filters = list(opts["filter"])
    image_filters = [*filters, f"dangling={'false' if opts['all'] else 'true'}"]
    client = ctx.client()
    steps = [(_prune_containers, filters), (_prune_networks, filters)]
    if opts["volumes"]:
        steps.append((_prune_volumes, filters))
    steps.append((prune_images, image_filters))
    total = 0
    try:
        for step, step_filters in steps:
            reclaimed, text = step(client, step_filters)
            total += reclaimed
            print(text, end="")
    except APIError as err:
        return daemon_error(err)
    print(f"Total reclaimed space: {human_size(total, 4)}")
    return 0


def container_prune(ctx: Context, args: list[str]) -> int:
    opts, _ = parse_or_usage(
        "container prune", "dockyard container prune [OPTIONS]", "Remove all stopped "
        "containers",
        [Flag(("--filter",), "filter", "list", help='Provide filter values (e.g. '
              '"until=<timestamp>")'),
         Flag(("-f", "--force"), "force", "bool", help="Do not prompt for confirmation")],
        args, (0, 0))
    if not opts["force"] and not confirm("WARNING! This will remove all stopped containers."):
        return 0
    try:
        reclaimed, text = _prune_containers(ctx.client(), opts["filter"])
    except APIError as err:
        return daemon_error(err)
    print(text, end="")
    print(f"Total reclaimed space: {human_size(reclaimed, 4)}")
    return 0


SYSTEM_COMMANDS = {"df": df, "prune": system_prune}


def system_main(ctx: Context, args: list[str]) -> int:
    """``dockyard system COMMAND``: df, prune, and info (as ``dockyard info``)."""
    if args and args[0] == "info":
        from dockyard.cli.system import info

        return info(ctx, args[1:])
    if not args or args[0] in ("-h", "--help") or args[0] not in SYSTEM_COMMANDS:
        if args and args[0] not in ("-h", "--help"):
            raise UsageError(f'unknown command "{args[0]}" for "dockyard system"')
        print("\nUsage:  dockyard system COMMAND\n\nManage Dockyard\n\nCommands:\n"
              "  df          Show docker disk usage\n"
              "  info        Display system-wide information\n"
              "  prune       Remove unused data\n")
        return 0
    return SYSTEM_COMMANDS[args[0]](ctx, args[1:])
