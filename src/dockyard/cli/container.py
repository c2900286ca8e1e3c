"""Container verbs: ``run``, ``create``, ``start``, ``stop``, ``restart``, ``kill``, ``rm``,
``pause``, ``unpause``, ``ps``, ``logs``, ``exec``, ``port``, ``top``, ``rename``, ``wait``,
``stats``, docker's way."""

import sys

from dockyard.cli.context import (
    Context,
    daemon_error,
    environ,
    parse_filters,
    parse_or_usage,
    with_usage,
)
from dockyard.cli.flags import ArgumentsError, Flag, UsageError
from dockyard.cli.output import ago, human_size, render_rows, tabwrite
from dockyard.client import jsonlite
from dockyard.client.http import APIError, Client, hijack, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _pump(stream: "Any") -> None:
    """Frames to our stdout/stderr as they come."""
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for kind, data in stream.frames():
        target = err if kind == 2 else out
        target.write(data)
        target.flush()


def _fail(cmd: str, message: str, code: int) -> int:
    print(f"dockyard: Error response from daemon: {message}\n"
          f"See 'dockyard {cmd} --help'.", file=sys.stderr)
    return code


# ------------------------------------------------------------------ run & create


def _create(ctx: Context, cmd: str, args: list[str], flags: list[Flag]
            ) -> "tuple[dict[str, Any], dict[str, Any]] | int":
    """Parse and create; the daemon's reply. ``run -d`` asks the daemon to start the
    container too (``dockyard-start``, see api/routes_containers.py): one request."""
    from dockyard.cli.run_opts import create_body, split_command

    flag_args, command = split_command(args, flags)
    opts, rest = parse_or_usage(cmd, f"dockyard {cmd} [OPTIONS] IMAGE [COMMAND] [ARG...]",
                                "Create and run a new container from an image" if cmd == "run"
                                else "Create a new container", flags, flag_args, (1, 1))
    size = None
    if (cmd == "run" and not opts["detach"]) or opts["tty"]:
        from dockyard.cli import interactive  # (imports os: only where a terminal matters)

        if cmd == "run" and not opts["detach"]:
            _check_detach_keys(opts["detach_keys"])
            if interactive.tty_refused(opts["interactive"], opts["tty"]):
                return 1
        size = interactive.local_size() if opts["tty"] else None
    body = create_body(opts, rest[0], command, console_size=size)
    query = {"name": opts["name"] or None}
    if cmd == "run" and opts["detach"]:
        query["dockyard-start"] = "1"
    try:
        created = ctx.client().post("/containers/create", body, query)
    except APIError as err:
        return _fail(cmd, err.message, 125)
    for warning in created.get("Warnings") or ():
        print(f"WARNING: {warning}", file=sys.stderr)
    return opts, created


def create(ctx: Context, args: list[str]) -> int:
    from dockyard.cli.run_opts import CREATE_FLAGS

    result = _create(ctx, "create", args, CREATE_FLAGS)
    if isinstance(result, int):
        return result
    print(result[1]["Id"])
    return 0


def run(ctx: Context, args: list[str]) -> int:
    from dockyard.cli.run_opts import RUN_FLAGS, start_exit_code

    result = _create(ctx, "run", args, RUN_FLAGS)
    if isinstance(result, int):
        return result
    opts, created = result
    container_id = created["Id"]
    client = ctx.client()
    path = f"/containers/{container_id}"
    if opts["detach"]:
        failed = created.get("DockyardStartError")
        if failed is None and not created.get("DockyardStarted"):
            try:  # an engine that does not start on create (Docker's): ask
                client.request("POST", path + "/start")
            except APIError as err:
                failed = {"message": err.message}
        if failed is not None:
            if opts["rm"]:
                _remove_quietly(client, container_id)
            message = str(failed.get("message", ""))
            return _fail("run", message, start_exit_code(message))
        print(container_id)
        return 0
    # docker's order: attach, register the wait, start; then the output until it ends.
    stream = _attach(client, path, opts["interactive"], opts["detach_keys"])
    waiter = client.request("POST", path + "/wait", stream=True, query={
        "condition": "removed" if opts["rm"] else "next-exit"})
    try:
        client.request("POST", path + "/start")
    except APIError as err:
        stream.close()
        if opts["rm"]:
            _remove_quietly(client, container_id)
        return _fail("run", err.message, start_exit_code(err.message))
    if _session(client, path + "/resize", stream, opts["interactive"], opts["tty"],
                opts["detach_keys"]):
        return 0  # detached: the container runs on
    doc = jsonlite.loads(waiter.body or b"{}")
    return int(doc.get("StatusCode", 125))


