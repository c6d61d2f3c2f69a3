"""Read what Sage holds as documents (every module of ``domain.documents``), set-based.

Every column goes through ``domain.documents.COLUMNS`` and ``canonical_value`` so a document read
here compares exactly with the one ``domain.builders`` builds. Each module is read with one
query per table for the whole selection (a period, a key, or everything), streamed in batches
and grouped in Python: the number of queries never depends on the number of documents. All of
one read's queries run in one transaction, so on SQLite they see one snapshot. Reads only: the
same statements run on SQL Server, SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    false,
    inspect,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from adapters.sage.errors import SageDataError, SageSchemaError, translating
from adapters.sage.schema import (
    DISTRICT_ENTITY_COLUMNS,
    TABLES,
    acpinv,
    acppmt,
    acrinv,
    acrpmt,
    actpay,
    actrec,
    artxdt,
    dlypyr,
    guid_equals,
    guid_text,
    jobcst,
    lgrtrn,
    lgtnln,
    payrec,
    reccln,
    taxdst,
    taxent,
    tmcdln,
)
from domain.documents import (
    AP_INVOICES,
    AR_INVOICES,
    CLIENTS,
    CODE,
    COLUMNS,
    DAILY_PAYROLL,
    DATE,
    HEADER_TABLE,
    INT,
    JOB_COST,
    JOBS,
    JOURNAL,
    MODULES,
    MONEY,
    QTY,
    SOURCE_JOURNAL,
    TEXT,
    VENDORS,
    Document,
    Row,
    canonical_value,
    collector_paused,
    period_text,
    values_digest,
)
from domain.keys import (
    ADJUSTMENT_MARK,
    JOB_COST_HEAD,
    JOB_COST_TAIL,
    LABOR_LINK,
    RECORD_KEYS,
    SAGE_PAYROLL,
    adjusted_key,
    job_cost_key,
    payroll_key,
)
from domain.mapping import Mapping as ReconMapping
from domain.mapping import TaxDistrict, TaxEntity
from domain.reconcile import position as key_position

READ_MODULES = MODULES
DEFAULT_BATCH_SIZE = 20_000
_JOURNAL_SOURCE = int(SOURCE_JOURNAL)
_PERIOD = re.compile(r"(\d{4})-(\d{2})")
_MEMO_LIMIT = 4_096
T = TypeVar("T")
#: A document as ``SageReader.digests`` gives it: key, record number, match digest.
Digested = tuple[str, int, str]
#: Documents read per query when streaming: SQL Server takes at most 2,100 parameters.
STREAM_CHUNK = 1_000
#: A selection of nothing (daily payroll of period 0, which holds adjustments only).
_NOTHING: ColumnElement[bool] = false()
#: Payroll record statuses whose timecards no longer stand: 4 Reversed, 5 Void (§3.9).
PAYROLL_RECORD_VOID = (4, 5)
#: A void GL transaction (``lgrtrn.status``, §3.7): it no longer counts in the ledger.
_GL_VOID = 3


@dataclass(frozen=True, slots=True)
class _Invoices:
    """An invoice window's tables: header, grid tables (with their order), GL by ``lgrrec``."""

    module: str
    header: str
    period: str  # the header's period column
    lines: tuple[tuple[str, str], ...]


_INVOICES = {
    AR_INVOICES: _Invoices(
        AR_INVOICES, "acrinv", "actper", (("arivln", "linnum"), ("artxdt", "taxent"))
    ),
    AP_INVOICES: _Invoices(AP_INVOICES, "acpinv", "actper", (("apivln", "linnum"),)),
}


