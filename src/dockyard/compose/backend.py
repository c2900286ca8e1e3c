"""How compose reaches the engine: a narrow protocol, and its Docker-Engine-API client.

Compose never touches the engine directly (as ``docker compose`` only ever talks to
``dockerd``): every call here is one API request, and every value returned is the API's
JSON. Tests of the runner substitute an in-memory implementation of the protocol.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, TextIO

from dockyard.client.http import APIError, Client
from dockyard.compose.model import PROJECT_LABEL, Build
from dockyard.compose.streams import demux
from dockyard.errors import (
    Conflict,
    DockyardError,
    Internal,
    InvalidParameter,
    NotFound,
    NotImplementedKind,
)

LogChunk = tuple[str, bytes]  # ("stdout" | "stderr", data)


class ComposeBackend(Protocol):
    def containers(self, project: str | None) -> list[dict[str, Any]]:
        """``GET /containers/json?all=1``, limited to one compose project's containers
        (all compose containers when ``project`` is None)."""

    def inspect_container(self, ref: str) -> dict[str, Any]: ...

    def create_container(self, name: str, body: Mapping[str, Any]) -> str: ...

    def start_container(self, ref: str) -> None: ...

    def stop_container(self, ref: str, timeout: int | None = None) -> None: ...

    def restart_container(self, ref: str, timeout: int | None = None) -> None: ...

    def kill_container(self, ref: str, signal: str = "SIGKILL") -> None: ...

    def remove_container(self, ref: str, *, force: bool = False,
                         volumes: bool = False) -> None: ...

    def wait_container(self, ref: str) -> int: ...

    def logs(self, ref: str, *, follow: bool = False, tail: str | None = None,
             timestamps: bool = False) -> Iterator[LogChunk]: ...

    def exec(self, ref: str, body: Mapping[str, Any]) -> tuple[Iterator[LogChunk], str]:
        """Create and start an exec; returns its output and its id (for the exit code)."""

    def exec_exit_code(self, exec_id: str) -> int: ...

    def networks(self) -> list[dict[str, Any]]: ...

    def create_network(self, body: Mapping[str, Any]) -> str: ...

    def remove_network(self, ref: str) -> None: ...

    def volumes(self) -> list[dict[str, Any]]: ...

    def create_volume(self, body: Mapping[str, Any]) -> None: ...

    def remove_volume(self, name: str) -> None: ...

    def image_exists(self, ref: str) -> bool: ...

    def build_image(self, tag: str, build: Build, out: TextIO, *,
                    no_cache: bool = False) -> None: ...

    def probe(self, container: str, name: str) -> dict[str, Any]: ...


def _dockyard_error(err: APIError) -> DockyardError:
    """The API's error as the error kind it came from (its status says which)."""
    kind: type[DockyardError] = {400: InvalidParameter, 404: NotFound, 409: Conflict,
                                 501: NotImplementedKind}.get(err.status, Internal)
    return kind(err.message)


