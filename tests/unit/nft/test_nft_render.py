"""The rendered ``inet dockyard`` script: golden files, specific rules, and (as root) nft's
own parser in check mode.

Regenerate the golden files after an intended change with::

    DOCKYARD_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/nft

then read the diff (``git diff tests/unit/nft/golden``) before committing it.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from ipaddress import IPv4Address, ip_address, ip_network
from pathlib import Path

import pytest

from dockyard.errors import InvalidParameter
from dockyard.nft import (
    FirewallNetwork,
    FirewallState,
    PortForward,
    render_delete,
    render_ruleset,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DOCKYARD_UPDATE_GOLDEN") == "1"


def net(
    bridge: str,
    *subnets: str,
    internal: bool = False,
    icc: bool = True,
    masquerade: bool = True,
    gateway: str | None = None,
) -> FirewallNetwork:
    gw = ip_address(gateway) if gateway else None
    assert gw is None or isinstance(gw, IPv4Address)
    return FirewallNetwork(
        bridge=bridge,
        subnets=tuple(ip_network(s) for s in subnets),
        internal=internal,
        icc=icc,
        masquerade=masquerade,
        gateway_v4=gw,
    )


def port(
    host: str | None,
    host_port: int,
    container: str,
    container_port: int,
    bridge: str,
    proto: str = "tcp",
) -> PortForward:
    return PortForward(
        proto=proto,  # type: ignore[arg-type]
        host_ip=ip_address(host) if host else None,
        host_port=host_port,
        container_ip=ip_address(container),
        container_port=container_port,
        bridge=bridge,
    )


DEFAULT = net("dockyard0", "172.17.0.0/16", gateway="172.17.0.1")
FRONT = net("dy-front", "172.18.0.0/16", gateway="172.18.0.1")
BACK = net("dy-back", "172.19.0.0/16", internal=True, gateway="172.19.0.1")
QUIET = net("dy-quiet", "172.20.0.0/16", icc=False, gateway="172.20.0.1")
DUAL = net("dy-dual", "172.21.0.0/16", "fd00:21::/64", gateway="172.21.0.1")
NOMASQ = net("dy-nomasq", "172.22.0.0/16", masquerade=False)

STATES: dict[str, FirewallState] = {
    "empty": FirewallState(),
    "one_network": FirewallState(networks=(DEFAULT,)),
    "internal": FirewallState(
        networks=(FRONT, BACK),
        ports=(port(None, 9000, "172.19.0.2", 80, "dy-back"),),  # ignored: internal
    ),
    "icc_off": FirewallState(
        networks=(QUIET,), ports=(port(None, 8080, "172.20.0.2", 80, "dy-quiet"),)
    ),
    "many_ports": FirewallState(
        networks=(DEFAULT, FRONT, NOMASQ),
        ports=(
            port(None, 8080, "172.17.0.2", 80, "dockyard0"),
            port("127.0.0.1", 8443, "172.17.0.2", 443, "dockyard0"),
            port("0.0.0.0", 5353, "172.18.0.3", 53, "dy-front", "udp"),
            *(port(None, 7000 + i, "172.18.0.4", 9000 + i, "dy-front") for i in range(4)),
            port("10.1.2.3", 2222, "172.22.0.5", 22, "dy-nomasq"),
            port(None, 8080, "172.17.0.2", 80, "dockyard0"),  # duplicate, rendered once
        ),
    ),
    "ipv6": FirewallState(
        networks=(DUAL,),
        ports=(
            port(None, 8080, "172.21.0.2", 80, "dy-dual"),
            port(None, 8080, "fd00:21::2", 80, "dy-dual"),
            port("::1", 8081, "fd00:21::2", 81, "dy-dual"),  # ::1 is never forwarded: skipped
            port("::", 53, "fd00:21::3", 53, "dy-dual", "udp"),
            port("::1", 8082, "172.21.0.2", 82, "dy-dual"),  # family mismatch: skipped
        ),
    ),
}


def chain(script: str, name: str) -> list[str]:
    """The rule lines of one chain (hook line excluded), as rendered."""
    lines = script.splitlines()
    start = lines.index(f"\tchain {name} {{") + 1
    end = lines.index("\t}", start)
    return [ln.strip() for ln in lines[start:end] if not ln.strip().startswith("type ")]


def elements(script: str, name: str) -> set[str]:
    """The elements of one set or map in a full render."""
    lines = script.splitlines()
    heads = (f"set {name} {{", f"map {name} {{")
    start = next(i for i, ln in enumerate(lines) if ln.strip() in heads)
    end = lines.index("\t}", start)
    for ln in lines[start:end]:
        if ln.strip().startswith("elements = {"):
            return {e.strip() for e in ln.strip()[len("elements = {") : -1].split(",")}
    return set()


@pytest.mark.parametrize("name", sorted(STATES))
def test_golden(name: str) -> None:
    got = render_ruleset(STATES[name])
    path = GOLDEN / f"{name}.nft"
    if UPDATE:
        path.write_text(got)
    assert got == path.read_text(), f"{path} differs; see the module docstring to regenerate"


def test_script_replaces_the_table_atomically() -> None:
    script = render_ruleset(FirewallState(networks=(DEFAULT,)))
    body = [ln for ln in script.splitlines() if not ln.startswith("#")]
    assert body[:3] == [
        "table inet dockyard {}",
        "delete table inet dockyard",
        "table inet dockyard {",
    ]
    assert render_delete() == "table inet dockyard {}\ndelete table inet dockyard\n"


@pytest.mark.parametrize("name", sorted(STATES))
def test_every_base_chain_accepts_by_default(name: str) -> None:
    script = render_ruleset(STATES[name])
    hooks = [ln for ln in script.splitlines() if " hook " in ln]
    assert len(hooks) == 4
    assert all(ln.rstrip().endswith("policy accept;") for ln in hooks)
    assert "policy drop" not in script


def test_rendering_ignores_input_order() -> None:
    state = STATES["many_ports"]
    nets, ports = list(state.networks), list(state.ports)
    random.Random(7).shuffle(nets)
    random.Random(7).shuffle(ports)
    shuffled = FirewallState(networks=tuple(nets), ports=tuple(ports))
    assert render_ruleset(shuffled) == render_ruleset(state)


def test_bridges_are_isolated_from_each_other_but_not_from_the_world() -> None:
    script = render_ruleset(STATES["many_ports"])
    bridges = ("dockyard0", "dy-front", "dy-nomasq")
    assert elements(script, "bridges") == {f'"{b}"' for b in bridges}
    # Dropped: both interfaces bridges of ours and not the same one. The set holds one pair
    # per bridge, so it grows with the networks, not with their square.
    assert elements(script, "same_bridge") == {f'"{b}" . "{b}"' for b in bridges}
    isolate = chain(script, "DY-ISOLATE")
    assert any(r.startswith("iifname @bridges oifname @bridges iifname . oifname != "
                            "@same_bridge drop") for r in isolate)
    assert elements(script, "no_icc") == set()


def test_forward_order_keeps_published_flows_and_their_replies() -> None:
    # internal first (nothing DNAT'd may enter an internal network), then DNAT'd flows
    # accepted (both directions: ct status is per connection), then isolation / icc drops.
    fwd = chain(render_ruleset(STATES["icc_off"]), "FORWARD")
    assert fwd[0] == "jump DY-INTERNAL"
    assert fwd[1].startswith("oifname @bridges ct status dnat accept")
    assert fwd[2] == "jump DY-ISOLATE"


def test_icc_off_drops_traffic_within_the_bridge() -> None:
    script = render_ruleset(STATES["icc_off"])
    assert chain(script, "DY-ISOLATE")[0].startswith("iifname @no_icc oifname @no_icc drop")
    assert elements(script, "no_icc") == {'"dy-quiet"'}


def test_internal_network_is_sealed_and_never_published_or_masqueraded() -> None:
    script = render_ruleset(STATES["internal"])
    assert [r.split(" comment")[0] for r in chain(script, "DY-INTERNAL")] == [
        "iifname @internal oifname != @internal drop",
        "oifname @internal iifname != @internal drop",
    ]
    assert elements(script, "internal") == {'"dy-back"'}
    for name in ("ports4_any", "ports4_host", "hairpin4", "localhost_snat"):
        assert elements(script, name) == set(), name
    assert elements(script, "masq4") == {"172.18.0.0/16"}
    # Both isolated from each other, so internal <-> other bridge is dropped too.
    assert elements(script, "bridges") == {'"dy-back"', '"dy-front"'}
    assert elements(script, "same_bridge") == {'"dy-back" . "dy-back"', '"dy-front" . "dy-front"'}


def test_masquerade_only_when_enabled() -> None:
    script = render_ruleset(STATES["many_ports"])
    assert elements(script, "masq4") == {"172.17.0.0/16", "172.18.0.0/16"}  # not dy-nomasq
    assert '"dy-nomasq" . 172.22.0.0/16' in elements(script, "subnets4")
    post = chain(script, "POSTROUTING")
    assert any(
        r.startswith("ip saddr @masq4 oifname . ip saddr != @subnets4 masquerade") for r in post
    )


def test_published_port_rules() -> None:
    script = render_ruleset(STATES["many_ports"])
    assert elements(script, "ports4_any") == {
        "tcp . 8080 : 172.17.0.2 . 80",
        "udp . 5353 : 172.18.0.3 . 53",  # 0.0.0.0 is every local address, like no address
        *(f"tcp . {7000 + i} : 172.18.0.4 . {9000 + i}" for i in range(4)),
    }
    assert elements(script, "ports4_host") == {
        "127.0.0.1 . tcp . 8443 : 172.17.0.2 . 443",
        "10.1.2.3 . tcp . 2222 : 172.22.0.5 . 22",
    }
    ports = chain(script, "DY-PORTS")
    # Host-address bindings are looked up before the any-address map.
    assert [r.split(" map ")[1].split()[0] for r in ports] == [
        "@ports4_host", "@ports4_any", "@ports6_host", "@ports6_any"
    ]


def test_dnat_applies_to_local_destinations_from_outside_containers_and_the_host() -> None:
    script = render_ruleset(FirewallState())
    assert chain(script, "PREROUTING") == ["fib daddr type local jump DY-PORTS"]
    output = chain(script, "OUTPUT")
    assert "meta nfproto ipv4 fib daddr type local jump DY-PORTS" in output
    # ::1 cannot be forwarded off the host; it must not be DNAT'd into a black hole.
    assert "meta nfproto ipv6 ip6 daddr != ::1 fib daddr type local jump DY-PORTS" in output


def test_localhost_and_hairpin_snat() -> None:
    script = render_ruleset(STATES["many_ports"])
    post = chain(script, "POSTROUTING")
    assert post[0].startswith("ip saddr 127.0.0.0/8 snat ip to oifname map @localhost_snat")
    assert elements(script, "localhost_snat") == {
        '"dockyard0" : 172.17.0.1', '"dy-front" : 172.18.0.1'
    }
    # No gateway known: masquerade picks the bridge's address instead.
    assert elements(script, "localhost_masq") == {'"dy-nomasq"'}
    assert any(r.startswith("oifname . ip saddr @hairpin4 ct status dnat masquerade") for r in post)
    assert '"dockyard0" . 172.17.0.0/16' in elements(script, "hairpin4")


def test_no_localhost_snat_without_published_ports() -> None:
    script = render_ruleset(STATES["one_network"])
    for name in ("localhost_snat", "localhost_masq", "hairpin4"):
        assert elements(script, name) == set(), name
    assert elements(script, "masq4") == {"172.17.0.0/16"}


def test_ipv6_forwards_and_family_mismatch() -> None:
    script = render_ruleset(STATES["ipv6"])
    assert elements(script, "ports6_any") == {
        "tcp . 8080 : fd00:21::2 . 80",
        "udp . 53 : fd00:21::3 . 53",
    }
    assert elements(script, "ports4_any") == {"tcp . 8080 : 172.21.0.2 . 80"}
    assert "8082" not in script  # an IPv6 host address cannot DNAT to an IPv4 container
    assert "8081" not in script  # nor can [::1] reach any container
    assert elements(script, "masq6") == {"fd00:21::/64"}
    assert elements(script, "hairpin6") == {'"dy-dual" . fd00:21::/64'}


def test_empty_state_is_the_skeleton() -> None:
    script = render_ruleset(FirewallState())
    assert "elements" not in script
    assert chain(script, "DY-PORTS") == chain(render_ruleset(STATES["many_ports"]), "DY-PORTS")


@pytest.mark.parametrize(
    ("bridge", "why"),
    [('br"; flush ruleset; "', "quote"), ("a-very-long-bridge-name", "too long"), ("", "empty")],
)
def test_model_refuses_names_that_nft_cannot_quote(bridge: str, why: str) -> None:
    with pytest.raises(InvalidParameter, match="invalid bridge name"):
        net(bridge, "10.0.0.0/24")
    with pytest.raises(InvalidParameter, match="invalid bridge name"):
        port(None, 80, "10.0.0.2", 80, bridge)


def test_model_refuses_bad_ports_and_duplicate_bridges() -> None:
    with pytest.raises(InvalidParameter, match='invalid host port "0"'):
        port(None, 0, "10.0.0.2", 80, "br0")
    with pytest.raises(InvalidParameter, match='invalid container port "65536"'):
        port(None, 80, "10.0.0.2", 65536, "br0")
    with pytest.raises(InvalidParameter, match="invalid proto"):
        port(None, 80, "10.0.0.2", 80, "br0", proto="sctp")
    with pytest.raises(InvalidParameter, match='duplicate bridge name "dockyard0"'):
        FirewallState(networks=(DEFAULT, DEFAULT))


def _nft_check_available() -> bool:
    return os.geteuid() == 0 and bool(shutil.which("nft")) and bool(shutil.which("unshare"))


@pytest.mark.root
@pytest.mark.skipif(not _nft_check_available(), reason="needs root, nft and unshare")
@pytest.mark.parametrize("name", [*sorted(STATES), "delete"])
def test_nft_accepts_the_script(name: str) -> None:
    # Check mode still talks to the kernel (it resolves hooks and expressions), so it runs in
    # a throwaway network namespace: nothing on the host can be touched, and it dies with
    # the process.
    script = render_delete() if name == "delete" else render_ruleset(STATES[name])
    result = subprocess.run(
        ["unshare", "-n", "nft", "-c", "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 0, result.stderr
