"""Read what Sage holds as documents (clients, jobs, receivable invoices), set-based.

Every column goes through ``domain.documents.COLUMNS`` and ``canonical_value`` so a document read
here compares exactly with the one ``domain.expected`` builds. Each module is read with one
query per table for the whole selection (a period, a key, or everything), streamed in batches
and grouped in Python: the number of queries never depends on the number of documents. All of
one read's queries run in one transaction, so on SQLite they see one snapshot.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, inspect, select
from sqlalchemy.sql.elements import ColumnElement

from adapters.sage.errors import SageDataError, SageSchemaError, translating
from adapters.sage.schema import DISTRICT_ENTITY_COLUMNS, TABLES, acrinv, taxdst, taxent
from domain.documents import (
    AR_INVOICES,
    CLIENTS,
    COLUMNS,
    HEADER_TABLE,
    JOBS,
    TEXT,
    Document,
    Row,
    canonical_value,
    period_text,
)
from domain.mapping import Mapping as ReconMapping
from domain.mapping import TaxDistrict, TaxEntity

CLIENT_LINK_PREFIX = "ST-CO-"
INVOICE_LINK_PREFIX = "ST-INV-"
READ_MODULES = (CLIENTS, JOBS, AR_INVOICES)
DEFAULT_BATCH_SIZE = 20_000
_PERIOD = re.compile(r"(\d{4})-(\d{2})")
_CLIENT_REF = re.compile(r"SAGE-reccln-(\d+)")
_JOB_REF = re.compile(r"JOB-(\d+)")
_INVOICE_REF = re.compile(r"SAGE-acrinv-(\d+)")
_MEMO_LIMIT = 200_000

ColumnConverter = Callable[[Sequence[Any]], list[str | None]]


def client_key(recnum: int, usrdf1: str | None) -> str:
    """A client's reconciliation key: recon's link key in ``usrdf1``, else its Sage recnum."""
    if usrdf1 and usrdf1.startswith(CLIENT_LINK_PREFIX):
        return usrdf1
    return f"SAGE-reccln-{recnum}"


def job_key(recnum: int) -> str:
    return f"JOB-{recnum}"


def invoice_key(recnum: int, usrdf1: str | None) -> str:
    """An AR invoice's reconciliation key: recon's link key in ``usrdf1``, else its recnum."""
    if usrdf1 and usrdf1.startswith(INVOICE_LINK_PREFIX):
        return usrdf1
    return f"SAGE-acrinv-{recnum}"


def _column_converter(kind: str) -> ColumnConverter:
    """A column of database values -> their ``canonical_value(kind, ·)`` texts.

    Text is trimmed as canonical_value trims it. Every other distinct value is formatted once (a
    memo: equal values have equal canonical text), so a column of repeated codes, accounts,
    amounts or dates costs little more than a lookup.
    Dates that a driver returns as datetimes are read as their date. (Equal values such as
    0 and -0.0 share an entry; canonical_value gives them the same text.)
    """
    if kind == TEXT:
        # Mostly distinct values (numbers, names): a memo would cost more than it saves.
        def text(values: Sequence[Any]) -> list[str | None]:
            return [v.rstrip() if type(v) is str else canonical_value(TEXT, v) for v in values]

        return text
    memo: dict[Any, str | None] = {}

    def convert(values: Sequence[Any]) -> list[str | None]:
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        for value in set(values).difference(memo):
            day = value.date() if isinstance(value, datetime) else value
            memo[value] = canonical_value(kind, day)
        return list(map(memo.__getitem__, values))

    return convert


class _RowShape:
    """The document columns of one Sage table and how to make canonical rows of them."""

    def __init__(self, table_name: str) -> None:
        self.table = TABLES[table_name]
        self.names = tuple(COLUMNS[table_name])
        self.columns = [self.table.c[name] for name in self.names]
        self._converters = tuple(_column_converter(COLUMNS[table_name][n]) for n in self.names)

    def rows(self, columns: Sequence[Sequence[Any]]) -> list[Row]:
        """Canonical rows from the document columns of a batch, given column by column."""
        texts = [convert(column) for convert, column in zip(self._converters, columns, strict=True)]
        return [dict(zip(self.names, values, strict=True)) for values in zip(*texts, strict=True)]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a read builds millions of acyclic rows.

    The rows and documents hold no reference cycles, yet each allocation burst triggers full
    collections that walk every live row: pausing cuts a 1M-row read by about 40%.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_period(period: str) -> tuple[int, int]:
    match = _PERIOD.fullmatch(period)
    if match is None or not 0 <= int(match.group(2)) <= 12:
        raise ValueError(f"expected a period as 'YYYY-MM' with MM 00-12, got {period!r}")
    return int(match.group(1)), int(match.group(2))


def _check_module(module: str) -> None:
    if module not in READ_MODULES:
        raise ValueError(f"expected a module among {', '.join(READ_MODULES)}, got {module!r}")


class SageReader:
    """Reads Sage 100 Contractor rows as comparable documents (the Sage reader port)."""

    def __init__(
        self, engine: Engine, mapping: ReconMapping, *, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        self.engine = engine
        self.mapping = mapping  # the port's shape; reading needs no mapping rule today
        self._batch_size = batch_size

    def read(self, module: str, period: str | None = None) -> list[Document]:
        """Every document of ``module``; invoices of ``period`` ("YYYY-MM") only, when given.

        Clients and jobs are not period-bound: ``period`` does not filter them. Void invoices
        are returned like any other (the diff decides what they mean).
        """
        _check_module(module)
        where: ColumnElement[bool] | None = None
        if period is not None:
            year, number = _parse_period(period)
            if module == AR_INVOICES:
                where = and_(acrinv.c.postyr == year, acrinv.c.actper == number)
        action = f"reading Sage {module}" + (f" for {period}" if period else "")
        return self._read(module, where, action)

    def read_key(self, module: str, key: str) -> list[Document]:
        """The documents of ``module`` with reconciliation key ``key`` (several if duplicated)."""
        _check_module(module)
        where = self._key_filter(module, key)
        if where is None:
            return []
        documents = self._read(module, where, f"reading Sage {module} {key}")
        return [document for document in documents if document.key == key]

    @staticmethod
    def _key_filter(module: str, key: str) -> ColumnElement[bool] | None:
        table = TABLES[HEADER_TABLE[module]]
        if module == CLIENTS:
            if key.startswith(CLIENT_LINK_PREFIX):
                return table.c.usrdf1 == key
            match = _CLIENT_REF.fullmatch(key)
        elif module == JOBS:
            match = _JOB_REF.fullmatch(key)
        else:
            if key.startswith(INVOICE_LINK_PREFIX):
                return table.c.usrdf1 == key
            match = _INVOICE_REF.fullmatch(key)
        return None if match is None else table.c.recnum == int(match.group(1))

    def _read(self, module: str, where: ColumnElement[bool] | None, action: str) -> list[Document]:
        with (
            _collector_paused(),
            translating(action),
            self.engine.connect() as connection,
            connection.begin(),
        ):
            if module == AR_INVOICES:
                return self._invoices(connection, where)
            return self._masters(connection, module, where)

    def _batches(
        self, connection: Connection, statement: Select[Any]
    ) -> Iterator[list[Sequence[Any]]]:
        """The result of ``statement`` in batches of columns (values as the driver returns them).

        The statement runs as plain driver SQL: SQLAlchemy's per-value result processing is
        skipped because canonical_value reads driver values (floats, Decimals, ISO text, dates)
        directly, and skipping it halves the time of a large read.
        """
        sql = str(
            statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        )
        result = connection.exec_driver_sql(sql)
        for batch in result.partitions(self._batch_size):
            yield list(zip(*batch, strict=True))

    def _masters(
        self, connection: Connection, module: str, where: ColumnElement[bool] | None
    ) -> list[Document]:
        table_name = HEADER_TABLE[module]
        shape = _RowShape(table_name)
        statement = select(shape.table.c.recnum.label("sage_ref"), *shape.columns)
        if where is not None:
            statement = statement.where(where)
        documents = []
        for refs, *columns in self._batches(connection, statement):
            for ref, row in zip(refs, shape.rows(columns), strict=True):
                recnum = int(ref)
                key = client_key(recnum, row["usrdf1"]) if module == CLIENTS else job_key(recnum)
                documents.append(Document(module, key, {table_name: (row,)}, sage_ref=recnum))
        documents.sort(key=lambda document: document.sage_ref or 0)
        return documents

    def _children(
        self,
        connection: Connection,
        table_name: str,
        order: str | None,
        where: ColumnElement[bool] | None,
    ) -> dict[int, tuple[Row, ...]]:
        """Rows of a child table grouped by ``recnum``, ordered by ``order`` within a group."""
        shape = _RowShape(table_name)
        table = shape.table
        ordering = [table.c.recnum] + ([table.c[order]] if order is not None else [])
        statement = select(table.c.recnum.label("parent"), *shape.columns).order_by(
            *ordering, table.c._idnum
        )
        if where is not None:
            statement = statement.where(where)
        groups: dict[int, list[Row]] = {}
        for parents, *columns in self._batches(connection, statement):
            rows = shape.rows(columns)
            start = 0
            for parent, run in groupby(parents):
                end = start + len(list(run))
                groups.setdefault(parent, []).extend(rows[start:end])
                start = end
        return {int(parent): tuple(rows) for parent, rows in groups.items()}

    def _invoices(
        self, connection: Connection, where: ColumnElement[bool] | None
    ) -> list[Document]:
        shape = _RowShape("acrinv")
        statement = select(
            acrinv.c.recnum.label("sage_ref"),
            acrinv.c.lgrrec.label("gl_ref"),
            acrinv.c.postyr.label("year"),
            acrinv.c.actper.label("number"),
            *shape.columns,
        )
        invoice_ids = select(acrinv.c.recnum)
        gl_ids = select(acrinv.c.lgrrec)
        if where is not None:
            statement = statement.where(where)
            invoice_ids = invoice_ids.where(where)
            gl_ids = gl_ids.where(where)
        headers: list[tuple[Any, Any, Any, Any, Row]] = []
        for recnums, gl_refs, years, numbers, *columns in self._batches(connection, statement):
            headers.extend(zip(recnums, gl_refs, years, numbers, shape.rows(columns), strict=True))
        if not headers:
            return []
        in_scope = None if where is None else invoice_ids
        lines = self._children(
            connection,
            "arivln",
            "linnum",
            None if in_scope is None else TABLES["arivln"].c.recnum.in_(in_scope),
        )
        taxes = self._children(
            connection,
            "artxdt",
            "taxent",
            None if in_scope is None else TABLES["artxdt"].c.recnum.in_(in_scope),
        )
        gl = self._children(connection, "lgrtrn", None, TABLES["lgrtrn"].c.recnum.in_(gl_ids))
        gl_lines = self._children(
            connection, "lgtnln", "linnum", TABLES["lgtnln"].c.recnum.in_(gl_ids)
        )
        documents = []
        headers.sort(key=lambda header: header[0])
        for recnum, gl_ref, year, number, row in headers:
            ref = int(recnum)
            gl_number = None if gl_ref is None else int(gl_ref)
            documents.append(
                Document(
                    AR_INVOICES,
                    invoice_key(ref, row["usrdf1"]),
                    {
                        "acrinv": (row,),
                        "arivln": lines.get(ref, ()),
                        "artxdt": taxes.get(ref, ()),
                        "lgrtrn": gl.get(gl_number, ()) if gl_number is not None else (),
                        "lgtnln": gl_lines.get(gl_number, ()) if gl_number is not None else (),
                    },
                    period=None
                    if year is None or number is None
                    else period_text(int(year), int(number)),
                    sage_ref=ref,
                )
            )
        return documents


def _plain(number: Decimal) -> Decimal:
    """A decimal without trailing zeros or an exponent (Decimal("4.7500") -> Decimal("4.75"))."""
    normal = number.normalize()
    exponent = normal.as_tuple().exponent
    return normal.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else normal


def read_tax_districts(
    engine: Engine, *, entity_accounts: Mapping[int, int] | None = None
) -> dict[int, TaxDistrict]:
    """Sage's tax districts with their entities, as the mapping's ``TaxDistrict`` values.

    An entity's sales-tax liability account comes from ``taxent.lgract`` (a sandbox column; see
    docs/sage.md) or, where given, from ``entity_accounts`` (entity recnum -> account), which
    wins. A production database without that column needs ``entity_accounts``.
    """
    overrides = dict(entity_accounts or {})
    with translating("reading Sage tax districts"), engine.connect() as connection:
        inspector = inspect(connection)
        for name in ("taxdst", "taxent"):
            if not inspector.has_table(name):
                raise SageSchemaError(
                    f"expected Sage table {name} in {engine.url.render_as_string(True)}; "
                    "for a sandbox run `recon sandbox init`"
                )
        names = {column["name"].lower() for column in inspector.get_columns("taxent")}
        account_column = [taxent.c.lgract] if "lgract" in names else []
        entities: dict[int, TaxEntity] = {}
        for recnum, name, rate, *account in connection.execute(
            select(taxent.c.recnum, taxent.c.entnme, taxent.c.taxrt1, *account_column)
        ):
            number = overrides.get(int(recnum), account[0] if account else None)
            if rate is None or number is None:
                missing = "rate (taxrt1)" if rate is None else "liability account"
                raise SageDataError(
                    f"tax entity {recnum} has no {missing}; expected every entity to carry one"
                    + ("" if rate is None else " (give it in entity_accounts)")
                )
            entities[int(recnum)] = TaxEntity(
                recnum=int(recnum),
                name=(name or "").rstrip(),
                rate=_plain(Decimal(str(rate))),
                account=int(number),
            )
        slots = [taxdst.c[column] for column in DISTRICT_ENTITY_COLUMNS]
        districts: dict[int, TaxDistrict] = {}
        for recnum, name, *refs in connection.execute(
            select(taxdst.c.recnum, taxdst.c.dstnme, *slots).order_by(taxdst.c.recnum)
        ):
            members = []
            for ref in refs:
                if not ref:
                    continue
                if int(ref) not in entities:
                    raise SageDataError(
                        f"tax district {recnum} names tax entity {ref}, which is not in taxent"
                    )
                members.append(entities[int(ref)])
            districts[int(recnum)] = TaxDistrict(
                recnum=int(recnum), name=(name or "").rstrip(), entities=tuple(members)
            )
    return districts
