"""The pure diff: expected documents against what Sage holds, as immutable findings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from domain.documents import (
    AMOUNT_COLUMN,
    AMOUNT_PEERS,
    AP_INVOICES,
    AR_INVOICES,
    HEADER_TABLE,
    JOB_COST,
    JOURNAL,
    VOID_MARK,
    WRITTEN_ONLY,
    Document,
    Row,
    collector_paused,
    ref_order,
)
from domain.keys import ADJUSTMENT_MARK, adjusted_key, adjustment_number
from domain.money import to_str

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")


class FindingKind(StrEnum):
    """How what Sage holds differs from what it should hold."""

    MISSING = "missing_in_sage"
    UNEXPECTED = "unexpected_in_sage"
    AMOUNT_DIFFERS = "amount_differs"
    FIELD_DIFFERS = "field_differs"
    DUPLICATE = "duplicate_in_sage"
    UNMAPPED = "unmapped"
    #: A record the office keyed into Sage matches more than one source record (or the other
    #: way round), or a link was expected and the amounts differ: a person decides.
    AMBIGUOUS_MATCH = "ambiguous_match"


MISSING, UNEXPECTED, AMOUNT_DIFFERS, FIELD_DIFFERS, DUPLICATE, UNMAPPED, AMBIGUOUS_MATCH = (
    FindingKind
)
KINDS = tuple(FindingKind)


@dataclass(frozen=True, slots=True)
class Finding:
    """One way Sage differs from what it should hold.

    ``difference`` is signed, actual minus expected: positive when Sage holds more.
    ``sage_refs`` are the record numbers of the Sage documents involved.
    """

    module: str
    kind: str
    key: str
    expected: Any
    actual: Any
    difference: Decimal | None = None
    sage_refs: tuple[int | str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "kind": self.kind,
            "key": self.key,
            "expected": self.expected,
            "actual": self.actual,
            "difference": None if self.difference is None else to_str(self.difference),
            "sage_refs": list(self.sage_refs),
        }


def summary(document: Document) -> dict[str, Any]:
    """What a finding shows of a document: its header row, period and Sage record number."""
    shown: dict[str, Any] = dict(document.header)
    if document.period is not None:
        shown["period"] = document.period
    if document.sage_ref is not None:
        shown["sage_ref"] = document.sage_ref
    return shown


#: What adjusting documents (credit and debit memos in the open period) settle, per module:
#: the header amounts summed over the original and its adjustments, and the tables they
#: settle (the original's lines, tax detail and GL lines are then not compared).
#: A journal transaction's adjustments (entries in the open period) settle its GL lines by the
#: net per account (``folded``); a parts job cost row's adjustments sum with its amount.
ADJUSTABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    AR_INVOICES: (("invttl", "taxabl", "nontax", "slstax"), ("arivln", "artxdt", "lgtnln")),
    AP_INVOICES: (("invttl", "slstax"), ("apivln", "lgtnln")),
    JOURNAL: ((), ("lgtnln",)),
    JOB_COST: (("cstamt",), ()),
}


def net_by_account(documents: Iterable[Document]) -> dict[int, Decimal]:
    """Debits less credits per ledger account over the GL lines of ``documents`` (accounts
    that net to zero left out)."""
    net: dict[int, Decimal] = defaultdict(Decimal)
    for document in documents:
        for row in document.tables.get("lgtnln", ()):
            debit, credit = row.get("dbtamt"), row.get("crdamt")
            net[int(row.get("lgract") or 0)] += Decimal(debit or 0) - Decimal(credit or 0)
    return {account: amount for account, amount in sorted(net.items()) if amount}


def _net_lines(net: Mapping[int, Decimal], description: str | None) -> tuple[Row, ...]:
    """GL lines holding ``net`` per account, debits first (as recon builds a transaction)."""
    ordered = sorted(net.items(), key=lambda item: (item[1] < 0, item[0]))
    return tuple(
        {
            "linnum": str(linnum),
            "lgract": str(account),
            "dscrpt": description,
            "dbtamt": to_str(amount) if amount > 0 else "0.00",
            "crdamt": "0.00" if amount > 0 else to_str(-amount),
        }
        for linnum, (account, amount) in enumerate(ordered, start=1)
    )


#: An open invoice (status 1) is what recon enters; Sage moves it to 4 (Paid) once payments and
#: credits cover it, and a person may move it to 2 (Review) or 3 (Dispute) (reference §3.1).
#: Those are Sage's own and satisfy "open": only a void differs.
OPEN_STATUS: dict[str, tuple[str, str, frozenset[str]]] = {
    AR_INVOICES: ("acrinv", "1", frozenset({"2", "3", "4"})),
    AP_INVOICES: ("acpinv", "1", frozenset({"2", "3", "4"})),
}


def _as_sage_keeps_it(expected: Document, actual: Document) -> Document:
    """``actual`` with an open status Sage or a person moved (paid, review, dispute) read as
    the open status recon expects."""
    rule = OPEN_STATUS.get(actual.module)
    if rule is None:
        return actual
    table, status, moved = rule
    header = actual.header
    if expected.header.get("status") != status or header.get("status") not in moved:
        return actual
    rows = ({**header, "status": status}, *actual.tables[table][1:])
    return replace(actual, tables={**actual.tables, table: rows})


def folded(expected: Document, original: Document, adjustments: Iterable[Document]) -> Document:
    """The original as its adjusting documents leave it, to compare with what is expected:
    each summed header amount is the original's plus the adjustments', and the tables the
    adjustments settle are taken as expected (a journal's GL lines only when they net per
    account to what is expected). Everything else is the original's."""
    summed, settled = ADJUSTABLE[original.module]
    header_table = HEADER_TABLE[original.module]
    header = dict(original.header)
    for column in summed:
        values = [original.header.get(column), *(a.header.get(column) for a in adjustments)]
        if any(value is not None for value in values):
            header[column] = to_str(sum((Decimal(v) for v in values if v is not None), Decimal(0)))
    tables = dict(original.tables)
    tables[header_table] = (header, *original.tables[header_table][1:])
    for table in settled:
        tables[table] = expected.tables.get(table, ())
    if original.module == JOURNAL:
        # A journal's lines are settled when they net per account to what is expected; else
        # the diff sees the net lines (their debits are the amount the adjustments leave).
        held = net_by_account([original, *adjustments])
        if held != net_by_account([expected]):
            lines = original.tables.get("lgtnln", ())
            tables["lgtnln"] = _net_lines(held, lines[0].get("dscrpt") if lines else "")
    return Document(
        original.module,
        original.key,
        tables,
        period=original.period,
        sage_ref=original.sage_ref,
        paid=original.paid,
    )


