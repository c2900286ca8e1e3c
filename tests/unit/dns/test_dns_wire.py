"""Wire format: local answers built from precomputed bytes, checked with dnspython."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv6Address

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from dockyard.dns.records import DnsEndpoint, Records, build_records, derive_records
from dockyard.dns.wire import (
    FORWARD,
    CompiledTable,
    EntryCache,
    QueryInfo,
    WireTables,
    compile_records,
    query_info,
    respond,
    truncate_reply,
)


def table_for(n_shared: int = 3, internal: bool = False) -> CompiledTable:
    eps = [
        DnsEndpoint(
            "n1",
            "net1",
            f"sb{i}",
            (f"c{i}", "shared"),
            IPv4Address(f"10.0.{i // 250}.{i % 250 + 2}"),
        )
        for i in range(n_shared)
    ]
    eps.append(DnsEndpoint("n1", "net1", "asker", ("asker",), IPv4Address("10.0.9.9")))
    table = compile_records(build_records(eps, frozenset({"n1"}) if internal else frozenset())).get(
        "asker"
    )
    assert table is not None
    return table


def ask(
    table: CompiledTable | None, name: str, rdtype: str = "A", *, tcp: bool = False, **make: object
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, **make)  # type: ignore[arg-type]
    reply = respond(table, query.to_wire(), tcp=tcp)
    assert reply, f"expected a local answer for {name} {rdtype}, got {reply!r}"
    msg = dns.message.from_wire(reply)
    assert msg.id == query.id
    return msg


def addresses(msg: dns.message.Message) -> list[str]:
    return [rd.address for rrset in msg.answer for rd in rrset]


def test_answer_round_trip() -> None:
    msg = ask(table_for(1), "c0")
    assert msg.rcode() == dns.rcode.NOERROR
    assert msg.flags & dns.flags.QR and msg.flags & dns.flags.RA and msg.flags & dns.flags.RD
    assert addresses(msg) == ["10.0.0.2"]
    assert msg.answer[0].ttl == 600
    assert msg.question[0].name == dns.name.from_text("c0")


def test_question_spelling_is_echoed_and_lookup_is_case_insensitive() -> None:
    msg = ask(table_for(1), "C0.NeT1.")
    assert str(msg.question[0].name) == "C0.NeT1."
    assert str(msg.answer[0].name) == "C0.NeT1."
    assert addresses(msg) == ["10.0.0.2"]


def test_shared_name_returns_all_and_rotates() -> None:
    table = table_for(3)
    firsts = []
    for _ in range(6):
        got = addresses(ask(table, "shared"))
        assert sorted(got) == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
        firsts.append(got[0])
    assert firsts == ["10.0.0.2", "10.0.0.3", "10.0.0.4"] * 2


def test_nodata_for_missing_family_and_mx() -> None:
    for rdtype in ("AAAA", "MX"):
        msg = ask(table_for(1), "c0", rdtype)
        assert msg.rcode() == dns.rcode.NOERROR and msg.answer == []


def test_ptr() -> None:
    msg = ask(table_for(1), "2.0.0.10.in-addr.arpa", "PTR")
    assert [str(rd.target) for rd in msg.answer[0]] == ["c0.net1."]


def test_unknown_names_and_types_are_forwarded() -> None:
    table = table_for(1)
    for name, rdtype in (("example.com", "A"), ("c0", "TXT")):
        assert respond(table, dns.message.make_query(name, rdtype).to_wire()) == FORWARD
    assert respond(None, dns.message.make_query("c0", "A").to_wire()) == FORWARD


def test_internal_scope_answers_servfail_instead_of_forwarding() -> None:
    msg = ask(table_for(1, internal=True), "example.com")
    assert msg.rcode() == dns.rcode.SERVFAIL
    assert addresses(ask(table_for(1, internal=True), "c0")) == ["10.0.0.2"]


def test_edns_opt_is_answered() -> None:
    msg = ask(table_for(1), "c0", use_edns=0, payload=4096)
    assert msg.edns == 0
    assert msg.payload == 1232
    plain = ask(table_for(1), "c0")
    assert plain.edns == -1


def test_unsupported_edns_version_gets_badvers() -> None:
    msg = ask(table_for(1), "c0", use_edns=1)
    assert msg.rcode() == dns.rcode.BADVERS
    assert msg.answer == []


def test_large_answer_sets_tc_over_udp_and_is_whole_over_tcp() -> None:
    table = table_for(100)  # 100 A records = 1600 bytes of answers
    udp = ask(table, "shared")
    assert udp.flags & dns.flags.TC
    assert 0 < len(addresses(udp)) < 100
    assert len(udp.to_wire()) <= 512
    bigger = ask(table, "shared", use_edns=0, payload=1232)
    assert bigger.flags & dns.flags.TC and len(bigger.to_wire()) <= 1232
    assert len(addresses(bigger)) > len(addresses(udp))
    tcp = ask(table, "shared", tcp=True)
    assert not tcp.flags & dns.flags.TC
    assert len(addresses(tcp)) == 100


def _raw_query(name: bytes = b"\x02c0\x00", qd: int = 1, flags: int = 0x0100) -> bytes:
    return (
        b"\x12\x34"
        + flags.to_bytes(2, "big")
        + qd.to_bytes(2, "big")
        + b"\x00" * 6
        + name
        + b"\x00\x01\x00\x01"
    )


def _rcode(reply: bytes | None) -> int:
    assert reply
    return reply[3] & 0x0F


def test_garbage_gets_formerr_or_is_dropped() -> None:
    table = table_for(1)
    assert respond(table, b"") is None
    assert respond(table, b"\x00" * 11) is None
    assert respond(table, _raw_query(flags=0x8100)) is None  # a response: never answered
    assert _rcode(respond(table, _raw_query(qd=0))) == dns.rcode.FORMERR
    assert _rcode(respond(table, _raw_query(qd=2))) == dns.rcode.FORMERR
    assert _rcode(respond(table, _raw_query()[:-3])) == dns.rcode.FORMERR  # truncated
    assert _rcode(respond(table, _raw_query(name=b"\xc0\x0c"))) == dns.rcode.FORMERR
    assert _rcode(respond(table, _raw_query(name=b"\x3f" + b"a" * 63 * 5))) == dns.rcode.FORMERR
    reply = respond(table, _raw_query(flags=0x2800))  # opcode UPDATE
    assert _rcode(reply) == dns.rcode.NOTIMP
    assert reply is not None and reply[:2] == b"\x12\x34"


def test_random_and_mutated_packets_never_raise() -> None:
    table = table_for(3)
    rng = random.Random(1234)
    seeds = [
        dns.message.make_query(n, t, use_edns=e).to_wire()
        for n in ("c0", "shared", "x.example")
        for t in ("A", "AAAA", "PTR")
        for e in (-1, 0)
    ]
    for _ in range(20000):
        if rng.random() < 0.3:
            data = rng.randbytes(rng.randrange(0, 80))
        else:
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data[: rng.randrange(len(data) + 1)])
        reply = respond(table, data)
        if reply:
            assert reply[:2] == data[:2] and reply[2] & 0x80


def test_forwarded_reply_is_truncated_for_the_client() -> None:
    query = dns.message.make_query("big.example", "TXT")
    wire = query.to_wire()
    info = query_info(wire)
    assert isinstance(info, QueryInfo) and info.udp_limit == 512
    reply = dns.message.make_response(query)
    reply.answer.append(
        dns.rrset.from_text("big.example.", 60, "IN", "TXT", *[f'"{c * 200}"' for c in "abcde"])
    )
    cut = dns.message.from_wire(truncate_reply(reply.to_wire(), info))
    assert cut.flags & dns.flags.TC and cut.answer == [] and cut.id == query.id
    small = dns.message.make_response(query).to_wire()
    assert truncate_reply(small, info) == small


@pytest.mark.parametrize("payload", [100, 512, 4096])
def test_edns_udp_limit_is_at_least_512(payload: int) -> None:
    info = query_info(
        dns.message.make_query("a.example", "A", use_edns=0, payload=payload).to_wire()
    )
    assert info is not None and info.udp_limit == max(512, payload)


def _variants() -> list[bytes]:
    """Local queries differing in spelling, flags and EDNS."""
    out = []
    for name in ("c0", "C0.Net1", "shared", "SHARED", "2.0.0.10.in-addr.arpa"):
        rdtype = "PTR" if name.endswith("arpa") else "A"
        for make in ({}, {"use_edns": 0, "payload": 4096}, {"use_edns": 0, "payload": 100}):
            for rd in (True, False):
                query = dns.message.make_query(name, rdtype, **make)  # type: ignore[arg-type]
                if not rd:
                    query.flags &= ~dns.flags.RD
                out.append(query.to_wire())
    out += [dns.message.make_query("c0", t).to_wire() for t in ("AAAA", "MX")]
    return out


def test_repeated_queries_get_the_same_bytes_as_first_answers() -> None:
    """A warm table (answers remembered) replies exactly like a freshly compiled one."""
    warm = table_for(1)
    for query in _variants():
        respond(warm, query)
    for query in _variants():  # same questions, new ids
        expected = respond(table_for(1), query)
        got = respond(warm, query)
        assert got == expected
        assert got and got[:2] == query[:2]


def test_rotation_continues_for_remembered_queries() -> None:
    table = table_for(3)
    wire = dns.message.make_query("shared", "A").to_wire()
    firsts = [
        dns.message.from_wire(respond(table, wire) or b"").answer[0][0].address for _ in range(6)
    ]
    assert firsts == ["10.0.0.2", "10.0.0.3", "10.0.0.4"] * 2


def test_remembered_answers_are_bounded_in_memory() -> None:
    table = table_for(1)
    for payload in range(512, 512 + 3 * 4096):  # every payload size is a distinct query
        query = dns.message.make_query("c0", "A", use_edns=0, payload=payload)
        assert respond(table, query.to_wire())
    assert len(table.seen) <= 4096


def test_truncated_answers_stay_truncated_when_asked_again() -> None:
    table = table_for(100)
    wire = dns.message.make_query("shared", "A").to_wire()
    for _ in range(3):
        reply = dns.message.from_wire(respond(table, wire) or b"")
        assert reply.flags & dns.flags.TC and len(reply.to_wire()) <= 512


def test_recompiling_with_a_cache_answers_from_the_new_records_only() -> None:
    cache = EntryCache()

    def table(ips: dict[str, str]) -> CompiledTable | None:
        eps = [DnsEndpoint("n1", "net1", f"sb-{name}", (name,), IPv4Address(ip))
               for name, ip in ips.items()]
        return compile_records(build_records(eps), cache).get("sb-a")

    first = table({"a": "10.0.0.2", "b": "10.0.0.3", "c": "10.0.0.4"})
    assert addresses(ask(first, "b.")) == ["10.0.0.3"]
    # b moved, c left: the new table answers b's new address and nothing for c, while
    # the first table (still in use by queries in flight) keeps its own answers.
    second = table({"a": "10.0.0.2", "b": "10.0.0.9"})
    assert addresses(ask(second, "b.")) == ["10.0.0.9"]
    assert addresses(ask(second, "a.")) == ["10.0.0.2"]
    assert respond(second, dns.message.make_query("c.", "A").to_wire(), tcp=False) is FORWARD
    assert addresses(ask(first, "c.")) == ["10.0.0.4"]
    # Swept, the cache keeps only what the newest tables use: a, b, a.net1, b.net1, two
    # PTRs (it is swept by itself once it holds twice what they use, see below).
    cache.sweep()
    assert len(cache.items) == 6
    assert set(cache.scopes) == {("n1",)}


def test_the_cache_stays_bounded_as_names_come_and_go() -> None:
    cache = EntryCache()
    previous = None
    for i in range(600):  # every change brings a new name and drops an old one
        eps = [DnsEndpoint("n1", "net1", f"sb{j}", (f"c{j}",), IPv4Address(0x0A000000 + j))
               for j in range(i, i + 10)]
        previous = build_records(eps, previous=previous)
        compile_records(previous, cache)
        live = 10 * 3  # c<j>, c<j>.net1 and a PTR per endpoint
        assert len(cache.items) <= 2 * live + 256


def _served(tables: WireTables) -> dict[str, object]:
    """Everything a table answers from, by sandbox (the round-robin position aside)."""
    content: dict[int, object] = {}  # sandboxes of one scope share a table
    for table in tables.by_sandbox.values():
        if id(table) not in content:
            content[id(table)] = (table.forward_allowed, {
                key: (entry.count, entry.records) for key, entry in table.entries.items()})
    return {sandbox: content[id(table)] for sandbox, table in tables.by_sandbox.items()}


def _queries() -> list[bytes]:
    """Every name the changes use, in every form, and every address they use."""
    from dns_changes import NAMES, NETWORKS

    names = {n.lower() for n in NAMES} | {"nobody", "web.nowhere"}
    names |= {f"{n}.{net.lower()}" for n in names for net in NETWORKS.values()}
    asked = [(name.upper() if i % 3 == 0 else name, rdtype)
             for i, name in enumerate(sorted(names)) for rdtype in ("A", "AAAA", "MX")]
    asked += [(IPv4Address(f"10.0.0.{i}").reverse_pointer, "PTR") for i in range(1, 14)]
    asked += [(IPv6Address(f"fd00::{i}").reverse_pointer, "PTR") for i in range(1, 8)]
    wires = []
    for name, rdtype in asked:
        query = dns.message.make_query(name, rdtype)
        query.id = 4242
        wires.append(query.to_wire())
    return wires


def _same_answer(table: CompiledTable | None, anew: CompiledTable | None, wire: bytes) -> bool:
    mine, theirs = respond(table, wire), respond(anew, wire)
    if mine == theirs or not mine or not theirs:
        return mine == theirs
    # Round robin: the derived table's entry may be at another position.
    a, b = dns.message.from_wire(mine), dns.message.from_wire(theirs)
    return (a.rcode(), a.flags, sorted(rd.to_text() for rrset in a.answer for rd in rrset)) == (
        b.rcode(), b.flags, sorted(rd.to_text() for rrset in b.answer for rd in rrset))


@pytest.mark.parametrize("seed", range(25))
def test_tables_compiled_change_by_change_equal_those_compiled_anew(seed: int) -> None:
    """Records derived change by change (adds, removes, renames, shared names and
    addresses, several networks and scopes, v4 and v6) compiled with one cache give
    every sandbox exactly what compiling each from nothing gives, in new tables that
    remember nothing the old ones answered."""
    from dns_changes import changes

    rng = random.Random(seed)
    every_query = _queries()
    cache = EntryCache()
    previous: Records | None = None
    old: WireTables | None = None
    for change in changes(rng, 50):
        if rng.random() < 0.2:  # not derived: the compile compares the views itself
            records = build_records(change.endpoints, change.internal)
        elif previous is None or change.added is None or change.removed is None:
            records = build_records(change.endpoints, change.internal, previous)
        else:
            records = derive_records(previous, change.endpoints, change.internal,
                                     change.added, change.removed)
        queries = rng.sample(every_query, 40)
        if old is not None:  # the tables in use remember what they answered
            for table in {id(t): t for t in old.by_sandbox.values()}.values():
                for wire in queries:
                    respond(table, wire)
        tables = compile_records(records, cache)
        anew = compile_records(build_records(change.endpoints, change.internal))
        assert _served(tables) == _served(anew)
        for table in tables.by_sandbox.values():
            assert not table.seen
            assert old is None or all(table is not t for t in old.by_sandbox.values())
        pairs = {(id(t), id(anew.get(sb))): (t, anew.get(sb))
                 for sb, t in tables.by_sandbox.items()}
        for table, fresh in pairs.values():
            for wire in queries:
                assert _same_answer(table, fresh, wire)
        previous, old = records, tables
