"""Every statement the reader and the sql sink execute, compiled for SQL Server (mssql+pyodbc):
no ``OUTPUT inserted`` (refused on Sage's tables, which have triggers: error 334), no
``IDENTITY_INSERT`` and no IDENTITY column in any INSERT (error 544).

The statements are captured as SQLAlchemy sends them while every sink action and every read runs
against a SQLite sandbox, then compiled for SQL Server with the parameter keys they ran with.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Delete, Engine, Insert, Select, Update, event
from sqlalchemy.dialects.mssql import pyodbc as mssql_pyodbc
from sqlalchemy.sql import ClauseElement

from adapters.sage.engine import create_sage_engine
from adapters.sage.reader import SageReader, read_tax_districts
from adapters.sage.sandbox import init_sandbox
from adapters.sage.schema import IDENTITY_TABLES
from adapters.sage.sql_sink import SqlPostingSink
from domain.builders import ar_invoice_document, job_document
from domain.documents import (
    AP_INVOICES,
    AR_INVOICES,
    CLIENTS,
    DAILY_PAYROLL,
    JOB_COST,
    JOBS,
    JOURNAL,
    MODULES,
    VENDORS,
    Document,
)
from tests.adapters_tests.test_sage_backends import CORRECTED, documents
from tests.adapters_tests.test_sage_costs import MAPPING, labor
from tests.adapters_tests.test_sage_roundtrip import MAPPING as TAXED
from tests.adapters_tests.test_sage_roundtrip import SHOP, invoice

SQL_SERVER = mssql_pyodbc.dialect()
_INSERT_COLUMNS = re.compile(r"INSERT INTO \[?(\w+)\]? \(([^)]*)\)", re.IGNORECASE)


@dataclass(frozen=True)
class Ran:
    """One statement as executed: the element and the parameter keys it ran with."""

    element: ClauseElement
    keys: tuple[str, ...]

    def sql_server(self) -> str:
        return str(self.element.compile(dialect=SQL_SERVER, column_keys=list(self.keys)))


@pytest.fixture
def sage(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'sage.db'}"
    init_sandbox(url, MAPPING)
    engine = create_sage_engine(url)
    yield engine
    engine.dispose()


def capture(engine: Engine) -> list[Ran]:
    ran: list[Ran] = []

    @event.listens_for(engine, "before_execute")
    def _record(_conn: Any, element: Any, multiparams: Any, params: Any, _options: Any) -> None:
        first = multiparams[0] if multiparams else params
        ran.append(Ran(element, tuple(first or ())))

    return ran


def every_action(engine: Engine) -> None:
    """Every sink action of every module, and every read, as recon runs them."""
    sink, reader = SqlPostingSink(engine, user="recon"), SageReader(engine, MAPPING)
    docs: dict[str, Document] = documents()
    refs = {module: sink.create(doc) for module, doc in docs.items()}
    sink.create(docs[AR_INVOICES])  # a duplicate: its GL is no orphan
    taxed = ar_invoice_document(invoice("950"), job_number=5001, location=SHOP, mapping=TAXED)
    sink.create(taxed)  # with tax detail (artxdt)
    new = {module: sink.replace(CORRECTED[module], refs[module]) for module in docs}
    for module in (CLIENTS, JOBS, VENDORS):
        sink.update(CORRECTED[module])
    sink.update(labor(hours="4.00"))  # daily payroll found by its key
    sink.replace(replace(labor(), key=labor().key), new[DAILY_PAYROLL])
    sink.replace(labor(day="2026-03-12"), new[DAILY_PAYROLL])  # a new day: its next line
    sink.replace(job_document(5002, "Other", 1001, None, None, True), 5001)  # another number
    for module in (AR_INVOICES, AP_INVOICES, JOURNAL, JOB_COST, DAILY_PAYROLL):
        sink.void(module, new[module])
    for module in (CLIENTS, JOBS, VENDORS):
        sink.void(module, refs[module])
    for module in MODULES:
        reader.read(module)
        reader.read(module, "2026-03")
        for doc in (docs[module], CORRECTED[module]):
            reader.read_key(module, doc.key)
    reader.read_key(AR_INVOICES, "SAGE-acrinv-1")
    reader.read_key(DAILY_PAYROLL, f"SAGE-dlypyr-{refs[DAILY_PAYROLL]}")
    reader.timecards(None)
    reader.timecards("2026-03")
    read_tax_districts(engine)


def test_no_statement_would_be_refused_by_sql_server(sage: Engine) -> None:
    ran = capture(sage)
    every_action(sage)
    checked = [r for r in ran if isinstance(r.element, (Insert, Update, Delete, Select))]
    inserts: dict[str, set[str]] = {}
    for statement in checked:
        sql = statement.sql_server()
        assert not re.search(r"\bOUTPUT\s+(inserted|deleted)\b", sql, re.IGNORECASE), sql
        assert "IDENTITY_INSERT" not in sql.upper(), sql
        if isinstance(statement.element, Insert):
            match = _INSERT_COLUMNS.search(sql)
            assert match is not None, sql
            table, columns = match.group(1), {c.strip(" []") for c in match.group(2).split(",")}
            inserts.setdefault(table, set()).update(columns)
            if table in IDENTITY_TABLES:
                assert "recnum" not in columns, sql  # left to IDENTITY, read back by _idnum
    written = {"acrinv", "arivln", "artxdt", "acpinv", "apivln", "lgrtrn", "lgtnln", "jobcst"}
    assert written | {"reccln", "actrec", "actpay", "dlypyr"} <= set(inserts)
    # The checks are not vacuous: every identity table recon writes was inserted into, and
    # its recnum was read back with a plain SELECT by _idnum.
    readback = [
        s.sql_server()
        for s in checked
        if isinstance(s.element, Select) and re.search(r"WHERE \w+\._idnum = ", s.sql_server())
    ]
    for table in ("acrinv", "acpinv", "lgrtrn", "jobcst"):
        assert any(f"SELECT {table}.recnum" in sql for sql in readback), table
    assert sum(isinstance(s.element, Select) for s in checked) > 50  # the reads too
