"""The seed's three compose files (copied under fixtures/) load and show their topology."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.compose import Project, load_project, render_config
from dockyard.compose.loader import VERSION_WARNING
from dockyard.compose.model import ServicePort
from dockyard.compose.yamlio import load_yaml

FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str) -> Project:
    return load_project(working_dir=FIXTURES / name, environ={})


@pytest.mark.parametrize("name", ["pinpoint", "pinpoint-hbase", "prometheus-grafana"])
def test_seed_files_load_and_warn_about_version(name: str) -> None:
    project = _load(name)
    assert project.name == name
    assert f"docker-compose.yml: {VERSION_WARNING}" in project.warnings
    assert load_yaml(render_config(project))["name"] == name


def test_grafana_is_on_both_tiers() -> None:
    project = _load("prometheus-grafana")
    grafana = project.services["grafana"]
    assert {n.network for n in grafana.networks} == {"front-tier", "back-tier"}
    assert project.networks["front-tier"].name == "prometheus-grafana_front-tier"
    assert "default" not in project.networks  # every service names its networks
    assert grafana.environment["GF_SECURITY_ADMIN_PASSWORD"] == "foobar"  # from env_file
    assert grafana.user == "472"
    # links imply start order: prometheus waits for alertmanager as well as cadvisor.
    order = project.service_order()
    assert order.index("alertmanager") < order.index("prometheus") < order.index("grafana")
    command = project.services["node-exporter"].command
    assert command is not None and command[-1].endswith("($|/)")  # $$ became $


def test_pinpoint_topology() -> None:
    project = _load("pinpoint")
    assert project.warnings == (f"docker-compose.yml: {VERSION_WARNING}",)
    zoo1 = project.services["zoo1"]
    assert zoo1.ports == (ServicePort(target=2181),)
    assert zoo1.ports[0].random_host_port
    assert zoo1.expose == ("2181", "2888", "3888")
    published = {p.target for p in zoo1.ports}
    assert 2888 not in published and 3888 not in published  # expose-only stays unpublished
    hbase = project.services["pinpoint-hbase"]
    assert hbase.build is not None
    assert hbase.build.context == str(FIXTURES / "pinpoint" / "pinpoint-hbase")
    assert hbase.build.args == {"PINPOINT_VERSION": "2.2.1"}
    assert hbase.image == "pinpointdocker/pinpoint-hbase:2.2.1"
    assert hbase.container_name == "pinpoint-hbase"
    assert all(v.anonymous for v in hbase.volumes)
    assert project.services["pinpoint-agent"].volumes[0].named
    web = project.services["pinpoint-web"]
    assert ServicePort(target=8079, published="8079") in web.ports  # ${SERVER_PORT:-8080}
    assert web.environment["SPRING_PROFILES_ACTIVE"] == "release,batch"
    collector = project.services["pinpoint-collector"]
    assert {(p.target, p.protocol) for p in collector.ports} >= {(9995, "tcp"), (9995, "udp")}
    assert project.networks["pinpoint"].driver == "bridge"
    assert project.volumes["data-volume"].name == "pinpoint_data-volume"
    order = project.service_order()
    assert order.index("zoo1") < order.index("pinpoint-hbase") < order.index("pinpoint-web")


def test_pinpoint_hbase_without_env_warns_and_uses_defaults() -> None:
    project = _load("pinpoint-hbase")
    assert 'The "PINPOINT_VERSION" variable is not set. Defaulting to a blank string.' in (
        project.warnings)
    hbase = project.services["pinpoint-hbase"]
    assert ServicePort(target=2181, published="2181") in hbase.ports  # ${EXTERNAL_HBASE_PORT:-2181}
    assert hbase.networks[0].network == "default"
    assert project.networks["default"].name == "pinpoint-hbase_default"
