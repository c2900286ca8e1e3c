"""Docker's reachability rules among running containers, from their inspect documents."""

from __future__ import annotations

from typing import Any

from dockyard.explain import Box, box_of, verdicts


def doc(name: str, mode: str,
        networks: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    endpoints = {net: {"IPAddress": ip, "Gateway": gw}
                 for net, (ip, gw) in (networks or {}).items()}
    return {"Id": name + "0" * 60, "Name": "/" + name, "HostConfig": {"NetworkMode": mode},
            "NetworkSettings": {"Networks": endpoints}}


def judged(*boxes: Box) -> dict[tuple[str, str], Any]:
    return {(v.source, v.target): v for v in verdicts(list(boxes))}


def test_boxes_from_inspect() -> None:
    web = box_of(doc("web", "front", {"front": ("10.1.0.2", "10.1.0.1")}), {})
    assert (web.mode, dict(web.addresses), dict(web.gateways)) == (
        "networks", {"front": "10.1.0.2"}, {"front": "10.1.0.1"})
    side = box_of(doc("side", "container:" + "a" * 64), {"a" * 64: "web"})
    assert (side.mode, side.owner) == ("container", "web")
    assert box_of(doc("h", "host", {"host": ("", "")}), {}).mode == "host"
    assert box_of(doc("n", "none", {"none": ("", "")}), {}).mode == "none"


def test_docker_rules_and_what_each_check_asks() -> None:
    web = Box("web", "networks", "web", {"front": "10.1.0.2", "back": "10.2.0.2"},
              {"front": "10.1.0.1", "back": "10.2.0.1"})
    proxy = Box("proxy", "networks", "proxy", {"front": "10.1.0.3"}, {"front": "10.1.0.1"})
    db = Box("db", "networks", "db", {"back": "10.2.0.3"}, {"back": "10.2.0.1"})
    old1 = Box("old1", "networks", "old1", {"bridge": "172.17.0.2"}, {"bridge": "172.17.0.1"})
    old2 = Box("old2", "networks", "old2", {"bridge": "172.17.0.3"}, {"bridge": "172.17.0.1"})
    side = Box("side", "container", "web")
    host = Box("tool", "host", "tool")
    alone = Box("alone", "none", "alone")
    v = judged(web, proxy, db, old1, old2, side, host, alone)

    assert (v["proxy", "web"].reachable, v["proxy", "web"].probe_name) == (True, "web")
    assert v["proxy", "web"].reason == "by name via front"
    gone = v["proxy", "db"]
    assert (gone.reachable, gone.probe_address) == (False, "10.2.0.3")  # ping must fail
    assert "no shared network (proxy: front; db: back)" in gone.reason
    by_ip = v["old1", "old2"]
    assert (by_ip.reachable, by_ip.probe_name, by_ip.probe_address) == (True, "", "172.17.0.3")
    # container:web has no name of its own in the DNS: it is reached by web's
    assert (v["proxy", "side"].reachable, v["proxy", "side"].probe_name) == (True, "web")
    assert v["side", "web"].reason == "same network namespace: localhost"
    assert v["side", "db"].probe_name == "db"  # side uses web's networks
    assert (v["tool", "db"].reachable, v["tool", "db"].probe_address) == (True, "10.2.0.3")
    assert v["db", "tool"].probe_address == "10.2.0.1"  # the host, at db's gateway
    assert not v["alone", "web"].reachable and not v["web", "alone"].reachable
    assert v["web", "alone"].probe_address == v["web", "alone"].probe_name == ""
