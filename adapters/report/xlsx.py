"""The close pack as a workbook: one sheet per table, figures as numbers to the cent."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from adapters.report.tables import Column, Kind, Table, decimal_of, tables, unit_kind

MONEY_FORMAT = "#,##0.00;[Red]-#,##0.00"
HOURS_FORMAT = "0.00"
COUNT_FORMAT = "#,##0"
HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
MIN_WIDTH, MAX_WIDTH = 8, 60


def _format(kind: Kind, number: Decimal) -> str:
    # A whole figure in a money or hours column is a count (a tie-out's "count" part).
    if kind == "count" or number.as_tuple().exponent == 0:
        return COUNT_FORMAT
    return HOURS_FORMAT if kind == "hours" else MONEY_FORMAT


def _text(value: Any) -> str:
    # Control characters are not allowed in the file format; show them, escaped.
    escaped: str = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    return escaped


def _put(ws: Any, row: int, col: int, column: Column, record: dict[str, Any]) -> int:
    """Write one cell; returns the width its shown text needs."""
    value = record.get(column.key)
    cell = ws.cell(row=row, column=col)
    kind = unit_kind(column, record)
    if value is None:
        return 0
    if isinstance(value, bool):
        cell.value = value
        return 5
    if kind in ("money", "hours", "count"):
        number = decimal_of(value)
        if number is not None:
            cell.value = number
            cell.number_format = _format(kind, number)
            cell.alignment = Alignment(horizontal="right")
            return len(f"{number:,}") + 1
    if isinstance(value, int):
        cell.value = value
        return len(str(value))
    cell.value = _text(value)
    # openpyxl takes a string starting with "=" for a formula: a payload is never one.
    cell.data_type = "s"
    return len(cell.value)


def _sheet(wb: Any, table: Table) -> None:
    ws = wb.create_sheet(table.title[:31])
    widths = [len(c.header) + 2 for c in table.columns]
    for col, column in enumerate(table.columns, start=1):
        cell = ws.cell(row=1, column=col, value=column.header)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        if column.kind != "text":
            cell.alignment = Alignment(horizontal="right")
    for r, record in enumerate(table.rows, start=2):
        for col, column in enumerate(table.columns, start=1):
            widths[col - 1] = max(widths[col - 1], _put(ws, r, col, column, record))
    last = len(table.rows) + 1
    if not table.rows:
        ws.cell(row=2, column=1, value="none").font = Font(italic=True)
    if table.total is not None:
        for col, column in enumerate(table.columns, start=1):
            widths[col - 1] = max(widths[col - 1], _put(ws, last + 1, col, column, table.total))
            ws.cell(row=last + 1, column=col).font = Font(bold=True)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{last}"
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = min(
            MAX_WIDTH, max(MIN_WIDTH, width + 2)
        )


def render_xlsx(pack: dict[str, Any]) -> bytes:
    """The workbook of ``pack`` as the bytes of an .xlsx file."""
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = f"Month-end close {pack.get('period')}"
    wb.properties.creator = "recon"
    for table in tables(pack):
        _sheet(wb, table)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
