"""Stored addresses: parsed once, and the same values as ipaddress's."""

from __future__ import annotations

from ipaddress import ip_address

from dockyard.ipam.parse import stored_address


def test_stored_addresses_are_the_same_values_as_ipaddress_ones() -> None:
    # IPAM's in-use sets and the resolver's tables mix them with plain ipaddress values.
    for text in ("172.18.0.5", "fd00::5"):
        parsed = stored_address(text)
        plain = ip_address(text)
        assert parsed == plain and hash(parsed) == hash(plain)
        assert {plain: "found"}[parsed] == "found"
        assert parsed.packed == plain.packed
        assert stored_address(text) is parsed  # parsed once