def _check_detach_keys(keys: str | None) -> None:
    from dockyard.cli.interactive import detach_keys
    from dockyard.errors import InvalidParameter

    try:
        detach_keys(keys)
    except InvalidParameter as err:
        raise UsageError(str(err)) from None


def _attach(client: Client, path: str, stdin: bool, detach_keys: str | None) -> "Any":
    """The container's output (and our stdin, when asked) over a hijacked connection."""
    return hijack(client, path + "/attach", query={
        "stream": "1", "stdout": "1", "stderr": "1", "stdin": "1" if stdin else None,
        "detachKeys": detach_keys})


def _session(client: Client, resize_path: str, stream: "Any", stdin: bool, tty: bool,
             keys: str | None) -> bool:
    """An attached session (``cli/interactive.py``); True if the user detached."""
    from dockyard.cli import interactive

    def resize(rows: int, cols: int) -> None:
        client.request("POST", resize_path, query={"h": str(rows), "w": str(cols)})

    return interactive.session(stream, stdin=stdin, tty=tty,
                               keys=interactive.detach_keys(keys), resize=resize)


def _detached() -> int:
    """docker attach and docker exec end so when the detach keys are typed (docker run and
    docker start end quietly, with 0)."""
    print("read escape sequence", file=sys.stderr)
    return 1


def _remove_quietly(client: Client, container_id: str) -> None:
    import contextlib

    with contextlib.suppress(APIError):
        client.request("DELETE", f"/containers/{container_id}", query={"force": "1",
                                                                        "v": "1"})


# ------------------------------------------------------------- simple lifecycle


def _each(ctx: Context, cmd: str, usage: str, summary: str, flags: list[Flag],
          args: list[str], request: "Any") -> int:
    """Docker's multi-container verbs: print each name done, an error for each failed."""
    opts, refs = parse_or_usage(cmd, usage, summary, flags, args, (1, None))
    client = ctx.client()
    failed = False
    for ref in refs:
        try:
            request(client, ref, opts)
        except APIError as err:
            print(f"Error response from daemon: {err.message}", file=sys.stderr)
            failed = True
            continue
        print(ref)
    return 1 if failed else 0


def start(ctx: Context, args: list[str]) -> int:
    flags = [Flag(("-a", "--attach"), "attach", "bool", help="Attach STDOUT/STDERR and "
                  "forward signals"),
             Flag(("--detach-keys",), "detach_keys", help="Override the key sequence for "
                  "detaching a container"),
             Flag(("-i", "--interactive"), "interactive", "bool", help="Attach container's "
                  "STDIN")]
    usage = "dockyard start [OPTIONS] CONTAINER [CONTAINER...]"
    summary = "Start one or more stopped containers"
    opts, refs = parse_or_usage("start", usage, summary, flags, args, (1, None))
    if opts["attach"] or opts["interactive"]:
        return _start_attached(ctx, opts, refs)

    def go(client: Client, ref: str, opts: "dict[str, Any]") -> None:
        client.request("POST", f"/containers/{quote(ref)}/start")

    return _each(ctx, "start", usage, summary, flags, args, go)


