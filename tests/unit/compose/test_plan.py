"""``plan_project``: what ``up`` would build, on the seed files and on small projects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dockyard.compose import Project, load_project
from dockyard.compose.plan import (
    network_creation_order,
    plan_project,
    plan_to_json,
    render_plan_text,
)
from dockyard.compose.plan_model import PublishedPort
from dockyard.errors import Conflict, Forbidden, InvalidParameter

from .conftest import Load, Write

FIXTURES = Path(__file__).parent / "fixtures"


def _seed(name: str) -> Project:
    return load_project(working_dir=FIXTURES / name, environ={})


# --- prometheus-grafana: two networks, grafana on both --------------------------------------


def test_networks_get_default_pool_subnets_in_key_order() -> None:
    project = _seed("prometheus-grafana")
    plan = plan_project(project)
    # Compose v2 walks a Go map (random order); Dockyard creates networks by key.
    assert network_creation_order(project) == ("back-tier", "front-tier")
    back, front = plan.network("back-tier"), plan.network("front-tier")
    assert (back.name, back.subnet, back.gateway) == (
        "prometheus-grafana_back-tier", "172.18.0.0/16", "172.18.0.1")
    assert (front.name, front.subnet, front.gateway) == (
        "prometheus-grafana_front-tier", "172.19.0.0/16", "172.19.0.1")
    assert front.services == ("grafana",)


def test_grafana_has_one_address_per_network_and_default_route_by_name() -> None:
    plan = plan_project(_seed("prometheus-grafana"))
    grafana = plan.container("prometheus-grafana-grafana-1")
    addresses = {a.network: a.ipv4_address for a in grafana.attachments}
    # up order: alertmanager, cadvisor, node-exporter, prometheus (.2-.5), then grafana.
    assert addresses == {"back-tier": "172.18.0.6", "front-tier": "172.19.0.2"}
    assert grafana.default_route == "back-tier"
    assert [a.default_route for a in grafana.attachments] == [True, False]
    assert plan.container("prometheus-grafana-alertmanager-1").attachments[0].ipv4_address == (
        "172.18.0.2")


def test_grafana_resolves_back_tier_services_and_is_reachable_only_there() -> None:
    plan = plan_project(_seed("prometheus-grafana"))
    grafana = plan.container("prometheus-grafana-grafana-1")
    names = {r.name: r for r in grafana.resolves}
    assert names["prometheus"].addresses == ("172.18.0.5",)
    assert names["prometheus"].kind == "service"
    assert names["prometheus-grafana-cadvisor-1"].kind == "container"
    reach = plan.reach("grafana", "prometheus")
    assert reach.reachable and reach.networks == ("back-tier",)


def test_published_ports_and_bind_and_named_volumes() -> None:
    plan = plan_project(_seed("prometheus-grafana"))
    prometheus = plan.service("prometheus")
    assert prometheus.published == (PublishedPort("0.0.0.0", "9090", 9090, "tcp"),)
    kinds = {m.target: (m.kind, m.source) for m in prometheus.mounts}
    assert kinds["/prometheus"] == ("named", "prometheus-grafana_prometheus_data")
    assert kinds["/etc/prometheus/"] == (
        "bind", str(FIXTURES / "prometheus-grafana" / "prometheus"))
    host = {h.service: h for h in plan.host_access}
    assert host["grafana"].reachable and "back-tier" in host["grafana"].reason


def test_text_shows_topology_and_multi_network_note() -> None:
    text = render_plan_text(plan_project(_seed("prometheus-grafana")))
    assert "prometheus-grafana_front-tier (front-tier): driver bridge, subnet 172.19.0.0/16" in text
    assert "prometheus-grafana_front-tier: 172.19.0.2; registers" in text
    notes = text[text.index("\nNotes\n"):]
    assert "several networks: grafana is on back-tier, front-tier" in notes
    assert "172.18.0.6 on back-tier, 172.19.0.2 on front-tier" in " ".join(notes.split())
    assert "lone ports" not in notes  # no lone port in this project


# --- pinpoint: lone ports, expose-only ports, anonymous volumes ----------------------------


def test_zoo1_lone_port_is_random_and_expose_only_ports_are_not_published() -> None:
    plan = plan_project(_seed("pinpoint"))
    zoo1 = plan.service("zoo1")
    assert zoo1.published == (PublishedPort("0.0.0.0", "random", 2181, "tcp"),)
    assert zoo1.published[0].random
    assert [p.describe() for p in zoo1.exposed_only] == ["2888/tcp", "3888/tcp"]
    # 9997 of pinpoint-web is exposed *and* published: it is not "exposed only".
    assert plan.service("pinpoint-web").exposed_only == ()


def test_lone_volume_paths_are_anonymous_volumes() -> None:
    plan = plan_project(_seed("pinpoint"))
    mounts = plan.service("pinpoint-hbase").mounts
    assert [(m.kind, m.target, m.source) for m in mounts] == [
        ("anonymous", "/home/pinpoint/hbase", None),
        ("anonymous", "/home/pinpoint/zookeeper", None),
    ]
    agent = plan.service("pinpoint-agent").mounts[0]
    assert (agent.kind, agent.source) == ("named", "pinpoint_data-volume")


def test_pinpoint_containers_use_container_name_and_up_order_addresses() -> None:
    plan = plan_project(_seed("pinpoint"))
    assert plan.network("pinpoint").subnet == "172.18.0.0/16"
    first = plan.services[0]
    assert first.name == "pinpoint-mysql"  # no dependencies, first by name
    assert first.containers[0].name == "pinpoint-mysql"
    assert first.containers[0].attachments[0].ipv4_address == "172.18.0.2"
    assert plan.container("pinpoint-zoo1-1").attachments[0].ipv4_address == "172.18.0.3"
    # the build: sections are flagged, not silently ignored
    assert any("build:" in p for p in plan.service("pinpoint-web").problems)


def test_pinpoint_notes_answer_the_seed_questions() -> None:
    text = render_plan_text(plan_project(_seed("pinpoint")))
    notes = " ".join(text[text.index("\nNotes\n"):].split())
    assert "expose vs ports" in notes and "zoo1 2888/tcp, 3888/tcp" in notes
    assert 'lone ports: a port with no host part (like "2181")' in notes
    assert "zoo1 2181/tcp, zoo2 2181/tcp, zoo3 2181/tcp" in notes
    assert "lone volumes" in notes and "pinpoint-hbase /home/pinpoint/hbase" in notes
    assert "0.0.0.0:random -> 2181/tcp" in text
    assert "exposed only 2888/tcp, 3888/tcp: reachable from containers on shared networks, " \
           "not published" in text


def test_pinpoint_hbase_gets_the_implicit_default_network() -> None:
    plan = plan_project(_seed("pinpoint-hbase"))
    net = plan.network("default")
    assert (net.name, net.subnet) == ("pinpoint-hbase_default", "172.18.0.0/16")


def test_existing_subnets_and_host_routes_move_the_choice() -> None:
    project = _seed("prometheus-grafana")
    plan = plan_project(project, existing_subnets=("172.17.0.0/16", "172.18.0.0/16"),
                        host_routes=("172.19.0.0/16",))
    assert plan.network("back-tier").subnet == "172.20.0.0/16"
    assert plan.network("front-tier").subnet == "172.21.0.0/16"


def test_json_shape() -> None:
    doc = json.loads(plan_to_json(plan_project(_seed("prometheus-grafana"))))
    assert set(doc) == {"project", "networks", "volumes", "services", "reachability",
                        "host_access", "notes", "warnings"}
    assert doc["project"] == "prometheus-grafana"
    grafana = next(s for s in doc["services"] if s["name"] == "grafana")
    container = grafana["containers"][0]
    assert [a["ipv4_address"] for a in container["attachments"]] == ["172.18.0.6", "172.19.0.2"]
    assert grafana["published"] == [
        {"host_ip": "0.0.0.0", "host_port": "3000", "container_port": 3000, "protocol": "tcp"}]
    reach = doc["reachability"][0]
    assert set(reach) == {"source", "target", "reachable", "networks", "reason"}


# --- small projects: reasons for "no", network modes, aliases, replicas, errors -------------

TWO_TIERS = """
    services:
      web:
        image: busybox
        networks: [front]
        ports: ["127.0.0.1:8080:80"]
      db:
        image: busybox
        networks:
          back:
            aliases: [database]
        deploy: {replicas: 2}
      lonely:
        image: busybox
        network_mode: none
      sidecar:
        image: busybox
        network_mode: service:db
      hostnet:
        image: busybox
        network_mode: host
    networks:
      front: {}
      back:
        internal: true
