from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from dockyard.images.config import (
    RunConfig,
    build_import_config,
    format_time,
    go_json,
    go_run_config,
    image_id,
    parse_time,
)

WHEN = datetime(2024, 5, 6, 7, 8, 9, 123400, tzinfo=UTC)
DIFF = "sha256:" + "ab" * 32


def test_same_config_same_id_and_id_is_sha256_of_bytes() -> None:
    first = build_import_config(RunConfig(cmd=("sh",)), [DIFF], WHEN, architecture="amd64")
    second = build_import_config(RunConfig(cmd=("sh",)), [DIFF], WHEN, architecture="amd64")
    assert first == second
    assert image_id(first) == "sha256:" + hashlib.sha256(first).hexdigest()
    other = build_import_config(RunConfig(cmd=("ls",)), [DIFF], WHEN, architecture="amd64")
    assert image_id(other) != image_id(first)


def test_import_config_shape_matches_docker() -> None:
    raw = build_import_config(RunConfig(exposed_ports=("80/tcp",), env=("A=1",)), [DIFF], WHEN,
                              comment="Imported from -", architecture="amd64")
    text = raw.decode()
    assert " " not in text.replace("Imported from -", "")  # compact, as Go writes it
    doc = json.loads(raw)
    assert list(doc) == sorted(doc)  # top-level keys sorted (image.Image.MarshalJSON)
    assert doc["rootfs"] == {"type": "layers", "diff_ids": [DIFF]}
    assert doc["history"] == [{"created": "2024-05-06T07:08:09.1234Z",
                               "comment": "Imported from -"}]
    assert doc["os"] == "linux" and doc["architecture"] == "amd64"
    config = doc["config"]
    assert list(config)[:7] == ["Hostname", "Domainname", "User", "AttachStdin",
                                "AttachStdout", "AttachStderr", "ExposedPorts"]
    assert config["ExposedPorts"] == {"80/tcp": {}}
    assert config["Cmd"] is None and config["Labels"] is None and config["Env"] == ["A=1"]


def test_empty_exposed_ports_are_omitted_like_go_omitempty() -> None:
    assert "ExposedPorts" not in go_run_config({})
    assert go_run_config({})["Env"] is None


def test_go_json_escapes_html_characters() -> None:
    assert go_json({"a": "<b>&é"}) == '{"a":"\\u003cb\\u003e\\u0026é"}'.encode()


def test_time_round_trip() -> None:
    assert format_time(WHEN) == "2024-05-06T07:08:09.1234Z"
    assert format_time(WHEN.replace(microsecond=0)) == "2024-05-06T07:08:09Z"
    assert parse_time("2024-05-06T07:08:09.123456789Z") == WHEN.replace(microsecond=123456)
    assert parse_time("2024-05-06T09:08:09+02:00") == WHEN.replace(microsecond=0)


def test_run_config_round_trips_through_go_shape() -> None:
    config = RunConfig(user="u", env=("A=1",), cmd=("x",), entrypoint=None,
                       exposed_ports=("53/udp",), working_dir="/w", labels=(("k", "v"),))
    assert RunConfig.from_go(config.to_go()) == config