def _start_attached(ctx: Context, opts: "dict[str, Any]", refs: list[str]) -> int:
    """``start -a [-i]``: attach, register the wait, start, then the session; the exit
    code is the container's."""
    from dockyard.cli import interactive

    if len(refs) > 1:
        print("dockyard: you cannot start and attach multiple containers at once",
              file=sys.stderr)
        return 1
    _check_detach_keys(opts["detach_keys"])
    client = ctx.client()
    try:
        doc = client.get(f"/containers/{quote(refs[0])}/json")
        config = doc.get("Config") or {}
        stdin = opts["interactive"] and bool(config.get("OpenStdin"))
        tty = bool(config.get("Tty"))
        if interactive.tty_refused(stdin, tty):
            return 1
        path = f"/containers/{doc['Id']}"
        stream = _attach(client, path, stdin, opts["detach_keys"])
        waiter = client.request("POST", path + "/wait", stream=True, query={
            "condition": "next-exit"})
        client.request("POST", path + "/start")
    except APIError as err:
        return daemon_error(err)
    if _session(client, path + "/resize", stream, stdin, tty, opts["detach_keys"]):
        return 0
    return int(jsonlite.loads(waiter.body or b"{}").get("StatusCode", 0))


def attach(ctx: Context, args: list[str]) -> int:
    """``attach``: this terminal's stdin, stdout and stderr to a running container."""
    from dockyard.cli import interactive

    flags = [Flag(("--detach-keys",), "detach_keys", help="Override the key sequence for "
                  "detaching a container"),
             Flag(("--no-stdin",), "no_stdin", "bool", help="Do not attach STDIN"),
             Flag(("--sig-proxy",), "sig_proxy", "bool", default=True, help="Proxy all "
                  "received signals to the process")]
    opts, rest = parse_or_usage("attach", "dockyard attach [OPTIONS] CONTAINER",
                                "Attach local standard input, output, and error streams to "
                                "a running container", flags, args, (1, 1))
    _check_detach_keys(opts["detach_keys"])
    client = ctx.client()
    try:
        doc = client.get(f"/containers/{quote(rest[0])}/json")
        state, config = doc.get("State") or {}, doc.get("Config") or {}
        if not state.get("Running"):
            print("dockyard: You cannot attach to a stopped container, start it first",
                  file=sys.stderr)
            return 1
        if state.get("Paused"):
            print("dockyard: You cannot attach to a paused container, unpause it first",
                  file=sys.stderr)
            return 1
        stdin = bool(config.get("OpenStdin")) and not opts["no_stdin"]
        tty = bool(config.get("Tty"))
        if interactive.tty_refused(stdin, tty):
            return 1
        path = f"/containers/{doc['Id']}"
        stream = _attach(client, path, stdin, opts["detach_keys"])
    except APIError as err:
        return daemon_error(err)
    if _session(client, path + "/resize", stream, stdin, tty, opts["detach_keys"]):
        return _detached()
    try:  # the stream ended: the container did; its exit code is ours (as docker's)
        return int(client.post(path + "/wait").get("StatusCode", 0))
    except APIError:
        return 0


def _timeout(opts: "dict[str, Any]") -> dict[str, str | None]:
    return {"t": None if opts["time"] is None else str(opts["time"]),
            "signal": opts.get("signal") or None}


def _stop_flags() -> list[Flag]:
    """docker stop and docker restart take the same two flags."""
    return [Flag(("-s", "--signal"), "signal", help="Signal to send to the container"),
            Flag(("-t", "--time", "--timeout"), "time", "int",
                 help="Seconds to wait before killing the container")]


def stop(ctx: Context, args: list[str]) -> int:
    flags = _stop_flags()

    def go(client: Client, ref: str, opts: "dict[str, Any]") -> None:
        client.request("POST", f"/containers/{quote(ref)}/stop", query=_timeout(opts))

    return _each(ctx, "stop", "dockyard stop [OPTIONS] CONTAINER [CONTAINER...]",
                 "Stop one or more running containers", flags, args, go)


