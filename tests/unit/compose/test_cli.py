"""``dockyard compose`` front end: exit codes, stdout and stderr of config and plan."""

from __future__ import annotations

import io
import json
from pathlib import Path

from dockyard.compose.cli import main
from dockyard.compose.yamlio import load_yaml

from .conftest import Write

FIXTURES = Path(__file__).parent / "fixtures"
GRAFANA = str(FIXTURES / "prometheus-grafana" / "docker-compose.yml")
PINPOINT = str(FIXTURES / "pinpoint" / "docker-compose.yml")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), environ={}, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_plan_text_on_seed_file() -> None:
    code, out, err = run("-f", GRAFANA, "plan")
    assert code == 0
    assert "prometheus-grafana_front-tier (front-tier): driver bridge, subnet 172.19.0.0/16" in out
    assert "Reachability by name" in out and "\nNotes\n" in out
    assert "WARN: docker-compose.yml: the attribute `version` is obsolete" in err


def test_plan_json_on_pinpoint_with_its_env_file() -> None:
    code, out, _ = run("-f", PINPOINT, "plan", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    zoo1 = next(s for s in doc["services"] if s["name"] == "zoo1")
    assert zoo1["published"][0]["host_port"] == "random"
    assert [p["port"] for p in zoo1["exposed_only"]] == [2888, 3888]
    # .env beside the file set PINPOINT_WEB_NAME, so container_name applies
    web = next(s for s in doc["services"] if s["name"] == "pinpoint-web")
    assert web["containers"][0]["name"] == "pinpoint-web"


def test_project_name_flag_renames_resources() -> None:
    code, out, _ = run("-f", GRAFANA, "-p", "mon", "plan")
    assert code == 0
    assert "mon_back-tier (back-tier)" in out and "container mon-grafana-1" in out


def test_config_prints_the_normalised_project() -> None:
    code, out, _ = run("-f", GRAFANA, "config")
    assert code == 0
    doc = load_yaml(out)
    assert doc["name"] == "prometheus-grafana"
    assert set(doc["services"]["grafana"]["networks"]) == {"back-tier", "front-tier"}


def test_config_listing_flags() -> None:
    assert run("-f", GRAFANA, "config", "--networks")[1] == "back-tier\nfront-tier\n"
    assert run("-f", GRAFANA, "config", "--volumes")[1] == "grafana_data\nprometheus_data\n"
    services = run("-f", GRAFANA, "config", "--services")[1].split()
    assert services.index("cadvisor") < services.index("prometheus") < services.index("grafana")
    assert run("-f", GRAFANA, "config", "-q")[:2] == (0, "")


def test_invalid_file_names_file_service_and_key(write: Write) -> None:
    path = write("compose.yaml", """
        services:
          web:
            image: busybox
            ports: ["not-a-port"]
    """)
    code, out, err = run("-f", str(path), "config")
    assert code == 1 and out == ""
    assert err.startswith("dockyard compose config: ")
    assert "compose.yaml" in err and "services.web.ports" in err


def test_plan_error_from_ipam_exits_1(write: Write) -> None:
    path = write("compose.yaml", """
        services:
          app: {image: busybox, networks: [net]}
        networks:
          net:
            ipam:
              config: [{subnet: 172.17.0.0/24}]
    """)
    code, _, err = run("-f", str(path), "plan")
    assert code == 1
    assert 'network "net": invalid subnet "172.17.0.0/24"' in err


def test_missing_file_exits_1() -> None:
    code, _, err = run("-f", "/nonexistent/compose.yaml", "plan")
    assert code == 1 and "/nonexistent/compose.yaml" in err


def test_unimplemented_commands_say_so() -> None:
    code, out, err = run("pause")
    assert code == 1 and out == ""
    assert "not implemented by Dockyard" in err


def test_usage_errors_exit_2() -> None:
    assert run("plan", "--format", "xml")[0] == 2
    assert run("config", "--bogus")[0] == 2
    code, _, err = run()
    assert code == 2 and "usage: dockyard compose" in err
