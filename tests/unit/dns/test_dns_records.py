"""Records: what each sandbox can resolve, decided by pure code."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from dockyard.dns.records import (
    QTYPE_A,
    QTYPE_AAAA,
    QTYPE_MX,
    QTYPE_PTR,
    Answer,
    AnswerKind,
    DnsEndpoint,
    Records,
    build_records,
    derive_records,
    reverse_name_to_address,
)
from dockyard.errors import InvalidParameter

V4 = IPv4Address
FOUND, NODATA, FORWARD, NO_FORWARD = (
    AnswerKind.FOUND,
    AnswerKind.NODATA,
    AnswerKind.FORWARD,
    AnswerKind.NO_FORWARD,
)


def ep(
    net: str,
    sandbox: str,
    *names: str,
    v4: str | None = None,
    v6: str | None = None,
    net_name: str | None = None,
) -> DnsEndpoint:
    return DnsEndpoint(
        network_id=net,
        network_name=net_name or f"{net}-name",
        sandbox_id=sandbox,
        names=names,
        ipv4=V4(v4) if v4 else None,
        ipv6=IPv6Address(v6) if v6 else None,
    )


@pytest.fixture
def records() -> Records:
    return build_records(
        [
            ep("n1", "web", "web", "frontend", "abc123def456", v4="10.1.0.2", net_name="front"),
            ep("n1", "api1", "api", "svc", v4="10.1.0.3", net_name="front"),
            ep("n2", "api1", "api", "svc", v4="10.2.0.3", v6="fd00::3", net_name="back"),
            ep("n2", "db", "db", "svc", v4="10.2.0.4", net_name="back"),
            ep("n2", "db2", "svc", v4="10.2.0.5", net_name="back"),
        ]
    )


def test_name_on_own_network_is_found(records: Records) -> None:
    assert records.lookup("web", "api", QTYPE_A) == Answer(FOUND, (V4("10.1.0.3"),))


def test_name_only_on_another_network_is_forwarded(records: Records) -> None:
    # db is on n2 only; web is on n1 only: Docker forwards such names upstream.
    assert records.lookup("web", "db", QTYPE_A).kind is FORWARD
    assert records.lookup("api1", "db", QTYPE_A) == Answer(FOUND, (V4("10.2.0.4"),))


def test_sandbox_on_two_networks_resolves_both(records: Records) -> None:
    assert records.lookup("api1", "web", QTYPE_A).addresses == (V4("10.1.0.2"),)
    assert records.lookup("api1", "db", QTYPE_A).addresses == (V4("10.2.0.4"),)


def test_first_network_of_the_sandbox_wins_for_a_name_on_both(records: Records) -> None:
    # "api" exists on n1 and n2; api1 joined n1 first.
    assert records.lookup("api1", "api", QTYPE_A).addresses == (V4("10.1.0.3"),)


def test_aliases_short_id_and_case_insensitivity(records: Records) -> None:
    for name in ("frontend", "abc123def456", "WEB", "Web.", "FrontEnd"):
        assert records.lookup("api1", name, QTYPE_A).addresses == (V4("10.1.0.2"),), name


def test_name_dot_network_form_selects_the_network(records: Records) -> None:
    assert records.lookup("api1", "api.back", QTYPE_A).addresses == (V4("10.2.0.3"),)
    assert records.lookup("api1", "API.Front.", QTYPE_A).addresses == (V4("10.1.0.3"),)
    # a network the asker is not on is not ours
    assert records.lookup("web", "api.back", QTYPE_A).kind is FORWARD


def test_shared_alias_returns_every_address_in_registration_order(records: Records) -> None:
    answer = records.lookup("db", "svc", QTYPE_A)
    assert answer == Answer(FOUND, (V4("10.2.0.3"), V4("10.2.0.4"), V4("10.2.0.5")))


def test_aaaa_and_nodata_for_a_known_name_without_that_family(records: Records) -> None:
    assert records.lookup("db", "api", QTYPE_AAAA) == Answer(FOUND, (IPv6Address("fd00::3"),))
    assert records.lookup("db", "db", QTYPE_AAAA) == Answer(NODATA)
    assert records.lookup("db", "db", QTYPE_MX) == Answer(NODATA)
    assert records.lookup("db", "db", 16).kind is FORWARD  # TXT goes upstream, as in Docker


def test_ptr_answers_first_name_dot_network(records: Records) -> None:
    assert records.lookup("db", "4.0.2.10.in-addr.arpa", QTYPE_PTR) == Answer(FOUND, ptr="db.back")
    v6 = IPv6Address("fd00::3").reverse_pointer
    assert records.lookup("db", v6, QTYPE_PTR).ptr == "api.back"
    # an address on a network the asker is not on is forwarded
    assert records.lookup("web", "4.0.2.10.in-addr.arpa", QTYPE_PTR).kind is FORWARD


def test_unknown_sandbox_forwards(records: Records) -> None:
    assert records.lookup("nobody", "web", QTYPE_A).kind is FORWARD


def test_internal_only_sandbox_does_not_forward() -> None:
    recs = build_records(
        [
            ep("i", "a", "a", v4="10.9.0.2"),
            ep("i", "b", "b", v4="10.9.0.3"),
            ep("n", "b", "b", v4="10.8.0.3"),
        ],
        internal_networks=frozenset({"i"}),
    )
    assert recs.lookup("a", "b", QTYPE_A).kind is FOUND
    assert recs.lookup("a", "example.com", QTYPE_A).kind is NO_FORWARD
    # b also has a non-internal network: it may reach upstream
    assert recs.lookup("b", "example.com", QTYPE_A).kind is FORWARD


def test_records_are_rebuilt_not_edited() -> None:
    first = build_records([ep("n", "a", "a", v4="10.0.0.2")])
    second = build_records([ep("n", "a", "a", v4="10.0.0.2"), ep("n", "b", "b", v4="10.0.0.3")])
    assert first.lookup("a", "b", QTYPE_A).kind is FORWARD
    assert second.lookup("a", "b", QTYPE_A).addresses == (V4("10.0.0.3"),)


def test_invalid_names_and_network_names_are_rejected() -> None:
    with pytest.raises(InvalidParameter, match=r'invalid DNS name "a\.\.b"'):
        ep("n", "a", "a..b")
    with pytest.raises(InvalidParameter, match="network_name"):
        build_records([ep("n", "a", "a", net_name="x"), ep("n", "b", "b", net_name="y")])


def test_reverse_name_parsing() -> None:
    assert reverse_name_to_address("4.3.2.1.in-addr.arpa.") == V4("1.2.3.4")
    assert reverse_name_to_address("4.3.2.in-addr.arpa") is None
    assert reverse_name_to_address("999.3.2.1.in-addr.arpa") is None
    assert reverse_name_to_address("example.com") is None
    assert reverse_name_to_address(IPv6Address("fd00::1").reverse_pointer) == IPv6Address("fd00::1")


def _obvious_scope_names(endpoints: list[DnsEndpoint], scope: tuple[str, ...]
                         ) -> dict[str, tuple[list[object], list[object]]]:
    """Docker's rules the slow, obvious way: the oracle for the table build."""
    per_net: dict[str, dict[str, tuple[list[object], list[object]]]] = {}
    net_name: dict[str, str] = {}
    for e in endpoints:
        net_name[e.network_id] = e.network_name
        table = per_net.setdefault(e.network_id, {})
        for name in e.names:
            v4, v6 = table.setdefault(name.lower(), ([], []))
            if e.ipv4 is not None and e.ipv4 not in v4:
                v4.append(e.ipv4)
            if e.ipv6 is not None and e.ipv6 not in v6:
                v6.append(e.ipv6)
    merged: dict[str, tuple[list[object], list[object]]] = {}
    for net in scope:
        for name, entry in per_net.get(net, {}).items():
            merged.setdefault(name, entry)
    for net in scope:
        for name, entry in per_net.get(net, {}).items():
            merged.setdefault(f"{name}.{net_name[net].lower()}", entry)
    return merged