def restart(ctx: Context, args: list[str]) -> int:
    flags = _stop_flags()

    def go(client: Client, ref: str, opts: "dict[str, Any]") -> None:
        client.request("POST", f"/containers/{quote(ref)}/restart", query=_timeout(opts))

    return _each(ctx, "restart", "dockyard restart [OPTIONS] CONTAINER [CONTAINER...]",
                 "Restart one or more containers", flags, args, go)


def kill(ctx: Context, args: list[str]) -> int:
    flags = [Flag(("-s", "--signal"), "signal", help="Signal to send to the container")]

    def go(client: Client, ref: str, opts: "dict[str, Any]") -> None:
        client.request("POST", f"/containers/{quote(ref)}/kill",
                       query={"signal": opts["signal"] or None})

    return _each(ctx, "kill", "dockyard kill [OPTIONS] CONTAINER [CONTAINER...]",
                 "Kill one or more running containers", flags, args, go)


def rm(ctx: Context, args: list[str]) -> int:
    flags = [Flag(("-f", "--force"), "force", "bool", help="Force the removal of a running "
                  "container (uses SIGKILL)"),
             Flag(("-l", "--link"), "link", "bool", help="Remove the specified link"),
             Flag(("-v", "--volumes"), "volumes", "bool", help="Remove anonymous volumes "
                  "associated with the container")]

    def go(client: Client, ref: str, opts: "dict[str, Any]") -> None:
        client.request("DELETE", f"/containers/{quote(ref)}", query={
            "force": "1" if opts["force"] else None, "v": "1" if opts["volumes"] else None,
            "link": "1" if opts["link"] else None})

    return _each(ctx, "rm", "dockyard rm [OPTIONS] CONTAINER [CONTAINER...]",
                 "Remove one or more containers", flags, args, go)


def pause(ctx: Context, args: list[str]) -> int:
    def go(client: Client, ref: str, opts: "dict[str, Any]") -> None:
        client.request("POST", f"/containers/{quote(ref)}/pause")

    return _each(ctx, "pause", "dockyard pause CONTAINER [CONTAINER...]",
                 "Pause all processes within one or more containers", [], args, go)


def unpause(ctx: Context, args: list[str]) -> int:
    def go(client: Client, ref: str, opts: "dict[str, Any]") -> None:
        client.request("POST", f"/containers/{quote(ref)}/unpause")

    return _each(ctx, "unpause", "dockyard unpause CONTAINER [CONTAINER...]",
                 "Unpause all processes within one or more containers", [], args, go)


def rename(ctx: Context, args: list[str]) -> int:
    _, rest = parse_or_usage("rename", "dockyard rename CONTAINER NEW_NAME",
                             "Rename a container", [], args, (2, 2))
    try:
        ctx.client().request("POST", f"/containers/{quote(rest[0])}/rename",
                             query={"name": rest[1]})
    except APIError as err:
        return daemon_error(err)
    return 0


def wait(ctx: Context, args: list[str]) -> int:
    def go(client: Client, ref: str, opts: "dict[str, Any]") -> None:
        doc = client.post(f"/containers/{quote(ref)}/wait")
        print(doc["StatusCode"])

    opts, refs = parse_or_usage("wait", "dockyard wait CONTAINER [CONTAINER...]",
                                "Block until one or more containers stop, then print their "
                                "exit codes", [], args, (1, None))
    client = ctx.client()
    failed = False
    for ref in refs:
        try:
            go(client, ref, opts)
        except APIError as err:
            print(f"Error response from daemon: {err.message}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


# --------------------------------------------------------------------------- ps


PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
              "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Status": "STATUS",
              "Ports": "PORTS", "Names": "NAMES", "Labels": "LABELS", "Networks": "NETWORKS",
              "State": "STATE", "Mounts": "MOUNTS", "Size": "SIZE"}
PS_DEFAULT = ("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
              "{{.Ports}}\t{{.Names}}")