class APIBackend:
    """``ComposeBackend`` over the daemon's Engine API."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _call(self, method: str, path: str, *, query: Mapping[str, Any] | None = None,
              body: Any = None) -> Any:
        try:
            return self.client.request(method, path, query=query, json_body=body).json()
        except APIError as err:
            raise _dockyard_error(err) from None

    def containers(self, project: str | None) -> list[dict[str, Any]]:
        label = PROJECT_LABEL if project is None else f"{PROJECT_LABEL}={project}"
        docs = self._call("GET", "/containers/json",
                          query={"all": "1", "filters": json.dumps({"label": [label]})}) or []
        # Filtered again here: an engine that ignores a filter must not make compose touch
        # containers of another project.
        return [d for d in docs if PROJECT_LABEL in (d.get("Labels") or {})
                and (project is None or d["Labels"][PROJECT_LABEL] == project)]

    def inspect_container(self, ref: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/containers/{ref}/json"))

    def create_container(self, name: str, body: Mapping[str, Any]) -> str:
        doc = self._call("POST", "/containers/create", query={"name": name}, body=dict(body))
        return str(doc["Id"])

    def start_container(self, ref: str) -> None:
        self._call("POST", f"/containers/{ref}/start")

    def stop_container(self, ref: str, timeout: int | None = None) -> None:
        query = {"t": str(timeout)} if timeout is not None else None
        self._call("POST", f"/containers/{ref}/stop", query=query)

    def restart_container(self, ref: str, timeout: int | None = None) -> None:
        query = {"t": str(timeout)} if timeout is not None else None
        self._call("POST", f"/containers/{ref}/restart", query=query)

    def kill_container(self, ref: str, signal: str = "SIGKILL") -> None:
        self._call("POST", f"/containers/{ref}/kill", query={"signal": signal})

    def remove_container(self, ref: str, *, force: bool = False,
                         volumes: bool = False) -> None:
        self._call("DELETE", f"/containers/{ref}",
                   query={"force": "1" if force else "0", "v": "1" if volumes else "0"})

    def wait_container(self, ref: str) -> int:
        doc = self._call("POST", f"/containers/{ref}/wait")
        return int((doc or {}).get("StatusCode", 0))

    def logs(self, ref: str, *, follow: bool = False, tail: str | None = None,
             timestamps: bool = False) -> Iterator[LogChunk]:
        query = {"stdout": "1", "stderr": "1", "follow": "1" if follow else "0",
                 "timestamps": "1" if timestamps else "0", "tail": tail or "all"}
        try:
            response = self.client.request("GET", f"/containers/{ref}/logs", query=query,
                                           stream=True)
        except APIError as err:
            raise _dockyard_error(err) from None
        tty = "raw-stream" in response.headers.get("content-type", "")
        return demux(response.chunks(), tty=tty)

    def exec(self, ref: str, body: Mapping[str, Any]) -> tuple[Iterator[LogChunk], str]:
        created = self._call("POST", f"/containers/{ref}/exec", body=dict(body))
        exec_id = str(created["Id"])
        try:
            response = self.client.request(
                "POST", f"/exec/{exec_id}/start", stream=True,
                json_body={"Detach": False, "Tty": bool(body.get("Tty"))})
        except APIError as err:
            raise _dockyard_error(err) from None
        return demux(response.chunks(), tty=bool(body.get("Tty"))), exec_id

    def exec_exit_code(self, exec_id: str) -> int:
        doc = self._call("GET", f"/exec/{exec_id}/json")
        code = doc.get("ExitCode")
        return int(code) if code is not None else 0

    def networks(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/networks") or [])

    def create_network(self, body: Mapping[str, Any]) -> str:
        return str(self._call("POST", "/networks/create", body=dict(body))["Id"])

    def remove_network(self, ref: str) -> None:
        self._call("DELETE", f"/networks/{ref}")

    def volumes(self) -> list[dict[str, Any]]:
        doc = self._call("GET", "/volumes") or {}
        return list(doc.get("Volumes") or [])

    def create_volume(self, body: Mapping[str, Any]) -> None:
        self._call("POST", "/volumes/create", body=dict(body))

    def remove_volume(self, name: str) -> None:
        self._call("DELETE", f"/volumes/{name}")

    def image_exists(self, ref: str) -> bool:
        try:
            self.client.request("GET", f"/images/{ref}/json")
        except APIError as err:
            if err.status == 404:
                return False
            raise _dockyard_error(err) from None
        return True

    def probe(self, container: str, name: str) -> dict[str, Any]:
        """What ``container`` sees of ``name``: resolved, then pinged, from inside it."""
        return dict(self._call("POST", f"/containers/{container}/dockyard-probe",
                               body={"Name": name}))

    def build_image(self, tag: str, build: Build, out: TextIO, *,
                    no_cache: bool = False) -> None:
        """The service's ``build`` section sent to the daemon's builder, its progress
        written to ``out``."""
        from dockyard.client.buildctx import BuildFailed
        from dockyard.client.buildctx import build as send

        dockerfile = build.dockerfile or "Dockerfile"
        if os.path.isabs(dockerfile):
            dockerfile = os.path.relpath(dockerfile, build.context)
        try:
            send(self.client, build.context, tags=[tag], dockerfile=dockerfile,
                 build_args=dict(build.args), target=build.target or "",
                 labels=_labels(build.options.get("labels")), no_cache=no_cache,
                 network=str(build.options.get("network") or ""), show=out.write)
        except BuildFailed as err:
            raise InvalidParameter(f"failed to build {tag}: {err.message}") from None
        except APIError as err:
            raise _dockyard_error(err) from None
        except OSError as err:
            raise InvalidParameter(f"failed to build {tag}: {err}") from None


def _labels(value: Any) -> dict[str, str]:
    """A build section's ``labels``, a mapping or a list of ``key=value``."""
    if isinstance(value, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    return {k: v for k, _, v in (str(item).partition("=") for item in value or ())}
