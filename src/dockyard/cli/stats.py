"""``stats``: the docker CLI's table of what containers use, from ``/containers/{id}/stats``.

The figures are computed from each reading as the docker CLI computes them (CPU % from
the reading and its ``precpu_stats``, memory without the inactive page cache, block and
network bytes summed), and printed with its units: binary for memory (``1.5MiB``),
decimal for I/O (``1.1kB``). With ``--no-stream`` one reading per container is asked for,
all at once (each takes the daemon a second), and the table printed once; otherwise a
reader thread per container follows its stream and the table is redrawn in place.
"""

import sys

from dockyard.cli.context import Context, daemon_error, parse_or_usage
from dockyard.cli.flags import Flag
from dockyard.cli.output import render_rows
from dockyard.client import jsonlite
from dockyard.client.http import APIError, Client, ConnectError, Response, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

HEADERS = {"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME",
           "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %",
           "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}
DEFAULT_FORMAT = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t"
                  "{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}")
REDRAW = 0.5  # seconds between redraws of the streamed table, as the docker CLI
FLAGS = [Flag(("-a", "--all"), "all", "bool", help="Show all containers (default shows "
              "just running)"),
         Flag(("--format",), "format", help="Format output using a custom template"),
         Flag(("--no-stream",), "no_stream", "bool", help="Disable streaming stats and "
              "only pull the first result"),
         Flag(("--no-trunc",), "no_trunc", "bool", help="Do not truncate output")]
USAGE = "dockyard stats [OPTIONS] [CONTAINER...]"
SUMMARY = "Display a live stream of container(s) resource usage statistics"


# ------------------------------------------------------------ figures (pure)


def cpu_percent(doc: "dict[str, Any]") -> float:
    """The container's share of the host's CPU time between the reading and the one
    before it, times the CPUs online: 100% is one whole CPU. Without a previous reading
    (a first frame, ``one-shot``) that is the share since boot; 0 when either delta is
    not positive (nothing ran, or a counter went back)."""
    cpu, pre = doc.get("cpu_stats") or {}, doc.get("precpu_stats") or {}
    cpu_delta = float((cpu.get("cpu_usage") or {}).get("total_usage", 0)) - float(
        (pre.get("cpu_usage") or {}).get("total_usage", 0))
    system_delta = float(cpu.get("system_cpu_usage", 0)) - float(
        pre.get("system_cpu_usage", 0))
    online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get(
        "percpu_usage") or [])
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * float(online) * 100.0
    return 0.0


def memory_used(memory: "dict[str, Any]") -> float:
    """Usage less the inactive page cache, which the kernel can take back at will:
    ``total_inactive_file`` of a cgroup v1 group, else ``inactive_file`` (v2)."""
    usage = int(memory.get("usage", 0))
    stats = memory.get("stats") or {}
    inactive = stats.get("total_inactive_file", stats.get("inactive_file", 0))
    return float(usage - inactive if inactive < usage else usage)


def block_io(blkio: "dict[str, Any]") -> tuple[int, int]:
    """Bytes read and written: the entries whose op starts with r or w (dockerd writes
    ``Read`` on cgroup v1, ``read`` on v2)."""
    read = write = 0
    for entry in blkio.get("io_service_bytes_recursive") or []:
        op = str(entry.get("op", ""))[:1].lower()
        if op == "r":
            read += int(entry.get("value", 0))
        elif op == "w":
            write += int(entry.get("value", 0))
    return read, write


def network_io(networks: "dict[str, Any] | None") -> tuple[int, int]:
    rx = sum(int(n.get("rx_bytes", 0)) for n in (networks or {}).values())
    tx = sum(int(n.get("tx_bytes", 0)) for n in (networks or {}).values())
    return rx, tx


def _units(size: float, base: float, units: tuple[str, ...], precision: int) -> str:
    """go-units ``CustomSize``: divide by ``base`` while it fits, then Go's ``%.Ng``
    (which Python's ``g`` matches, exponent form included)."""
    index = 0
    while size >= base and index < len(units) - 1:
        size /= base
        index += 1
    return f"{size:.{precision}g}{units[index]}"


