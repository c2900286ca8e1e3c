"""Desired against observed, from ``/containers/json`` documents as the API returns them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from dockyard.compose import Project
from dockyard.compose.reconcile import Observed, observe, reconcile
from dockyard.compose.specs import config_hash
from dockyard.errors import InvalidParameter

from .conftest import Load, Write

COMPOSE = """
services:
  web:
    image: busybox
    command: httpd -f
    depends_on: [db]
  db:
    image: busybox
    environment: {A: "1"}
"""


def api_doc(project: Project, service: str, number: int, *, state: str = "running",
            hash_: str | None = None, oneoff: bool = False, name: str | None = None
            ) -> dict[str, Any]:
    """One ``GET /containers/json`` entry of a container compose made."""
    svc = project.services.get(service)
    return {
        "Id": f"{service}{number}" + "0" * 58,
        "Names": ["/" + (name or f"{project.name}-{service}-{number}")],
        "Image": "busybox",
        "State": state,
        "Status": "Up 2 seconds" if state == "running" else "Exited (0)",
        "Labels": {
            "com.docker.compose.project": project.name,
            "com.docker.compose.service": service,
            "com.docker.compose.container-number": str(number),
            "com.docker.compose.oneoff": "True" if oneoff else "False",
            "com.docker.compose.config-hash": hash_ or (config_hash(svc) if svc else "x"),
        },
    }


@pytest.fixture
def project(write: Write, load: Load) -> Project:
    write("compose.yaml", COMPOSE)
    return load(project_name="p")


def kinds(project: Project, docs: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    plan = reconcile(project, observe("p", docs), **kwargs)
    return [f"{a.kind} {a.name}" for a in plan.actions]


def test_nothing_running_creates_every_container_in_dependency_order(project: Project) -> None:
    assert kinds(project, []) == ["create p-db-1", "create p-web-1"]


def test_unchanged_project_keeps_everything(project: Project) -> None:
    docs = [api_doc(project, "db", 1), api_doc(project, "web", 1)]
    plan = reconcile(project, observe("p", docs))
    assert plan.changes == ()
    assert [a.kind for a in plan.actions] == ["keep", "keep"]


def test_changed_service_is_recreated_and_only_it(project: Project) -> None:
    docs = [api_doc(project, "db", 1), api_doc(project, "web", 1)]
    db = replace(project.services["db"], environment={"A": "2"})
    changed = replace(project, services={**project.services, "db": db})
    plan = reconcile(changed, observe("p", docs))
    assert [(a.kind, a.name, a.container_id) for a in plan.changes] == [
        ("recreate", "p-db-1", docs[0]["Id"])]


def test_force_recreate_recreates_all(project: Project) -> None:
    docs = [api_doc(project, "db", 1), api_doc(project, "web", 1)]
    assert kinds(project, docs, force_recreate=True) == ["recreate p-db-1", "recreate p-web-1"]


def test_stopped_container_with_same_config_is_started(project: Project) -> None:
    docs = [api_doc(project, "db", 1, state="exited"), api_doc(project, "web", 1)]
    assert kinds(project, docs) == ["start p-db-1", "keep p-web-1"]


def test_scale_up_adds_replicas_and_down_removes_the_highest(project: Project) -> None:
    docs = [api_doc(project, "db", 1), api_doc(project, "web", 1)]
    assert kinds(project, docs, scale={"web": 3}) == [
        "keep p-db-1", "keep p-web-1", "create p-web-2", "create p-web-3"]
    docs3 = [*docs, api_doc(project, "web", 2), api_doc(project, "web", 3)]
    assert kinds(project, docs3) == [
        "keep p-db-1", "keep p-web-1", "remove p-web-3", "remove p-web-2"]
    assert kinds(project, docs3, scale={"web": 0}) == [
        "keep p-db-1", "remove p-web-3", "remove p-web-2", "remove p-web-1"]


def test_replicas_do_not_change_the_config_hash(project: Project) -> None:
    web = project.services["web"]
    assert config_hash(web) == config_hash(replace(web, replicas=5))
    assert config_hash(web) != config_hash(replace(web, command=("true",)))


def test_orphans_are_containers_of_removed_services(project: Project) -> None:
    docs = [api_doc(project, "db", 1), api_doc(project, "web", 1),
            api_doc(project, "cache", 1, hash_="h")]
    plan = reconcile(project, observe("p", docs))
    assert [o.name for o in plan.orphans] == ["p-cache-1"]
    assert plan.changes == ()


def test_one_off_and_foreign_containers_are_ignored(project: Project) -> None:
    foreign = api_doc(project, "db", 1)
    foreign["Labels"]["com.docker.compose.project"] = "other"
    plain = {"Id": "f" * 64, "Names": ["/x"], "State": "running", "Labels": {}}
    docs = [foreign, plain, api_doc(project, "web", 1, oneoff=True, name="p-web-run-1")]
    assert observe("p", docs) == [Observed.from_api(docs[2])]
    assert kinds(project, docs) == ["create p-db-1", "create p-web-1"]


def test_only_chosen_services_are_touched(project: Project) -> None:
    assert kinds(project, [], services=["db"]) == ["create p-db-1"]


def test_inspect_documents_are_understood_too(project: Project) -> None:
    doc = api_doc(project, "db", 1)
    inspected = {"Id": doc["Id"], "Name": "/p-db-1", "State": {"Status": "exited"},
                 "Config": {"Labels": doc["Labels"]}}
    obs = Observed.from_api(inspected)
    assert obs is not None and obs.name == "p-db-1" and not obs.running


def test_bad_scale_is_refused(project: Project, write: Write, load: Load) -> None:
    with pytest.raises(InvalidParameter, match='no such service "nope"'):
        reconcile(project, [], scale={"nope": 2})
    write("compose.yaml", "services:\n  web:\n    image: busybox\n    container_name: w\n")
    named = load(project_name="p")
    with pytest.raises(InvalidParameter, match='container_name "w" cannot be used with 2'):
        reconcile(named, [], scale={"web": 2})