def format_ports(ports: "list[dict[str, Any]]") -> str:
    """``0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 443/tcp`` as docker 28 prints them."""
    out = []
    for p in sorted(ports, key=lambda p: (p.get("PrivatePort", 0), p.get("Type", ""),
                                          ":" in p.get("IP", ""))):
        key = f"{p['PrivatePort']}/{p['Type']}"
        if "PublicPort" in p:
            ip = p.get("IP", "")
            host = f"[{ip}]" if ":" in ip else ip
            out.append(f"{host}:{p['PublicPort']}->{key}")
        else:
            out.append(key)
    return ", ".join(dict.fromkeys(out))


def _command(text: str, no_trunc: bool) -> str:
    if not no_trunc and len(text) > 20:
        text = text[:19] + "…"
    return f'"{text}"'


def ps_rows(containers: "list[dict[str, Any]]", no_trunc: bool) -> "list[dict[str, Any]]":
    import time

    rows = []
    for c in containers:
        rows.append({
            "ID": c["Id"] if no_trunc else c["Id"][:12],
            "Image": c["Image"],
            "Command": _command(c.get("Command", ""), no_trunc),
            "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S %z %Z",
                                       time.localtime(c["Created"])),
            "RunningFor": ago(c["Created"]),
            "Status": c["Status"],
            "Ports": format_ports(c.get("Ports") or []),
            "Names": ",".join(n.removeprefix("/") for n in c["Names"]),
            "Labels": ",".join(f"{k}={v}" for k, v in (c.get("Labels") or {}).items()),
            "Networks": ",".join((c.get("NetworkSettings") or {}).get("Networks") or {}),
            "State": c["State"],
            "Mounts": ",".join(m.get("Name") or m.get("Source", "")
                               for m in c.get("Mounts") or []),
            "Size": format_size(c),
        })
    return rows


def format_size(c: "dict[str, Any]") -> str:
    """docker's SIZE cell: the writable layer, and with it the whole root filesystem
    (image layers included) as ``virtual``: ``12.3kB (virtual 1.25MB)``."""
    rw = human_size(c.get("SizeRw") or 0)
    rootfs = c.get("SizeRootFs") or 0
    return f"{rw} (virtual {human_size(rootfs)})" if rootfs > 0 else rw


def ps(ctx: Context, args: list[str]) -> int:
    flags = [Flag(("-a", "--all"), "all", "bool", help="Show all containers (default shows "
                  "just running)"),
             Flag(("-f", "--filter"), "filter", "list", help="Filter output based on "
                  "conditions provided"),
             Flag(("--format",), "format", help="Format output using a custom template"),
             Flag(("-n", "--last"), "last", "int", default=-1, help="Show n last created "
                  "containers (includes all states)"),
             Flag(("-l", "--latest"), "latest", "bool", help="Show the latest created "
                  "container (includes all states)"),
             Flag(("--no-trunc",), "no_trunc", "bool", help="Don't truncate output"),
             Flag(("-q", "--quiet"), "quiet", "bool", help="Only display container IDs"),
             Flag(("-s", "--size"), "size", "bool", help="Display total file sizes")]
    opts, _ = parse_or_usage("ps", "dockyard ps [OPTIONS]", "List containers", flags, args,
                             (0, 0))
    limit = 1 if opts["latest"] else opts["last"]
    # Sizes walk every container's writable layer: asked for only with -s, or when a
    # --format shows them (as docker decides).
    size = not opts["quiet"] and (opts["size"] or ".Size" in (opts["format"] or ""))
    try:
        containers = ctx.client().get("/containers/json", {
            "all": "1" if opts["all"] else None, "filters": parse_filters(opts["filter"]),
            "limit": str(limit) if limit and limit > 0 else None,
            "size": "1" if size else None})
    except APIError as err:
        return daemon_error(err)
    rows = ps_rows(containers, opts["no_trunc"])
    if opts["quiet"]:
        for row in rows:
            print(row["ID"])
        return 0
    default = PS_DEFAULT + "\t{{.Size}}" if opts["size"] else PS_DEFAULT
    sys.stdout.write(render_rows(opts["format"] or default, rows, PS_HEADERS))
    return 0


# ------------------------------------------------------------------------ logs


