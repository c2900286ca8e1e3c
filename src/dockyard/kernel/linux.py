"""The real kernel: applies plans and reads back what is there.

``LinuxKernel(host_netns)`` acts on the namespace that plays the host: None
for the machine's own, or a path (tests run each "host" in its own namespace,
so they cannot disturb the machine or each other).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any, TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from dockyard import plan
from dockyard.errors import KernelError
from dockyard.kernel import netlink, nftables
from dockyard.kernel.ns import NetnsWorker, create_netns, delete_netns, netns_exists
from dockyard.kernel.reaper import Reaper

T = TypeVar("T")


class _Session:
    """The namespace workers (thread + netlink socket) opened for one batch of steps."""

    def __init__(self) -> None:
        self.workers: dict[str, tuple[NetnsWorker, IPRoute]] = {}

    def close(self) -> None:
        for worker, ipr in self.workers.values():
            worker.call(ipr.close)
            worker.close()
        self.workers.clear()


class LinuxKernel:
    def __init__(self, host_netns: str | None = None) -> None:
        self.host_netns = host_netns
        self._host_worker: NetnsWorker | None = None
        self._host_ipr: IPRoute | None = None
        self._host_lock = threading.Lock()
        self._local = threading.local()
        self._reaper = Reaper(host_netns)

    def settle(self) -> None:
        """Wait until device deletions running in the background are done."""
        self._reaper.settle()

    def close(self) -> None:
        self._reaper.close()
        with self._host_lock:
            if self._host_worker is not None:
                if self._host_ipr is not None:
                    self._host_worker.call(self._host_ipr.close)
                self._host_worker.close()
            self._host_worker = None
            self._host_ipr = None

    # ----------------------------------------------------------------- apply

    def apply(self, steps: Sequence[plan.Step]) -> None:
        """Apply steps in order; on failure undo the completed ones in reverse, then raise."""
        with self._session():
            done: list[plan.Step] = []
            try:
                for step in steps:
                    self._apply_one(step)
                    done.append(step)
            except BaseException as exc:
                failures = self.revert(done)
                if isinstance(exc, KernelError):
                    if failures:
                        exc.add_note("rollback also failed: " + "; ".join(failures))
                    raise
                raise KernelError(f"{step.describe()}: {exc}") from exc

    def revert(self, done: Sequence[plan.Step]) -> list[str]:
        """Best effort: undo every step it can, collect what failed, never stop early."""
        failures = []
        with self._session():
            for step in reversed(done):
                inverse = step.undo()
                if inverse is None:
                    continue
                try:
                    self._apply_one(inverse)
                except Exception as exc:  # keep undoing the rest
                    failures.append(f"{inverse.describe()}: {exc}")
        return failures

    def teardown(self, steps: Sequence[plan.Step]) -> list[str]:
        """Apply removal steps best-effort; return what failed."""
        failures = []
        with self._session():
            self._local.defer = True
            try:
                for step in steps:
                    try:
                        self._apply_one(step)
                    except Exception as exc:
                        failures.append(f"{step.describe()}: {exc}")
            finally:
                self._local.defer = False
        return failures

    @contextlib.contextmanager
    def _session(self) -> Iterator[None]:
        """Share one worker per namespace across the steps of a batch (re-entrant)."""
        if getattr(self._local, "session", None) is not None:
            yield
            return
        session = _Session()
        self._local.session = session
        try:
            yield
        finally:
            self._local.session = None
            session.close()

    def _apply_one(self, step: plan.Step) -> None:
        try:
            self._dispatch(step)
        except KernelError:
            raise
        except (NetlinkError, OSError) as exc:
            raise KernelError(f"{step.describe()}: {exc}") from exc

    def _dispatch(self, step: plan.Step) -> None:
        if isinstance(step, plan.CreateNetns):
            create_netns(step.path)
        elif isinstance(step, plan.DeleteNetns):
            session = getattr(self._local, "session", None)
            if session is not None and step.path in session.workers:
                worker, ipr = session.workers.pop(step.path)
                worker.call(ipr.close)
                worker.close()
            delete_netns(step.path)
        elif isinstance(step, plan.CreateBridge):
            self._reaper.wait_for(step.name)
            self._host(lambda ipr: netlink.create_bridge(ipr, step.name, step.addresses, step.mtu))
        elif isinstance(step, plan.DeleteLink):
            self._delete_link(step)
        elif isinstance(step, plan.CreateVeth):
            self._create_veth(step)
        elif isinstance(step, plan.LoopbackUp):
            self._in(step.netns, netlink.loopback_up)
        elif isinstance(step, plan.SetDefaultRoutes):
            self._in(step.netns, lambda ipr: self._default_routes(ipr, step))
        elif isinstance(step, plan.Sysctl):
            self._in(step.netns, lambda _ipr: _write_sysctl(step.key, step.value))
        elif isinstance(step, plan.ApplyFirewall):
            if not step.script:
                return
            if getattr(self._local, "defer", False):
                # Teardown: removing elements waits out a grace period; do it after the
                # reply, in order with every later firewall change (they wait for it).
                self._reaper.submit(_FIREWALL, lambda _ipr: _apply_firewall(step))
            else:
                self._reaper.wait_for(_FIREWALL)
                self._host(lambda _ipr: _apply_firewall(step))
        else:
            raise KernelError(f"unknown plan step {step!r}")

    def _delete_link(self, step: plan.DeleteLink) -> None:
        if step.netns is not None:
            if netns_exists(step.netns):
                self._in(step.netns, lambda ipr: netlink.delete_link(ipr, step.name))
            return
        if not getattr(self._local, "defer", False):
            self._reaper.wait_for(step.name)
            self._host(lambda ipr: netlink.delete_link(ipr, step.name))
            return
        # Teardown: cut the device off now, let the reaper wait out the unregister.
        if step.peer_netns and step.peer_ifname and netns_exists(step.peer_netns):
            tombstone = "dyx" + step.name[-12:]
            self._in(step.peer_netns,
                     lambda ipr: netlink.retire_link(ipr, step.peer_ifname or "", tombstone))
        self._host(lambda ipr: netlink.retire_link(ipr, step.name))
        self._reaper.delete(step.name)

    def _create_veth(self, step: plan.CreateVeth) -> None:
        self._reaper.wait_for(step.host_ifname)
        self._host(lambda ipr: netlink.create_veth(
            ipr, step.host_ifname, step.master, step.peer_netns, step.peer_ifname, step.mac,
            step.mtu))
        try:
            self._in(step.peer_netns,
                     lambda ipr: netlink.configure_interface(ipr, step.peer_ifname, step.addresses))
        except BaseException:
            self._host(lambda ipr: netlink.delete_link(ipr, step.host_ifname))
            raise

    @staticmethod
    def _default_routes(ipr: IPRoute, step: plan.SetDefaultRoutes) -> None:
        netlink.set_default_route(ipr, socket.AF_INET, step.v4)
        netlink.set_default_route(ipr, socket.AF_INET6, step.v6)

    # ------------------------------------------------------------- helpers

    def _host(self, fn: Callable[[IPRoute], T]) -> T:
        """Run on the host's long-lived worker with its long-lived netlink socket."""
        with self._host_lock:
            if self._host_worker is None:
                self._host_worker = NetnsWorker(self.host_netns, "dockyard-host")
            worker = self._host_worker
        if self._host_ipr is None:
            self._host_ipr = worker.call(netlink.open_iproute)
        ipr = self._host_ipr
        return worker.call(lambda: fn(ipr))

    def _in(self, netns: str | None, fn: Callable[[IPRoute], T]) -> T:
        if netns is None or netns == self.host_netns:
            return self._host(fn)
        session: _Session | None = getattr(self._local, "session", None)
        if session is not None and netns in session.workers:
            worker, ipr = session.workers[netns]
            return worker.call(lambda: fn(ipr))
        worker = NetnsWorker(netns)
        ipr = worker.call(netlink.open_iproute)
        if session is not None:
            session.workers[netns] = (worker, ipr)
            return worker.call(lambda: fn(ipr))
        try:
            return worker.call(lambda: fn(ipr))
        finally:
            worker.call(ipr.close)
            worker.close()

    # ------------------------------------------------------------- observe

    def host_routes(self) -> list[IPv4Network | IPv6Network]:
        """Destinations of the host's routes, for IPAM's overlap check."""
        routes = self._host(netlink.list_routes)
        found: list[IPv4Network | IPv6Network] = []
        for route in routes:
            # A dying bridge's route is not a host route: its subnet is free again.
            if route["dst"] == "default" or self._reaper.pending(route["dev"] or ""):
                continue
            with contextlib.suppress(ValueError):
                found.append(ip_network(route["dst"], strict=False))
        return found

    def links(self, netns: str | None = None) -> list[dict[str, Any]]:
        return self._in(netns if netns else self.host_netns, netlink.list_links)

    def addresses(self, netns: str | None = None) -> list[dict[str, Any]]:
        return self._in(netns if netns else self.host_netns, netlink.list_addresses)

    def routes(self, netns: str | None = None) -> list[dict[str, Any]]:
        return self._in(netns if netns else self.host_netns, netlink.list_routes)

    def netns_exists(self, path: str) -> bool:
        return netns_exists(path)

    def ephemeral_port_range(self) -> tuple[int, int]:
        def read(_ipr: IPRoute) -> tuple[int, int]:
            with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                low, high = f.read().split()
            return int(low), int(high)

        return self._host(read)

    def port_is_free(self, proto: str, host_ip: str | None, port: int) -> bool:
        """Can a socket bind this port on the host? Catches ports held by host processes."""

        def probe(_ipr: IPRoute) -> bool:
            kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
            family = socket.AF_INET6 if host_ip and ":" in host_ip else socket.AF_INET
            address = host_ip or ("::" if family == socket.AF_INET6 else "0.0.0.0")
            with socket.socket(family, kind) as sock:
                try:
                    sock.bind((address, port))
                except OSError as exc:
                    if exc.errno == errno.EADDRINUSE:
                        return False
                    if exc.errno == errno.EADDRNOTAVAIL:
                        return True  # not a local address: nothing on the host can hold it
                    raise
            return True

        return self._host(probe)

    def nft(self, script: str) -> str:
        self._reaper.wait_for(_FIREWALL)
        return self._host(lambda _ipr: nftables.run(script))

    def read_sysctl(self, key: str, netns: str | None = None) -> str:
        def read(_ipr: IPRoute) -> str:
            with open(f"/proc/sys/{key}") as f:
                return f.read().strip()

        return self._in(netns, read)

    def list_netns(self, directory: str) -> Iterator[str]:
        with contextlib.suppress(FileNotFoundError):
            for name in sorted(os.listdir(directory)):
                yield os.path.join(directory, name)


_FIREWALL = "nftables"


def _apply_firewall(step: plan.ApplyFirewall) -> None:
    """Run the step's script in the calling thread's namespace; if a delta is refused (the
    table drifted from the record), apply the whole table instead."""
    try:
        nftables.run(step.script)
    except KernelError:
        if not step.fallback:
            raise
        nftables.run(step.fallback)


def _write_sysctl(key: str, value: str) -> None:
    with open(f"/proc/sys/{key}", "w") as f:
        f.write(value)