@pytest.mark.parametrize("seed", range(40))
def test_tables_match_the_obvious_rules_on_random_endpoints(seed: int) -> None:
    import random

    rng = random.Random(seed)
    nets = {"n1": "front", "n2": "back", "n3": "Mixed.Case"}
    pool = ["web", "api", "svc", "db", "WEB", "a", "a.front", "x"]
    endpoints = []
    for _ in range(rng.randint(1, 25)):
        net = rng.choice(list(nets))
        names = tuple(rng.sample(pool, rng.randint(0, 3)))
        v4 = f"10.0.0.{rng.randint(1, 6)}" if rng.random() < .8 else None
        v6 = f"fd00::{rng.randint(1, 4)}" if rng.random() < .3 else None
        endpoints.append(ep(net, f"sb{rng.randint(0, 8)}", *names, v4=v4, v6=v6,
                            net_name=nets[net]))
    records = build_records(endpoints)
    for sandbox in {e.sandbox_id for e in endpoints}:
        scope = records.networks_of(sandbox)
        view = records.scope_view(sandbox)
        assert view is not None
        got = {name: (list(entry.ipv4), list(entry.ipv6)) for name, entry in view.names.items()}
        assert got == _obvious_scope_names(endpoints, scope)
        for e in endpoints:  # PTR: the first endpoint in scope order with the address
            for address in (e.ipv4, e.ipv6):
                if address is None:
                    continue
                owners = [f"{o.names[0]}.{o.network_name}" for net in scope for o in endpoints
                          if o.network_id == net and o.names and address in (o.ipv4, o.ipv6)]
                assert view.reverse.get(address) == (owners[0] if owners else None)


