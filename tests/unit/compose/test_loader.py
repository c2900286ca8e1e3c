"""Loading whole projects: files, env, merge, extends, profiles, normalised model."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.compose import load_project
from dockyard.compose.errors import ComposeFileError, ProjectError
from dockyard.compose.loader import VERSION_WARNING, find_compose_files
from dockyard.compose.model import Dependency, ServiceNetwork, ServicePort

from .conftest import Load, Write


def test_default_file_and_override_are_found_and_merged(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          web:
            image: nginx
            ports: ["8080:80"]
            environment: [A=1, B=2]
    """)
    write("compose.override.yaml", """
        services:
          web:
            image: nginx:1.27
            ports: ["8443:443", "8080:80"]
            environment: {B: "3", C: "4"}
    """)
    project = load()
    web = project.services["web"]
    assert web.image == "nginx:1.27"
    assert web.ports == (ServicePort(80, "8080"), ServicePort(443, "8443"))
    assert web.environment == {"A": "1", "B": "3", "C": "4"}
    assert [Path(f).name for f in project.compose_files] == ["compose.yaml",
                                                             "compose.override.yaml"]


def test_default_file_preference(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    (tmp_path / "compose.yml").write_text("services: {}\n")
    assert [Path(p).name for p in find_compose_files(tmp_path)] == ["compose.yml"]
    with pytest.raises(ComposeFileError, match="no configuration file provided"):
        find_compose_files(tmp_path / "missing")


def test_merge_rules_for_several_files(write: Write, load: Load, tmp_path: Path) -> None:
    write("a.yaml", """
        services:
          app:
            image: app
            command: ["run", "--fast"]
            volumes: ["data:/data", "./conf:/etc/app"]
            dns: 1.1.1.1
            labels: {tier: back, team: a}
            healthcheck: {test: ["CMD", "true"], interval: 10s}
        volumes: {data: {}}
    """)
    write("b.yaml", """
        services:
          app:
            command: serve --port 80
            volumes: ["other:/data"]
            dns: [1.1.1.1, 9.9.9.9]
            labels: [team=b]
            healthcheck: {test: "curl -f localhost"}
        volumes: {other: {}}
    """)
    app = load(["a.yaml", "b.yaml"]).services["app"]
    assert app.command == ("serve", "--port", "80")  # replaced, not appended
    # volumes merge by target: the later file's volume replaces the one on /data
    assert [(v.source, v.target) for v in app.volumes] == [
        ("other", "/data"), (str(tmp_path / "conf"), "/etc/app")]
    assert app.dns == ("1.1.1.1", "9.9.9.9")
    assert app.labels == {"tier": "back", "team": "b"}
    assert app.healthcheck is not None
    assert app.healthcheck.test == ("CMD-SHELL", "curl -f localhost")
    assert app.healthcheck.interval_ns == 10_000_000_000


def test_project_name_precedence(write: Write, load: Load, tmp_path: Path) -> None:
    write("compose.yaml", "name: fromfile\nservices: {web: {image: x}}\n")
    assert load(project_name="cli").name == "cli"
    assert load(environ={"COMPOSE_PROJECT_NAME": "envname"}).name == "envname"
    assert load().name == "fromfile"
    (tmp_path / "compose.yaml").write_text("services: {web: {image: x}}\n")
    odd = tmp_path / "My.Odd Dir"
    odd.mkdir()
    (odd / "compose.yaml").write_text("services: {web: {image: x}}\n")
    assert load_project(working_dir=odd, environ={}).name == "myodddir"


def test_invalid_explicit_project_name(write: Write, load: Load) -> None:
    write("compose.yaml", "services: {web: {image: x}}\n")
    with pytest.raises(ProjectError, match='invalid project name "Bad Name"'):
        load(project_name="Bad Name")


def test_dotenv_and_env_file_and_process_env(write: Write, load: Load) -> None:
    write("compose.yaml", "services: {web: {image: 'nginx:${TAG}', hostname: '${HOST}'}}\n")
    write(".env", "TAG=1.0\nHOST=from-dotenv\n")
    write("other.env", "TAG=2.0\n")
    assert load().services["web"].image == "nginx:1.0"
    assert load(environ={"TAG": "shell"}).services["web"].image == "nginx:shell"
    project = load(env_files=["other.env"])
    assert project.services["web"].image == "nginx:2.0"
    assert 'The "HOST" variable is not set. Defaulting to a blank string.' in project.warnings
    with pytest.raises(ComposeFileError, match=r"env file .*missing\.env\" not found"):
        load(env_files=["missing.env"])


def test_dotenv_syntax(write: Write, load: Load) -> None:
    write("compose.yaml", "services: {web: {image: x, environment: {A: $A, B: $B, C: $C, "
                          "D: $D, E: $E}}}\n")
    write(".env", """
        # comment
        export A=plain # trailing comment
        B='single $A'
        C="double ${A}\\tx"
        D=${A}-again
        E="multi
        line"
    """)
    env = load().services["web"].environment
    assert env == {"A": "plain", "B": "single $A", "C": "double plain\tx",
                   "D": "plain-again", "E": "multi\nline"}


def test_environment_forms_and_env_file(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          web:
            image: x
            env_file: [base.env, {path: optional.env, required: false}]
            environment:
              - FROM_LIST=1
              - FROM_SHELL
              - NOT_ANYWHERE
              - OVERRIDDEN=compose
    """)
    write("base.env", "IN_FILE=yes\nOVERRIDDEN=file\n")
    web = load(environ={"FROM_SHELL": "shell"}).services["web"]
    assert web.environment == {"IN_FILE": "yes", "OVERRIDDEN": "compose", "FROM_LIST": "1",
                               "FROM_SHELL": "shell", "NOT_ANYWHERE": None}


def test_extends_same_file_and_other_file(write: Write, load: Load, tmp_path: Path) -> None:
    write("common/base.yaml", """
        services:
          base:
            image: base-image
            environment: {LEVEL: base}
            volumes: ["./data:/data"]
    """)
    write("compose.yaml", """
        services:
          middle:
            extends: {file: common/base.yaml, service: base}
            environment: {LEVEL: middle, EXTRA: "1"}
          web:
            extends: middle
            command: echo hi
    """)
    project = load()
    web = project.services["web"]
    assert web.image == "base-image"
    assert web.environment == {"LEVEL": "middle", "EXTRA": "1"}
    assert web.command == ("echo", "hi")
    # Paths in the extended file are relative to that file.
    assert web.volumes[0].source == str(tmp_path / "common" / "data")


def test_profiles(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          web: {image: x}
          debug: {image: x, profiles: [debug]}
          tools: {image: x, profiles: [tools, debug]}
    """)
    assert set(load().services) == {"web"}
    assert load().disabled_services == ("debug", "tools")
    assert set(load(profiles=["tools"]).services) == {"web", "tools"}
    assert set(load(environ={"COMPOSE_PROFILES": "debug"}).services) == {"web", "debug", "tools"}
    assert set(load(profiles=["*"]).services) == {"web", "debug", "tools"}


def test_version_is_ignored_with_compose_warning(write: Write, load: Load) -> None:
    write("compose.yaml", "version: '3.8'\nservices: {web: {image: x}}\n")
    assert load().warnings == (f"compose.yaml: {VERSION_WARNING}",)


def test_depends_on_forms_and_order(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          web:
            image: x
            depends_on:
              db: {condition: service_healthy, restart: true}
              migrate: {condition: service_completed_successfully, required: false}
            links: [cache:redis]
          db: {image: x}
          migrate: {image: x, depends_on: [db]}
          cache: {image: x}
    """)
    project = load()
    assert project.services["web"].depends_on == (
        Dependency("db", "service_healthy", required=True, restart=True),
        Dependency("migrate", "service_completed_successfully", required=False),
        Dependency("cache", "service_started", required=True, restart=True),
    )
    assert project.services["migrate"].depends_on == (Dependency("db"),)
    assert project.service_order() == ("cache", "db", "migrate", "web")


def test_networks_forms_and_implicit_default(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          plain: {image: x}
          listed: {image: x, networks: [front]}
          mapped:
            image: x
            networks:
              back: {aliases: [db, database], ipv4_address: 172.28.0.5, priority: 10,
                     gw_priority: 1}
              front:
          hosted: {image: x, network_mode: host}
        networks:
          front: {}
          back:
            driver: bridge
            internal: true
            ipam: {config: [{subnet: 172.28.0.0/16, gateway: 172.28.0.1,
                             ip_range: 172.28.5.0/24, aux_addresses: {r: 172.28.1.5}}]}
          outside: {external: true}
          named: {name: custom-name}
    """)
    project = load(project_name="proj")
    assert project.services["plain"].networks == (ServiceNetwork("default", declared=False),)
    assert project.services["hosted"].networks == ()
    mapped = project.services["mapped"]
    assert [n.network for n in mapped.networks] == ["back", "front"]  # priority first
    back = mapped.network("back")
    assert back is not None and back.aliases == ("db", "database")
    assert back.ipv4_address == "172.28.0.5" and back.gw_priority == 1
    names = {k: n.name for k, n in project.networks.items()}
    assert names == {"default": "proj_default", "front": "proj_front", "back": "proj_back",
                     "outside": "outside", "named": "custom-name"}
    ipam = project.networks["back"].ipam
    assert ipam is not None and ipam.config[0].subnet == "172.28.0.0/16"
    assert ipam.config[0].aux_addresses == {"r": "172.28.1.5"}
    assert project.networks["back"].internal and project.networks["outside"].external


def test_service_details(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          web:
            image: x
            command: sh -c 'echo "hello world"'
            entrypoint: [/bin/tini, --]
            extra_hosts: ["db:10.0.0.5", "v6=::1"]
            dns: 10.0.0.2
            expose: [80, "443"]
            deploy: {replicas: 3}
            stop_grace_period: 1m30s
            healthcheck: {disable: true}
            labels: [a=1, b]
          cron:
            image: x
            container_name: the-cron
            extra_hosts: {gw: 10.0.0.1}
    """)
    project = load(project_name="p")
    web = project.services["web"]
    assert web.command == ("sh", "-c", 'echo "hello world"')
    assert web.entrypoint == ("/bin/tini", "--")
    assert web.extra_hosts == (("db", "10.0.0.5"), ("v6", "::1"))
    assert web.dns == ("10.0.0.2",)
    assert web.expose == ("80", "443")
    assert web.replicas == 3
    assert web.container_names("p") == ("p-web-1", "p-web-2", "p-web-3")
    assert web.stop_grace_period_ns == 90_000_000_000
    assert web.healthcheck is not None and web.healthcheck.disabled
    assert web.labels == {"a": "1", "b": ""}
    assert project.services["cron"].container_names("p") == ("the-cron",)
    assert project.services["cron"].extra_hosts == (("gw", "10.0.0.1"),)


def test_yaml_12_scalars(write: Write, load: Load) -> None:
    # YAML 1.1 would read 9090:9090 as a base-60 number and "on" as a boolean.
    write("compose.yaml", """
        services:
          web:
            image: x
            ports: [9090:9090]
            environment: {FLAG: on, MODE: 0755}
    """)
    web = load().services["web"]
    assert web.ports == (ServicePort(9090, "9090"),)
    assert web.environment == {"FLAG": "on", "MODE": "755"}
