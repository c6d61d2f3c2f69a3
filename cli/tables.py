"""Text output for people: aligned tables with headers, money as money, hours as hours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

#: The module whose figures are hours (a payroll line's "amount" is its hours).
HOURS_MODULE = "daily_payroll"
#: Off a terminal a table is as wide as its widest row: no figure is ever cut or wrapped.
UNBOUNDED = 100_000


def stdout_console() -> Console:
    """Where tables go: stdout, no markup, emoji or highlighting read into the data; on a
    terminal as wide as it is, else unbounded and without colour."""
    import sys

    from rich.console import Console

    console = Console(file=sys.stdout, markup=False, emoji=False, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(
            file=sys.stdout,
            markup=False,
            emoji=False,
            highlight=False,
            width=UNBOUNDED,
            no_color=True,
            color_system=None,
        )
    return console


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool | float):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money(value: Any) -> str:
    """A decimal amount with thousands separators and cents: ``-1,234.50``."""
    number = _decimal(value)
    return "" if number is None else f"{number:,.2f}"


def hours(value: Any) -> str:
    """Hours as hours: ``12.50 h``."""
    number = _decimal(value)
    return "" if number is None else f"{number:,.2f} h"


def figure(module: str, value: Any) -> str:
    """A module's figure in its unit: payroll in hours, everything else in money."""
    return hours(value) if module == HOURS_MODULE else money(value)


def count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


#: Where a module's document number is in its header row, as the Sage window shows it.
def sage_document(module: str, header: Mapping[str, Any] | None) -> str:
    """The Sage document a header row is: ``invoice INV-10013``, ``client 1002``, ..."""
    if not header:
        return ""

    def get(column: str) -> str:
        value = header.get(column)
        return "" if value is None else str(value)

    if module == "clients" and get("recnum"):
        return f"client {get('recnum')}"
    if module == "jobs" and get("recnum"):
        return f"job {get('recnum')}"
    if module == "vendors" and get("recnum"):
        return f"vendor {get('recnum')}"
    if module == "ar_invoices" and get("invnum"):
        return f"invoice {get('invnum')}"
    if module == "ap_invoices" and get("invnum"):
        vendor = f"vendor {get('vndnum')} " if get("vndnum") else ""
        return f"{vendor}invoice {get('invnum')}"
    if module == "journal" and get("trnnum"):
        return f"transaction {get('trnnum')}"
    if module == "job_cost" and (get("jobnum") or get("trnnum")):
        parts = [f"job {get('jobnum')}" if get("jobnum") else "", get("trnnum")]
        return " ".join(part for part in parts if part)
    if module == "daily_payroll" and get("empnum"):
        return f"employee {get('empnum')} {get('paydte')}".strip()
    return ""


class Table:
    """Rows under a header, columns aligned; figures right-aligned and never wrapped."""

    def __init__(self, *columns: str, right: Sequence[str] = (), title: str | None = None):
        self.columns = columns
        self.right = set(right)
        self.title = title
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: Any) -> None:
        self.rows.append(tuple("" if cell is None else str(cell) for cell in cells))

    def __len__(self) -> int:
        return len(self.rows)

    def print(self, console: Console | None = None) -> None:
        from rich import box
        from rich.table import Table as RichTable
        from rich.text import Text

        console = console or stdout_console()
        table = RichTable(
            title=self.title,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            header_style="bold",
            title_style="bold",
        )
        for column in self.columns:
            figures = column in self.right
            table.add_column(
                column,
                justify="right" if figures else "left",
                no_wrap=figures,
                overflow="ellipsis" if figures else "fold",
            )
        for row in self.rows:
            table.add_row(*(Text(cell) for cell in row))
        with console.capture() as captured:
            console.print(table)
        # Cells are padded to their column; a line's end is not.
        lines = [line.rstrip() for line in captured.get().splitlines()]
        console.file.write("\n".join(lines) + "\n")
        console.file.flush()
