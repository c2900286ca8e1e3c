"""``dockyard info``, ``version`` and the generic ``inspect``."""

import sys

from dockyard.cli.context import Context, daemon_error, parse_or_usage
from dockyard.cli.flags import Flag
from dockyard.cli.network import print_inspected
from dockyard.client.http import APIError, Client, ConnectError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def version(ctx: Context, args: list[str]) -> int:
    """Client part always; the server part when a daemon answers. Never starts one: asking
    for the version must not change the machine."""
    from dockyard import __version__

    opts, _ = parse_or_usage("version", "dockyard version [OPTIONS]",
                             "Show the Dockyard version information",
                             [Flag(("-f", "--format"), "format",
                                   help="Format output using a custom template")], args, (0, 0))
    import posix

    # (uname and sys.version_info, not the platform module: it imports re)
    machine = posix.uname().machine
    python_version = ".".join(str(n) for n in sys.version_info[:3])
    client_doc: dict[str, Any] = {
        "Version": __version__, "ApiVersion": "1.50", "Os": "linux",
        "Arch": machine, "GoVersion": "python" + python_version}
    server: Any = None
    error = None
    host, chosen = ctx.address()
    try:
        server = Client(host).get("/version")
    except (ConnectError, APIError) as err:
        error = err
    if opts["format"]:
        from dockyard.cli.template import render

        print(render(opts["format"], {"Client": client_doc, "Server": server}))
    else:
        print(f"Dockyard version {__version__}")
        print(f"Client:\n Version:           {__version__}\n API version:       1.50\n"
              f" Python version:    {python_version}\n OS/Arch:           "
              f"linux/{machine}")
        if server:
            print(f"\nServer: {server.get('Platform', {}).get('Name', '')}\n Engine:\n"
                  f"  Version:          {server['Version']}\n"
                  f"  API version:      {server['ApiVersion']} (minimum version "
                  f"{server['MinAPIVersion']})\n"
                  f"  OS/Arch:          {server['Os']}/{server['Arch']}\n"
                  f"  Kernel:           {server['KernelVersion']}")
    if error is not None and chosen:
        print(str(error if isinstance(error, ConnectError) else
                  f"Error response from daemon: {error}"), file=sys.stderr)
        return 1
    return 0


def info(ctx: Context, args: list[str]) -> int:
    opts, _ = parse_or_usage("info", "dockyard info [OPTIONS]", "Display system-wide "
                             "information", [Flag(("-f", "--format"), "format",
                                                  help="Format output using a custom template")],
                             args, (0, 0))
    try:
        doc = ctx.client().get("/info")
    except APIError as err:
        return daemon_error(err)
    if opts["format"]:
        from dockyard.cli.template import render

        print(render(opts["format"], doc))
        return 0
    print(f"""Client:
 Version:    {_client_version()}
 Context:    default

Server:
 Containers: {doc['Containers']}
  Running: {doc['ContainersRunning']}
  Paused: {doc['ContainersPaused']}
  Stopped: {doc['ContainersStopped']}
 Images: {doc['Images']}
 Server Version: {doc['ServerVersion']}
 Storage Driver: {doc['Driver']}
 Logging Driver: {doc['LoggingDriver']}
 Cgroup Driver: {doc['CgroupDriver']}
 Cgroup Version: {doc['CgroupVersion']}
 Plugins:
  Volume: {' '.join(doc['Plugins']['Volume'])}
  Network: {' '.join(doc['Plugins']['Network'])}
  Log: {' '.join(doc['Plugins']['Log'])}
 Swarm: {doc['Swarm']['LocalNodeState']}
 Runtimes: {' '.join(doc['Runtimes'])}
 Default Runtime: {doc['DefaultRuntime']}
 Kernel Version: {doc['KernelVersion']}
 Operating System: {doc['OperatingSystem']}
 OSType: {doc['OSType']}
 Architecture: {doc['Architecture']}
 CPUs: {doc['NCPU']}
 Total Memory: {_gib(doc['MemTotal'])}
 Name: {doc['Name']}
 ID: {doc['ID']}
 Docker Root Dir: {doc['DockerRootDir']}
 Debug Mode: {str(doc['Debug']).lower()}
 Experimental: {str(doc['ExperimentalBuild']).lower()}
 Live Restore Enabled: {str(doc['LiveRestoreEnabled']).lower()}""")
    return 0


def _client_version() -> str:
    from dockyard import __version__

    return __version__


def _gib(size: int) -> str:
    return f"{size / (1 << 30):.2f}GiB"


def inspect(ctx: Context, args: list[str]) -> int:
    """Docker's order: container, image, network; a kind that does not know the name is
    skipped, and only a name no kind knows is an error."""
    opts, refs = parse_or_usage(
        "inspect", "dockyard inspect [OPTIONS] NAME|ID [NAME|ID...]",
        "Return low-level information on Docker objects",
        [Flag(("-f", "--format"), "format", help="Format output using a custom template"),
         Flag(("-s", "--size"), "size", "bool", help="Display total file sizes if the type is "
              "container"),
         Flag(("--type",), "type", help="Only inspect objects of the given type")],
        args, (1, None))
    kinds = {"container": "/containers/{}/json", "image": "/images/{}/json",
             "network": "/networks/{}"}
    if opts["type"]:
        if opts["type"] not in kinds:
            print(f'"{opts["type"]}" is not a valid value for --type', file=sys.stderr)
            return 1
        kinds = {opts["type"]: kinds[opts["type"]]}
    docs, missing = [], []
    client = ctx.client()
    for ref in refs:
        for kind, path in kinds.items():
            # -s: SizeRw and SizeRootFs, which the daemon computes only when asked
            query = {"size": "1"} if opts["size"] and kind == "container" else None
            try:
                docs.append(client.get(path.format(quote(ref)), query))
                break
            except APIError as err:
                if err.status not in (404, 400):
                    return daemon_error(err)
        else:
            missing.append(ref)
    print_inspected(docs, opts["format"])
    for ref in missing:
        print(f"Error: No such object: {ref}", file=sys.stderr)
    return 1 if missing else 0