def _since(value: str | None) -> str | None:
    """docker's ``--since``: a Unix time, an RFC 3339 time, or a duration before now."""
    if not value:
        return None
    import time

    units = {"s": 1, "m": 60, "h": 3600}
    if value[-1:] in units and value[:-1].replace(".", "", 1).isdigit():
        return f"{time.time() - float(value[:-1]) * units[value[-1]]:.9f}"
    if value.replace(".", "", 1).isdigit():
        return value
    from datetime import datetime

    try:
        return f"{datetime.fromisoformat(value.replace('Z', '+00:00')).timestamp():.9f}"
    except ValueError:
        raise UsageError(f'invalid value for "since": "{value}"') from None


def logs(ctx: Context, args: list[str]) -> int:
    flags = [Flag(("--details",), "details", "bool", help="Show extra details"),
             Flag(("-f", "--follow"), "follow", "bool", help="Follow log output"),
             Flag(("--since",), "since", help="Show logs since timestamp or relative"),
             Flag(("-n", "--tail"), "tail", default="all", help="Number of lines to show "
                  "from the end of the logs"),
             Flag(("-t", "--timestamps"), "timestamps", "bool", help="Show timestamps"),
             Flag(("--until",), "until", help="Show logs before a timestamp")]
    opts, rest = parse_or_usage("logs", "dockyard logs [OPTIONS] CONTAINER",
                                "Fetch the logs of a container", flags, args, (1, 1))
    try:
        response = ctx.client().request("GET", f"/containers/{quote(rest[0])}/logs", query={
            "stdout": "1", "stderr": "1", "follow": "1" if opts["follow"] else None,
            "tail": opts["tail"], "timestamps": "1" if opts["timestamps"] else None,
            "since": _since(opts["since"])}, stream=True)
    except APIError as err:
        return daemon_error(err)
    from dockyard.client.http import _Buffered

    pending = b""
    out, err_ = sys.stdout.buffer, sys.stderr.buffer
    raw = response.headers.get("content-type") == "application/vnd.docker.raw-stream"
    for chunk in response.chunks():
        if raw:  # a container with a terminal: its output as it is, no frames
            out.write(chunk)
            out.flush()
            continue
        pending += chunk
        complete = 0
        while len(pending) - complete >= 8:
            size = int.from_bytes(pending[complete + 4:complete + 8], "big")
            if len(pending) - complete < 8 + size:
                break
            complete += 8 + size
        for kind, data in _Buffered(pending[:complete], False).frames():
            (err_ if kind == 2 else out).write(data)
        out.flush()
        err_.flush()
        pending = pending[complete:]
    return 0


# ------------------------------------------------------------------------ exec