"""


def test_reachability_reasons(write: Write, load: Load) -> None:
    write("compose.yaml", TWO_TIERS)
    plan = plan_project(load())
    no_net = plan.reach("web", "db")
    assert not no_net.reachable
    assert no_net.reason == "no shared network (web: front; db: back)"
    assert plan.reach("lonely", "web").reason == "lonely has network_mode none"
    assert not plan.reach("web", "lonely").reachable
    assert plan.reach("sidecar", "db").reason == "same network namespace: localhost"
    assert not plan.reach("sidecar", "web").reachable  # it is on db's networks only
    assert plan.reach("web", "hostnet").reachable
    text = render_plan_text(plan)
    assert "web -> db, lonely, sidecar: no" not in text  # reasons differ, so lines differ
    assert "web -> db: no, no shared network (web: front; db: back)" in text


def test_replicas_share_the_service_name_and_aliases(write: Write, load: Load) -> None:
    write("compose.yaml", TWO_TIERS)
    project = load()
    plan = plan_project(project)
    db = plan.service("db")
    assert [c.name for c in db.containers] == [f"{project.name}-db-1", f"{project.name}-db-2"]
    # back is created before front (key order), and db comes first in up order
    assert [c.attachments[0].ipv4_address for c in db.containers] == [
        "172.18.0.2", "172.18.0.3"]
    names = {r.name: r.addresses for r in db.containers[0].resolves}
    assert names["db"] == ("172.18.0.2", "172.18.0.3")
    assert names["database"] == ("172.18.0.2", "172.18.0.3")
    # internal network: no default route, no forwarding from the host
    assert db.containers[0].default_route is None
    sidecar = plan.container(f"{project.name}-sidecar-1")
    assert sidecar.attachments == ()
    assert {r.name for r in sidecar.resolves} >= {"db", "database"}


def test_host_access_reasons(write: Write, load: Load) -> None:
    write("compose.yaml", TWO_TIERS)
    host = {h.service: h for h in plan_project(load()).host_access}
    assert host["web"].reachable
    assert host["web"].ports[0].describe() == "127.0.0.1:8080 -> 80/tcp"
    assert not host["db"].reachable and host["db"].reason == "nothing published"
    assert not host["lonely"].reachable
    assert host["hostnet"].reachable and "host's own addresses" in host["hostnet"].reason


def test_ipam_subnet_networks_are_created_first(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          app:
            image: busybox
            networks:
              auto: {}
              fixed: {ipv4_address: 172.18.5.5}
        networks:
          auto: {}
          fixed:
            ipam:
              config: [{subnet: 172.18.0.0/16}]
    """)
    project = load()
    assert network_creation_order(project) == ("fixed", "auto")
    plan = plan_project(project)
    assert plan.network("fixed").subnet_source == "ipam config"
    assert plan.network("auto").subnet == "172.19.0.0/16"
    app = plan.container(f"{project.name}-app-1")
    assert {a.network: (a.ipv4_address, a.static) for a in app.attachments} == {
        "auto": ("172.19.0.2", False), "fixed": ("172.18.5.5", True)}