def binary_size(size: float) -> str:
    """go-units ``BytesSize``: ``1.5MiB``, 4 significant digits."""
    return _units(size, 1024.0, ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"), 4)


def decimal_size(size: float) -> str:
    """go-units ``HumanSizeWithPrecision(size, 3)``: ``1.1kB``."""
    return _units(size, 1000.0, ("B", "kB", "MB", "GB", "TB", "PB", "EB"), 3)


def row(doc: "dict[str, Any] | None", container: str, trunc: bool = True) -> dict[str, str]:
    """The cells of one container's line, from its reading; ``doc`` None (the reading
    failed) shows ``--``, as docker does. Keys sorted: ``{{json .}}`` prints them so."""
    if doc is None:
        return {"BlockIO": "--", "CPUPerc": "--", "Container": container, "ID": "",
                "MemPerc": "--", "MemUsage": "-- / --", "Name": "--", "NetIO": "--",
                "PIDs": "--"}
    memory = doc.get("memory_stats") or {}
    used, limit = memory_used(memory), float(memory.get("limit", 0))
    read, write = block_io(doc.get("blkio_stats") or {})
    rx, tx = network_io(doc.get("networks"))
    name = str(doc.get("name", ""))
    container_id = str(doc.get("id", ""))
    return {
        "BlockIO": f"{decimal_size(read)} / {decimal_size(write)}",
        "CPUPerc": f"{cpu_percent(doc):.2f}%",
        "Container": container,
        "ID": container_id[:12] if trunc else container_id,
        "MemPerc": f"{used / limit * 100.0 if limit else 0.0:.2f}%",
        "MemUsage": f"{binary_size(used)} / {binary_size(limit)}",
        "Name": name[1:] if len(name) > 1 else "--",
        "NetIO": f"{decimal_size(rx)} / {decimal_size(tx)}",
        "PIDs": str(int((doc.get("pids_stats") or {}).get("current", 0))),
    }


def render(fmt: str, rows: list[dict[str, str]]) -> str:
    if fmt in ("", "table"):
        fmt = DEFAULT_FORMAT
    elif fmt == "json":
        fmt = "{{json .}}"
    return render_rows(fmt, rows, HEADERS)


# ------------------------------------------------------------------- the verb


def main(ctx: Context, args: list[str]) -> int:
    opts, names = parse_or_usage("stats", USAGE, SUMMARY, FLAGS, args, (0, None))
    client = ctx.client()
    try:
        # A container named twice is shown once, as docker does.
        refs = list(dict.fromkeys(names)) or _listed(client, opts["all"])
    except APIError as err:
        return daemon_error(err)
    fmt, trunc = opts["format"] or "", not opts["no_trunc"]
    if opts["no_stream"]:
        return _once(client, refs, bool(names), fmt, trunc)
    return _watch(client, refs, names, opts["all"], fmt, trunc)


def _listed(client: Client, all_: bool) -> list[str]:
    """Full ids of the running containers (all of them with ``-a``), newest first as
    the daemon lists them and the docker CLI keeps them."""
    docs = client.get("/containers/json", {"all": "1" if all_ else None})
    return [str(d["Id"]) for d in docs]


def _once(client: Client, refs: list[str], named: bool, fmt: str, trunc: bool) -> int:
    """One reading per container, asked for in parallel: the daemon takes a second over
    each (two samples, for the CPU %)."""
    import threading

    results: dict[str, dict[str, Any] | Exception] = {}

    def fetch(ref: str) -> None:
        try:
            results[ref] = client.get(f"/containers/{quote(ref)}/stats", {"stream": "0"})
        except (APIError, ConnectError) as err:
            results[ref] = err

    threads = [threading.Thread(target=fetch, args=(ref,), daemon=True) for ref in refs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [r for r in (results[ref] for ref in refs) if isinstance(r, Exception)]
    if named and errors:  # docker reports every failure of a container it was given
        print("\n".join(_message(e) for e in errors), file=sys.stderr)
        return 1
    rows = [row(None if isinstance(r, Exception) else r, ref, trunc)
            for ref, r in ((ref, results[ref]) for ref in refs)]
    sys.stdout.write(render(fmt, rows))
    return 0


def _message(err: Exception) -> str:
    if isinstance(err, APIError):
        return f"Error response from daemon: {err.message}"
    return str(err)


class _Follower:
    """The latest reading of one container's stream, kept by a daemon thread; ``error``
    once the stream failed or ended (the container was removed)."""

    def __init__(self, client: Client, ref: str) -> None:
        import threading

        self.ref = ref
        self.doc: dict[str, Any] | None = None
        self.error: Exception | None = None
        self.first = threading.Event()
        self._response: Response | None = None
        self._stopped = False
        threading.Thread(target=self._follow, args=(client,), daemon=True).start()

    def stop(self) -> None:
        """Done with this container (it left the list): its stream, connection and
        thread end, here and in the daemon."""
        self._stopped = True
        if self._response is not None:
            self._response.abort()

    def _follow(self, client: Client) -> None:
        try:
            response = client.request("GET", f"/containers/{quote(self.ref)}/stats",
                                      query={"stream": "1"}, stream=True)
            self._response = response
            if self._stopped:  # stopped while the request was on its way
                response.abort()
            for line in response.lines():
                self.doc = jsonlite.loads(line)
                self.first.set()
            self.error = EOFError("the stats stream ended")
        except (APIError, ConnectError, OSError, ValueError) as err:
            self.error = err
        self.doc = None
        self.first.set()


def _watch(client: Client, refs: list[str], names: list[str], all_: bool, fmt: str,
           trunc: bool) -> int:
    """Follow every container and redraw the table until interrupted; without names the
    containers are listed again at each redraw, so new ones appear and stopped ones go
    (all of them stay with ``-a``)."""
    import time

    followers = {ref: _Follower(client, ref) for ref in refs}
    if names:  # docker reports containers that cannot be followed, and stops
        for follower in followers.values():
            follower.first.wait()
        errors = [f.error for f in followers.values() if f.error is not None]
        if errors:
            print("\n".join(_message(e) for e in errors), file=sys.stderr)
            return 1
    out = sys.stdout
    out.write("\033[2J")
    try:
        while True:
            if not names:
                listed = _listed(client, all_)
                for gone in set(followers) - set(listed):
                    followers[gone].stop()
                followers = {ref: followers.get(ref) or _Follower(client, ref)
                             for ref in listed}
            rows = [row(f.doc if f.error is None else None, ref, trunc)
                    for ref, f in followers.items()]
            table = render(fmt, rows)
            # Home, then each line erased past its end, then the rest of the screen:
            # a redraw in place that leaves nothing of a longer table before it.
            out.write("\033[H" + "".join(line + "\033[K\n" for line in table.splitlines())
                      + "\033[J")
            out.flush()
            time.sleep(REDRAW)
    except KeyboardInterrupt:
        return 0
    except APIError as err:
        return daemon_error(err)
