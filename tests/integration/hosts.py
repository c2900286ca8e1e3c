"""Throw-away "hosts" for integration tests: a host is a fresh network namespace.

Each test's engine programs bridges, veths and nftables inside its own host
namespace, never the machine's, so tests run in parallel and clean up by
deleting what they made: removing the host namespace takes its bridges, veths
and nftables table with it; the sandbox namespaces are unmounted explicitly.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from dockyard.engine import Engine, EngineConfig
from dockyard.kernel.linux import LinuxKernel
from dockyard.kernel.mounts import unmount
from dockyard.kernel.ns import create_netns, delete_netns
from dockyard.store import SqliteStore

TEST_RUN_ROOT = "/run/dockyard-test"


@dataclass
class Host:
    name: str
    netns: str
    root: str
    exec_root: str

    def run(self, argv: Sequence[str], timeout: float = 10) -> subprocess.CompletedProcess[str]:
        return run_in(self.netns, argv, timeout)

    def engine(self) -> Engine:
        kernel = LinuxKernel(self.netns)
        config = EngineConfig(
            root=self.root, exec_root=self.exec_root,
            host_resolv_conf=os.path.join(self.root, "host-resolv.conf"),
        )
        return Engine(config, SqliteStore(self.root), kernel).open()


def run_in(
    netns: str, argv: Sequence[str], timeout: float = 10
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nsenter", f"--net={netns}", *argv], capture_output=True, text=True, timeout=timeout
    )


@contextmanager
def make_host(name: str = "host") -> Iterator[Host]:
    base = os.path.join(TEST_RUN_ROOT, secrets.token_hex(4))
    host = Host(name, os.path.join(base, name), os.path.join(base, "state"),
                os.path.join(base, "run"))
    os.makedirs(host.root)
    with open(os.path.join(host.root, "host-resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\n")
    create_netns(host.netns)
    try:
        run_in(host.netns, ["ip", "link", "set", "lo", "up"]).check_returncode()
        yield host
    finally:
        netns_dir = os.path.join(host.exec_root, "netns")
        if os.path.isdir(netns_dir):
            for entry in os.listdir(netns_dir):
                delete_netns(os.path.join(netns_dir, entry))
        delete_netns(host.netns)
        unmount_below(base)
        shutil.rmtree(base, ignore_errors=True)


def unmount_below(base: str) -> None:
    """Detach whatever is still mounted under ``base`` (a container root a failed or
    killed test left mounted), deepest first, so that nothing outlives the test and the
    tree can be removed."""
    prefix = base.rstrip("/") + "/"
    with open("/proc/self/mountinfo") as f:
        # Field 5 is the mount point, with spaces and the like written as octal escapes.
        points = [line.split()[4].encode().decode("unicode_escape") for line in f]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        unmount(point)


BUSYBOX = shutil.which("busybox") or "/bin/busybox"


@contextmanager
def http_server(netns: str, port: int = 80, body: str = "hello") -> Iterator[None]:
    """busybox httpd serving ``body`` at / inside ``netns``, stopped by PID afterwards."""
    docroot = os.path.join(TEST_RUN_ROOT, "www-" + secrets.token_hex(4))
    os.makedirs(docroot)
    with open(os.path.join(docroot, "index.html"), "w") as f:
        f.write(body)
    proc = subprocess.Popen(
        ["nsenter", f"--net={netns}", BUSYBOX, "httpd", "-f", "-p", str(port), "-h", docroot],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _listening(netns, port), what=f"httpd on port {port}")
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        shutil.rmtree(docroot, ignore_errors=True)


def _listening(netns: str, port: int) -> bool:
    out = run_in(netns, ["ss", "-Htln", f"sport = :{port}"]).stdout
    return bool(out.strip())


def http_get(netns: str, url: str, timeout: int = 2) -> str | None:
    """The body, or None when the server cannot be reached."""
    # busybox 1.35's own ``wget -T`` segfaults here; coreutils' timeout bounds it instead.
    result = run_in(netns, ["timeout", str(timeout), BUSYBOX, "wget", "-q", "-O", "-", url],
                    timeout=timeout + 5)
    return result.stdout if result.returncode == 0 else None


def wait_for(condition: Callable[[], bool], timeout: float = 5, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def link_hosts(a: Host, b: Host, a_addr: str = "10.99.0.1/24", b_addr: str = "10.99.0.2/24"
               ) -> None:
    """A cable between two hosts: a veth pair with an address on each end."""
    name = "dyt" + secrets.token_hex(4)
    run_in(a.netns, ["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p",
                     "netns", b.netns]).check_returncode()
    run_in(a.netns, ["ip", "addr", "add", a_addr, "dev", name]).check_returncode()
    run_in(a.netns, ["ip", "link", "set", name, "up"]).check_returncode()
    run_in(b.netns, ["ip", "addr", "add", b_addr, "dev", name + "p"]).check_returncode()
    run_in(b.netns, ["ip", "link", "set", name + "p", "up"]).check_returncode()


def snapshot(host: Host) -> dict[str, object]:
    """What a refused request must leave unchanged: links, namespaces, firewall, store."""
    import sqlite3

    links = sorted(run_in(host.netns, ["ip", "-o", "link"]).stdout.split("\n"))
    links = [line.split(":")[1].strip() for line in links if line]
    netns_dir = os.path.join(host.exec_root, "netns")
    namespaces = sorted(os.listdir(netns_dir)) if os.path.isdir(netns_dir) else []
    ruleset = run_in(host.netns, ["nft", "list", "ruleset"]).stdout
    conn = sqlite3.connect(os.path.join(host.root, "dockyard.db"))
    try:
        rows = sorted(conn.execute("SELECT kind, key, value FROM objects").fetchall())
    finally:
        conn.close()
    # Interface, family and address only: flags such as "tentative" (IPv6 duplicate
    # detection on a bridge's link-local address) change by themselves over a second.
    addresses = sorted(" ".join(line.split()[1:4])
                       for line in run_in(host.netns, ["ip", "-o", "addr"]).stdout.splitlines())
    return {"links": links, "netns": namespaces, "ruleset": ruleset, "rows": rows,
            "addresses": addresses}