@dataclass(slots=True)
class _ReadInvoices:
    """Invoices of one read: each header as (recnum, lgrrec, postyr, period, ttlpad, row), by
    recnum, and the rows of the other tables by the number that groups them."""

    spec: _Invoices
    headers: list[tuple[Any, ...]]
    lines: list[dict[int, tuple[Any, ...]]] = field(default_factory=list)
    gl: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    gl_lines: dict[int, tuple[Any, ...]] = field(default_factory=dict)

    def tables(self, header: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """An invoice's rows table by table: header, grid tables in ``spec.lines`` order, GL
        transaction, GL lines (the order of ``COLUMNS``, which ``values_digest`` follows)."""
        ref, gl_ref = int(header[0]), header[1]
        gl_number = None if gl_ref is None else int(gl_ref)
        no_rows: tuple[Any, ...] = ()
        return [
            (header[5],),
            *(by_parent.get(ref, no_rows) for by_parent in self.lines),
            self.gl.get(gl_number, no_rows) if gl_number is not None else no_rows,
            self.gl_lines.get(gl_number, no_rows) if gl_number is not None else no_rows,
        ]


#: The columns each period-bound module filters its period on: (table, year, period).
_PERIOD_COLUMNS = {
    AR_INVOICES: ("acrinv", "postyr", "actper"),
    AP_INVOICES: ("acpinv", "postyr", "actper"),
    JOURNAL: ("lgrtrn", "postyr", "actprd"),
    JOB_COST: ("jobcst", "postyr", "actprd"),
}

ColumnConverter = Callable[[Sequence[Any]], list[str | None]]


def client_key(recnum: int, usrdf1: str | None) -> str:
    """A client's reconciliation key: recon's link key in ``usrdf1``, else its Sage recnum."""
    return RECORD_KEYS[CLIENTS].key(recnum, usrdf1)


def job_key(recnum: int) -> str:
    return RECORD_KEYS[JOBS].key(recnum, None)


def vendor_key(recnum: int) -> str:
    return RECORD_KEYS[VENDORS].key(recnum, None)


def invoice_key(recnum: int, usrdf1: str | None) -> str:
    """An AR invoice's reconciliation key: recon's link key in ``usrdf1``, else its recnum."""
    return RECORD_KEYS[AR_INVOICES].key(recnum, usrdf1)


def ap_invoice_key(recnum: int, usrdf1: str | None) -> str:
    """An AP invoice's key: the PartsLedger bill's link key in ``usrdf1``, else its recnum."""
    return RECORD_KEYS[AP_INVOICES].key(recnum, usrdf1)


def journal_key(recnum: int, usrdf1: str | None) -> str:
    """A 1-3 journal transaction's key: recon's link key in ``usrdf1``, else its recnum."""
    return RECORD_KEYS[JOURNAL].key(recnum, usrdf1)


def payroll_month(mapping: ReconMapping, year: int, period: int) -> tuple[date, date] | None:
    """The dates [first, next month's first) of fiscal ``period`` of ``year`` under the
    mapping's fiscal year (the inverse of ``Mapping.period_of``); None for period 0."""
    if period == 0:
        return None
    start = int(getattr(mapping, "fiscal_year_start_month", 1))
    month = (start - 1 + period - 1) % 12 + 1
    calendar_year = year if start == 1 or month < start else year - 1
    first = date(calendar_year, month, 1)
    after = date(calendar_year + (month == 12), month % 12 + 1, 1)
    return first, after


def _job_cost_filter(key: str) -> ColumnElement[bool] | None:
    """Rows that may carry a job cost key: its source and any job the key can be read as
    naming (the transaction number may hold "-"); the caller keeps the exact matches. The
    rows adjusting a row (``KEY~A<n>``) share its source and job, so they are read with it."""
    key = adjusted_key(key) or key
    head = JOB_COST_HEAD.match(key)
    if head is None:
        return None
    rest = key[head.end() :]
    jobs = set()
    for position, character in enumerate(rest):
        if character == "-":
            tail = JOB_COST_TAIL.fullmatch(rest, position)
            if tail is not None:
                jobs.add(tail.group(1))
    if not jobs:
        return None
    source = head.group(1)
    numbers = sorted(int(job) for job in jobs if job != "None")
    job_terms = [jobcst.c.jobnum.in_(numbers)] if numbers else []
    if "None" in jobs:
        job_terms.append(jobcst.c.jobnum.is_(None))
    return and_(
        jobcst.c.srcnum.is_(None) if source == "None" else jobcst.c.srcnum == int(source),
        or_(*job_terms),
    )


def _period_of_row(row: Row, year: str, number: str) -> str | None:
    y, n = row.get(year), row.get(number)
    return None if y is None or n is None else period_text(int(y), int(n))


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
        return [dict(zip(self.names, values, strict=True)) for values in self.values(columns)]

    def values(self, columns: Sequence[Sequence[Any]]) -> list[tuple[str | None, ...]]:
        """The canonical texts of each row of a batch, in ``COLUMNS`` order (what
        ``domain.documents.match_digest`` digests)."""
        texts = [convert(column) for convert, column in zip(self._converters, columns, strict=True)]
        return list(zip(*texts, strict=True))


def _through(year_column: Any, period_column: Any, year: int, number: int) -> ColumnElement[bool]:
    """Posted in period ``number`` of ``year`` or earlier (fiscal years, then periods)."""
    return or_(year_column < year, and_(year_column == year, period_column <= number))


def _amount(value: Any) -> Decimal:
    """A money column as the driver returns it (float on SQLite), exact to the cent.

    Remembered per value (a pure function, and the ledger reads repeat amounts: prices,
    rates, tax): a close pack reads about one amount per Sage row."""
    found = _AMOUNTS.get(value)
    if found is None:
        if len(_AMOUNTS) > _MEMO_LIMIT:
            _AMOUNTS.clear()
        found = _AMOUNTS[value] = Decimal(
            canonical_value(MONEY, 0 if value is None else value) or "0"
        )
    return found


_AMOUNTS: dict[Any, Decimal] = {}


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _parse_period(period: str) -> tuple[int, int]:
    match = _PERIOD.fullmatch(period)
    if match is None or not 0 <= int(match.group(2)) <= 12:
        raise ValueError(f"expected a period as 'YYYY-MM' with MM 00-12, got {period!r}")
    return int(match.group(1)), int(match.group(2))


def _among(column: Any, numbers: Sequence[int]) -> ColumnElement[bool]:
    """``column IN (numbers)`` with the record numbers written into the statement: they are
    integers read from Sage, and a thousand bound parameters cost more to expand than the
    query takes (SQL Server also takes at most 2,100 of them)."""
    if not numbers:
        return false()
    listed = ", ".join(map(str, map(int, numbers)))
    return cast("ColumnElement[bool]", column.op("IN")(literal_column(f"({listed})")))


def _action(module: str, period: str | None) -> str:
    return f"reading Sage {module}" + (f" for {period}" if period else "")


def _check_module(module: str) -> None:
    if module not in READ_MODULES:
        raise ValueError(f"expected a module among {', '.join(READ_MODULES)}, got {module!r}")


class SageReader:
    """Reads Sage 100 Contractor rows as comparable documents (the Sage reader port)."""

    def __init__(
        self,
        engine: Engine,
        mapping: ReconMapping,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        chunk: int = STREAM_CHUNK,
    ) -> None:
        self.engine = engine
        self.mapping = mapping  # the fiscal year, for daily payroll periods
        self._batch_size = batch_size
        self._chunk = chunk
        self._shapes: dict[str, _RowShape] = {}  # their value memos serve every chunk

    def read(self, module: str, period: str | None = None) -> list[Document]:
        """Every document of ``module``; those of ``period`` ("YYYY-MM") only, when given.

        Invoices, journal transactions and job costs filter on their posting year and period;
        daily payroll on ``paydte`` within that fiscal period's month. Clients, jobs and vendors
        are not period-bound: ``period`` does not filter them. Void documents are returned like
        any other (the diff decides what they mean).
        """
        _check_module(module)
        where = self._selection(module, period)
        if where is _NOTHING:
            return []  # period 0 holds adjustments, never daily payroll
        return self._read(module, where, _action(module, period))

    def stream(
        self,
        module: str,
        period: str | None = None,
        order: Callable[[str], Any] = key_position,
        *,
        unlinked: bool = False,
        only: Collection[int] | None = None,
    ) -> Iterator[Document]:
        """The documents ``read`` gives, one at a time, sorted by ``order`` of their keys
        (``domain.reconcile.position`` by default: what ``domain.reconcile.merged`` pairs
        by); documents under one key in record number order. With ``unlinked``, only those
        that carry no link key of recon's (all of a module keyed by number): what adoption
        matches. With ``only``, only the documents of those record numbers.

        A first query reads the selection's keys and record numbers alone (their order is
        computed here, so no database collation decides it); the documents are then read in
        chunks of ``chunk`` record numbers, every table of a chunk in one query each.
        Memory holds the keys and one chunk. Daily payroll, which has no record number, is
        read whole and sorted.
        """
        _check_module(module)
        where = self._selection(module, period)
        if where is _NOTHING:
            return
        action = _action(module, period)
        if module == DAILY_PAYROLL:
            documents = self._read(module, where, action)
            documents.sort(key=lambda document: order(document.key))
            yield from documents
            return
        with translating(action), self._reading() as connection:
            index = self._index(connection, module, where)
            if unlinked:
                ref = RECORD_KEYS[module].ref if module in RECORD_KEYS else None
                if ref is not None and RECORD_KEYS[module].link is not None:
                    index = [entry for entry in index if entry[0].startswith(ref)]
            if only is not None:
                index = [entry for entry in index if entry[1] in only]
            index.sort(key=lambda entry: order(entry[0]))  # stable: by recnum within a key

            def by_ref(where: ColumnElement[bool], refs: list[int]) -> dict[Any, Document]:
                found = self._documents(connection, module, where, refs)
                return {document.sage_ref: document for document in found}

            yield from self._in_chunks(connection, module, index, by_ref)

    def _in_chunks(
        self,
        connection: Connection,
        module: str,
        index: Sequence[tuple[str, int]],
        read: Callable[[ColumnElement[bool], list[int]], Mapping[Any, T]],
    ) -> Iterator[T]:
        """What ``read`` makes of each chunk of the index's record numbers (given as a filter
        and as a list), by record number, in the index's order; a record deleted since the
        keys were read is passed over."""
        # Each chunk's statements name its record numbers: caching them compiled would only
        # fill the engine's cache with statements never run again.
        connection.execution_options(compiled_cache=None)
        column = self._ref_column(module)
        for start in range(0, len(index), self._chunk):
            refs = [recnum for _key, recnum in index[start : start + self._chunk]]
            with collector_paused():
                found = read(_among(column, refs), refs)
            for recnum in refs:
                item = found.get(recnum)
                if item is not None:
                    yield item

    def digests(
        self,
        module: str,
        period: str | None = None,
        order: Callable[[str], Any] = key_position,
    ) -> Iterator[Digested] | None:
        """(key, record number, ``match_digest``) of each document ``stream`` gives, in the
        same order, made from the columns as read, without building the documents: what a
        reconcile pairs first, reading in full only the documents whose digests differ.
        None for daily payroll (no record numbers: it is compared whole)."""
        _check_module(module)
        if module == DAILY_PAYROLL:
            return None
        where = self._selection(module, period)
        return self._digests(module, where, order, _action(module, period))

    def _digests(
        self,
        module: str,
        where: ColumnElement[bool] | None,
        order: Callable[[str], Any],
        action: str,
    ) -> Iterator[Digested]:
        with translating(action), self._reading() as connection:
            index = self._index(connection, module, where)
            index.sort(key=lambda entry: order(entry[0]))

            def digests(where: ColumnElement[bool], refs: list[int]) -> dict[int, Digested]:
                spec = _INVOICES.get(module)
                if spec is not None:
                    return self._invoice_digests(connection, spec, where, refs)
                if module == JOURNAL:
                    return self._journal_digests(connection, where, refs)
                return self._row_digests(connection, module, where)

            yield from self._in_chunks(connection, module, index, digests)

    def _row_digests(
        self, connection: Connection, module: str, where: ColumnElement[bool]
    ) -> dict[int, Digested]:
        """Documents of one row (clients, jobs, vendors, job cost) as ``digests`` gives them,
        keyed as ``_masters`` and ``_job_costs`` key them."""
        table_name = HEADER_TABLE[module]
        shape = self._shape(table_name)
        statement = select(shape.table.c.recnum, *shape.columns).where(where)
        keys = RECORD_KEYS.get(module)
        link = shape.names.index("usrdf1") if "usrdf1" in shape.names else None
        found: dict[int, Digested] = {}
        for recnums, *columns in self._batches(connection, statement):
            for recnum, row in zip(recnums, shape.values(columns), strict=True):
                ref = int(recnum)
                if keys is None:  # job cost: keyed by its row
                    key = job_cost_key(dict(zip(shape.names, row, strict=True)))
                else:
                    key = keys.key(ref, None if link is None else row[link])
                found[ref] = (key, ref, values_digest([[row]]))
        return found

    def _journal_digests(
        self, connection: Connection, where: ColumnElement[bool], refs: Sequence[int]
    ) -> dict[int, Digested]:
        """``_journal`` of a chunk as ``digests`` gives it, by record number."""
        shape = self._shape("lgrtrn")
        scope = and_(lgrtrn.c.srcnum == _JOURNAL_SOURCE, where)
        statement = select(lgrtrn.c.recnum, *shape.columns).where(scope)
        headers: list[tuple[Any, tuple[str | None, ...]]] = []
        for recnums, *columns in self._batches(connection, statement):
            headers.extend(zip(recnums, shape.values(columns), strict=True))
        lines = self._children(
            connection, "lgtnln", "linnum", _among(TABLES["lgtnln"].c.recnum, refs), True
        )
        keys = RECORD_KEYS[JOURNAL]
        link = shape.names.index("usrdf1")
        found: dict[int, Digested] = {}
        for recnum, row in headers:
            ref = int(recnum)
            digest = values_digest([[row], lines.get(ref, ())])
            found[ref] = (keys.key(ref, row[link]), ref, digest)
        return found

    def _invoice_digests(
        self,
        connection: Connection,
        spec: _Invoices,
        where: ColumnElement[bool],
        refs: Sequence[int],
    ) -> dict[int, Digested]:
        """``_invoices`` of a chunk as (key, record number, match digest), by record number."""
        read = self._read_invoices(connection, spec, where, refs, as_values=True)
        keys = RECORD_KEYS[spec.module]
        link = self._shape(spec.header).names.index("usrdf1")
        found: dict[int, Digested] = {}
        for header in read.headers:
            ref, row = int(header[0]), header[5]
            found[ref] = (keys.key(ref, row[link]), ref, values_digest(read.tables(header)))
        return found

    def keys(self, module: str, period: str | None = None) -> set[str]:
        """The keys of ``module``'s documents (of ``period``), as ``read`` keys them."""
        _check_module(module)
        where = self._selection(module, period)
        if where is _NOTHING:
            return set()
        if module == DAILY_PAYROLL:
            return {d.key for d in self._read(module, where, _action(module, period))}
        with translating(_action(module, period)), self._reading() as connection:
            return {key for key, _recnum in self._index(connection, module, where)}

    def read_key(self, module: str, key: str) -> list[Document]:
        """The documents of ``module`` with reconciliation key ``key`` (several if duplicated),
        and the adjusting documents recon entered for it (keys ``KEY~A<n>``)."""
        _check_module(module)
        where = self._key_filter(module, key)
        if where is None:
            return []
        documents = self._read(module, where, f"reading Sage {module} {key}")
        return [d for d in documents if d.key == key or adjusted_key(d.key) == key]

    def timecards(self, period: str | None = None) -> list[Row]:
        """The timecard lines (5-2-2 ``tmcdln``) of payroll records that are not reversed or
        void, dated in ``period``'s month when given: what daily payroll became once the
        office converted it (reference §2.19, §2.20). Each row in canonical text: ``empnum``
        (its payroll record's), ``dtewrk``, ``jobnum``, ``cstcde``, ``paytyp``, ``hrswrk``."""
        statement = (
            select(
                payrec.c.empnum,
                tmcdln.c.dtewrk,
                tmcdln.c.jobnum,
                tmcdln.c.cstcde,
                tmcdln.c.paytyp,
                tmcdln.c.hrswrk,
            )
            .join(payrec, payrec.c.recnum == tmcdln.c.recnum)
            .where(payrec.c.status.not_in(PAYROLL_RECORD_VOID))
            .order_by(tmcdln.c.recnum, tmcdln.c.linnum)
        )
        if period is not None:
            month = payroll_month(self.mapping, *_parse_period(period))
            if month is None:
                return []
            statement = statement.where(tmcdln.c.dtewrk >= month[0], tmcdln.c.dtewrk < month[1])
        kinds = (INT, DATE, INT, CODE, INT, QTY)
        names = ("empnum", "dtewrk", "jobnum", "cstcde", "paytyp", "hrswrk")
        action = "reading Sage timecards" + (f" for {period}" if period else "")
        rows: list[Row] = []
        with translating(action), self.engine.connect() as connection, connection.begin():
            for batch in self._batches(connection, statement):
                for values in zip(*batch, strict=True):
                    rows.append(
                        {
                            name: canonical_value(kind, value)
                            for name, kind, value in zip(names, kinds, values, strict=True)
                        }
                    )
        return rows

    # -- the books as Sage holds them: plain rows for the month-end close -------------------

    def ledger_invoices(self, kind: str, through: str) -> Iterator[dict[str, Any]]:
        """Every receivable (``kind`` "ar": 3-2 ``acrinv``) or payable ("ap": 4-2 ``acpinv``)
        invoice posted in a period up to and including ``through``, void ones too, oldest
        first. Each row: ``recnum``, ``invnum``, ``usrdf1``, ``period`` ("YYYY-MM"),
        ``status``, ``invdte`` and ``duedte`` (dates or None), ``invttl``, ``invbal``,
        ``taxabl``, ``nontax``, ``slstax`` (Decimals), ``taxdst``, ``lgrrec``, and the party
        the balance is owed by or to: ``party`` (the job's client, or the job itself when it
        has none; the vendor) and ``party_name``."""
        year, number = _parse_period(through)
        if kind == "ar":
            header, period_column = acrinv, acrinv.c.actper
            party = [
                acrinv.c.jobnum,
                actrec.c.clnnum,
                actrec.c.jobnme,
                reccln.c.clnnme,
                acrinv.c.taxabl,
                acrinv.c.nontax,
                acrinv.c.taxdst,
            ]
            joined = acrinv.outerjoin(actrec, actrec.c.recnum == acrinv.c.jobnum).outerjoin(
                reccln, reccln.c.recnum == actrec.c.clnnum
            )
        elif kind == "ap":
            header, period_column = acpinv, acpinv.c.actper
            party = [acpinv.c.vndnum, actpay.c.vndnme]
            joined = acpinv.outerjoin(actpay, actpay.c.recnum == acpinv.c.vndnum)
        else:
            raise ValueError(f"expected an invoice kind 'ar' or 'ap', got {kind!r}")
        statement = (
            select(
                header.c.recnum,
                header.c.invnum,
                header.c.usrdf1,
                header.c.postyr,
                period_column,
                header.c.status,
                header.c.invdte,
                header.c.duedte,
                header.c.invttl,
                header.c.invbal,
                header.c.slstax,
                header.c.lgrrec,
                *party,
            )
            .select_from(joined)
            .where(_through(header.c.postyr, period_column, year, number))
            .order_by(header.c.recnum)
        )
        with translating(f"reading Sage {kind} invoices through {through}"), self._reading() as c:
            for batch in self._batches(c, statement):
                for values in zip(*batch, strict=True):
                    (recnum, invnum, usrdf1, postyr, actper, status, invdte, duedte, invttl,
                     invbal, slstax, lgrrec, *rest) = values  # fmt: skip
                    row: dict[str, Any] = {
                        "recnum": int(recnum),
                        "invnum": canonical_value(TEXT, invnum),
                        "usrdf1": canonical_value(TEXT, usrdf1),
                        "period": period_text(int(postyr), int(actper)),
                        "status": int(status),
                        "invdte": _day(invdte),
                        "duedte": _day(duedte),
                        "invttl": _amount(invttl),
                        "invbal": _amount(invbal),
                        "slstax": _amount(slstax),
                        "lgrrec": int(lgrrec or 0),
                    }
                    if kind == "ar":
                        jobnum, clnnum, jobnme, clnnme, taxabl, nontax, taxdst = rest
                        row.update(
                            party=int(clnnum) if clnnum else int(jobnum or 0),
                            party_name=canonical_value(TEXT, clnnme if clnnum else jobnme),
                            jobnum=int(jobnum or 0),
                            taxabl=_amount(taxabl),
                            nontax=_amount(nontax),
                            taxdst=None if taxdst is None else int(taxdst),
                        )
                    else:
                        vndnum, vndnme = rest
                        row.update(party=int(vndnum or 0), party_name=canonical_value(TEXT, vndnme))
                    yield row

    def ledger_payments(self, kind: str, through: str) -> Iterator[dict[str, Any]]:
        """Receipts (``kind`` "ar": 3-3-1 ``acrpmt``) or payments ("ap": 4-3 ``acppmt``)
        applied to invoices in a period up to and including ``through``. Each row:
        ``invoice`` (the recnum paid), ``chknum``, ``period``, ``amount``, ``dsctkn``,
        ``aplcrd`` (Decimals), ``lgrrec`` (0: none)."""
        year, number = _parse_period(through)
        if kind not in ("ar", "ap"):
            raise ValueError(f"expected a payment kind 'ar' or 'ap', got {kind!r}")
        table = acrpmt if kind == "ar" else acppmt
        statement = (
            select(
                table.c.recnum,
                table.c.chknum,
                table.c.postyr,
                table.c.actper,
                table.c.amount,
                table.c.dsctkn,
                table.c.aplcrd,
                table.c.lgrrec,
            )
            .where(_through(table.c.postyr, table.c.actper, year, number))
            .order_by(table.c.recnum, table.c.chknum)
        )
        with translating(f"reading Sage {kind} payments through {through}"), self._reading() as c:
            for batch in self._batches(c, statement):
                for recnum, chknum, postyr, actper, amount, dsctkn, aplcrd, lgrrec in zip(
                    *batch, strict=True
                ):
                    yield (
                        {
                            "invoice": int(recnum),
                            "chknum": canonical_value(TEXT, chknum),
                            "period": period_text(int(postyr), int(actper)),
                            "amount": _amount(amount),
                            "dsctkn": _amount(dsctkn),
                            "aplcrd": _amount(aplcrd),
                            "lgrrec": int(lgrrec or 0),
                        }
                    )

    def ledger_lines(self, accounts: Sequence[int], through: str) -> Iterator[dict[str, Any]]:
        """The GL lines (``lgtnln``) on ``accounts`` of every transaction that is not void
        (``lgrtrn.status`` 3), posted in a period up to and including ``through``, whatever
        window made it. Each row: ``transaction`` (``lgrtrn.recnum``), ``trnnum``, ``dscrpt``,
        ``usrdf1``, ``srcnum``, ``period``, ``lgract``, ``dbtamt``, ``crdamt`` (Decimals)."""
        year, number = _parse_period(through)
        statement = (
            select(
                lgrtrn.c.recnum,
                lgrtrn.c.trnnum,
                lgrtrn.c.dscrpt,
                lgrtrn.c.usrdf1,
                lgrtrn.c.srcnum,
                lgrtrn.c.postyr,
                lgrtrn.c.actprd,
                lgtnln.c.lgract,
                lgtnln.c.dbtamt,
                lgtnln.c.crdamt,
            )
            .select_from(lgtnln.join(lgrtrn, lgrtrn.c.recnum == lgtnln.c.recnum))
            .where(
                lgtnln.c.lgract.in_(sorted(set(accounts))),
                or_(lgrtrn.c.status.is_(None), lgrtrn.c.status != _GL_VOID),
                _through(lgrtrn.c.postyr, lgrtrn.c.actprd, year, number),
            )
            .order_by(lgrtrn.c.recnum, lgtnln.c.linnum)
        )
        with translating(f"reading Sage GL lines through {through}"), self._reading() as c:
            for batch in self._batches(c, statement):
                for (recnum, trnnum, dscrpt, usrdf1, srcnum, postyr, actprd, account, debit,
                     credit) in zip(*batch, strict=True):  # fmt: skip
                    yield (
                        {
                            "transaction": int(recnum),
                            "trnnum": canonical_value(TEXT, trnnum),
                            "dscrpt": canonical_value(TEXT, dscrpt),
                            "usrdf1": canonical_value(TEXT, usrdf1),
                            "srcnum": int(srcnum or 0),
                            "period": period_text(int(postyr), int(actprd)),
                            "lgract": int(account),
                            "dbtamt": _amount(debit),
                            "crdamt": _amount(credit),
                        }
                    )

    def invoice_taxes(self, period: str) -> Iterator[dict[str, Any]]:
        """The tax detail (``artxdt``) of the receivable invoices of ``period``, void ones too.
        Each row: ``recnum`` (the invoice's), ``invnum``, ``usrdf1``, ``status``, ``taxdst``,
        ``lgrrec``, ``taxent``, ``sbjtax``, ``taxamt`` (Decimals)."""
        year, number = _parse_period(period)
        statement = (
            select(
                acrinv.c.recnum,
                acrinv.c.invnum,
                acrinv.c.usrdf1,
                acrinv.c.status,
                acrinv.c.taxdst,
                acrinv.c.lgrrec,
                artxdt.c.taxent,
                artxdt.c.sbjtax,
                artxdt.c.taxamt,
            )
            .select_from(artxdt.join(acrinv, acrinv.c.recnum == artxdt.c.recnum))
            .where(acrinv.c.postyr == year, acrinv.c.actper == number)
            .order_by(acrinv.c.recnum, artxdt.c.taxent)
        )
        with translating(f"reading Sage tax detail for {period}"), self._reading() as c:
            for batch in self._batches(c, statement):
                for (recnum, invnum, usrdf1, status, taxdst, lgrrec, entity, subject,
                     tax) in zip(*batch, strict=True):  # fmt: skip
                    yield (
                        {
                            "recnum": int(recnum),
                            "invnum": canonical_value(TEXT, invnum),
                            "usrdf1": canonical_value(TEXT, usrdf1),
                            "status": int(status),
                            "taxdst": None if taxdst is None else int(taxdst),
                            "lgrrec": int(lgrrec or 0),
                            "taxent": int(entity),
                            "sbjtax": _amount(subject),
                            "taxamt": _amount(tax),
                        }
                    )

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """One connection and one transaction (one snapshot on SQLite) for a read."""
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @staticmethod
    def _key_filter(module: str, key: str) -> ColumnElement[bool] | None:
        if module == JOB_COST:
            return _job_cost_filter(key)
        if module == DAILY_PAYROLL:
            if key.startswith(LABOR_LINK):
                return dlypyr.c.usrdf1 == key
            if key.startswith(SAGE_PAYROLL) and len(key) > len(SAGE_PAYROLL):
                return guid_equals(dlypyr.c._idnum, key[len(SAGE_PAYROLL) :])
            return None
        table = TABLES[HEADER_TABLE[module]]
        keys = RECORD_KEYS[module]
        if keys.link is not None and key.startswith(keys.link):
            adjusting = table.c.usrdf1.startswith(key + ADJUSTMENT_MARK, autoescape=True)
            return or_(table.c.usrdf1 == key, adjusting)
        recnum = keys.recnum(key)
        return None if recnum is None else table.c.recnum == recnum

    def _read(self, module: str, where: ColumnElement[bool] | None, action: str) -> list[Document]:
        with (
            collector_paused(),
            translating(action),
            self.engine.connect() as connection,
            connection.begin(),
        ):
            return self._documents(connection, module, where)

    def _documents(
        self,
        connection: Connection,
        module: str,
        where: ColumnElement[bool] | None,
        refs: Sequence[int] | None = None,
    ) -> list[Document]:
        """The documents ``where`` selects; ``refs``, when given, are the record numbers it
        selects (the child tables are then read by them)."""
        if module in _INVOICES:
            return self._invoices(connection, _INVOICES[module], where, refs)
        if module == JOURNAL:
            return self._journal(connection, where, refs)
        if module == JOB_COST:
            return self._job_costs(connection, where)
        if module == DAILY_PAYROLL:
            return self._daily_payroll(connection, where)
        return self._masters(connection, module, where)

    def _selection(self, module: str, period: str | None) -> ColumnElement[bool] | None:
        """The filter of ``period`` for ``module`` (None: all of it; ``_NOTHING``: none)."""
        if period is None:
            return None
        year, number = _parse_period(period)
        if module in _PERIOD_COLUMNS:
            table_name, year_column, number_column = _PERIOD_COLUMNS[module]
            table = TABLES[table_name]
            return and_(table.c[year_column] == year, table.c[number_column] == number)
        if module == DAILY_PAYROLL:
            month = payroll_month(self.mapping, year, number)
            if month is None:
                return _NOTHING
            return and_(dlypyr.c.paydte >= month[0], dlypyr.c.paydte < month[1])
        return None

    def _shape(self, table_name: str) -> _RowShape:
        shape = self._shapes.get(table_name)
        if shape is None:
            shape = self._shapes[table_name] = _RowShape(table_name)
        return shape

    @staticmethod
    def _ref_column(module: str) -> Any:
        return TABLES["jobcst" if module == JOB_COST else HEADER_TABLE[module]].c.recnum

    def _index(
        self, connection: Connection, module: str, where: ColumnElement[bool] | None
    ) -> list[tuple[str, int]]:
        """(key, record number) of every document of the selection, by record number."""
        if module == JOB_COST:
            shape = self._shape("jobcst")
            statement = select(jobcst.c.recnum.label("sage_ref"), *shape.columns)
            if where is not None:
                statement = statement.where(where)
            index: list[tuple[str, int]] = []
            for refs, *columns in self._batches(connection, statement.order_by(jobcst.c.recnum)):
                index.extend(
                    (job_cost_key(row), int(ref))
                    for ref, row in zip(refs, shape.rows(columns), strict=True)
                )
            return index
        table = TABLES[HEADER_TABLE[module]]
        keys = RECORD_KEYS[module]
        linked = keys.link is not None
        statement = select(table.c.recnum, *([table.c.usrdf1] if linked else []))
        if module == JOURNAL:
            statement = statement.where(lgrtrn.c.srcnum == _JOURNAL_SOURCE)
        if where is not None:
            statement = statement.where(where)
        index = []
        for batch in self._batches(connection, statement.order_by(table.c.recnum)):
            refs = batch[0]
            links = batch[1] if linked else [None] * len(refs)
            for ref, link in zip(refs, links, strict=True):
                recnum = int(ref)
                text = link.rstrip() if type(link) is str else canonical_value(TEXT, link)
                index.append((keys.key(recnum, text), recnum))
        return index

    def _batches(
        self, connection: Connection, statement: Select[Any]
    ) -> Iterator[list[Sequence[Any]]]:
        """The result of ``statement`` in batches of columns (values as the driver returns them).

        Every selected column is typed ``NullType``, so SQLAlchemy applies no per-value result
        processing: canonical_value reads driver values (floats, Decimals, ISO text, dates)
        directly, and skipping the processing halves the time of a large read. The statement
        itself is executed (not driver SQL), so it compiles for whichever dialect runs it.
        """
        raw = statement.with_only_columns(
            *(type_coerce(column, NullType()) for column in statement.selected_columns),
            maintain_column_froms=True,
        )
        result = connection.execute(raw)
        # The driver's own cursor, read directly: its rows are plain tuples, and with no
        # processing to apply, SQLAlchemy's Row objects would only be made and dropped.
        cursor = result.cursor
        try:
            while batch := cursor.fetchmany(self._batch_size):
                yield list(zip(*batch, strict=True))
        finally:
            result.close()

    def _masters(
        self, connection: Connection, module: str, where: ColumnElement[bool] | None
    ) -> list[Document]:
        table_name = HEADER_TABLE[module]
        shape = self._shape(table_name)
        keys = RECORD_KEYS[module]
        statement = select(shape.table.c.recnum.label("sage_ref"), *shape.columns)
        if where is not None:
            statement = statement.where(where)
        documents = []
        for refs, *columns in self._batches(connection, statement):
            for ref, row in zip(refs, shape.rows(columns), strict=True):
                recnum = int(ref)
                key = keys.key(recnum, row.get("usrdf1"))
                documents.append(Document(module, key, {table_name: (row,)}, sage_ref=recnum))
        documents.sort(key=lambda document: document.sage_ref or 0)
        return documents

    def _children(
        self,
        connection: Connection,
        table_name: str,
        order: str | None,
        where: ColumnElement[bool] | None,
        as_values: bool = False,
    ) -> dict[int, tuple[Any, ...]]:
        """Rows of a child table grouped by ``recnum``, ordered by ``order`` within a group
        (with ``as_values``, each row as ``_RowShape.values`` gives it)."""
        shape = self._shape(table_name)
        table = shape.table
        ordering = [table.c.recnum] + ([table.c[order]] if order is not None else [])
        statement = select(table.c.recnum.label("parent"), *shape.columns).order_by(
            *ordering, table.c._idnum
        )
        if where is not None:
            statement = statement.where(where)
        groups: dict[int, list[Any]] = {}
        for parents, *columns in self._batches(connection, statement):
            rows: list[Any] = shape.values(columns) if as_values else shape.rows(columns)
            start = 0
            for parent, run in groupby(parents):
                end = start + len(list(run))
                groups.setdefault(parent, []).extend(rows[start:end])
                start = end
        return {int(parent): tuple(rows) for parent, rows in groups.items()}

    def _read_invoices(
        self,
        connection: Connection,
        spec: _Invoices,
        where: ColumnElement[bool] | None,
        refs: Sequence[int] | None,
        as_values: bool,
    ) -> _ReadInvoices:
        """Receivable or payable invoices as read: header, grid tables, and the GL transaction
        whose recnum the header's ``lgrrec`` names (docs/sage.md, choice 1); each row as
        ``_RowShape.rows`` gives it, or with ``as_values`` as ``_RowShape.values`` does.
        ``refs``: a chunk of a stream, by its record numbers (else all ``where`` selects)."""
        shape = self._shape(spec.header)
        header = shape.table
        statement = select(
            header.c.recnum,
            header.c.lgrrec,
            header.c.postyr,
            header.c[spec.period],
            header.c.ttlpad,
            *shape.columns,
        )
        invoice_ids = select(header.c.recnum)
        gl_ids = select(header.c.lgrrec)
        if where is not None:
            statement = statement.where(where)
            invoice_ids = invoice_ids.where(where)
            gl_ids = gl_ids.where(where)
        headers: list[tuple[Any, ...]] = []
        for recnums, gl_refs, years, numbers, paid, *columns in self._batches(
            connection, statement
        ):
            rows = shape.values(columns) if as_values else shape.rows(columns)
            headers.extend(zip(recnums, gl_refs, years, numbers, paid, rows, strict=True))
        headers.sort(key=lambda header_row: header_row[0])
        read = _ReadInvoices(spec, headers)
        if not headers:
            return read
        gl_numbers = sorted({int(header_row[1]) for header_row in headers if header_row[1]})

        def of_invoices(column: Any) -> ColumnElement[bool] | None:
            if refs is not None:
                return _among(column, refs)
            return None if where is None else column.in_(invoice_ids)

        def of_gl(column: Any) -> ColumnElement[bool]:
            return column.in_(gl_ids) if refs is None else _among(column, gl_numbers)

        read.lines = [
            self._children(connection, name, order, of_invoices(TABLES[name].c.recnum), as_values)
            for name, order in spec.lines
        ]
        read.gl = self._children(connection, "lgrtrn", None, of_gl(lgrtrn.c.recnum), as_values)
        read.gl_lines = self._children(
            connection, "lgtnln", "linnum", of_gl(TABLES["lgtnln"].c.recnum), as_values
        )
        return read

    def _invoices(
        self,
        connection: Connection,
        spec: _Invoices,
        where: ColumnElement[bool] | None,
        refs: Sequence[int] | None = None,
    ) -> list[Document]:
        """Receivable or payable invoices as documents (``_read_invoices``)."""
        read = self._read_invoices(connection, spec, where, refs, as_values=False)
        keys = RECORD_KEYS[spec.module]
        names = (spec.header, *(name for name, _order in spec.lines), "lgrtrn", "lgtnln")
        documents = []
        for header in read.headers:
            recnum, _gl_ref, year, number, paid, row = header
            ref = int(recnum)
            documents.append(
                Document(
                    spec.module,
                    keys.key(ref, row["usrdf1"]),
                    dict(zip(names, read.tables(header), strict=True)),
                    period=None
                    if year is None or number is None
                    else period_text(int(year), int(number)),
                    sage_ref=ref,
                    paid=None if paid is None else Decimal(str(canonical_value(MONEY, paid))),
                )
            )
        return documents

    def _journal(
        self,
        connection: Connection,
        where: ColumnElement[bool] | None,
        refs: Sequence[int] | None = None,
    ) -> list[Document]:
        """1-3 journal transactions: ``lgrtrn`` rows of source 3 and their ``lgtnln`` lines."""
        scope = lgrtrn.c.srcnum == _JOURNAL_SOURCE
        if where is not None:
            scope = and_(scope, where)
        shape = self._shape("lgrtrn")
        statement = select(lgrtrn.c.recnum.label("sage_ref"), *shape.columns).where(scope)
        headers: list[tuple[Any, Row]] = []
        for numbers, *columns in self._batches(connection, statement):
            headers.extend(zip(numbers, shape.rows(columns), strict=True))
        if not headers:
            return []
        lines = self._children(
            connection,
            "lgtnln",
            "linnum",
            TABLES["lgtnln"].c.recnum.in_(select(lgrtrn.c.recnum).where(scope))
            if refs is None
            else _among(TABLES["lgtnln"].c.recnum, [int(header[0]) for header in headers]),
        )
        keys = RECORD_KEYS[JOURNAL]
        documents = []
        headers.sort(key=lambda header: header[0])
        for recnum, row in headers:
            ref = int(recnum)
            documents.append(
                Document(
                    JOURNAL,
                    keys.key(ref, row["usrdf1"]),
                    {"lgrtrn": (row,), "lgtnln": lines.get(ref, ())},
                    period=_period_of_row(row, "postyr", "actprd"),
                    sage_ref=ref,
                )
            )
        return documents

    def _job_costs(
        self, connection: Connection, where: ColumnElement[bool] | None
    ) -> list[Document]:
        """Job cost rows, one document each, keyed by ``job_cost_key`` of the canonical row."""
        shape = self._shape("jobcst")
        statement = select(jobcst.c.recnum.label("sage_ref"), *shape.columns)
        if where is not None:
            statement = statement.where(where)
        documents = []
        for refs, *columns in self._batches(connection, statement):
            for ref, row in zip(refs, shape.rows(columns), strict=True):
                documents.append(
                    Document(
                        JOB_COST,
                        job_cost_key(row),
                        {"jobcst": (row,)},
                        period=_period_of_row(row, "postyr", "actprd"),
                        sage_ref=int(ref),
                    )
                )
        documents.sort(key=lambda document: document.sage_ref or 0)
        return documents

    def _daily_payroll(
        self, connection: Connection, where: ColumnElement[bool] | None
    ) -> list[Document]:
        """Daily payroll lines, one document each; ``sage_ref`` is the row's GUID (no recnum).

        The period is the fiscal period of ``paydte`` under the mapping (daily payroll carries
        no posting period of its own until Sage turns it into timecards).
        """
        shape = self._shape("dlypyr")
        statement = select(
            dlypyr.c._idnum.label("sage_ref"), dlypyr.c.linnum.label("line"), *shape.columns
        )
        if where is not None:
            statement = statement.where(where)
        periods: dict[str, str] = {}
        found: list[tuple[str, int, str, Document]] = []
        for refs, line_numbers, *columns in self._batches(connection, statement):
            for raw, line, row in zip(refs, line_numbers, shape.rows(columns), strict=True):
                ref = guid_text(raw)
                day = row.get("paydte")
                period = None
                if day is not None:
                    period = periods.get(day)
                    if period is None:
                        period = period_text(*self.mapping.period_of(date.fromisoformat(day)))
                        periods[day] = period
                document = Document(
                    DAILY_PAYROLL,
                    payroll_key(ref, row.get("usrdf1")),
                    {"dlypyr": (row,)},
                    period=period,
                    sage_ref=ref,
                )
                found.append((day or "", int(line or 0), ref, document))
        found.sort(key=lambda entry: entry[:3])
        return [entry[3] for entry in found]


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
