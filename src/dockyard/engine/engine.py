"""The engine façade: networks, sandboxes and the endpoints that join them.

Every mutating request walks the same steps under one lock:
validate → allocate (pure, from a state snapshot) → record intent in the store
(state "creating"/"removing") → apply the kernel plan (rolled back on failure)
→ commit. A process killed between the steps leaves rows in an intermediate
state that :meth:`Engine.reconcile` finishes or removes on the next start.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_interface, ip_network
from typing import Any, Protocol

from dockyard import plan
from dockyard.dns.resolvconf import HostResolvConf, parse_resolv_conf, render_resolv_conf
from dockyard.drivers import get_driver
from dockyard.drivers.macvlan import choose_parent
from dockyard.drivers.overlay import OPT_VNI, default_vni
from dockyard.engine import firewall
from dockyard.engine.gateway import default_routes
from dockyard.engine.locking import FileLock
from dockyard.engine.state import State
from dockyard.errors import Conflict, DockyardError, Forbidden, InvalidParameter, NotFound
from dockyard.ipam import (
    DEFAULT_BRIDGE_SUBNET,
    IPAddress,
    PoolConfig,
    allocate,
    choose_subnet,
    default_gateway,
    make_pool,
)
from dockyard.ipam.parse import stored_address, stored_network
from dockyard.ipam.pools import choose_subnet_v6, ula_base
from dockyard.model.endpoint import Endpoint
from dockyard.model.ids import (
    BRIDGE_PREFIX,
    DEFAULT_BRIDGE,
    VETH_PREFIX,
    bridge_name,
    host_veth_name,
    mac_from_ipv4,
    new_id,
    parse_mac,
    validate_name,
    validate_network_name,
)
from dockyard.model.network import (
    OPT_BRIDGE_NAME,
    OPT_DEFAULT_BRIDGE,
    OPT_ENABLE_ICC,
    OPT_ENABLE_MASQ,
    OPT_HOST_BINDING_IPV4,
    Network,
    Pool,
)
from dockyard.model.sandbox import MODE_CONTAINER, MODE_HOST, MODE_PRIVATE, Sandbox
from dockyard.nft import FirewallState, render_delete
from dockyard.portmap import Binding, PortSpec, allocate_host_ports
from dockyard.sandbox.files import render_hostname, render_hosts
from dockyard.spares import FILE, SpareDirs, pool_dir
from dockyard.store.base import Store, Txn

# The kinds a State is read from: writes to other kinds (containers, images) keep it valid.
STATE_KINDS = ("network", "sandbox", "endpoint")
# What a sandbox directory holds: bind-mounted over the container's /etc files of those names.
SANDBOX_FILES = ("hosts", "hostname", "resolv.conf")


class Kernel(Protocol):
    """What the engine needs from the kernel layer (``kernel.linux.LinuxKernel``)."""

    def apply(self, steps: Sequence[plan.Step]) -> None: ...

    def teardown(self, steps: Sequence[plan.Step]) -> list[str]: ...

    def revert(self, done: Sequence[plan.Step]) -> list[str]: ...

    def host_routes(self) -> list[IPv4Network | IPv6Network]: ...

    def links(self, netns: str | None = None) -> list[dict[str, Any]]: ...

    def netns_exists(self, path: str) -> bool: ...

    def ephemeral_port_range(self) -> tuple[int, int]: ...

    def port_is_free(self, proto: str, host_ip: str | None, port: int) -> bool: ...

    def settle(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PoolRequest:
    subnet: str | None = None
    gateway: str | None = None
    ip_range: str | None = None
    aux_addresses: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineConfig:
    root: str = "/var/lib/dockyard"
    exec_root: str = "/run/dockyard"
    default_bridge_subnet: str = str(DEFAULT_BRIDGE_SUBNET)
    host_resolv_conf: str = "/etc/resolv.conf"


Listener = Callable[[str, str, State], None]  # (event, object id, new state)


class Engine:
    def __init__(self, config: EngineConfig, store: Store, kernel: Kernel) -> None:
        self.config = config
        self.store = store
        self.kernel = kernel
        self._lock = threading.RLock()
        # Per-sandbox locks keep one sandbox's changes in order while the kernel work of
        # different sandboxes runs outside the engine lock, side by side.
        self._sandbox_locks: dict[str, threading.RLock] = {}
        self._sandbox_locks_guard = threading.Lock()
        # The host's resolv.conf as last read, by the (inode, mtime, size) it had then.
        self._host_resolv: tuple[tuple[int, int, int], HostResolvConf] | None = None
        os.makedirs(config.root, exist_ok=True)
        self._file_lock = FileLock(os.path.join(config.root, "engine.lock"))
        self._listeners: list[Listener] = []
        self._notify_lock = threading.Lock()
        self._cached: tuple[int, State] | None = None
        self._firewall_known: tuple[str, FirewallState] | None = None  # see _record_firewall
        self._forwarding_on: set[str] = set()  # forwarding sysctls this engine turned on
        self._engine_id: str | None = None
        # Sandbox directories of removed sandboxes, emptied, for the next ones.
        self._spares = SpareDirs(pool_dir(config.root, "sandboxes"),
                                 {name: FILE for name in SANDBOX_FILES})

    # ------------------------------------------------------------ plumbing

    def subscribe(self, listener: Listener) -> None:
        """Called after every committed change (DNS records, events)."""
        self._listeners.append(listener)

    def _notify(self, event: str, object_id: str) -> None:
        if not self._listeners:
            return
        # One at a time, each with the state as it is when its turn comes: listeners
        # then see states in commit order. Without it, two changes finishing at once
        # could be told newest first, and the older state told last would stand (the
        # DNS records would lack the newer change until the next one).
        with self._notify_lock:
            state = self.state()
            for listener in self._listeners:
                listener(event, object_id, state)

    def _locked(self) -> _EngineLock:
        return _EngineLock(self._lock, self._file_lock)

    def _sandbox_lock(self, sandbox_id: str) -> threading.RLock:
        with self._sandbox_locks_guard:
            return self._sandbox_locks.setdefault(sandbox_id, threading.RLock())

    @contextlib.contextmanager
    def _new_sandbox_lock(self, sandbox_id: str) -> Iterator[None]:
        """The lock of a sandbox being made, held until it is: a remove or connect of it
        waits meanwhile. Forgotten if the sandbox is not made after all."""
        with self._sandbox_lock(sandbox_id):
            try:
                yield
            except BaseException:
                self._forget_sandbox_lock(sandbox_id)
                raise

    def _forget_sandbox_lock(self, sandbox_id: str) -> None:
        with self._sandbox_locks_guard:
            self._sandbox_locks.pop(sandbox_id, None)

    def state(self) -> State:
        """The committed state; re-read only when the store's revision moved (another
        process wrote), since this engine remembers what its own changes leave."""
        revision = self.store.revision(STATE_KINDS)
        cached = self._cached
        if cached is not None and cached[0] == revision:
            return cached[1]
        # Maybe one of this engine's writers is between its commit and remembering what it
        # left: wait for it rather than read everything back (every writer holds _lock).
        with self._lock:
            revision = self.store.revision(STATE_KINDS)
            cached = self._cached
            if cached is not None and cached[0] == revision:
                return cached[1]
            state = State.load(self.store)
            self._cached = (revision, state)
            return state

    def _remember(self, state: State) -> None:
        self._cached = (self.store.revision(STATE_KINDS), state)

    @property
    def netns_dir(self) -> str:
        return os.path.join(self.config.exec_root, "netns")

    def sandbox_dir(self, sandbox_id: str) -> str:
        return os.path.join(self.config.root, "sandboxes", sandbox_id)

    def _firewall_step(self, after: State, txn: Txn) -> plan.ApplyFirewall | None:
        """The change taking the applied table to ``after``'s (element deltas once a state
        is recorded, else the whole table), or None if there is none."""
        new = firewall.firewall_state(after)
        return firewall.firewall_step(
            txn.get("firewall", "applied"), txn.get("firewall", "state"), new,
            known=self._firewall_known,
        )

    def _record_firewall(self, txn: Txn, step: plan.ApplyFirewall | None) -> None:
        if isinstance(step, firewall.ApplyFirewallState):
            applied, state = firewall.records(step)
            txn.put("firewall", "applied", applied)
            txn.put("firewall", "state", state)
            # Trusted by the next step only while the store still holds this very record
            # (a rolled-back transaction or another process's write changes the sha).
            self._firewall_known = (state["script_sha256"], step.state)

    # ------------------------------------------------------------ networks

    def networks(self) -> list[Network]:
        return [n for n in self.state().networks if n.state == "ready"]

    def network(self, ref: str) -> Network:
        return self.state().network(ref)

    def create_network(
        self,
        name: str,
        driver: str = "bridge",
        *,
        pools: Sequence[PoolRequest] = (),
        internal: bool = False,
        attachable: bool = False,
        enable_ipv6: bool = False,
        options: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        ipam_driver: str = "default",
        ipam_options: Mapping[str, str] | None = None,
        _predefined: bool = False,
        enable_ipv4: bool = True,
    ) -> Network:
        validate_network_name(name)
        options = dict(options or {})
        impl = get_driver(driver)
        if not impl.user_creatable and not _predefined:
            raise Forbidden(f'only one instance of "{driver}" network is allowed')
        impl.validate_options(options)
        if ipam_driver not in ("default", ""):
            raise NotFound(f'IPAM driver "{ipam_driver}" not found: only "default" exists')
        if not enable_ipv6 and any(_is_v6(p.subnet) for p in pools):
            raise InvalidParameter("an IPv6 subnet needs enable_ipv6 (--ipv6)")
        if not enable_ipv4:
            if not enable_ipv6:
                raise InvalidParameter("IPv4 or IPv6 must be enabled")
            v4 = next((p.subnet for p in pools if p.subnet and not _is_v6(p.subnet)), None)
            if v4 is not None:
                raise InvalidParameter(
                    f'invalid subnet "{v4}": IPv4 is disabled on this network (--ipv4=false)')
        with self._locked():
            state = self.state()
            if any(n.name == name for n in state.networks):
                raise Conflict(f"network with name {name} already exists")
            network_id = new_id()
            chosen = self._choose_pools(state, pools, impl.needs_ipam, name, _predefined,
                                        enable_ipv6, enable_ipv4)
            device, made_device = "", False
            if driver == "bridge":
                device = options.get(OPT_BRIDGE_NAME) or bridge_name(network_id)
                if any(n.device == device for n in state.networks):
                    raise Conflict(f'bridge name "{device}" is already used by another network')
            elif driver == "overlay":
                device = bridge_name(network_id)
                # shown by inspect, as Docker's overlay shows its VXLAN id
                options.setdefault(OPT_VNI, str(default_vni(name)))
            elif driver == "macvlan":
                device, made_device = choose_parent(
                    network_id, options, internal,
                    {link["name"] for link in self.kernel.links()}, state.networks)
            network = Network(
                id=network_id,
                name=name,
                driver=driver,
                created=_now(),
                pools=tuple(Pool.from_doc(p.to_doc()) for p in chosen),
                internal=internal,
                attachable=attachable,
                enable_ipv6=enable_ipv6,
                enable_ipv4=enable_ipv4,
                ipam_driver="default",
                ipam_options=dict(ipam_options or {}),
                options=options,
                labels=dict(labels or {}),
                device=device,
                made_device=made_device,
                state="creating",
            )
            with self.store.transaction() as txn:
                txn.put("network", network.id, network.to_doc())
            try:
                steps = list(impl.plan_create(network))
                forwarding: list[str] = []
                if driver == "bridge":
                    forwarding.append("net/ipv4/ip_forward")
                    if enable_ipv6:
                        forwarding.append("net/ipv6/conf/all/forwarding")
                    # Once per engine, as dockerd turns forwarding on once, at its start:
                    # every create after the first would pay a write (~0.1 ms) for nothing.
                    steps += [plan.Sysctl(key, "1") for key in forwarding
                              if key not in self._forwarding_on]
                ready = network.with_state("ready")
                after = state.put_network(ready)
                with self.store.transaction() as txn:
                    txn.put("network", network.id, ready.to_doc())
                    fw = self._firewall_step(after, txn)
                    if fw:
                        steps.append(fw)
                    self.kernel.apply(steps)
                    self._record_firewall(txn, fw)
                self._remember(after)
                self._forwarding_on.update(forwarding)
            except BaseException:
                with self.store.transaction() as txn:
                    txn.delete("network", network.id)
                raise
        self._notify("network.create", network.id)
        return ready

    def _choose_pools(
        self,
        state: State,
        requests: Sequence[PoolRequest],
        needs_ipam: bool,
        name: str,
        predefined: bool,
        enable_ipv6: bool = False,
        enable_ipv4: bool = True,
    ) -> list[PoolConfig]:
        if not needs_ipam:
            if requests:
                raise InvalidParameter(f'network "{name}": this driver takes no IPAM config')
            return []
        existing = [stored_network(p.subnet) for n in state.networks for p in n.pools]
        routes: list[IPv4Network | IPv6Network] | None = None
        if predefined:
            subnet = ip_network(self.config.default_bridge_subnet)
            if any(subnet.overlaps(r) for r in self._host_routes_not_ours(state)):
                # Docker's default bridge would clash (say, docker0 on the same host):
                # take the next free default pool rather than break routing.
                subnet = choose_subnet(existing, self._host_routes_not_ours(state))
            return [PoolConfig(subnet=subnet, gateway=default_gateway(subnet))]
        seen_families: set[int] = set()
        chosen: list[PoolConfig] = []
        # IPv4 is on unless turned off, as in Docker: a network given only an IPv6 subnet
        # still gets one from the IPv4 defaults; with IPv6 on and no IPv6 subnet, a /64 of
        # the engine's own unique local prefix (Docker 27.0's default IPv6 pool).
        wanted = list(requests)
        if enable_ipv4 and not any(not _is_v6(r.subnet) for r in wanted):
            wanted.insert(0, PoolRequest())
        for request in wanted:
            if routes is None and request.subnet is None:
                routes = self._host_routes_not_ours(state)
            pool = make_pool(
                request.subnet, request.gateway, request.ip_range,
                dict(request.aux_addresses),
                existing=existing + [p.subnet for p in chosen],
                host_routes=routes or [],
            )
            if pool.version in seen_families:
                raise InvalidParameter(
                    f'invalid subnet "{pool.subnet}": the bridge driver takes one subnet per '
                    "address family"
                )
            seen_families.add(pool.version)
            chosen.append(pool)
        if enable_ipv6 and 6 not in seen_families:
            subnet = choose_subnet_v6(ula_base(self.engine_id()),
                                      existing + [p.subnet for p in chosen], routes or [])
            chosen.append(PoolConfig(subnet=subnet, gateway=default_gateway(subnet)))
        # Docker lists a network's IPv4 pool before its IPv6 one, whatever the request's order.
        return sorted(chosen, key=lambda p: p.version)

    def engine_id(self) -> str:
        """This engine's stable id (Docker's engine-id): made once per state root, kept in
        it; /info reports it, and the default IPv6 pool is derived from it."""
        if self._engine_id is None:
            path = os.path.join(self.config.root, "engine-id")
            with contextlib.suppress(FileExistsError):  # (made meanwhile: read it)
                import uuid

                with open(path, "x") as f:  # (the root exists: the spares pool is in it)
                    f.write(str(uuid.uuid4()))
            with open(path) as f:
                self._engine_id = f.read().strip()
        return self._engine_id

    def _host_routes_not_ours(self, state: State) -> list[IPv4Network | IPv6Network]:
        ours = {stored_network(p.subnet) for n in state.networks for p in n.pools}
        return [r for r in self.kernel.host_routes() if r not in ours]

    def remove_network(self, ref: str) -> None:
        with self._locked():
            state = self.state()
            network = state.network(ref)
            if network.predefined:
                raise Forbidden(f"{network.name} is a pre-defined network and cannot be removed")
            active = state.endpoints_of_network(network.id)
            if active:
                raise Forbidden(
                    f"error while removing network: network {network.name} id {network.id} "
                    "has active endpoints"
                )
            self._remove_network(network, state)
        self._notify("network.destroy", network.id)

    def _remove_network(self, network: Network, state: State) -> None:
        """Remove ``network`` (read from ``state``, under the engine's lock)."""
        after = state.drop_network(network.id)
        with self.store.transaction() as txn:
            txn.put("network", network.id, network.with_state("removing").to_doc())
        with self.store.transaction() as txn:
            txn.delete("network", network.id)
            fw = self._firewall_step(after, txn)
            steps: list[plan.Step] = list(get_driver(network.driver).plan_delete(network))
            if fw:
                steps.insert(0, fw)
            failures = self.kernel.teardown(steps)
            self._record_firewall(txn, fw)
        self._remember(after)
        if failures:
            raise DockyardError("network removed with errors: " + "; ".join(failures))

    def prune_networks(self, labels: Mapping[str, str | None] | None = None) -> list[str]:
        """Remove unused user networks (optionally only those matching every label)."""
        removed = []
        for network in self.networks():
            if network.predefined or self.state().endpoints_of_network(network.id):
                continue
            if labels and not all(
                k in network.labels and (v is None or network.labels[k] == v)
                for k, v in labels.items()
            ):
                continue
            try:
                self.remove_network(network.id)
            except (Forbidden, NotFound):
                continue
            removed.append(network.name)
        return removed

    # ----------------------------------------------------------- sandboxes

    def sandboxes(self) -> list[Sandbox]:
        return [s for s in self.state().sandboxes if s.state == "ready"]

    def sandbox(self, ref: str) -> Sandbox:
        return self.state().sandbox(ref)

    def create_sandbox(
        self,
        name: str,
        *,
        mode: str = MODE_PRIVATE,
        shares: str | None = None,
        hostname: str = "",
        domainname: str = "",
        dns: Sequence[str] = (),
        dns_search: Sequence[str] = (),
        dns_options: Sequence[str] = (),
        extra_hosts: Sequence[str] = (),
        ports: Sequence[PortSpec] = (),
        exposed: Sequence[str] = (),
        labels: Mapping[str, str] | None = None,
        sandbox_id: str | None = None,
        write_files: bool = True,
    ) -> Sandbox:
        """A network namespace for a container (``private``), the host's (``host``), or
        another sandbox's (``container``, Docker's ``--network container:X``).

        ``write_files=False`` leaves /etc/hosts, hostname and resolv.conf to the
        ``connect`` the caller makes next (which writes all three): a container start
        then creates and writes them once instead of twice."""
        validate_name("sandbox", name)
        if mode not in (MODE_PRIVATE, MODE_HOST, MODE_CONTAINER):
            raise InvalidParameter(f'invalid network mode "{mode}"')
        for entry in extra_hosts:
            _parse_extra_host(entry)
        for server in dns:
            _parse_ip("dns", server)
        sid = sandbox_id or new_id()
        with self._new_sandbox_lock(sid):
            with self._locked():
                state = self.state()
                if any(s.name == name for s in state.sandboxes):
                    raise Conflict(f'sandbox name "{name}" is already in use')
                netns = os.path.join(self.netns_dir, sid[:12])
                shared: Sandbox | None = None
                if mode == MODE_CONTAINER:
                    if not shares:
                        raise InvalidParameter("container network mode needs the sandbox to share")
                    shared = state.sandbox(shares)
                    if shared.mode == MODE_CONTAINER and shared.shares:
                        shared = state.sandbox_by_id(shared.shares) or shared
                    netns = shared.netns
                    if ports:
                        raise InvalidParameter(
                            "conflicting options: port publishing and the container type network "
                            "mode")
                elif mode == MODE_HOST:
                    netns = ""
                    ports = ()  # Docker: published ports are discarded in host mode
                bindings = self._allocate_ports(state, ports) if ports else []
                sandbox = Sandbox(
                    id=sid,
                    name=name,
                    mode=mode,
                    netns=netns,
                    hostname=hostname or sid[:12],
                    domainname=domainname,
                    shares=shared.id if shared else None,
                    dns=tuple(dns),
                    dns_search=tuple(dns_search),
                    dns_options=tuple(dns_options),
                    extra_hosts=tuple(extra_hosts),
                    ports=tuple(bindings),
                    exposed=tuple(exposed),
                    labels=dict(labels or {}),
                    state="creating",
                )
                # The row reserves the name and ports; the namespace is made after the engine
                # lock is released, so other sandboxes' changes go on meanwhile.
                with self.store.transaction() as txn:
                    txn.put("sandbox", sandbox.id, sandbox.to_doc())
                self._remember(state.put_sandbox(sandbox))
            try:
                if mode == MODE_PRIVATE:
                    self.kernel.apply([plan.CreateNetns(netns), plan.LoopbackUp(netns)])
                ready = sandbox.with_state("ready")
                try:
                    with self._locked():
                        after = self.state().put_sandbox(ready)
                        with self.store.transaction() as txn:
                            txn.put("sandbox", sandbox.id, ready.to_doc())
                            if write_files:
                                self._write_files(after, ready)
                        self._remember(after)
                except BaseException:
                    if mode == MODE_PRIVATE:
                        self.kernel.teardown([plan.DeleteNetns(netns)])
                    raise
            except BaseException:
                with self._locked():
                    with self.store.transaction() as txn:
                        txn.delete("sandbox", sandbox.id)
                    self._remove_files(sandbox.id)
                raise
        self._notify("sandbox.create", sandbox.id)
        return ready

    def _allocate_ports(self, state: State, specs: Sequence[PortSpec]) -> list[Binding]:
        taken = [b.taken for s in state.sandboxes for b in s.ports]
        return allocate_host_ports(
            specs, taken, self.kernel.ephemeral_port_range(), self.kernel.port_is_free
        )

    def rename_sandbox(self, ref: str, name: str) -> Sandbox:
        """Give a sandbox, and each endpoint named after it, a new name (``docker rename``
        of a running container). The rows change in one transaction and listeners hear
        of it once, so the embedded DNS swaps the old name for the new one in a single
        step: never both, never neither. No kernel object carries the name, and the
        sandbox's files name its hostname, not its name, so nothing else changes."""
        validate_name("sandbox", name)
        with self._locked():
            state = self.state()
            sandbox = state.sandbox(ref)
            if sandbox.name == name:
                return sandbox
            if sandbox.state != "ready":
                raise Conflict(f"sandbox {sandbox.name} is busy")
            if any(s.name == name for s in state.sandboxes):
                raise Conflict(f'sandbox name "{name}" is already in use')
            renamed = replace(sandbox, name=name)
            endpoints = [replace(e, name=name) for e in state.endpoints_of_sandbox(sandbox.id)
                         if e.name == sandbox.name]
            after = state.put_sandbox(renamed)
            with self.store.transaction() as txn:
                txn.put("sandbox", renamed.id, renamed.to_doc())
                for endpoint in endpoints:
                    txn.put("endpoint", endpoint.id, endpoint.to_doc())
                    after = after.put_endpoint(endpoint)
            self._remember(after)
        self._notify("sandbox.rename", sandbox.id)
        return renamed

    def remove_sandbox(self, ref: str) -> None:
        sandbox_id = self.state().sandbox(ref).id
        with self._sandbox_lock(sandbox_id):
            self._remove_sandbox(sandbox_id)

    def _remove_sandbox(self, ref: str) -> None:
        with self._locked():
            state = self.state()
            sandbox = state.sandbox(ref)
            sharers = [s.name for s in state.sandboxes if s.shares == sandbox.id]
            if sharers:
                raise Conflict(
                    f"sandbox {sandbox.name} is shared by {', '.join(sharers)}: remove those first"
                )
            with self.store.transaction() as txn:
                txn.put("sandbox", sandbox.id, sandbox.with_state("removing").to_doc())
            failures = self._destroy_sandbox(state, sandbox)
        self._notify("sandbox.destroy", sandbox.id)
        if failures:
            raise DockyardError("sandbox removed with errors: " + "; ".join(failures))

    def _destroy_sandbox(self, state: State, sandbox: Sandbox) -> list[str]:
        """Best-effort teardown of a sandbox and all its endpoints, then drop the rows."""
        endpoints = state.endpoints_of_sandbox(sandbox.id)
        steps: list[plan.Step] = []
        for endpoint in endpoints:
            network = state.network_by_id(endpoint.network_id)
            if network is not None:
                steps += get_driver(network.driver).plan_leave(network, endpoint, sandbox)
            elif endpoint.host_ifname:
                steps.append(plan.DeleteLink(endpoint.host_ifname))
        if sandbox.mode == MODE_PRIVATE and sandbox.netns:
            steps.append(plan.DeleteNetns(sandbox.netns))
        after = state.drop_sandbox(sandbox.id)
        with self.store.transaction() as txn:
            for endpoint in endpoints:
                txn.delete("endpoint", endpoint.id)
            txn.delete("sandbox", sandbox.id)
            fw = self._firewall_step(after, txn)
            if fw:
                steps.insert(0, fw)
            failures = self.kernel.teardown(steps)
            self._record_firewall(txn, fw)
        self._remember(after)
        self._remove_files(sandbox.id)
        # Here, not in remove_sandbox: purge and reconcile destroy sandboxes too. One
        # waiting for the lock meanwhile finds the sandbox gone.
        self._forget_sandbox_lock(sandbox.id)
        return failures

    # ----------------------------------------------------------- endpoints

    def connect(
        self,
        network_ref: str,
        sandbox_ref: str,
        *,
        aliases: Sequence[str] = (),
        ipv4: str | None = None,
        ipv6: str | None = None,
        gw_priority: int = 0,
        links: Sequence[str] = (),
        endpoint_name: str | None = None,
        mac: str | None = None,
    ) -> Endpoint:
        """``mac``: the interface's address (``--mac-address``); by default one derived
        from its IPv4 address."""
        if mac is not None:
            mac = parse_mac(mac)
        with self._sandbox_lock(self.state().sandbox(sandbox_ref).id):
            endpoint, network, sandbox = self._reserve_endpoint(
                network_ref, sandbox_ref, aliases=aliases, ipv4=ipv4, ipv6=ipv6,
                gw_priority=gw_priority, links=links, endpoint_name=endpoint_name, mac=mac)
            ready = endpoint.with_state("ready")
            # The interface is made outside the engine lock (only this sandbox's lock is
            # held); routes, firewall and files follow under it, from the state then.
            join = list(get_driver(network.driver).plan_join(network, ready, sandbox))
            try:
                self.kernel.apply(join)
                try:
                    self._commit_endpoint(ready, sandbox)
                except BaseException:
                    self.kernel.revert(join)
                    raise
            except BaseException:
                with self._locked():
                    with self.store.transaction() as txn:
                        txn.delete("endpoint", endpoint.id)
                    self._remember(self.state().drop_endpoint(endpoint.id))
                raise
        self._notify("network.connect", endpoint.id)
        return ready

    def _reserve_endpoint(
        self, network_ref: str, sandbox_ref: str, *, aliases: Sequence[str],
        ipv4: str | None, ipv6: str | None, gw_priority: int, links: Sequence[str],
        endpoint_name: str | None, mac: str | None,
    ) -> tuple[Endpoint, Network, Sandbox]:
        """Check the request and record the endpoint as "creating", with its addresses
        taken: the intent a crash leaves for reconcile."""
        with self._locked():
            state = self.state()
            network = state.network(network_ref)
            sandbox = state.sandbox(sandbox_ref)
            if network.state != "ready" or sandbox.state != "ready":
                raise Conflict(f"network {network.name} or sandbox {sandbox.name} is busy")
            self._check_connect(state, network, sandbox, ipv4, ipv6)
            driver = get_driver(network.driver)
            v4, v6 = self._addresses(state, network, ipv4, ipv6)
            # Attach order, derived from the endpoints themselves (no counter to keep in sync).
            seq = 1 + max((e.seq for e in state.endpoints_of_sandbox(sandbox.id)), default=-1)
            endpoint = Endpoint(
                id=new_id(),
                network_id=network.id,
                sandbox_id=sandbox.id,
                name=endpoint_name or sandbox.name,
                ifname=_next_ifname(state.endpoints_of_sandbox(sandbox.id))
                if driver.has_interface else "",
                host_ifname="",
                mac=mac or (mac_from_ipv4(str(v4.ip)) if v4 else ""),
                ipv4=str(v4) if v4 else None,
                ipv6=str(v6) if v6 else None,
                aliases=tuple(aliases),
                static_ipv4=ipv4,
                static_ipv6=ipv6,
                gw_priority=gw_priority,
                links=tuple(links),
                seq=seq,
                state="creating",
            )
            if driver.host_side:
                endpoint = replace(endpoint, host_ifname=host_veth_name(endpoint.id))
            with self.store.transaction() as txn:
                txn.put("endpoint", endpoint.id, endpoint.to_doc())
            self._remember(state.put_endpoint(endpoint))
        return endpoint, network, sandbox

    def _commit_endpoint(self, ready: Endpoint, sandbox: Sandbox) -> None:
        """Routes, firewall and files for an endpoint whose interface exists, then the
        row goes "ready"; on failure what this step applied is undone."""
        with self._locked():
            state = self.state()
            before = state.drop_endpoint(ready.id)
            after = state.put_endpoint(ready)
            with self.store.transaction() as txn:
                txn.put("endpoint", ready.id, ready.to_doc())
                steps = self._route_steps(before, after, sandbox)
                fw = self._firewall_step(after, txn)
                if fw:
                    steps.append(fw)
                self.kernel.apply(steps)
                try:
                    self._record_firewall(txn, fw)
                    self._write_files(after, sandbox)
                except BaseException:
                    self.kernel.revert(steps)
                    raise
            self._remember(after)

    def _check_connect(
        self, state: State, network: Network, sandbox: Sandbox, ipv4: str | None,
        ipv6: str | None,
    ) -> None:
        if sandbox.mode == MODE_CONTAINER:
            raise Forbidden(
                "container sharing network namespace with another container or host cannot "
                "be connected to any other network"
            )
        if (network.driver == "host") != (sandbox.mode == MODE_HOST):
            raise Forbidden(
                "container cannot be disconnected from host network or connected to host "
                "network"
            )
        mine = state.endpoints_of_sandbox(sandbox.id)
        if any(e.network_id == network.id for e in mine):
            raise Forbidden(
                f"endpoint with name {sandbox.name} already exists in network {network.name}"
            )
        if (network.driver == "null" and mine) or any(
            (n := state.network_by_id(e.network_id)) is not None and n.driver == "null"
            for e in mine
        ):
            raise Forbidden(
                "container cannot be connected to the none network together with other networks"
            )
        if ipv6 and not network.enable_ipv6:
            raise InvalidParameter(
                f'invalid IPv6 address "{ipv6}": network {network.name} has no IPv6 subnet'
            )
        if ipv4 and not network.pools:
            raise InvalidParameter(f'invalid IPv4 address "{ipv4}": network has no IPAM')

    def _addresses(
        self, state: State, network: Network, ipv4: str | None, ipv6: str | None
    ) -> tuple[Any, Any]:
        in_use: set[IPAddress] = set()
        for e in state.endpoints_of_network(network.id):
            for address in (e.ipv4_address, e.ipv6_address):
                if address is not None:
                    in_use.add(stored_address(address))
        results: list[Any] = [None, None]
        for index, (pool, requested) in enumerate(
            ((network.pool_v4(), ipv4), (network.pool_v6(), ipv6))
        ):
            if pool is None:
                continue
            config = PoolConfig.from_doc(pool.to_doc())
            chosen = allocate(config, in_use, requested)
            results[index] = ip_interface(f"{chosen}/{config.subnet.prefixlen}")
        return results[0], results[1]

    def _route_steps(self, before: State, after: State, sandbox: Sandbox) -> list[plan.Step]:
        if sandbox.mode != MODE_PRIVATE:
            return []
        old = default_routes(before.endpoints_of_sandbox(sandbox.id),
                             {n.id: n for n in before.networks})
        new = default_routes(after.endpoints_of_sandbox(sandbox.id),
                             {n.id: n for n in after.networks})
        if old == new:
            return []
        return [plan.SetDefaultRoutes(sandbox.netns, new[0], new[1], old[0], old[1])]

    def disconnect(self, network_ref: str, sandbox_ref: str, *, force: bool = False) -> None:
        with self._sandbox_lock(self.state().sandbox(sandbox_ref).id):
            self._disconnect(network_ref, sandbox_ref, force=force)

    def _disconnect(self, network_ref: str, sandbox_ref: str, *, force: bool) -> None:
        with self._locked():
            state = self.state()
            network = state.network(network_ref)
            sandbox = state.sandbox(sandbox_ref)
            endpoint = state.endpoint(network.id, sandbox.id)
            if endpoint is None:
                raise Forbidden(
                    f"container {sandbox.name} is not connected to network {network.name}"
                )
            if network.driver == "host" and not force:
                raise Forbidden(
                    "container cannot be disconnected from host network or connected to host "
                    "network"
                )
            with self.store.transaction() as txn:
                txn.put("endpoint", endpoint.id, endpoint.with_state("removing").to_doc())
            after = state.drop_endpoint(endpoint.id)
            with self.store.transaction() as txn:
                txn.delete("endpoint", endpoint.id)
                steps = list(get_driver(network.driver).plan_leave(network, endpoint, sandbox))
                steps += self._route_steps(state, after, sandbox)
                fw = self._firewall_step(after, txn)
                if fw:
                    steps.insert(0, fw)
                failures = self.kernel.teardown(steps)
                self._record_firewall(txn, fw)
                self._write_files(after, sandbox)
            self._remember(after)
        self._notify("network.disconnect", endpoint.id)
        if failures:
            raise DockyardError("disconnected with errors: " + "; ".join(failures))

    # ---------------------------------------------------------- sandbox files

    def _write_files(self, state: State, sandbox: Sandbox) -> None:
        """/etc/hosts, /etc/hostname and /etc/resolv.conf for every sandbox sharing this
        namespace (container mode shares the addresses too)."""
        owner = state.sandbox_by_id(sandbox.shares) if sandbox.shares else sandbox
        owner = owner or sandbox
        endpoints = state.endpoints_of_sandbox(owner.id)
        addresses = [a for e in endpoints for a in (e.ipv4_address, e.ipv6_address) if a]
        networks = {n.id: n for n in state.networks}
        user_defined = any(
            (n := networks.get(e.network_id)) is not None and n.user_defined for e in endpoints
        )
        links = self._link_hosts(state, endpoints, networks)
        extra = [_parse_extra_host(entry) for entry in sandbox.extra_hosts]
        if any(address == HOST_GATEWAY for _, address in extra):
            extra = [(name, a) for name, address in extra
                     for a in (_host_gateway_ips(state) if address == HOST_GATEWAY
                               else (address,))]
        directory = self.sandbox_dir(sandbox.id)
        if not os.path.isdir(directory) and not self._spares.take(directory):
            os.makedirs(directory, exist_ok=True)
        hostname = sandbox.hostname if sandbox.mode != MODE_HOST else os.uname().nodename
        _write(os.path.join(directory, "hosts"),
               render_hosts(hostname, sandbox.domainname, addresses, links, extra))
        _write(os.path.join(directory, "hostname"), render_hostname(hostname))
        _write(os.path.join(directory, "resolv.conf"),
               self._resolv_conf(sandbox, embedded=user_defined))

    def _link_hosts(
        self, state: State, endpoints: Iterable[Endpoint], networks: dict[str, Network]
    ) -> list[tuple[str, str]]:
        """``--link target:alias`` entries for /etc/hosts (the legacy default-bridge way)."""
        found = []
        for endpoint in endpoints:
            for link in endpoint.links:
                target_name, _, alias = link.partition(":")
                target = next((s for s in state.sandboxes if s.name == target_name), None)
                if target is None:
                    continue
                peer = state.endpoint(endpoint.network_id, target.id)
                if peer is None or not peer.ipv4_address:
                    continue
                names = " ".join(dict.fromkeys(
                    n for n in (alias or target_name, target.hostname, target_name) if n))
                found.append((names, peer.ipv4_address))
        return found

    def _resolv_conf(self, sandbox: Sandbox, *, embedded: bool) -> str:
        host = self._host_resolv_conf()
        return render_resolv_conf(
            host.nameservers, host.search, host.options, embedded=embedded,
            dns=list(sandbox.dns) or None, dns_search=list(sandbox.dns_search) or None,
            dns_options=list(sandbox.dns_options) or None,
            host_file=self.config.host_resolv_conf,
        )

    def _host_resolv_conf(self) -> HostResolvConf:
        """Parsed again only when the file changed: every start and connect asks."""
        path = self.config.host_resolv_conf
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return parse_resolv_conf("")
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._host_resolv
        if cached is None or cached[0] != key:
            try:
                with open(path) as f:
                    cached = (key, parse_resolv_conf(f.read()))
            except FileNotFoundError:
                return parse_resolv_conf("")
            self._host_resolv = cached
        return cached[1]

    def _remove_files(self, sandbox_id: str) -> None:
        self._spares.give(self.sandbox_dir(sandbox_id))

    # ------------------------------------------------------------- reconcile

    def open(self) -> Engine:
        """Reconcile with the kernel and make sure the predefined networks exist."""
        self.reconcile()
        self._ensure_predefined()
        return self

    def _ensure_predefined(self) -> None:
        names = {n.name for n in self.state().networks}
        if "bridge" not in names:
            self.create_network(
                "bridge", "bridge",
                options={OPT_BRIDGE_NAME: DEFAULT_BRIDGE, OPT_DEFAULT_BRIDGE: "true",
                         OPT_ENABLE_ICC: "true", OPT_ENABLE_MASQ: "true",
                         OPT_HOST_BINDING_IPV4: "0.0.0.0"},
                _predefined=True,
            )
        if "host" not in names:
            self.create_network("host", "host", _predefined=True)
        if "none" not in names:
            self.create_network("none", "null", _predefined=True)

    def reconcile(self) -> list[str]:
        """Finish or undo what a killed process left half-done, remove kernel objects no row
        owns, bring back what a reboot lost, and re-apply the firewall. Returns a log."""
        from dockyard.engine.reconcile import reconcile

        with self._locked():
            return reconcile(self)

    def purge(self) -> list[str]:
        """Remove every sandbox and network, predefined ones included, and the firewall
        table: the host is left as it was before this engine's root was first used."""
        failures: list[str] = []
        for sandbox in sorted(self.state().sandboxes, key=lambda s: s.shares is None):
            with self._locked():
                failures += self._destroy_sandbox(self.state(), sandbox)
        for network in self.state().networks:
            with self._locked():
                try:
                    self._remove_network(network, self.state())
                except DockyardError as exc:
                    failures.append(str(exc))
        with self._locked(), self.store.transaction() as txn:
            failures += self.kernel.teardown([plan.ApplyFirewall(render_delete())])
            txn.delete("firewall", "applied")
        return failures

    def close(self) -> None:
        self.kernel.close()
        self.store.close()
        self._file_lock.close()


class _EngineLock:
    """The in-process lock plus a file lock, so two processes on one root never interleave."""

    def __init__(self, lock: threading.RLock, file_lock: FileLock) -> None:
        self._lock = lock
        self._file_lock = file_lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._file_lock.acquire()
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        self._file_lock.release()
        self._lock.release()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _is_v6(subnet: str | None) -> bool:
    return bool(subnet) and ":" in str(subnet)


def _next_ifname(endpoints: Iterable[Endpoint]) -> str:
    used = {e.ifname for e in endpoints}
    index = 0
    while f"eth{index}" in used:
        index += 1
    return f"eth{index}"


def _parse_ip(field_name: str, value: str) -> IPAddress:
    try:
        return ip_address(value)
    except ValueError:
        raise InvalidParameter(f'invalid {field_name} "{value}": not an IP address') from None


HOST_GATEWAY = "host-gateway"


def _host_gateway_ips(state: State) -> tuple[str, ...]:
    """What ``--add-host NAME:host-gateway`` stands for: the host's addresses on the
    default bridge (its gateways), as dockerd's default host-gateway-ip; every container
    reaches them, whichever network it is on."""
    bridge = next((n for n in state.networks if n.bool_option(OPT_DEFAULT_BRIDGE, False)),
                  None)
    if bridge is None:
        return ()
    return tuple(p.gateway for p in (bridge.pool_v4(), bridge.pool_v6()) if p is not None)


def _parse_extra_host(entry: str) -> tuple[str, str]:
    """``name:ip`` (Docker's --add-host); IPv6 addresses may contain colons."""
    name, sep, address = entry.partition(":")
    if not sep or not name or not address:
        raise InvalidParameter(f'invalid extra host "{entry}": expected name:ip')
    address = address.strip("[]")
    if address != HOST_GATEWAY:
        _parse_ip("extra host address", address)
    return name, address


def _write(path: str, text: str) -> None:
    """Rewrite in place, as Docker does: a running container has the file bind-mounted,
    and a bind mount holds the inode, so a file replaced by rename would never reach it.
    Unchanged content is not written at all (a connect rewrites the three files)."""
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w") as f:
        f.write(text)


__all__ = ["BRIDGE_PREFIX", "VETH_PREFIX", "Engine", "EngineConfig", "PoolRequest"]
