"""The close pack's tables as CSV text: one file per table, the pack's values as they are."""

from __future__ import annotations

import csv
import io
from typing import Any

from adapters.report.tables import Table

#: A text cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any, *, text: bool) -> str:
    """One CSV cell: empty for null, ``true``/``false`` for flags; a text cell that a
    spreadsheet would run as a formula is prefixed with ``'`` (figures never are)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    result = str(value)
    if text and result.startswith(FORMULA_STARTS):
        return "'" + result
    return result


def render_csv(table: Table) -> str:
    """``table`` as CSV with a header row of its column keys (the pack's field names)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.key for c in table.columns])
    for row in table.rows:
        writer.writerow([cell(row.get(c.key), text=c.kind == "text") for c in table.columns])
    return buffer.getvalue()
