"""Bad requests get Docker's status and a message naming the fault, and change nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import make_sandbox
from tests.e2e.daemon import Daemon
from tests.integration.hosts import snapshot

pytestmark = pytest.mark.root

CASES = [
    # (method, path, raw body or JSON, status, words in the message)
    ("POST", "/networks/create", b"{not json", 400, "invalid JSON"),
    ("POST", "/networks/create", b"", 400, "invalid JSON"),
    ("POST", "/networks/create", b"[1, 2]", 400, "expected an object"),
    ("POST", "/networks/create", {"Name": 5}, 400, 'field "Name" must be a string'),
    ("POST", "/networks/create", {"Name": "x", "Internal": "yes"}, 400,
     'field "Internal" must be a boolean'),
    ("POST", "/networks/create", {"Name": "x", "Labels": {"a": 1}}, 400, 'field "Labels.a"'),
    ("POST", "/networks/create", {"Name": "x", "IPAM": {"Config": [{"Subnet": 1}]}}, 400,
     'field "IPAM.Config[0].Subnet" must be a string'),
    ("POST", "/networks/create", {"Name": "x", "IPAM": {"Config": [{"Subnet": "10.0.0.0/33"}]}},
     400, "10.0.0.0/33"),
    ("POST", "/networks/create", {"Name": "tab\tname"}, 400, "invalid network name"),
    ("POST", "/networks/create", {"Name": "bridge"}, 409,
     "network with name bridge already exists"),
    ("POST", "/networks/create", {"Name": "h", "Driver": "host"}, 403, "only one instance"),
    ("POST", "/networks/create", {"Name": "x", "Driver": "nosuch"}, 404, "nosuch"),
    ("GET", "/networks/0123456789ab", None, 404, "network 0123456789ab not found"),
    ("DELETE", "/networks/nosuch", None, 404, "network nosuch not found"),
    ("DELETE", "/networks/bridge", None, 403, "pre-defined network"),
    ("POST", "/networks/bridge/connect", {"Container": "ghost"}, 404,
     "No such container: ghost"),
    ("POST", "/networks/bridge/connect", {"Container": ["x"]}, 400, 'field "Container"'),
    ("POST", "/networks/bridge/disconnect", {"Container": "box"}, 403, "is not connected"),
    ("GET", "/networks", {"_query": {"filters": '{"colour": ["red"]}'}}, 400,
     "invalid filter 'colour'"),
    ("GET", "/networks", {"_query": {"filters": "{"}}, 400, "invalid filters"),
    ("GET", "/v1.99/networks", None, 400, "client version 1.99 is too new"),
    ("GET", "/v1.12/networks", None, 400, "client version 1.12 is too old"),
    ("GET", "/no/such/route", None, 404, "page not found"),
    ("GET", "/images/nosuch:1/json", None, 404, "No such image: nosuch:1"),
    ("POST", "/images/create", {"_query": {"fromImage": "alpine", "tag": "3"}}, 404,
     "no registry access"),
    ("POST", "/images/create", {"_query": {"fromSrc": "http://example.com/x.tar"}}, 400,
     "no network access"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), CASES,
                         ids=[f"{c[0]} {c[1]} {c[3]}" for c in CASES])
def test_bad_request(daemon: Daemon, method: str, path: str, body: object, status: int,
                     words: str) -> None:
    make_sandbox(daemon, "box")
    before = snapshot(daemon.host)
    query = None
    if isinstance(body, dict) and "_query" in body:
        query, body = body["_query"], None
    if isinstance(body, bytes):
        got_status, doc = daemon.api(method, path, raw=body, query=query)
    else:
        got_status, doc = daemon.api(method, path, body=body, query=query)
    assert got_status == status, doc
    assert isinstance(doc, dict) and words in doc["message"]
    assert snapshot(daemon.host) == before


def test_ping_and_version_headers(daemon: Daemon) -> None:
    from dockyard.client.http import Client

    client = Client(daemon.url, version=None)
    for method in ("GET", "HEAD"):
        response = client.request(method, "/_ping")
        assert response.status == 200
        assert response.headers["api-version"] == "1.50"
        assert response.headers["ostype"] == "linux"
    assert client.request("GET", "/_ping").body == b"OK"
    version = Client(daemon.url, version="1.24").get("/version")
    assert (version["ApiVersion"], version["MinAPIVersion"]) == ("1.50", "1.24")