def test_static_address_without_ipam_subnet_is_refused(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          app:
            image: busybox
            networks:
              net: {ipv4_address: 172.18.0.9}
        networks:
          net: {}
    """)
    with pytest.raises(InvalidParameter, match=r'service "app" .* on network "net"'):
        plan_project(load())


def test_static_address_taken_by_two_replicas_is_a_conflict(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          app:
            image: busybox
            deploy: {replicas: 2}
            networks:
              net: {ipv4_address: 10.5.0.9}
        networks:
          net:
            ipam:
              config: [{subnet: 10.5.0.0/24}]
    """)
    with pytest.raises(Conflict, match=r"app-2.*Address already in use"):
        plan_project(load())


def test_overlapping_ipam_subnet_is_forbidden(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          app: {image: busybox, networks: [net]}
        networks:
          net:
            ipam:
              config: [{subnet: 172.17.1.0/24}]
    """)
    with pytest.raises(Forbidden, match=re.escape('network "net": invalid subnet "172.17.1.0/24"')):
        plan_project(load())


def test_external_and_unused_networks_are_not_created(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          app: {image: busybox, networks: [shared]}
        networks:
          shared: {external: true, name: corp}
          spare: {}
    """)
    plan = plan_project(load())
    shared, spare = plan.network("shared"), plan.network("spare")
    assert (shared.created, shared.subnet) == (False, None)
    assert shared.subnet_source == "external, not created; subnet unknown"
    assert not spare.created
    text = render_plan_text(plan)
    assert "corp (shared): external, not created; subnet unknown" in text


