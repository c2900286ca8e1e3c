from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest

from dockyard.client.http import encode_query


@pytest.mark.parametrize("query", [
    {"filters": '{"name":["a b/ü"]}', "all": 1},
    {"t": ["x", "y z"], "v": True},
    {"fromSrc": "-", "changes": ['CMD ["sh"]', "ENV A=b&c"]},
])
def test_encode_query_matches_urllib(query: dict[str, object]) -> None:
    assert encode_query(query) == urlencode(query, doseq=True, quote_via=quote)