def exec_(ctx: Context, args: list[str]) -> int:
    from dockyard.cli.run_opts import split_command

    flags = [Flag(("-d", "--detach"), "detach", "bool", help="Detached mode: run command in "
                  "the background"),
             Flag(("-e", "--env"), "env", "list", help="Set environment variables"),
             Flag(("--env-file",), "env_file", "list", help="Read in a file of environment "
                  "variables"),
             Flag(("--detach-keys",), "detach_keys", help="Override the key sequence for "
                  "detaching a container"),
             Flag(("-i", "--interactive"), "interactive", "bool", help="Keep STDIN open "
                  "even if not attached"),
             Flag(("--privileged",), "privileged", "bool", help="Give extended privileges"),
             Flag(("-t", "--tty"), "tty", "bool", help="Allocate a pseudo-TTY"),
             Flag(("-u", "--user"), "user", help="Username or UID"),
             Flag(("-w", "--workdir"), "workdir", help="Working directory inside the "
                  "container")]
    flag_args, command = split_command(args, flags)
    opts, rest = parse_or_usage("exec", "dockyard exec [OPTIONS] CONTAINER COMMAND [ARG...]",
                                "Execute a command in a running container", flags, flag_args,
                                (1, 1))
    if not command:
        raise ArgumentsError(with_usage("dockyard: 'dockyard exec' requires at least 2 "
                                        "arguments", "exec", "dockyard exec [OPTIONS] "
                                        "CONTAINER COMMAND [ARG...]"))
    from dockyard.cli import interactive
    from dockyard.cli.run_opts import _env_items

    stdin, tty = opts["interactive"] and not opts["detach"], opts["tty"]
    _check_detach_keys(opts["detach_keys"])
    if interactive.tty_refused(stdin, tty):
        return 1
    size = interactive.local_size() if tty else None
    client = ctx.client()
    body = {"Cmd": command, "Env": _env_items(opts["env"], opts["env_file"], environ()),
            "WorkingDir": opts["workdir"] or "", "User": opts["user"] or "",
            "AttachStdin": stdin, "AttachStdout": not opts["detach"],
            "AttachStderr": not opts["detach"], "Tty": tty, "Detach": opts["detach"],
            "DetachKeys": opts["detach_keys"] or "", "ConsoleSize": size}
    try:
        exec_id = client.post(f"/containers/{quote(rest[0])}/exec", body)["Id"]
        if opts["detach"]:
            client.request("POST", f"/exec/{exec_id}/start", json_body={"Detach": True})
            return 0
        stream = hijack(client, f"/exec/{exec_id}/start", json_body={
            "Detach": False, "Tty": tty, "ConsoleSize": size})
        if stdin or tty:
            if _session(client, f"/exec/{exec_id}/resize", stream, stdin, tty,
                        opts["detach_keys"]):
                return _detached()
        else:
            _pump(stream)
        doc = client.get(f"/exec/{exec_id}/json")
    except APIError as err:
        return daemon_error(err)
    return int(doc.get("ExitCode") or 0)


# ------------------------------------------------------------------------ stats


def stats(ctx: Context, args: list[str]) -> int:
    """In its own module (threads, its figures): loaded only for this verb."""
    from dockyard.cli.stats import main as stats_main

    return stats_main(ctx, args)


# ----------------------------------------------------------------- port & top


def port(ctx: Context, args: list[str]) -> int:
    _, rest = parse_or_usage("port", "dockyard port CONTAINER [PRIVATE_PORT[/PROTO]]",
                                "List port mappings or a specific mapping for the container",
                                [], args, (1, 2))
    try:
        doc = ctx.client().get(f"/containers/{quote(rest[0])}/json")
    except APIError as err:
        return daemon_error(err)
    ports = (doc.get("NetworkSettings") or {}).get("Ports") or {}
    if len(rest) == 2:
        key = rest[1] if "/" in rest[1] else rest[1] + "/tcp"
        bindings = ports.get(key)
        if not bindings:
            print(f"Error: No public port '{key}' published for {rest[0]}", file=sys.stderr)
            return 1
        for b in bindings:
            print(_host_port(b))
        return 0
    for key in sorted(ports, key=lambda k: (int(k.split("/")[0]), k)):
        for b in ports[key] or []:
            print(f"{key} -> {_host_port(b)}")
    return 0


def _host_port(binding: dict[str, str]) -> str:
    ip = binding.get("HostIp") or "0.0.0.0"
    return f"[{ip}]:{binding['HostPort']}" if ":" in ip else f"{ip}:{binding['HostPort']}"


def top(ctx: Context, args: list[str]) -> int:
    # Everything after the container is ps's (docker stops parsing its flags there).
    head = 0
    while head < len(args) and args[head].startswith("-"):
        head += 1
    _, rest = parse_or_usage("top", "dockyard top CONTAINER [ps OPTIONS]",
                             "Display the running processes of a container", [],
                             args[:head + 1], (1, None))
    query = {"ps_args": " ".join(args[head + 1:]) or None}
    try:
        doc = ctx.client().get(f"/containers/{quote(rest[0])}/top", query)
    except APIError as err:
        return daemon_error(err)
    sys.stdout.write(tabwrite([doc["Titles"], *doc["Processes"]], minwidth=20))
    return 0
