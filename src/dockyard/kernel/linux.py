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

from dockyard import plan
from dockyard.errors import KernelError
from dockyard.kernel import netlink, nftables
from dockyard.kernel.ns import (
    NetnsWorker,
    create_netns,
    delete_netns,
    netns_exists,
    open_in_netns,
    run_in_netns,
)
from dockyard.kernel.reaper import Reaper
from dockyard.kernel.rtnl import Rtnl

T = TypeVar("T")


class _Session:
    """The netlink sockets opened inside sandboxes for one batch of steps."""

    def __init__(self) -> None:
        self.sockets: dict[str, Rtnl] = {}

    def drop(self, netns: str) -> None:
        rtnl = self.sockets.pop(netns, None)
        if rtnl is not None:
            rtnl.close()

    def close(self) -> None:
        for rtnl in self.sockets.values():
            rtnl.close()
        self.sockets.clear()


class LinuxKernel:
    def __init__(self, host_netns: str | None = None) -> None:
        self.host_netns = host_netns
        self._host_worker: NetnsWorker | None = None
        self._host_rtnl: Rtnl | None = None
        self._host_lock = threading.Lock()
        self._local = threading.local()
        self._reaper = Reaper(host_netns)
        # (device, inode) of the host's namespace, to know a thread already in it.
        ns = os.stat(host_netns or "/proc/self/ns/net")
        self._host_ns_id = (ns.st_dev, ns.st_ino)

    def settle(self) -> None:
        """Wait until device deletions running in the background are done."""
        self._reaper.settle()

    def close(self) -> None:
        self._reaper.close()
        with self._host_lock:
            if self._host_worker is not None:
                self._host_worker.close()
            if self._host_rtnl is not None:
                self._host_rtnl.close()
            self._host_worker = None
            self._host_rtnl = None

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
        self._reaper.note_busy()  # background deletions hold off while changes come in
        try:
            self._dispatch(step)
        except KernelError:
            raise
        except OSError as exc:
            raise KernelError(f"{step.describe()}: {exc}") from exc

    def _dispatch(self, step: plan.Step) -> None:
        if isinstance(step, plan.CreateNetns):
            create_netns(step.path)
        elif isinstance(step, plan.DeleteNetns):
            session = getattr(self._local, "session", None)
            if session is not None:
                session.drop(step.path)
            delete_netns(step.path)
        elif isinstance(step, plan.CreateBridge):
            self._reaper.wait_for(step.name)
            self._netlink(None, lambda rtnl: netlink.create_bridge(
                rtnl, step.name, step.addresses, step.mtu))
        elif isinstance(step, plan.DeleteLink):
            self._delete_link(step)
        elif isinstance(step, plan.CreateVeth):
            self._create_veth(step)
        elif isinstance(step, plan.CreateParentLink):
            self._netlink(None, lambda rtnl: netlink.create_parent_link(
                rtnl, step.name, step.kind, step.lower, step.vlan_id))
        elif isinstance(step, plan.CreateVxlan):
            self._netlink(None, lambda rtnl: netlink.create_vxlan(
                rtnl, step.name, step.vni, step.master, step.peers, step.local, step.port,
                step.mtu))
        elif isinstance(step, plan.CreateMacvlan):
            self._create_macvlan(step)
        elif isinstance(step, plan.LoopbackUp):
            self._netlink(step.netns, netlink.loopback_up)
        elif isinstance(step, plan.SetDefaultRoutes):
            self._netlink(step.netns, lambda rtnl: self._default_routes(rtnl, step))
        elif isinstance(step, plan.Sysctl):
            self._thread_in(step.netns, lambda: _write_sysctl(step.key, step.value))
        elif isinstance(step, plan.ApplyFirewall):
            if step.script:
                # On this thread when it is in the host's namespace: the engine computes
                # and applies each firewall change inside one store transaction, which
                # orders them, whichever thread applies.
                self._thread_in(None, lambda: _apply_firewall(step))
        else:
            raise KernelError(f"unknown plan step {step!r}")

    def _delete_link(self, step: plan.DeleteLink) -> None:
        if step.netns is not None:
            if netns_exists(step.netns):
                self._netlink(step.netns, lambda rtnl: netlink.delete_link(rtnl, step.name))
            return
        if not getattr(self._local, "defer", False):
            self._reaper.wait_for(step.name)
            self._netlink(None, lambda rtnl: netlink.delete_link(rtnl, step.name))
            return
        # Teardown: cut the device off now, let the reaper wait out the unregister.
        if step.peer_netns and step.peer_ifname and netns_exists(step.peer_netns):
            tombstone = "dyx" + step.name[-12:]
            self._netlink(step.peer_netns,
                          lambda rtnl: netlink.retire_link(rtnl, step.peer_ifname or "",
                                                           tombstone))
        self._netlink(None, lambda rtnl: netlink.retire_link(rtnl, step.name))
        self._reaper.delete(step.name)

    def _create_veth(self, step: plan.CreateVeth) -> None:
        self._reaper.wait_for(step.host_ifname)
        self._netlink(None, lambda rtnl: netlink.create_veth(
            rtnl, step.host_ifname, step.master, step.peer_netns, step.peer_ifname, step.mac,
            step.mtu))
        try:
            self._netlink(step.peer_netns, lambda rtnl: netlink.configure_interface(
                rtnl, step.peer_ifname, step.addresses))
        except BaseException:
            self._netlink(None, lambda rtnl: netlink.delete_link(rtnl, step.host_ifname))
            raise

    def _create_macvlan(self, step: plan.CreateMacvlan) -> None:
        self._netlink(None, lambda rtnl: netlink.create_macvlan(
            rtnl, step.parent, step.mode, step.netns, step.ifname, step.mac, step.mtu))
        try:
            self._netlink(step.netns, lambda rtnl: netlink.configure_interface(
                rtnl, step.ifname, step.addresses))
        except BaseException:
            self._netlink(step.netns, lambda rtnl: netlink.delete_link(rtnl, step.ifname))
            raise

    @staticmethod
    def _default_routes(rtnl: Rtnl, step: plan.SetDefaultRoutes) -> None:
        netlink.set_default_route(rtnl, socket.AF_INET, step.v4)
        netlink.set_default_route(rtnl, socket.AF_INET6, step.v6)

    # ------------------------------------------------------------- helpers

    def _host(self, fn: Callable[[], T]) -> T:
        """Run on the long-lived thread in the host's namespace (nftables, port probes and
        per-namespace /proc/sys files need the calling thread to be there)."""
        with self._host_lock:
            if self._host_worker is None:
                self._host_worker = NetnsWorker(self.host_netns, "dockyard-host")
            worker = self._host_worker
        return worker.call(fn)

    def _netlink(self, netns: str | None, fn: Callable[[Rtnl], T]) -> T:
        """Run ``fn`` with a netlink socket of ``netns`` (None: the host), on this thread.
        The host's socket is shared, one request at a time; a sandbox's lives for the
        session."""
        if netns is None or netns == self.host_netns:
            with self._host_lock:
                if self._host_rtnl is None:
                    self._host_rtnl = open_in_netns(self.host_netns, Rtnl)
                rtnl = self._host_rtnl
            with rtnl.lock:
                return fn(rtnl)
        session: _Session | None = getattr(self._local, "session", None)
        if session is not None:
            rtnl = session.sockets.get(netns) or open_in_netns(netns, Rtnl)
            session.sockets[netns] = rtnl
            return fn(rtnl)
        with open_in_netns(netns, Rtnl) as rtnl:
            return fn(rtnl)

    def _thread_in(self, netns: str | None, fn: Callable[[], T]) -> T:
        """Run ``fn`` on a thread in ``netns`` (None: the host's): on this one when it is
        already there. A hop to the host's worker costs ~0.1 ms on an idle daemon and up to
        a GIL switch interval (5 ms) when other threads run Python; a stat costs ~5 us."""
        if netns is None or netns == self.host_netns:
            current = os.stat("/proc/thread-self/ns/net")
            if (current.st_dev, current.st_ino) == self._host_ns_id:
                return fn()
            return self._host(fn)
        return run_in_netns(netns, fn)

    # ------------------------------------------------------------- observe

    def host_routes(self) -> list[IPv4Network | IPv6Network]:
        """Destinations of the host's IPv4 routes, for IPAM's overlap check (the default
        pools it chooses from are IPv4). One route dump, no link dump: each running
        container adds a link to parse. A removed bridge waiting for deletion is down,
        and a down device has no routes, so its subnet is free at once."""
        routes = self._netlink(None, lambda rtnl: rtnl.routes(socket.AF_INET))
        found: list[IPv4Network | IPv6Network] = []
        for route in routes:
            if route["dst"] == "default":
                continue
            with contextlib.suppress(ValueError):
                found.append(ip_network(route["dst"], strict=False))
        return found

    def links(self, netns: str | None = None) -> list[dict[str, Any]]:
        return self._netlink(netns, netlink.list_links)

    def addresses(self, netns: str | None = None) -> list[dict[str, Any]]:
        return self._netlink(netns, netlink.list_addresses)

    def routes(self, netns: str | None = None) -> list[dict[str, Any]]:
        return self._netlink(netns, netlink.list_routes)

    def netns_exists(self, path: str) -> bool:
        return netns_exists(path)

    def ephemeral_port_range(self) -> tuple[int, int]:
        def read() -> tuple[int, int]:
            with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                low, high = f.read().split()
            return int(low), int(high)

        return self._host(read)

    def port_is_free(self, proto: str, host_ip: str | None, port: int) -> bool:
        """Can a socket bind this port on the host? Catches ports held by host processes."""

        def probe() -> bool:
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

    def read_sysctl(self, key: str, netns: str | None = None) -> str:
        def read() -> str:
            with open(f"/proc/sys/{key}") as f:
                return f.read().strip()

        return self._thread_in(netns, read)

    def list_netns(self, directory: str) -> Iterator[str]:
        with contextlib.suppress(FileNotFoundError):
            for name in sorted(os.listdir(directory)):
                yield os.path.join(directory, name)


def _apply_firewall(step: plan.ApplyFirewall) -> None:
    """Run the step's script in the calling thread's namespace (the host's); if a delta is
    refused (the table drifted from the record), apply the whole table instead. The thread
    keeps its nftables socket for the next change."""
    try:
        nftables.run(step.script, keep=True)
    except KernelError:
        if not step.fallback:
            raise
        nftables.run(step.fallback, keep=True)


def _write_sysctl(key: str, value: str) -> None:
    with open(f"/proc/sys/{key}", "w") as f:
        f.write(value)