def differing_fields(
    expected: Document, actual: Document, *, skip_amount: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Paths whose values differ; paths look like ``acrinv.jobnum`` (single-row tables),
    ``arivln[2].extprc`` or ``arivln`` (row count). With ``skip_amount`` the amount column is
    left out (it is reported as ``amount_differs``)."""
    where = AMOUNT_COLUMN.get(expected.module)
    skip = (
        {where, *AMOUNT_PEERS.get(expected.module, ())}
        if skip_amount and where is not None
        else set()
    )
    want: dict[str, Any] = {}
    got: dict[str, Any] = {}
    for table, columns in WRITTEN_ONLY.items():
        skip.update((table, column) for column in columns)
    for table in expected.tables.keys() | actual.tables.keys():
        rows_e = expected.tables.get(table, ())
        rows_a = actual.tables.get(table, ())
        if rows_e == rows_a:
            continue
        if len(rows_e) != len(rows_a):
            want[table] = [dict(r) for r in rows_e]
            got[table] = [dict(r) for r in rows_a]
            continue
        single = len(rows_e) == 1
        for index, (row_e, row_a) in enumerate(zip(rows_e, rows_a, strict=True), start=1):
            for column in row_e.keys() | row_a.keys():
                if (table, column) in skip:
                    continue
                value_e, value_a = row_e.get(column), row_a.get(column)
                if value_e != value_a:
                    path = f"{table}.{column}" if single else f"{table}[{index}].{column}"
                    want[path] = value_e
                    got[path] = value_a
    return want, got


#: What recon answers for on an invoice it adopted: the figures the books carry (amounts, tax,
#: vendor, type, status, period) and its number. The job the office billed it to, the
#: description, dates other than the period, the line layout, the tax detail rows and the GL
#: distribution are how the office keyed it, and stay the office's.
ADOPTED_COLUMNS: dict[str, tuple[str, ...]] = {
    AR_INVOICES: (
        "invnum", "invtyp", "status", "taxdst", "taxabl", "nontax", "slstax", "invttl",
        "actper", "postyr", "usrdf1",
    ),
    AP_INVOICES: (
        "invnum", "vndnum", "invtyp", "status", "slstax", "invttl", "actper", "postyr", "usrdf1",
    ),
}  # fmt: skip


def as_adopted(expected: Document, actual: Document) -> Document:
    """``actual`` (an invoice recon adopted) as the diff should see it: the columns recon
    answers for as Sage holds them, everything else as recon expects it (so it never differs).
    Other modules' documents are returned as they are."""
    columns = ADOPTED_COLUMNS.get(actual.module)
    if columns is None or expected.module != actual.module:
        return actual
    header_table = HEADER_TABLE[actual.module]
    header = {**expected.header, **{c: actual.header.get(c) for c in columns}}
    tables = {**expected.tables, header_table: (header,)}
    return replace(actual, tables=tables)


def _compare(expected: Document, actual: Document) -> list[Finding]:
    actual = _as_sage_keeps_it(expected, actual)
    # Equal rows have equal digests: comparing them first spares the serialising and hashing
    # of both documents for nearly every pair (about a sixth of a large reconcile).
    if expected.tables == actual.tables or expected.digest() == actual.digest():
        return []
    found: list[Finding] = []
    refs = () if actual.sage_ref is None else (actual.sage_ref,)
    amount_e, amount_a = expected.amount, actual.amount
    if amount_e is not None and amount_e != amount_a:
        found.append(
            Finding(
                expected.module,
                AMOUNT_DIFFERS,
                expected.key,
                to_str(amount_e),
                None if amount_a is None else to_str(amount_a),
                None if amount_a is None else amount_a - amount_e,
                refs,
            )
        )
    want, got = differing_fields(expected, actual, skip_amount=bool(found))
    if want or got:
        found.append(Finding(expected.module, FIELD_DIFFERS, expected.key, want, got, None, refs))
    return found


class OutOfOrder(ValueError):
    """A stream handed to ``merged`` is not in ``position`` order (a reader's bug): pairing
    by a merge would report documents Sage holds as missing."""


def position(key: str) -> tuple[str, int]:
    """Where a document comes in the order both sides of a streamed diff are read in: by the
    key of the document it adjusts (its own key when it adjusts none), then its adjustment
    number, so a document's adjusting documents (``KEY~A<n>``) come right after it, whatever
    keys sort between ``KEY`` and ``KEY~A<n>`` as text."""
    if ADJUSTMENT_MARK not in key:
        return (key, 0)
    original = adjusted_key(key)
    if original is None:
        return (key, 0)
    return (original, adjustment_number(key) or 0)


# Paused: a module's documents were just built with the collector paused, so its first
# pass would walk all of them; they hold no cycles.
@collector_paused()
def diff(
    module: str,
    expected: Iterable[Document],
    actual: Iterable[Document],
    *,
    in_scope: Callable[[Document], bool] = lambda _document: True,
    accepted: Collection[str] = (),
    unmapped: Mapping[str, str] | None = None,
    adopted: Collection[str] = (),
) -> list[Finding]:
    """Pair expected and actual documents held in memory, in any order (``merged`` on them
    once sorted by ``position``); findings as ``merged`` gives them, those about documents
    nobody expects last."""
    found = list(
        merged(
            module,
            sorted(expected, key=lambda d: position(d.key)),
            sorted(actual, key=lambda d: position(d.key)),
            in_scope=in_scope,
            accepted=accepted,
            unmapped=unmapped,
            adopted=adopted,
        )
    )
    return [f for f in found if f.kind != UNEXPECTED] + [f for f in found if f.kind == UNEXPECTED]


def merged(
    module: str,
    expected: Iterable[Document],
    actual: Iterable[Document],
    *,
    in_scope: Callable[[Document], bool] = lambda _document: True,
    accepted: Collection[str] = (),
    unmapped: Mapping[str, str] | None = None,
    adopted: Collection[str] = (),
    observe: Callable[[list[Document], list[Document]], None] | None = None,
) -> Iterator[Finding]:
    """Pair two streams of documents, each sorted by ``position`` of its key, and say how
    they differ: one key (with its adjusting documents) at a time, so neither side is held
    whole. Raises ``OutOfOrder`` when a stream is not sorted.

    ``adopted`` are the keys of documents recon adopted: compared as ``as_adopted`` says.
    ``observe``, when given, is called with every pair of groups the merge goes through
    (expected, actual; one side may be empty), so what else sums the same documents reads
    them in the same pass.

    - an expected void document is satisfied by no active document in Sage;
    - void documents in Sage only count when nothing active carries their key;
    - adjusting documents count with the original they adjust, when Sage holds it;
    - a Sage document nobody expects is reported when it is in scope (the module's share of
      Sage that recon answers for) and its key has not been accepted by a person;
    - ``unmapped`` holds keys recon could not build a document for, with the reason (these
      findings come first).
    """
    for key, reason in sorted((unmapped or {}).items()):
        yield Finding(module, UNMAPPED, key, reason, None)
    rules = (in_scope, accepted, adopted)
    wanted = _groups(module, "expected", expected, _document_key)
    held = _groups(module, "actual", actual, _document_key)
    for mine, theirs in _side_by_side(wanted, held):
        if observe is not None:
            observe(mine, theirs)
        if len(mine) == len(theirs) == 1 and mine[0].key == theirs[0].key:
            one, other = mine[0], theirs[0]
            if not one.is_void and not other.is_void:
                # The usual case, as ``_settle`` takes it: one active document each side.
                yield from _compare(one, as_adopted(one, other) if one.key in adopted else other)
                continue
        yield from _settle(module, mine, theirs, *rules)


def may_differ(
    module: str,
    expected: Iterable[tuple[str, str | None]],
    actual: Iterable[tuple[str, int, str | None]],
    adopted: Collection[str] = (),
) -> tuple[set[str], set[int]]:
    """The expected keys and Sage record numbers of every key group (a key with its
    adjusting documents, as ``merged`` groups them) whose documents may differ, from two
    streams sorted by ``position``: ``(key, match digest)`` expected, ``(key, record number,
    match digest)`` held. Left out are the groups holding one document each side under the
    same key with equal digests (``domain.documents.match_digest``), the key not adopted:
    ``merged`` finds nothing in those. Raises ``OutOfOrder`` like ``merged``."""
    keys: set[str] = set()
    refs: set[int] = set()
    wanted = _groups(module, "expected", expected, _entry_key)
    held = _groups(module, "actual", actual, _entry_key)
    for mine, theirs in _side_by_side(wanted, held):
        settled = (
            len(mine) == len(theirs) == 1
            and mine[0][0] == theirs[0][0]
            and mine[0][1] is not None
            and mine[0][1] == theirs[0][2]
            and mine[0][0] not in adopted
        )
        if not settled:
            keys.update(entry[0] for entry in mine)
            refs.update(entry[1] for entry in theirs)
    return keys, refs


def _document_key(document: Document) -> str:
    return document.key


def _entry_key(entry: tuple[Any, ...]) -> str:
    return str(entry[0])


def _side_by_side(
    wanted: Iterator[tuple[str, list[A]]], held: Iterator[tuple[str, list[B]]]
) -> Iterator[tuple[list[A], list[B]]]:
    """Two streams of groups sorted by key, paired key by key: a key one side lacks comes
    with an empty list on that side."""
    want, have = next(wanted, None), next(held, None)
    while want is not None or have is not None:
        if want is not None and (have is None or want[0] < have[0]):
            yield want[1], []
            want = next(wanted, None)
        elif have is not None and (want is None or have[0] < want[0]):
            yield [], have[1]
            have = next(held, None)
        elif want is not None and have is not None:
            yield want[1], have[1]
            want, have = next(wanted, None), next(held, None)


def _groups(
    module: str, side: str, items: Iterable[T], key_of: Callable[[T], str]
) -> Iterator[tuple[str, list[T]]]:
    """The items (documents, or digest entries) of a sorted stream grouped by the key they
    stand under or adjust."""
    group: list[T] = []
    last = ("", 0)
    for item in items:
        key = key_of(item)
        at = position(key)
        if group and at != last:
            if at < last:
                raise OutOfOrder(
                    f"{module}: expected the {side} documents sorted by key, got "
                    f"{key!r} after {last[0]!r}"
                )
            if at[0] != last[0]:
                yield last[0], group
                group = []
        group.append(item)
        last = at
    if group:
        yield last[0], group


def _settle(
    module: str,
    expected: list[Document],
    actual: list[Document],
    in_scope: Callable[[Document], bool],
    accepted: Collection[str],
    adopted: Collection[str],
) -> list[Finding]:
    """The findings of one key and its adjusting documents (both sides' documents of it)."""
    active: dict[str, list[Document]] = defaultdict(list)
    for document in actual:
        if not document.is_void:
            active[document.key].append(document)
    # Adjusting documents count with the original they adjust, when Sage holds it.
    adjustments: dict[str, list[Document]] = defaultdict(list)
    if module in ADJUSTABLE:
        for key in [k for k in active if ADJUSTMENT_MARK in k]:
            original = adjusted_key(key)
            if original is not None and original in active:
                adjustments[original].extend(active.pop(key))
    findings: list[Finding] = []
    for want in expected:
        have = active.pop(want.key, [])
        adjusting = adjustments.pop(want.key, [])
        if want.is_void:
            if have:
                column = f"{HEADER_TABLE[module]}.{VOID_MARK[module][0]}"
                findings.append(
                    Finding(
                        module,
                        FIELD_DIFFERS,
                        want.key,
                        {column: want.header.get(VOID_MARK[module][0])},
                        {column: have[0].header.get(VOID_MARK[module][0])},
                        None,
                        tuple(d.sage_ref for d in have if d.sage_ref is not None),
                    )
                )
            continue
        if not have:
            findings.append(Finding(module, MISSING, want.key, summary(want), None, _neg(want)))
        elif len(have) > 1:
            refs = tuple(
                sorted((d.sage_ref for d in have if d.sage_ref is not None), key=ref_order)
            )
            findings.append(
                Finding(
                    module,
                    DUPLICATE,
                    want.key,
                    {"count": 1},
                    {"count": len(have), "sage_refs": list(refs)},
                    _extra(want, have),
                    refs,
                )
            )
        else:
            held = as_adopted(want, have[0]) if want.key in adopted else have[0]
            if adjusting:
                held = folded(want, held, adjusting)
            findings.extend(_compare(want, held))
    for stray_adjustments in adjustments.values():  # adjusting a document nobody expects
        for document in stray_adjustments:
            active[document.key].append(document)
    for key, stray in active.items():
        if key in accepted:
            continue
        for document in stray:
            if in_scope(document):
                findings.append(
                    Finding(
                        module,
                        UNEXPECTED,
                        key,
                        None,
                        summary(document),
                        document.amount,
                        () if document.sage_ref is None else (document.sage_ref,),
                    )
                )
    return findings


def _neg(document: Document) -> Decimal | None:
    amount = document.amount
    return None if amount is None else -amount


def _extra(want: Document, have: list[Document]) -> Decimal | None:
    """What duplicates add over the one document expected."""
    amount = want.amount
    if amount is None:
        return None
    return sum((d.amount or Decimal(0) for d in have), Decimal(0)) - amount