@pytest.mark.parametrize("seed", range(40))
def test_records_derived_change_by_change_equal_those_built_anew(seed: int) -> None:
    """build_records(previous=...) and derive_records give the records a fresh build
    gives, and every key their views do not list as changed is the very same entry."""
    import random

    from dns_changes import changes

    rng = random.Random(seed)
    previous: Records | None = None
    derived = 0
    for change in changes(rng, 60):
        fresh = build_records(change.endpoints, change.internal)
        if previous is None:
            records = fresh
        elif change.added is None or change.removed is None or rng.random() < 0.3:
            records = build_records(change.endpoints, change.internal, previous)
        else:
            records = derive_records(previous, change.endpoints, change.internal,
                                     change.added, change.removed)
        assert records == fresh
        assert records.sandbox_scopes() == fresh.sandbox_scopes()
        # what the next derivation goes by, beside the value
        assert records._sandbox_extra == fresh._sandbox_extra
        for net_id, table in records._networks.items():
            built = fresh._networks[net_id]
            assert (table.size, table.shared_names, table.shared_addresses) == (
                built.size, built.shared_names, built.shared_addresses)
        for scope, view in records.scopes().items():
            assert view.forward_allowed == fresh.scopes()[scope].forward_allowed
            changes_ = view.changes
            if changes_ is None or (previous is not None
                                    and view is previous.scopes().get(scope)):
                continue  # built anew, or the same view as before (still saying how it
                # differs from the one before that)
            derived += 1
            # the base is what the previous records had for this scope
            assert previous is not None
            assert changes_.base_names is previous.scopes()[scope].names
            assert changes_.base_reverse is previous.scopes()[scope].reverse
            for name in view.names.keys() | changes_.base_names.keys():
                if name not in changes_.names:
                    assert view.names.get(name) is changes_.base_names.get(name), name
            for address in view.reverse.keys() | changes_.base_reverse.keys():
                if address not in changes_.reverse:
                    assert view.reverse.get(address) == changes_.base_reverse.get(address)
        previous = records
    assert derived > 10
