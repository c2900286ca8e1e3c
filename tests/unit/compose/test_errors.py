"""Every error class, with a message naming file, service and key."""

from __future__ import annotations

import re

import pytest

from dockyard.compose.errors import (
    ComposeError,
    ComposeFileError,
    ExtendsError,
    InterpolationError,
    ProjectError,
    SchemaError,
    SyntaxFormError,
)
from dockyard.errors import InvalidParameter

from .conftest import Load, Write

CASES = [
    ("services: [oops\n", ComposeFileError, "compose.yaml: invalid YAML"),
    ("- just a list\n", ComposeFileError, "compose.yaml: top-level value must be a mapping"),
    ("services: {web: {image: '${TAG:?set TAG}'}}\n", InterpolationError,
     'compose.yaml: services.web.image: required variable "TAG" is missing a value: set TAG'),
    ("services: {web: {image: x, colour: red}}\n", SchemaError,
     'compose.yaml: services.web: additional property "colour" is not allowed'),
    ("services: {web: {image: x, depends_on: {db: {condition: soon}}}, db: {image: x}}\n",
     SchemaError, 'compose.yaml: services.web.depends_on.db.condition: "soon" must be one of'),
    ("services: {web: {image: x, ports: ['80:80:80:80']}}\n", SyntaxFormError,
     'compose.yaml: services.web.ports[0]: invalid port "80:80:80:80": too many colons'),
    ("services: {web: {image: x, volumes: ['data:relative']}}\n", SyntaxFormError,
     'compose.yaml: services.web.volumes[0]: invalid volume "data:relative"'),
    ("services: {web: {image: x, healthcheck: {interval: 5 sec}}}\n", SyntaxFormError,
     'compose.yaml: services.web.healthcheck.interval: invalid duration "5 sec"'),
    ("services: {web: {image: x, extends: ghost}}\n", ExtendsError,
     'compose.yaml: services.web.extends: cannot extend service "ghost"'),
    ("services: {a: {extends: b}, b: {extends: c}, c: {extends: a}}\n", ExtendsError,
     "compose.yaml: services.c.extends: circular extends: a -> b -> c -> a"),
    ("services: {web: {image: x, extends: {file: nope.yaml, service: s}}}\n", ExtendsError,
     'compose.yaml: services.web.extends: extends file "nope.yaml" not found'),
    ("services: {web: {image: x, depends_on: [db]}}\n", ProjectError,
     'compose.yaml: services.web.depends_on: depends on undefined service "db"'),
    ("services: {web: {image: x, depends_on: [db]}, db: {image: x, profiles: [x]}}\n",
     ProjectError, 'compose.yaml: services.web.depends_on: service "db" is not enabled'),
    ("services: {web: {image: x, networks: [ghost]}}\n", ProjectError,
     'compose.yaml: services.web.networks: network "ghost" is not declared'),
    ("services: {web: {image: x, volumes: ['ghost:/x']}}\n", ProjectError,
     'compose.yaml: services.web.volumes[0]: volume "ghost" is not declared'),
    ("services: {web: {image: x, network_mode: host, networks: [n]}}\nnetworks: {n: }\n",
     ProjectError, "compose.yaml: services.web: network_mode and networks cannot be combined"),
    ("services: {web: {image: x, network_mode: 'service:ghost'}}\n", ProjectError,
     'compose.yaml: services.web.network_mode: network_mode refers to undefined service'),
    ("services: {web: {image: x, links: [ghost]}}\n", ProjectError,
     'compose.yaml: services.web.links[0]: link to undefined service "ghost"'),
    ("services: {web: {image: x, container_name: w, deploy: {replicas: 2}}}\n", ProjectError,
     'compose.yaml: services.web.container_name: container name "w" must be unique'),
    ("services: {a: {image: x, container_name: w}, b: {image: x, container_name: w}}\n",
     ProjectError, 'services.b.container_name: container name "w" is also used by service "a"'),
    ("services: {a: {image: x, depends_on: [b]}, b: {image: x, depends_on: [a]}}\n",
     ProjectError, "compose.yaml: services.a.depends_on: dependency cycle detected: a -> b -> a"),
    ("services: {web: {image: x, env_file: [missing.env]}}\n", SyntaxFormError,
     'services.web.env_file[0]: env file ".*missing.env" not found'),
]


@pytest.mark.parametrize(("text", "kind", "message"), CASES)
def test_error_messages(write: Write, load: Load, text: str, kind: type[ComposeError],
                        message: str) -> None:
    write("compose.yaml", text)
    # Messages are literal except for ".*" standing for a temporary path.
    pattern = re.escape(message).replace(re.escape(".*"), ".*")
    with pytest.raises(kind, match=pattern) as info:
        load()
    assert isinstance(info.value, InvalidParameter)
    assert info.value.status == 400


def test_host_network_mode_with_ports_warns(write: Write, load: Load) -> None:
    write("compose.yaml", "services: {web: {image: x, network_mode: host, ports: ['80:80']}}\n")
    project = load()
    assert ('service "web": published ports are discarded when using host network mode'
            in project.warnings)
    assert project.services["web"].networks == ()


def test_optional_dependency_on_missing_service_is_dropped(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          web: {image: x, depends_on: {db: {condition: service_started, required: false}}}
    """)
    project = load()
    assert project.services["web"].depends_on == ()
    assert any('optional dependency "db"' in w for w in project.warnings)
