"""``--mac-address`` values: the forms dockerd reads, and what an interface can't have."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidParameter
from dockyard.model.ids import parse_mac


@pytest.mark.parametrize("text", ["02:42:AC:11:00:99", "02-42-ac-11-00-99", "0242.ac11.0099",
                                  " 02:42:ac:11:00:99 "])
def test_the_forms_go_reads_come_out_lowercase_with_colons(text: str) -> None:
    assert parse_mac(text) == "02:42:ac:11:00:99"


@pytest.mark.parametrize("text", ["", "zz", "02:42:ac:11:00", "02:42:ac:11:00:99:aa",
                                  "02:42-ac:11:00:99", "02:42:ac:11:00:9g", "0242ac110099",
                                  "02:42:ac:11:00:99:00:01"])
def test_what_is_no_ethernet_address_is_refused_by_name(text: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        parse_mac(text)
    assert refused.value.message == f"invalid MAC address {text}"


def test_a_multicast_address_is_refused_before_the_kernel_would() -> None:
    with pytest.raises(InvalidParameter) as refused:
        parse_mac("03:42:ac:11:00:99")
    assert "multicast" in refused.value.message
