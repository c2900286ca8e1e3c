"""Entry point of the ``dockyard`` command: docker's verbs, plus demo, daemon, compose.

Each verb imports only its own module, so that a command costs little more than the
interpreter's start; nothing here imports aiohttp or the engine unless the verb is
``daemon`` or ``demo``.
"""

import sys

USAGE = """
Usage:  dockyard [OPTIONS] COMMAND

Docker's networking, built for real: a Docker-Engine-API daemon and its CLI

Options:
  -H, --host string   Daemon socket to connect to (default $DOCKER_HOST or
                      unix:///run/dockyard/dockyard.sock)
  -v, --version       Print version information and quit

Common Commands:
  run         Create and run a new container from an image
  exec        Execute a command in a running container
  ps          List containers

Commands:
  attach      Attach local standard input, output, and error streams to a running container
  build       Build an image from a Dockerfile
  commit      Create a new image from a container's changes
  create      Create a new container
  daemon      Run the daemon
  demo        Build two networks and four sandboxes, and show who reaches whom
  reset       Remove every container, network and rule a state root made
  compose     Compose projects (up, down, ps, logs, exec, run, plan, config, …)
  cp          Copy files/folders between a container and the local filesystem
  diff        Inspect changes to files or directories on a container's filesystem
  explain     Show who can reach whom among running containers, why, and check it
  export      Export a container's filesystem as a tar archive
  history     Show the history of an image
  images      List images
  import      Import the contents from a tarball to create a filesystem image
  info        Display system-wide information
  inspect     Return low-level information on Docker objects
  kill        Kill one or more running containers
  logs        Fetch the logs of a container
  pause       Pause all processes within one or more containers
  port        List port mappings or a specific mapping for the container
  rename      Rename a container
  restart     Restart one or more containers
  rm          Remove one or more containers
  start       Start one or more stopped containers
  stats       Display a live stream of container(s) resource usage statistics
  stop        Stop one or more running containers
  top         Display the running processes of a container
  unpause     Unpause all processes within one or more containers
  update      Update configuration of one or more containers
  wait        Block until one or more containers stop, then print their exit codes
  load        Load an image from a tar archive or STDIN
  rmi         Remove one or more images
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  version     Show the Dockyard version information

Management Commands:
  image       Manage images
  container   Manage containers
  network     Manage networks
  system      Manage Dockyard
  volume      Manage volumes
"""


def _split_globals(args: list[str]) -> tuple[str | None, list[str]]:
    host = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-H", "--host") and i + 1 < len(args):
            host = args[i + 1]
            i += 2
        elif arg.startswith("--host="):
            host = arg.split("=", 1)[1]
            i += 1
        elif arg.startswith("-H") and len(arg) > 2:
            host = arg[2:].removeprefix("=")
            i += 1
        elif arg in ("-D", "--debug"):
            i += 1
        else:
            break
    return host, args[i:]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    host, args = _split_globals(args)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    verb, rest = args[0], args[1:]
    if verb in ("--version", "-v"):
        from dockyard import __version__

        print(f"Dockyard version {__version__}")
        return 0
    if verb == "demo":
        from dockyard.cli.demo import run_demo

        return run_demo(keep="--keep" in rest)
    if verb == "reset":
        from dockyard.cli.reset import main as reset_main

        return reset_main(rest)
    if verb == "daemon":
        from dockyard.daemon.main import main as daemon_main

        return daemon_main(rest)
    if verb == "compose":
        try:
            from dockyard.compose.cli import (  # type: ignore[import-not-found,unused-ignore]
                main as compose_main,
            )
        except ImportError as err:
            print(f"dockyard compose is not available in this build: {err}", file=sys.stderr)
            return 1
        return int(compose_main(rest, host=host))
    return _api_command(host, verb, rest)


# Verbs that own long-lived state (threads, a store, logging) and exit the usual way.
_FULL_EXIT = frozenset({"daemon", "demo", "reset", "compose"})


