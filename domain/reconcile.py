"""The pure diff: expected documents against what Sage holds, as immutable findings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.documents import (
    AMOUNT_COLUMN,
    AMOUNT_PEERS,
    HEADER_TABLE,
    VOID_MARK,
    Document,
    collector_paused,
    ref_order,
)
from domain.money import to_str


class FindingKind(StrEnum):
    """How what Sage holds differs from what it should hold."""

    MISSING = "missing_in_sage"
    UNEXPECTED = "unexpected_in_sage"
    AMOUNT_DIFFERS = "amount_differs"
    FIELD_DIFFERS = "field_differs"
    DUPLICATE = "duplicate_in_sage"
    UNMAPPED = "unmapped"


MISSING, UNEXPECTED, AMOUNT_DIFFERS, FIELD_DIFFERS, DUPLICATE, UNMAPPED = FindingKind
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


def _compare(expected: Document, actual: Document) -> list[Finding]:
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


# Paused: a module's documents were just built with the collector paused, so its first
# pass would walk all of them (a tenth of a 1M-row reconcile); they hold no cycles.
@collector_paused()
def diff(
    module: str,
    expected: Iterable[Document],
    actual: Iterable[Document],
    *,
    in_scope: Callable[[Document], bool] = lambda _document: True,
    accepted: Collection[str] = (),
    unmapped: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Pair expected and actual documents by key and say how they differ.

    - an expected void document is satisfied by no active document in Sage;
    - void documents in Sage only count when nothing active carries their key;
    - a Sage document nobody expects is reported when it is in scope (the module's share of
      Sage that recon answers for) and its key has not been accepted by a person;
    - ``unmapped`` holds keys recon could not build a document for, with the reason.
    """
    active: dict[str, list[Document]] = defaultdict(list)
    for document in actual:
        if not document.is_void:
            active[document.key].append(document)
    findings: list[Finding] = []
    for key, reason in sorted((unmapped or {}).items()):
        findings.append(Finding(module, UNMAPPED, key, reason, None))
    for want in expected:
        have = active.pop(want.key, [])
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
            findings.extend(_compare(want, have[0]))
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
