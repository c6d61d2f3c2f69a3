"""Daily payroll after Sage has turned it into timecards.

At period end the office converts 5-5-1 daily payroll into 5-2-2 timecards: Sage writes a
payroll record (``payrec``) per employee with one timecard line (``tmcdln``) per daily line, and
deletes the daily rows (reference §2.20, HELP-DP). A labor line recon expects in daily payroll
is then held by a timecard line instead: same employee, date worked, job, cost code, pay type
and hours. Such a line is settled; entering it again would pay those hours twice.

Timecard lines carry no link key, so the match is by that natural key, one timecard line for
one expected line (two identical labor lines need two timecard lines).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from domain.documents import DAILY_PAYROLL, Document

#: The natural key of a labor line: employee, date worked, job, cost code, pay type, hours.
LaborLine = tuple[str | None, str | None, str | None, str | None, str | None, str | None]


def labor_line_of(document: Document) -> LaborLine:
    """The natural key of an expected (or Sage) daily payroll line."""
    if document.module != DAILY_PAYROLL:
        raise ValueError(f"expected a {DAILY_PAYROLL} document, got {document.module}")
    row = document.header
    return (
        row.get("empnum"),
        row.get("paydte"),
        row.get("jobnum"),
        row.get("cstcde"),
        row.get("paytyp"),
        row.get("payhrs"),
    )


def timecard_line(row: Mapping[str, str | None]) -> LaborLine:
    """The natural key of a timecard line as the reader gives it, in canonical text:
    ``empnum`` (from its payroll record), ``dtewrk``, ``jobnum``, ``cstcde``, ``paytyp``,
    ``hrswrk``."""
    return (
        row.get("empnum"),
        row.get("dtewrk"),
        row.get("jobnum"),
        row.get("cstcde"),
        row.get("paytyp"),
        row.get("hrswrk"),
    )


def converted(
    expected: Iterable[Document],
    held: Iterable[Document],
    timecard_lines: Iterable[Mapping[str, str | None]],
) -> frozenset[str]:
    """Keys of expected daily payroll lines that Sage holds as timecard lines instead.

    ``held`` are the daily payroll lines Sage still holds: a key found there is not converted.
    Each timecard line settles at most one expected line, oldest key first so the result does
    not depend on the order of the inputs.
    """
    return frozenset(settled(expected, held, timecard_lines))


def settled(
    expected: Iterable[Document],
    held: Iterable[Document],
    timecard_lines: Iterable[Mapping[str, str | None]],
) -> dict[str, Mapping[str, str | None]]:
    """Each converted expected line's key, with the timecard line that holds it (see
    ``converted``). The timecard lines no expected line takes are the office's own."""
    in_daily = {document.key for document in held}
    available: dict[LaborLine, list[Mapping[str, str | None]]] = {}
    for row in timecard_lines:
        available.setdefault(timecard_line(row), []).append(row)
    found: dict[str, Mapping[str, str | None]] = {}
    for document in sorted(expected, key=lambda d: d.key):
        if document.key in in_daily or document.is_void:
            continue
        rows = available.get(labor_line_of(document))
        if rows:
            found[document.key] = rows.pop(0)
    return found
