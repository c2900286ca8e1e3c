"""DNS wire format for the embedded resolver: a compact, precomputed hot path.

Every local answer is turned into bytes once, when records change (:func:`compile_records`).
Answering a query is then: check the 12-byte header, walk the question name, one dict
lookup keyed by the lower-cased wire name plus the type, and glue the query's own id and
question to the prebuilt records. Answer records name their owner with a compression
pointer to the question (offset 12), so the prebuilt bytes fit any spelling of the name.

Round robin: an answer with N addresses of one family has fixed-size records, so the
records are stored twice in a row; rotation k is one slice of that buffer. Memory stays
O(N) per name and each query costs one slice, not a shuffle.

Malformed input never raises: anything too short to carry a header, or that is itself a
response, is dropped (answering could feed a loop); a broken question is answered
FORMERR, an unknown opcode NOTIMP, an EDNS version above 0 BADVERS.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import partial
from ipaddress import IPv4Address, IPv6Address
from typing import TypeVar

from dockyard.dns.records import (
    QTYPE_A,
    QTYPE_AAAA,
    QTYPE_MX,
    QTYPE_PTR,
    NameEntry,
    Records,
    Scope,
    ScopeView,
    copy_mapping,
)

RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
RCODE_NOTIMP = 4
RCODE_REFUSED = 5
EXT_RCODE_BADVERS = 16

#: Docker answers its own names with a 600 s TTL.
TTL = 600
#: The UDP payload size we advertise in our OPT record (the DNS flag day 2020 value).
OUR_UDP_SIZE = 1232
#: Without EDNS a UDP answer may be at most this long (RFC 1035).
CLASSIC_UDP_LIMIT = 512
TCP_LIMIT = 65535

#: ``respond`` returns this (empty, so falsy) when the query must go upstream.
FORWARD = b""

_TYPE_OPT = 41
_CLASS_IN = b"\x00\x01"
_FLAG_QR = 0x8000
_FLAG_TC = 0x0200
_FLAG_RD = 0x0100
_FLAG_RA = 0x0080
_FLAG_CD = 0x0010
_HDR_TAIL = struct.Struct(">HHHHH")  # flags, qd, an, ns, ar
_U16 = struct.Struct(">H")

# _scan() status codes (negative "question end" offsets)
_DROP = -1
_FORMERR = -2
_NOTIMP = -3


class _Entry:
    """A prebuilt answer: ``count`` records of ``size`` bytes, stored twice for rotation."""

    __slots__ = ("count", "next", "records", "size")

    def __init__(self, records: list[bytes]) -> None:
        self.count = len(records)
        self.size = len(records[0]) if records else 0
        # Rotation by slicing needs equal-size records; PTR answers are single records.
        assert all(len(r) == self.size for r in records)
        joined = b"".join(records)
        self.records = joined + joined if self.count > 1 else joined
        self.next = 0


@dataclass(frozen=True, slots=True)
class CompiledTable:
    """The answers one scope can give, keyed by lower-case wire name + 2-byte type.

    ``seen`` memoises whole UDP queries: the query bytes after the id → (reply bytes after
    the id up to the records, the entry when it rotates or None, OPT bytes). Clients
    repeat the same few queries, so most answers skip parsing entirely and cost one
    slice, one dict lookup and one join. The memo lives and dies with the table, so a
    records swap can never serve a stale answer from it, and it holds at most
    ``_SEEN_MAX`` queries so random names cannot grow it.
    """

    entries: Mapping[bytes, _Entry]
    forward_allowed: bool
    seen: dict[bytes, tuple[bytes, _Entry | None, bytes]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WireTables:
    """Compiled tables for every sandbox (sandboxes of one scope share a table)."""

    by_sandbox: Mapping[str, CompiledTable]

    def get(self, sandbox_id: str) -> CompiledTable | None:
        return self.by_sandbox.get(sandbox_id)


# What one name (or one reverse address) compiles to: (entry key, entry) pairs.
_Compiled = tuple[tuple[bytes, "_Entry"], ...]
_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


@dataclass(frozen=True, slots=True)
class _CompiledScope:
    """One scope as last compiled: the view, its table, and what each of the view's
    names and addresses became (so a name that leaves can be taken out again)."""

    view: ScopeView
    table: CompiledTable
    names: dict[str, _Compiled]
    reverse: dict[IPv4Address | IPv6Address, _Compiled]


class EntryCache:
    """What the previous compile made, kept for the next one.

    Records are rebuilt on every engine change, and a busy network has hundreds of
    names of which one changed: re-encoding, or even looking at, every name made each
    connect cost O(names) of Python. So each scope's last compile is kept
    (``scopes``), and a scope's new table starts as a C-level copy of the old table's
    entries with only the names that differ (the view's :class:`ScopeChanges`, or an
    identity comparison of the two views) taken out and put in again; every other
    :class:`_Entry` carries on, round-robin position included.

    ``items`` has the entries by what they were made from, (name, entry) or (address,
    target), for a scope compiled from nothing and for the same change showing in
    several scopes. It is swept back to what the tables use once it is twice that
    size, so it never outgrows them by more than that.
    """

    def __init__(self) -> None:
        self.scopes: dict[Scope, _CompiledScope] = {}
        self.items: dict[object, _Compiled] = {}

    def compiled(self, key: object, make: Callable[[], _Compiled]) -> _Compiled:
        made = self.items.get(key)
        if made is None:
            made = self.items[key] = make()
        return made

    def sweep(self) -> None:
        """Keep only the items the current tables use."""
        items: dict[object, _Compiled] = {}
        for compiled in self.scopes.values():
            names, reverse = compiled.view.names, compiled.view.reverse
            for name, made in compiled.names.items():
                items[(name, names[name])] = made
            for address, made in compiled.reverse.items():
                items[(address, reverse[address])] = made
        self.items = items


def compile_records(records: Records, cache: EntryCache | None = None) -> WireTables:
    """The wire tables for ``records``; with ``cache`` (the same one every time) only
    what changed since the previous call is compiled. Every call returns new
    :class:`CompiledTable` objects, whose query memo starts empty, so nothing an old
    table answered is served from a new one."""
    if cache is None:
        cache = EntryCache()
    scopes = {scope: _compile_scope(view, cache.scopes.get(scope), cache)
              for scope, view in records.scopes().items()}
    cache.scopes = scopes
    live = sum(len(c.names) + len(c.reverse) for c in scopes.values())
    if len(cache.items) > 2 * live + _SWEEP_SLACK:
        cache.sweep()
    tables = {scope: compiled.table for scope, compiled in scopes.items()}
    sandbox_scopes = records.sandbox_scopes()
    # {sandbox: tables[scope]}, in C: a comprehension would cost O(sandboxes) of Python.
    return WireTables(dict(zip(sandbox_scopes.keys(),
                               map(tables.__getitem__, sandbox_scopes.values()),
                               strict=True)))


_SWEEP_SLACK = 256


def _compile_scope(view: ScopeView, before: _CompiledScope | None,
                   cache: EntryCache) -> _CompiledScope:
    if before is None:
        names = {name: cache.compiled((name, entry), partial(_compile_name, name, entry))
                 for name, entry in view.names.items()}
        reverse = {address: cache.compiled((address, target),
                                           partial(_compile_reverse, address, target))
                   for address, target in view.reverse.items()}
        entries: dict[bytes, _Entry] = {}
        for made in names.values():
            entries.update(made)
        for made in reverse.values():
            entries.update(made)
        return _CompiledScope(view, CompiledTable(entries, view.forward_allowed), names,
                              reverse)
    changes = view.changes
    if changes is None:
        changed_names = _changed_keys(before.view.names, view.names)
        changed_reverse = _changed_keys(before.view.reverse, view.reverse)
    else:
        changed_names = _changed_keys(before.view.names, view.names,
                                      changes.base_names, changes.names)
        changed_reverse = _changed_keys(before.view.reverse, view.reverse,
                                        changes.base_reverse, changes.reverse)
    if not changed_names and not changed_reverse:
        # The entries dict is never changed once in a table, so the new table shares it.
        table = CompiledTable(before.table.entries, view.forward_allowed)
        return _CompiledScope(view, table, before.names, before.reverse)
    entries = copy_mapping(before.table.entries)
    names = before.names.copy()
    for name in changed_names:
        gone = names.pop(name, None)
        entry = view.names.get(name)
        if entry is not None:  # a name's keys are the same whatever its entry: replaced
            names[name] = made = cache.compiled((name, entry),
                                                partial(_compile_name, name, entry))
            entries.update(made)
        elif gone is not None:
            for key, _ in gone:
                del entries[key]
    reverse = before.reverse.copy()
    for address in changed_reverse:
        gone = reverse.pop(address, None)
        target = view.reverse.get(address)
        if target is not None:
            reverse[address] = made = cache.compiled(
                (address, target), partial(_compile_reverse, address, target))
            entries.update(made)
        elif gone is not None:
            for key, _ in gone:
                del entries[key]
    return _CompiledScope(view, CompiledTable(entries, view.forward_allowed), names, reverse)


def _changed_keys(before: Mapping[_Key, _Value], now: Mapping[_Key, _Value],
                  base: Mapping[_Key, _Value] | None = None,
                  listed: Collection[_Key] = ()) -> Collection[_Key]:
    """The keys whose value in ``now`` is not the very object it was in ``before``."""
    if now is before:
        return ()
    if base is before:  # derived from what was compiled: the view lists its changes
        return listed
    # Records not derived from the last compiled ones: compare every key.
    return [k for k, v in now.items() if before.get(k) is not v] + [
        k for k in before if k not in now]


_TYPE_A, _TYPE_AAAA = _U16.pack(QTYPE_A), _U16.pack(QTYPE_AAAA)
_TYPE_MX, _TYPE_PTR = _U16.pack(QTYPE_MX), _U16.pack(QTYPE_PTR)


def _compile_name(name: str, entry: NameEntry) -> _Compiled:
    wire = encode_name(name)
    return ((wire + _TYPE_A, _Entry([_address_rr(a) for a in entry.ipv4])),
            (wire + _TYPE_AAAA, _Entry([_address_rr(a) for a in entry.ipv6])),
            (wire + _TYPE_MX, _Entry([])))


def _compile_reverse(address: IPv4Address | IPv6Address, target: str) -> _Compiled:
    rdata = encode_name(target)
    rr = b"\xc0\x0c" + struct.pack(">HHIH", QTYPE_PTR, 1, TTL, len(rdata)) + rdata
    return ((encode_name(address.reverse_pointer) + _TYPE_PTR, _Entry([rr])),)


def _address_rr(address: IPv4Address | IPv6Address) -> bytes:
    rtype = QTYPE_A if address.version == 4 else QTYPE_AAAA
    packed = address.packed
    return b"\xc0\x0c" + struct.pack(">HHIH", rtype, 1, TTL, len(packed)) + packed


def encode_name(name: str) -> bytes:
    """Lower-case wire form of a dotted name (``a.b`` → ``\\x01a\\x01b\\x00``)."""
    name = name.rstrip(".").lower()
    if not name:
        return b"\x00"
    out = bytearray()
    for label in name.split("."):
        raw = label.encode("ascii")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def _scan(data: bytes) -> tuple[int, int, int]:
    """Validate a query: (question end, EDNS UDP size or -1, EDNS version) or a status."""
    n = len(data)
    if n < 12 or data[2] & 0x80:  # too short for a header, or QR set: a response
        return _DROP, -1, 0
    if data[2] & 0x78:  # opcode other than QUERY
        return _NOTIMP, -1, 0
    if data[4] or data[5] != 1:  # exactly one question
        return _FORMERR, -1, 0
    i = 12
    while True:
        if i >= n:
            return _FORMERR, -1, 0
        length = data[i]
        if length == 0:
            break
        if length > 63:  # a compression pointer cannot point backwards from here
            return _FORMERR, -1, 0
        i += length + 1
        if i - 12 > 254:
            return _FORMERR, -1, 0
    qend = i + 1
    if qend + 4 > n:
        return _FORMERR, -1, 0
    if data[6] or data[7] or data[8] or data[9] or data[10] or data[11]:
        return _scan_records(data, qend)
    return qend, -1, 0


def _scan_records(data: bytes, qend: int) -> tuple[int, int, int]:
    """Slow part of _scan: skip answer/authority records, find the OPT record if any."""
    an = (data[6] << 8) | data[7]
    ns = (data[8] << 8) | data[9]
    ar = (data[10] << 8) | data[11]
    i = qend + 4
    udp_size, version, seen_opt = -1, 0, False
    for index in range(an + ns + ar):
        start = i
        i = _skip_name(data, i)
        if i < 0 or i + 10 > len(data):
            return _FORMERR, -1, 0
        rtype, rclass, ttl, rdlen = struct.unpack_from(">HHIH", data, i)
        i += 10 + rdlen
        if i > len(data):
            return _FORMERR, -1, 0
        if index >= an + ns and rtype == _TYPE_OPT:
            if seen_opt or data[start] != 0:  # one OPT, owned by the root (RFC 6891)
                return _FORMERR, -1, 0
            seen_opt = True
            udp_size = max(rclass, CLASSIC_UDP_LIMIT)
            version = (ttl >> 16) & 0xFF
    return qend, udp_size, version


def _skip_name(data: bytes, i: int) -> int:
    n = len(data)
    while i < n:
        length = data[i]
        if length == 0:
            return i + 1
        if length & 0xC0 == 0xC0:
            return i + 2 if i + 2 <= n else -1
        if length > 63:
            return -1
        i += length + 1
    return -1


def respond(table: CompiledTable | None, data: bytes, tcp: bool = False) -> bytes | None:
    """Answer ``data`` from ``table``: reply bytes, :data:`FORWARD`, or None to drop.

    This is the hot path; keep it free of allocation beyond the reply itself.
    """
    if table is not None and not tcp:
        hit = table.seen.get(data[2:])
        if hit is not None:
            head, rotating, opt = hit
            if rotating is None:  # a fixed answer: ``head`` is the whole reply after the id
                return data[:2] + head
            count = rotating.count
            k = rotating.next
            rotating.next = k + 1 if k + 1 < count else 0
            size = rotating.size
            return b"".join((data[:2], head, rotating.records[k * size : (k + count) * size], opt))
    qend, udp_size, version = _scan(data)
    if qend < 0:
        if qend == _DROP:
            return None
        return error_reply(data, RCODE_FORMERR if qend == _FORMERR else RCODE_NOTIMP)
    if udp_size >= 0 and version:
        return _badvers(data, qend)
    if table is None:
        return FORWARD
    qtype = data[qend : qend + 2]
    found = table.entries.get(data[12:qend].lower() + qtype)
    if found is None or data[qend + 2 : qend + 4] != _CLASS_IN:
        return FORWARD if table.forward_allowed else error_reply(data, RCODE_SERVFAIL, qend)
    entry = found
    flags = _FLAG_QR | _FLAG_RA | (((data[2] << 8) | data[3]) & (_FLAG_RD | _FLAG_CD))
    question = data[12 : qend + 4]
    count = entry.count
    if count > 1:
        k = entry.next
        entry.next = k + 1 if k + 1 < count else 0
        size = entry.size
        body = entry.records[k * size : (k + count) * size]
    else:
        body = entry.records
    if udp_size < 0:
        opt = b""
        limit = TCP_LIMIT if tcp else CLASSIC_UDP_LIMIT
    else:
        opt = _OPT_RR
        limit = TCP_LIMIT if tcp else udp_size
    if 12 + len(question) + len(body) + len(opt) > limit:
        # Keep the records that fit and say so; the client retries over TCP.
        room = limit - 12 - len(question) - len(opt)
        count = max(room, 0) // entry.size if entry.size else 0
        body = body[: count * entry.size]
        flags |= _FLAG_TC
    head = _HDR_TAIL.pack(flags, 1, count, 0, 1 if opt else 0) + question
    if not tcp and not flags & _FLAG_TC and len(table.seen) < _SEEN_MAX:
        # Same bytes after the id → same reply (up to rotation) for as long as this table
        # lives: remember it. Truncated answers are rare and not worth remembering.
        if entry.count > 1:
            table.seen[data[2:]] = (head, entry, opt)
        else:
            table.seen[data[2:]] = (head + body + opt, None, b"")
    return b"".join((data[:2], head, body, opt))


_SEEN_MAX = 4096
_OPT_RR = b"\x00" + struct.pack(">HHIH", _TYPE_OPT, OUR_UDP_SIZE, 0, 0)


def _badvers(data: bytes, qend: int) -> bytes:
    flags = _FLAG_QR | _FLAG_RA | (((data[2] << 8) | data[3]) & _FLAG_RD)
    opt = b"\x00" + struct.pack(">HHIH", _TYPE_OPT, OUR_UDP_SIZE, (EXT_RCODE_BADVERS >> 4) << 24, 0)
    return data[:2] + _HDR_TAIL.pack(flags, 1, 0, 0, 1) + data[12 : qend + 4] + opt


def error_reply(data: bytes, rcode: int, qend: int = -1) -> bytes:
    """A reply carrying only ``rcode`` (and the question, when it could be parsed)."""
    flags = (
        _FLAG_QR | _FLAG_RA | (((data[2] << 8) | data[3]) & (0x7800 | _FLAG_RD | _FLAG_CD)) | rcode
    )
    if qend < 0:
        return data[:2] + _HDR_TAIL.pack(flags, 0, 0, 0, 0)
    return data[:2] + _HDR_TAIL.pack(flags, 1, 0, 0, 0) + data[12 : qend + 4]


@dataclass(frozen=True, slots=True)
class QueryInfo:
    """What the forwarding path needs to know about a valid query."""

    question: bytes  # wire question (name, type, class) as the client sent it
    qend: int  # offset of the question's type field
    udp_limit: int  # largest UDP reply the client accepts


def query_info(data: bytes) -> QueryInfo | None:
    qend, udp_size, _ = _scan(data)
    if qend < 0:
        return None
    limit = udp_size if udp_size >= 0 else CLASSIC_UDP_LIMIT
    return QueryInfo(data[12 : qend + 4], qend, limit)


def reply_matches(query: bytes, info: QueryInfo, reply: bytes) -> bool:
    """Is ``reply`` a response to ``query`` (same id, same question, QR set)?"""
    end = 12 + len(info.question)
    return (
        len(reply) >= end
        and reply[:2] == query[:2]
        and bool(reply[2] & 0x80)
        and reply[4:6] == b"\x00\x01"
        and reply[12:end].lower() == info.question.lower()
    )


def truncate_reply(reply: bytes, info: QueryInfo) -> bytes:
    """Cut an upstream reply too big for the client's UDP limit down to header + question.

    The TC bit tells the client to ask again over TCP, where it gets the full answer.
    """
    if len(reply) <= info.udp_limit:
        return reply
    flags = ((reply[2] << 8) | reply[3]) | _FLAG_TC
    return reply[:2] + _HDR_TAIL.pack(flags, 1, 0, 0, 0) + info.question


def rcode_of(reply: bytes) -> int:
    return reply[3] & 0x0F if len(reply) >= 4 else RCODE_SERVFAIL


def is_truncated(reply: bytes) -> bool:
    return len(reply) >= 3 and bool(reply[2] & 0x02)
