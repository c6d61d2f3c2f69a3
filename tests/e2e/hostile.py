"""Hostile source payloads: valid simulator records mutated the ways a source (or a broken
proxy, or an attacker) might send them, written as JSON text, and what recon must make of each.

A payload is built from a small plan (a few integers Hypothesis draws), so thousands of them fit
one test run; the values themselves come from fixed menus below, each scaled by the payload's
own number so that no two payloads share an id by accident.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import strategies as st

from adapters.http import jsontext
from adapters.partsledger import reader as pl_reader
from adapters.servicetrade import reader as st_reader
from domain.records import raw_text
from domain.source import PARTSLEDGER, SERVICETRADE, PayloadError, to_payload
from simulator import TIMEZONE

KINDS: tuple[tuple[str, str], ...] = (
    *((SERVICETRADE, kind) for kind in st_reader.KINDS),
    *((PARTSLEDGER, kind) for kind in pl_reader.KINDS),
)
#: Ids of hostile records: far from the simulated world's, one per payload number.
FRESH_ID = 9_000_000_000


@dataclass(frozen=True)
class Token:
    """JSON text written as it is: what no Python value encodes (NaN, 5000 digits, bad bytes)."""

    text: bytes


def encode(value: Any) -> bytes:
    """JSON text of a value; strings ASCII with escapes (so a lone surrogate is ``\\ud800``)."""
    if isinstance(value, Token):
        return value.text
    if value is None:
        return b"null"
    if value is True:
        return b"true"
    if value is False:
        return b"false"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, Decimal):
        return str(value).encode()
    if isinstance(value, str):
        return json.dumps(value).encode()
    if isinstance(value, list):
        return b"[" + b",".join(encode(v) for v in value) + b"]"
    if isinstance(value, dict):
        return (
            b"{" + b",".join(json.dumps(k).encode() + b":" + encode(v) for k, v in value.items())
            + b"}"
        )  # fmt: skip
    raise TypeError(f"cannot encode {type(value).__name__}")


def _nested(depth: int, inner: Any) -> Any:
    value = inner
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


#: Hostile values, each from the payload's number ``n``.
VALUES: tuple[Callable[[int], Any], ...] = (
    lambda n: None,
    lambda n: True,
    lambda n: 0,
    lambda n: -n,
    lambda n: "",
    lambda n: "   ",
    lambda n: 2**64 + n,  # orjson refuses ints from 2^64
    lambda n: -(2**63) - n,
    lambda n: 10**30 + n,
    lambda n: Token(b"9" * 5000),  # more digits than Python's int() takes
    lambda n: Token(b"0." + b"0" * 4998 + b"1"),
    lambda n: "1" + "0" * 4999,
    lambda n: Token(b"NaN"),
    lambda n: Token(b"Infinity"),
    lambda n: Token(b"-Infinity"),
    lambda n: Token(b"1e24"),
    lambda n: Token(b"-1e24"),
    lambda n: Token(b"1E+400000"),
    lambda n: Token(b"1e99999999999999999999"),  # no Decimal holds it
    lambda n: Decimal("1.5"),
    lambda n: "1e24",
    lambda n: f"\ud800 lone surrogate {n}",
    lambda n: f"nul \x00 inside {n}",
    lambda n: Token(f'"raw control \x01 {n}"'.encode()),  # not allowed unescaped in JSON
    lambda n: Token(b'"latin-1 \xe9t\xe9 ' + str(n).encode() + b'"'),  # not UTF-8
    lambda n: "x" * 100_000,
    lambda n: "y" * 4001,
    lambda n: f"emoji \U0001f600 and \u202e rtl {n}",
    lambda n: [],
    lambda n: {},
    lambda n: [n, "two", None, {"three": [3]}],
    lambda n: _nested(60, n),
    lambda n: _nested(300, "deep"),
    lambda n: "0000-00-00",
    lambda n: "2026-02-30",
    lambda n: "9999-12-31",
    lambda n: "1899-12-31",
    lambda n: "yesterday",
    lambda n: 253_402_300_800,
    lambda n: "1000000",
    lambda n: "99999.995",
    lambda n: "9999999999.995",
    lambda n: "-5.00",
    lambda n: "1e-30",
    lambda n: "0.1234567890123456789012345678901",
)
#: ``updated`` (ServiceTrade) / ``updatedAt`` (PartsLedger) values.
STAMPS: tuple[Callable[[int], Any], ...] = (
    lambda n: 2**64 + n,  # too large for a 64-bit INTEGER
    lambda n: 10**30,
    lambda n: -1,
    lambda n: 0,
    lambda n: "1790000000",
    lambda n: Decimal("1790000000.5"),
    lambda n: 99_999_999_999,  # the year 5138
    lambda n: 4_102_444_800,  # 2100-01-01
    lambda n: 4_102_444_799,  # the last second of 2099: valid, and far ahead of any clock
    lambda n: 1_790_000_000 + n,
    lambda n: "9999-12-31T23:59:59Z",
    lambda n: "2026-13-01T00:00:00Z",
    lambda n: None,
    lambda n: Token(b"NaN"),
)
#: Ids.
IDS: tuple[Callable[[int], Any], ...] = (
    lambda n: str(FRESH_ID + n),
    lambda n: f"  {FRESH_ID + n}  ",
    lambda n: f"id-{n}",
    lambda n: "x" * 62 + str(n),  # makes a key longer than VARCHAR(64)
    lambda n: str(n).rjust(38, "y"),  # the longest id taken
    lambda n: 2**64 + n,
    lambda n: -n - 1,
    lambda n: Decimal(f"{FRESH_ID + n}.0"),
    lambda n: f"a/b?{n}",
    lambda n: f"{n}~A1",
    lambda n: None,
    lambda n: "",
    lambda n: f"\ud800{n}",
    lambda n: Token(b"9" * 5000),
)
#: Keys of junk fields added to a record (never the id's: each payload keeps its own).
KEYS = ("junk", "", "__proto__", "\ud800", "updated", "updatedAt", "items", "lines", "extra")
#: Whole records replaced by something else.
WRAPS: tuple[Callable[[int, Any], Any], ...] = (
    lambda n, record: [record],
    lambda n, record: f"record {n}",
    lambda n, record: n,
    lambda n, record: None,
    lambda n, record: {"data": record},
)


def _amount_names(kind: str) -> tuple[str, ...]:
    return {
        "invoice": ("quantity", "price", "totalPrice", "taxTotal"),
        "jobitem": ("quantity", "cost"),
        "item": ("purchasePrice",),
        "purchase_order": ("quantity", "quantityReceived", "amount"),
        "receipt": ("quantityReceived", "amount"),
        "bill": ("quantity", "unitCost", "amount", "tax", "freight"),
    }.get(kind, ())


#: A valid change of one field a reader reads: for duplicates and stale copies.
CHANGES: dict[str, Callable[[dict[str, Any], int], None]] = {
    "company": lambda r, n: r.__setitem__("name", f"Changed company {n}"),
    "location": lambda r, n: r.__setitem__("name", f"Changed location {n}"),
    "user": lambda r, n: r.update(name=f"Changed user {n}", firstName=None, lastName=None),
    "job": lambda r, n: r.__setitem__("name", f"Changed job {n}"),
    "invoice": lambda r, n: r.__setitem__("invoiceNumber", f"CHG-{n}"),
    "jobitem": lambda r, n: r.__setitem__("description", f"Changed item {n}"),
    "clockevent": lambda r, n: r.__setitem__(
        "activity", "enroute" if r.get("activity") != "enroute" else "onsite"
    ),
    "vendor": lambda r, n: r.__setitem__("name", f"Changed vendor {n}"),
    "item": lambda r, n: r.__setitem__("name", f"Changed item {n}"),
    "warehouse": lambda r, n: r.__setitem__("name", f"Changed warehouse {n}"),
    "purchase_order": lambda r, n: r.__setitem__("number", f"PO-CHG-{n}"),
    "receipt": lambda r, n: r.__setitem__("dateReceived", "2026-01-02"),
    "bill": lambda r, n: r.__setitem__("number", f"BILL-CHG-{n}"),
}

MUTATE, DUPLICATE, STALE = "mutate", "duplicate", "stale"
OPS = ("set", "delete", "updated", "id", "add", "wrap", "amount")


@dataclass(frozen=True)
class Plan:
    mode: str
    kind: int
    template: int
    steps: tuple[tuple[int, int, int], ...]  # (op, where, value) per mutation


_MODES = (MUTATE,) * 8 + (DUPLICATE, STALE)


def _plan(drawn: tuple[int, list[int]]) -> Plan:
    head, steps = drawn
    mode, rest = _MODES[head % len(_MODES)], head // len(_MODES)
    return Plan(
        mode=mode,
        kind=rest % len(KINDS),
        template=rest // len(KINDS) % 50,
        steps=tuple((s % len(OPS), s // len(OPS) % 10_000, s // len(OPS) // 10_000) for s in steps),
    )


def plans() -> st.SearchStrategy[Plan]:
    """Small plans: a mode, a kind, a template and up to three mutations, each from one drawn
    integer (so that a batch of hundreds stays within what Hypothesis draws for one example)."""
    word = st.integers(0, 2**31 - 1)
    return st.tuples(word, st.lists(word, min_size=1, max_size=3)).map(_plan)


@dataclass
class Hostile:
    """One payload as injected, and what recon must make of it."""

    system: str
    kind: str
    mode: str
    text: bytes
    world_id: str | None = None  # a stale copy's record
    twin: Hostile | None = None  # a duplicate's first copy


@dataclass
class World:
    """Valid records of every kind (templates and the stale copies' targets)."""

    records: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.extend(_paths(inner, (*prefix, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.extend(_paths(inner, (*prefix, index)))
    return found


def _set(record: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> None:
    holder = record
    for step in path[:-1]:
        holder = holder[step]
    if delete:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value


def _id_key(system: str) -> str:
    return "_id" if system == PARTSLEDGER else "id"


def _stamp_key(system: str) -> str:
    return "updatedAt" if system == PARTSLEDGER else "updated"


def _iso(moment: int) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def stamp_of(system: str, record: dict[str, Any]) -> int:
    value = record[_stamp_key(system)]
    if system == PARTSLEDGER:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    return int(value)


def build(plan: Plan, n: int, world: World) -> list[Hostile]:
    """The payloads of one plan (two for a duplicate)."""
    system, kind = KINDS[plan.kind]
    templates = world.records[(system, kind)]
    template = templates[plan.template % len(templates)]
    record = copy.deepcopy(template)
    id_key, stamp_key = _id_key(system), _stamp_key(system)
    if plan.mode == STALE:
        moment = stamp_of(system, template) - 1 - plan.steps[0][2] % 86_400
        record[stamp_key] = _iso(moment) if system == PARTSLEDGER else moment
        CHANGES[kind](record, n)
        world_id = str(template[id_key])
        return [Hostile(system, kind, STALE, encode(record), world_id=world_id)]
    record[id_key] = FRESH_ID + n
    if plan.mode == DUPLICATE:
        first = Hostile(system, kind, DUPLICATE, encode(record))
        CHANGES[kind](record, n)
        return [first, Hostile(system, kind, DUPLICATE, encode(record), twin=first)]
    value: Any = record
    for op_index, where, choice in plan.steps:
        op = OPS[op_index]
        if not isinstance(value, dict):
            break
        paths = [p for p in _paths(value) if p[0] != id_key] or [("name",)]
        path = paths[where % len(paths)]
        if op == "set":
            _set(value, path, VALUES[choice % len(VALUES)](n))
        elif op == "delete":
            if len(path) == 1 or isinstance(_parent(value, path), dict):
                _set(value, path, None, delete=True)
        elif op == "updated":
            value[stamp_key] = STAMPS[choice % len(STAMPS)](n)
        elif op == "id":
            value[id_key] = IDS[choice % len(IDS)](n)
        elif op == "add":
            value[KEYS[where % len(KEYS)] + ("" if where % 3 else str(n))] = VALUES[
                choice % len(VALUES)
            ](n)
        elif op == "wrap":
            value = WRAPS[choice % len(WRAPS)](n, value)
        else:
            names = _amount_names(kind)
            amounts = [p for p in _paths(value) if names and p[-1] in names]
            if amounts:
                _set(value, amounts[where % len(amounts)], VALUES[choice % len(VALUES)](n))
            else:
                value[stamp_key] = STAMPS[choice % len(STAMPS)](n)
    return [Hostile(system, kind, MUTATE, encode(value))]


def _parent(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        value = value[step]
    return value


# -- what recon must make of a payload ------------------------------------------------------------


def as_fetched(text: bytes) -> dict[str, Any]:
    """The raw record recon's client hands on for this text (decoded as in a page)."""
    value = jsontext.loads(text)
    return value if isinstance(value, dict) else {"_malformed_entry": value}


def read(system: str, kind: str, raw: dict[str, Any]) -> Any:
    """The snapshot the reader makes of a raw record, or the PayloadError it raises."""
    try:
        if system == SERVICETRADE:
            return st_reader.read_record(kind, raw, tz=TIMEZONE)
        return pl_reader.read_record(kind, raw)
    except PayloadError as exc:
        return exc


def source_id(system: str, raw: dict[str, Any], snapshot: Any) -> str:
    """The id recon records a raw record under."""
    if not isinstance(snapshot, PayloadError):
        return str(snapshot.id)
    reader = pl_reader if system == PARTSLEDGER else st_reader
    found = reader.source_id_of(raw)
    if found is not None:
        return found
    return "unidentified-" + hashlib.blake2b(raw_text(raw).encode(), digest_size=8).hexdigest()


def payload_of(snapshot: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(to_payload(snapshot)))
    return result


# -- the simulator's control API ------------------------------------------------------------------


def inject(control: httpx.Client, hostile: list[Hostile]) -> None:
    by_kind: dict[str, list[bytes]] = {}
    for payload in hostile:
        by_kind.setdefault(payload.kind, []).append(payload.text)
    for kind, texts in by_kind.items():
        answer = control.post(f"raw/{kind}", content=b"\n".join(texts))
        answer.raise_for_status()


def inject_texts(control_url: str, by_kind: dict[str, list[bytes]]) -> None:
    """POST /_sim/raw/<kind> of each kind's texts."""
    with httpx.Client(base_url=control_url + "/") as control:
        for kind, texts in by_kind.items():
            control.post(f"raw/{kind}", content=b"\n".join(texts)).raise_for_status()


def clear(control: httpx.Client) -> None:
    control.delete("raw").raise_for_status()