def test_links_and_extra_hosts_are_resolvable(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          db: {image: busybox}
          web:
            image: busybox
            links: ["db:database"]
            extra_hosts: ["printer:10.1.2.3"]
    """)
    project = load()
    web = plan_project(project).container(f"{project.name}-web-1")
    names = {r.name: r for r in web.resolves}
    assert (names["database"].kind, names["database"].addresses) == ("link", ("172.18.0.2",))
    assert names["printer"].addresses == ("10.1.2.3",)


def test_fixed_host_port_with_replicas_is_flagged(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          web:
            image: busybox
            ports: ["8080:80"]
            deploy: {replicas: 3}
    """)
    web = plan_project(load()).service("web")
    assert any("replicas 2..3 fail" in p for p in web.problems)


def test_macvlan_networks_are_explained_as_segments_not_bridges(write: Write,
                                                                 load: Load) -> None:
    write("compose.yaml", """
        services:
          web: {image: busybox, networks: [lan], ports: ["8080:80"]}
          lab: {image: busybox, networks: [iso]}
        networks:
          lan:
            driver: macvlan
            driver_opts: {parent: eth1}
            ipam: {config: [{subnet: 192.168.5.0/24, gateway: 192.168.5.1}]}
          iso: {driver: macvlan}
    """)
    plan = plan_project(load())
    assert plan.network("lan").parent == "eth1" and plan.network("iso").parent is None
    text = render_plan_text(plan)
    notes = " ".join(text[text.index("\nNotes\n"):].split())
    assert ("macvlan: lan puts its containers (web) straight onto eth1's segment, each with "
            "a MAC and an address of its own (from 192.168.5.0/24)") in notes
    assert "cannot reach them through eth1" in notes
    # Only one macvlan note, and no claim that the host reaches these through a bridge.
    assert "macvlan without a parent" not in notes
    assert "through its bridge" not in notes
    web = {h.service: h for h in plan.host_access}["web"]
    assert not web.reachable and "all macvlan: ports are not forwarded" in web.reason


def test_an_ipv6_only_network_is_planned_without_ipv4(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          web: {image: busybox, networks: [six]}
        networks:
          six:
            enable_ipv4: false
            enable_ipv6: true
            ipam: {config: [{subnet: "fd00:66::/64"}]}
    """)
    plan = plan_project(load())
    six = plan.network("six")
    assert (six.subnet, six.ipv6_subnet) == (None, "fd00:66::/64")
    (attachment,) = plan.container(f"{plan.project}-web-1").attachments
    assert attachment.ipv4_address is None and attachment.ipv6_address == "fd00:66::2"
