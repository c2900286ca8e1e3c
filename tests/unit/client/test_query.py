from __future__ import annotations

import urllib.parse
from urllib.parse import quote, urlencode

import pytest

from dockyard.client import http
from dockyard.client.http import encode_query


@pytest.mark.parametrize("query", [
    {"filters": '{"name":["a b/ü"]}', "all": 1},
    {"t": ["x", "y z"], "v": True},
    {"fromSrc": "-", "changes": ['CMD ["sh"]', "ENV A=b&c"]},
])
def test_encode_query_matches_urllib(query: dict[str, object]) -> None:
    assert encode_query(query) == urlencode(query, doseq=True, quote_via=quote)


@pytest.mark.parametrize("ref", ["web", "my net", "a/b", "ünï", "x?y=z&w#", "~._-", ""])
def test_quote_matches_urllib_for_path_segments(ref: str) -> None:
    assert http.quote(ref) == urllib.parse.quote(ref, safe="")
