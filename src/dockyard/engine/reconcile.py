"""Bring the store and the kernel back into agreement after a crash or a reboot.

Rows left "creating" or "removing" by a killed process are undone (their kernel
objects removed, then the rows); kernel objects with our prefixes that no row
owns are removed; ready objects whose kernel parts vanished (a reboot empties
/run and the kernel) are rebuilt; the firewall is re-rendered from the store.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dockyard import plan
from dockyard.drivers import get_driver
from dockyard.drivers.macvlan import DUMMY_PREFIX
from dockyard.drivers.overlay import VXLAN_PREFIX, vxlan_name
from dockyard.engine import firewall
from dockyard.engine.gateway import default_routes
from dockyard.model.ids import BRIDGE_PREFIX, VETH_PREFIX
from dockyard.model.sandbox import MODE_PRIVATE

if TYPE_CHECKING:
    from dockyard.engine.engine import Engine


def reconcile(engine: Engine) -> list[str]:
    log: list[str] = []
    kernel = engine.kernel
    state = engine.state()

    # 1. Half-done work of a killed process: undo it.
    with engine.store.transaction() as txn:
        for endpoint in state.endpoints:
            if endpoint.state != "ready":
                if endpoint.host_ifname:
                    kernel.teardown([plan.DeleteLink(endpoint.host_ifname)])
                txn.delete("endpoint", endpoint.id)
                log.append(f"removed unfinished endpoint {endpoint.id[:12]}")
        for sandbox in state.sandboxes:
            if sandbox.state != "ready":
                for endpoint in state.endpoints_of_sandbox(sandbox.id):
                    if endpoint.host_ifname:
                        kernel.teardown([plan.DeleteLink(endpoint.host_ifname)])
                    txn.delete("endpoint", endpoint.id)
                if sandbox.mode == MODE_PRIVATE and sandbox.netns:
                    kernel.teardown([plan.DeleteNetns(sandbox.netns)])
                txn.delete("sandbox", sandbox.id)
                log.append(f"removed unfinished sandbox {sandbox.name}")
        for network in state.networks:
            if network.state != "ready":
                kernel.teardown(get_driver(network.driver).plan_delete(network))
                txn.delete("network", network.id)
                log.append(f"removed unfinished network {network.name}")
    state = engine.state()

    # 2. Kernel objects with our names that no row owns.
    devices = {n.device for n in state.networks if n.device}
    vxlans = {vxlan_name(n.id) for n in state.networks if n.driver == "overlay"}
    veths = {e.host_ifname for e in state.endpoints if e.host_ifname}
    for link in kernel.links():
        name = link["name"] or ""
        orphan_device = ((name.startswith((BRIDGE_PREFIX, DUMMY_PREFIX)) and name not in devices)
                         or (name.startswith(VXLAN_PREFIX) and name not in vxlans))
        orphan_veth = name.startswith(VETH_PREFIX) and name not in veths
        if orphan_device or orphan_veth:
            kernel.teardown([plan.DeleteLink(name)])
            log.append(f"removed leftover interface {name}")
    owned = {s.netns for s in state.sandboxes if s.mode == MODE_PRIVATE}
    if os.path.isdir(engine.netns_dir):
        for entry in sorted(os.listdir(engine.netns_dir)):
            path = os.path.join(engine.netns_dir, entry)
            if path not in owned:
                kernel.teardown([plan.DeleteNetns(path)])
                log.append(f"removed leftover namespace {path}")

    # 3. Ready objects whose kernel parts are gone: build them again.
    present = {link["name"] for link in kernel.links()}
    kernel_links_before = set(present)
    by_id = {n.id: n for n in state.networks}
    for network in state.networks:
        if network.device and network.device not in present:
            made = get_driver(network.driver).plan_create(network)
            if made:  # (a macvlan parent of the user's that is gone is not ours to make)
                kernel.apply(made)
                log.append(f"recreated {network.device} of network {network.name}")
                present.add(network.device)
    for sandbox in state.sandboxes:
        if sandbox.mode != MODE_PRIVATE:
            continue
        steps: list[plan.Step] = []
        fresh = not kernel.netns_exists(sandbox.netns)
        if fresh:
            steps += [plan.CreateNetns(sandbox.netns), plan.LoopbackUp(sandbox.netns)]
        rejoined = False
        for endpoint in state.endpoints_of_sandbox(sandbox.id):
            joined = by_id.get(endpoint.network_id)
            if joined is None or not endpoint.ifname:
                continue
            # A macvlan endpoint (no host end) is gone only with its namespace, or with its
            # parent, which takes its children along.
            lost = (endpoint.host_ifname not in present if endpoint.host_ifname
                    else joined.device not in kernel_links_before)
            if not endpoint.host_ifname and joined.device not in present:
                log.append(f"cannot rebuild the interface of sandbox {sandbox.name} on network "
                           f"{joined.name}: its parent {joined.device} is gone")
                continue
            if fresh or lost:
                if not fresh:
                    steps.append(plan.DeleteLink(endpoint.ifname, sandbox.netns))
                steps += get_driver(joined.driver).plan_join(joined, endpoint, sandbox)
                rejoined = True
        if rejoined:
            v4, v6 = default_routes(state.endpoints_of_sandbox(sandbox.id), by_id)
            steps.append(plan.SetDefaultRoutes(sandbox.netns, v4, v6))
        if steps:
            kernel.apply(steps)
            log.append(f"rebuilt the namespace of sandbox {sandbox.name}")

    kernel.settle()  # leftovers are really gone before anyone looks

    # 4. The firewall, always, from the store.
    script = firewall.render(state)
    with engine.store.transaction() as txn:
        kernel.apply([plan.ApplyFirewall(script)])
        txn.put("firewall", "applied", {"script": script})
    return log