def entry() -> None:
    """The launcher's entry point: ``main``, then exit.

    An API command is done once ``main`` returns, so it exits at once: the interpreter's
    own teardown (freeing every module and object one by one) costs ~1 ms of each
    command here, and there is nothing for it to finish."""
    args = sys.argv[1:]
    code = main(args)
    verb = _split_globals(args)[1][:1]
    if verb and verb[0] in _FULL_EXIT:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `dockyard ps | head -1`: the reader left, as docker ignores
        pass
    import posix

    posix._exit(code)


def _api_command(host: str | None, verb: str, rest: list[str]) -> int:
    from dockyard.cli.context import Context
    from dockyard.cli.flags import UsageError
    from dockyard.client.http import ConnectError

    ctx = Context(host=host)
    try:
        handler = _resolve(verb)
        if handler is None:
            print(f"dockyard: '{verb}' is not a dockyard command.\nSee 'dockyard --help'",
                  file=sys.stderr)
            return 1
        return int(handler(ctx, rest))
    except UsageError as err:
        text = str(err)
        if "Run 'dockyard" not in text:
            text += f"\n\nRun 'dockyard {verb} --help' for more information"
        print(text, file=sys.stderr)
        return err.exit_code
    except ConnectError as err:
        print(err, file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


CONTAINER_VERBS = {"run": "run", "create": "create", "start": "start", "stop": "stop",
                   "restart": "restart", "kill": "kill", "rm": "rm", "ps": "ps",
                   "logs": "logs", "exec": "exec_", "port": "port", "top": "top",
                   "rename": "rename", "wait": "wait", "pause": "pause",
                   "unpause": "unpause", "attach": "attach", "stats": "stats"}

FILE_VERBS = ("cp", "export", "diff")  # dockyard/cli/files.py


def _resolve(verb: str):  # type: ignore[no-untyped-def]
    if verb == "network":
        from dockyard.cli import network

        return network.main
    if verb == "image":
        from dockyard.cli import image

        return image.main
    if verb in ("images", "rmi", "tag", "import", "load", "history", "save"):
        from dockyard.cli import image

        return {
            "images": lambda c, a: image.ls(c, a, "images"),
            "rmi": lambda c, a: image.rm(c, a, "rmi"),
            "tag": lambda c, a: image.tag(c, a, "tag"),
            "import": image.import_,
            "load": image.load,
            "history": lambda c, a: image.history(c, a, "history"),
            "save": lambda c, a: image.save(c, a, "save"),
        }[verb]
    if verb in ("build", "commit"):
        from dockyard.cli import build

        return getattr(build, verb)
    if verb == "explain":
        from dockyard.cli.explain import explain

        return explain
    if verb == "volume":
        from dockyard.cli import volume

        return volume.main
    if verb in CONTAINER_VERBS:
        from dockyard.cli import container

        return getattr(container, CONTAINER_VERBS[verb])
    if verb == "system":
        from dockyard.cli.disk import system_main

        return system_main
    if verb == "update":
        from dockyard.cli.update import update

        return update
    if verb in FILE_VERBS:
        from dockyard.cli import files

        return getattr(files, verb)
    if verb == "container":
        from dockyard.cli import container

        def container_main(ctx, args):  # type: ignore[no-untyped-def]
            if args[:1] and args[0] in FILE_VERBS:
                from dockyard.cli import files

                return getattr(files, args[0])(ctx, args[1:])
            if args[:1] == ["prune"]:
                from dockyard.cli.disk import container_prune

                return container_prune(ctx, args[1:])
            if args[:1] == ["update"]:
                from dockyard.cli.update import update

                return update(ctx, args[1:])
            names = {**CONTAINER_VERBS, "ls": "ps", "list": "ps", "remove": "rm"}
            if not args or args[0] not in names:
                print("\nUsage:  dockyard container COMMAND\n\nManage containers\n")
                return 0 if not args else 1
            return getattr(container, names[args[0]])(ctx, args[1:])
        return container_main
    if verb in ("info", "version", "inspect"):
        from dockyard.cli import system

        return {"info": system.info, "version": system.version, "inspect": system.inspect}[verb]
    return None


if __name__ == "__main__":
    sys.exit(main())
