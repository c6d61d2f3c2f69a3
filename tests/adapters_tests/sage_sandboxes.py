"""Rows entered in a Sage sandbox as a Sage window enters them (for the adapter tests)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from adapters.sage.schema import IDENTITY_TABLES, TABLES, window_zeros


def window_row(table_name: str, **values: Any) -> dict[str, Any]:
    """``values`` with everything else a Sage window fills: 0 or '' in every NOT NULL column,
    a new ``_idnum``, and a child row's ``_idref``."""
    table = TABLES[table_name]
    row = {"_idnum": uuid.uuid4(), **values}
    if "_idref" in table.c and "_idref" not in row:
        row["_idref"] = uuid.uuid4()
    return {**window_zeros(table, row), **row}


def enter(engine: Engine, table_name: str, **values: Any) -> Any:
    """Enter a row as a Sage window would, in a transaction of its own; returns its recnum
    (generated on an IDENTITY table)."""
    table = TABLES[table_name]
    row = window_row(table_name, **values)
    with engine.begin() as connection:
        connection.execute(table.insert(), row)
        if table_name in IDENTITY_TABLES:
            return connection.execute(
                select(table.c.recnum).where(table.c._idnum == row["_idnum"])
            ).scalar_one()
    return row.get("recnum")


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, uuid.UUID):
        return f"'{value.hex}'"
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    if isinstance(value, (int, Decimal)):
        return str(value)
    raise TypeError(f"no SQL literal for {value!r}")


def insert_sql(table_name: str, **values: Any) -> str:
    """A plain-SQL INSERT of a row as a window would fill it (for hand edits on SQLite, where a
    person may also type a GUID that is not one)."""
    row = window_row(table_name, **values)
    names = ", ".join(row)
    return f"INSERT INTO {table_name} ({names}) VALUES ({', '.join(map(_literal, row.values()))})"
