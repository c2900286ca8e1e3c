"""``dockyard demo``: a real multi-container example on real networks, explained.

Builds two bridge networks on this host, four sandboxes each running a small
web server (busybox httpd), publishes one port, then *measures* who can reach
whom — every cell of the matrix is a real HTTP request — and cleans up.
"""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dockyard.engine import Engine, EngineConfig
from dockyard.kernel.linux import LinuxKernel
from dockyard.kernel.proc import run_in_netns_cmd, spawn_in_netns
from dockyard.model.sandbox import Sandbox
from dockyard.portmap import parse_publish
from dockyard.store import SqliteStore

# name, networks, published ports
LAYOUT = [
    ("web", ["front"], "8080:80"),
    ("api", ["front", "back"], ""),
    ("db", ["back"], ""),
    ("cache", ["back"], ""),
]


def run_demo(keep: bool = False) -> int:
    busybox = shutil.which("busybox")
    if busybox is None:
        print("busybox is missing: run scripts/install.sh (Debian package busybox-static)")
        return 1
    root = tempfile.mkdtemp(prefix="dockyard-demo-")
    config = EngineConfig(root=os.path.join(root, "state"), exec_root=os.path.join(root, "run"))
    engine = Engine(config, SqliteStore(config.root), LinuxKernel()).open()
    servers = []
    try:
        started = time.perf_counter()
        print("== Networks")
        for name in ("front", "back"):
            net = engine.create_network(name, labels={"dockyard.demo": "1"})
            pool = net.pools[0]
            print(f"  {name:<6} bridge {net.device:<16} subnet {pool.subnet:<16} "
                  f"gateway {pool.gateway}")
        print("\n== Sandboxes (one network namespace each)")
        boxes: dict[str, Sandbox] = {}
        addresses: dict[str, dict[str, str]] = {}
        for name, networks, publish in LAYOUT:
            box = engine.create_sandbox(name, ports=parse_publish(publish) if publish else ())
            boxes[name] = box
            addresses[name] = {}
            for network in networks:
                ep = engine.connect(network, name)
                addresses[name][network] = ep.ipv4_address or ""
            where = ", ".join(f"{ifn} {ip} on {net}" for (net, ip), ifn in
                              zip(addresses[name].items(), ("eth0", "eth1"), strict=False))
            ports = ", ".join(f"host :{b.host_port} -> {b.container_port}/{b.proto}"
                              for b in box.ports)
            print(f"  {name:<6} {where}" + (f"; publishes {ports}" if ports else ""))
            servers.append(_serve(busybox, box, name))
        elapsed = (time.perf_counter() - started) * 1000
        print(f"\n  built in {elapsed:.0f} ms")
        _matrix(busybox, boxes, addresses)
        print("\n== From the host")
        body = _get(busybox, None, "http://127.0.0.1:8080/")
        print(f"  http://127.0.0.1:8080/ -> {body or 'NO ANSWER'}  (published port, DNAT to web)")
        print("\n== Why")
        print("  web and api share 'front', api and db/cache share 'back': same network = any port")
        print("  web cannot reach db: different bridges, isolated by Dockyard's nftables table")
        print("  only web:80 is published, so only it answers on the host's 127.0.0.1:8080")
        return 0 if body else 1
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=5)
        if not keep:
            engine.purge()
            engine.close()
            shutil.rmtree(root, ignore_errors=True)
            print("\ncleaned up: networks, namespaces, veths, nftables table removed")


def _serve(busybox: str, box: Sandbox, name: str) -> subprocess.Popen[bytes]:
    docroot = os.path.join(os.path.dirname(box.netns), f"www-{name}")
    os.makedirs(docroot, exist_ok=True)
    with open(os.path.join(docroot, "index.html"), "w") as f:
        f.write(f"hello from {name}")
    proc = spawn_in_netns(box.netns, [busybox, "httpd", "-f", "-p", "80", "-h", docroot])
    with _deadline(5) as expired:
        while "LISTEN" not in run_in_netns_cmd(box.netns, ["ss", "-tln"]).stdout:
            if expired():
                break
            time.sleep(0.02)
    return proc


@contextmanager
def _deadline(seconds: float) -> Iterator[Callable[[], bool]]:
    end = time.monotonic() + seconds
    yield lambda: time.monotonic() > end


def _get(busybox: str, netns: str | None, url: str) -> str | None:
    result = run_in_netns_cmd(netns, ["timeout", "1", busybox, "wget", "-q", "-O", "-", url])
    return result.stdout.strip() if result.returncode == 0 else None


def _matrix(busybox: str, boxes: dict[str, Sandbox], addresses: dict[str, dict[str, str]]
            ) -> None:
    names = list(boxes)
    print("\n== Who can reach whom (a real HTTP request per cell, to each target address)")
    print("  from \\ to " + "".join(f"{n:>8}" for n in names))
    for source in names:
        cells = []
        for target in names:
            if source == target:
                cells.append(f"{'-':>8}")
                continue
            ok = any(_get(busybox, boxes[source].netns, f"http://{ip}/")
                     for ip in addresses[target].values())
            cells.append(f"{'yes' if ok else 'no':>8}")
        print(f"  {source:<10}" + "".join(cells))
