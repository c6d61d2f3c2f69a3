"""The ``sql`` posting sink: writes to Sage's tables what the Sage window would write.

Each action (create, replace, void, update) is ONE database transaction and returns the Sage
reference it wrote (the record number; a daily payroll line's row GUID, as it has none).

Rows are written as the window writes them on a real company database (reference §8): IDENTITY
record numbers (``acrinv``, ``acpinv``, ``lgrtrn``, ``jobcst``) are left to the database and
read back by the ``_idnum`` recon gives the row (never ``OUTPUT inserted``/RETURNING, which SQL
Server refuses on tables with triggers), and every NOT NULL column the document says nothing
about gets the window's value (0, '' or the amounts below). The same statements run on SQL
Server, SQLite and PostgreSQL.

- Receivable (3-2) and payable (4-2) invoices get their GL transaction (``lgrtrn`` + ``lgtnln``,
  source 5 or 11) first, then the invoice and its grid rows, linked by ``lgrrec = lgrtrn.recnum``.
  Posted invoices are corrected as Sage does it: void the old one (status 5, balance kept; its GL
  status 3) and enter a new one whose ``vodrec`` names it.
- Journal transactions (1-3, source 3) are voided (status 3) and re-entered the same way.
- Job cost rows (6-3) are voided (status 2) and re-entered.
- Daily payroll lines (5-5-1) are unposted entries: corrected in place and deleted to void.
- Masters (clients, jobs, vendors) are upserted by their number; void deactivates or closes.

Used for the sandbox and, opt-in, for sites that accept direct SQL writes (docs/sage.md). The
periodic file import (``adapters/sage/files_sink.py``) applies its batches through ``write_in``.

Fault steps: the optional ``fault`` callable is called with a step name so crash tests can raise
(or kill the process) there:

- ``before_write``: the transaction is open, nothing written yet;
- ``before_commit``: every row written, not committed (raising rolls all of it back);
- ``after_write``: committed (raising here loses only the returned record number).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    Unicode,
    delete,
    exists,
    func,
    or_,
    select,
    type_coerce,
    update,
)

from adapters.sage.engine import WRITE_OPTION
from adapters.sage.errors import (
    SageError,
    SageRecordNotFoundError,
    SageUnavailableError,
    SageWriteError,
    translating,
)
from adapters.sage.schema import (
    TABLES,
    acpinv,
    acrinv,
    dlypyr,
    guid_equals,
    guid_text,
    jobcst,
    lgrtrn,
    reccln,
    window_zeros,
)
from domain.documents import (
    AP_INVOICES,
    AR_INVOICES,
    AR_STATUS_VOID,
    CLIENTS,
    COLUMNS,
    DAILY_PAYROLL,
    DATE,
    DOCUMENT_TABLES,
    GL_STATUS_VOID,
    HEADER_TABLE,
    INT,
    JOB_COST,
    JOB_COST_VOID,
    JOBS,
    JOURNAL,
    MASTER_MODULES,
    MODULES,
    SOURCE_AP_INVOICE,
    SOURCE_AR_INVOICE,
    SOURCE_JOURNAL,
    TEXT,
    VENDORS,
    WRITTEN_ONLY,
    Document,
    Row,
)
from domain.keys import CLIENT_LINK, LABOR_LINK, SAGE_PAYROLL
from domain.ports import Imported, Written, always
from domain.posting import CREATE, REPLACE, UPDATE, VOID

Fault = Callable[[str], None]
FAULT_STEPS = ("before_write", "before_commit", "after_write")
SINK_MODULES = MODULES
ACTIONS = (CREATE, REPLACE, UPDATE, VOID)
JOB_STATUS_CLOSED = 6
CLIENT_INACTIVE = 1
VENDOR_INACTIVE = 1
#: What the 4-4 window fills in a new vendor beyond zeros: its invoices default to 1 Open.
_MASTER_WINDOW: dict[str, dict[str, int]] = {VENDORS: {"stsdft": 1}}
#: What voiding a master sets (masters are never deleted).
_MASTER_VOID: dict[str, dict[str, int]] = {
    CLIENTS: {"inactv": CLIENT_INACTIVE},
    JOBS: {"status": JOB_STATUS_CLOSED},
    VENDORS: {"inactv": VENDOR_INACTIVE},
}
#: Modules whose documents ``update`` may change in place.
UPDATABLE_MODULES = (*MASTER_MODULES, DAILY_PAYROLL)
_AR_VOID = int(AR_STATUS_VOID)
_GL_VOID = int(GL_STATUS_VOID)
_JOB_COST_VOID = int(JOB_COST_VOID)
_JOURNAL_SOURCE = int(SOURCE_JOURNAL)
_ZERO = Decimal("0.00")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _no_fault(step: str) -> None:
    return None


def db_value(kind: str, text: str | None) -> Any:
    """The database value of a document's canonical text (the inverse of canonical_value)."""
    if text is None:
        return None
    if kind == TEXT:
        return text
    if kind == INT:
        return int(text)
    if kind == DATE:
        return date.fromisoformat(text)
    return Decimal(text)


def db_values(table_name: str, row: Row) -> dict[str, Any]:
    """A document row as column values for ``table_name``; refuses columns recon does not know."""
    kinds = {**COLUMNS[table_name], **WRITTEN_ONLY.get(table_name, {})}
    values: dict[str, Any] = {}
    for name, text in row.items():
        kind = kinds.get(name)
        if kind is None:
            raise SageWriteError(
                f"expected document columns of {table_name} among {', '.join(kinds)}, got {name!r}"
            )
        try:
            values[name] = db_value(kind, text)
        except (ValueError, InvalidOperation) as exc:
            raise SageWriteError(
                f"expected {table_name}.{name} as {kind} text, got {text!r}"
            ) from exc
    return values


def _ar_amounts(header: dict[str, Any], vodrec: int | None) -> dict[str, Any]:
    total = header.get("invttl") or _ZERO
    subtotal = (header.get("taxabl") or _ZERO) + (header.get("nontax") or _ZERO)
    return {
        "vodrec": 0 if vodrec is None else vodrec,  # bigint NOT NULL on acrinv
        "subttl": subtotal,
        "invamt": _ZERO,
        "retain": _ZERO,
        "amtpad": _ZERO,
        "ttlpad": _ZERO,
        "dsctkn": _ZERO,
        "dscavl": _ZERO,
        "invbal": total,
        "invnet": total,
    }


def _ap_amounts(header: dict[str, Any], vodrec: int | None) -> dict[str, Any]:
    total = header.get("invttl") or _ZERO
    return {
        "vodrec": "" if vodrec is None else str(vodrec),  # nvarchar(300) NOT NULL on acpinv
        "subttl": total - (header.get("slstax") or _ZERO),
        "retain": _ZERO,
        "freigh": _ZERO,  # recon's bills carry freight as a grid line of its own
        "adjust": _ZERO,
        "usettl": _ZERO,
        "amtpad": _ZERO,
        "ttlpad": _ZERO,
        "dsctkn": _ZERO,
        "dscavl": _ZERO,
        "setpay": _ZERO,
        "invbal": total,
        "invnet": total,
        "hotlst": 0,
    }


@dataclass(frozen=True, slots=True)
class _InvoiceKind:
    """What differs between the 3-2 and 4-2 windows: tables, GL source, header amounts."""

    name: str
    header: Table
    lines: tuple[str, ...]
    source: int
    amounts: Callable[[dict[str, Any], int | None], dict[str, Any]] = field(repr=False)


_INVOICE_KINDS = {
    AR_INVOICES: _InvoiceKind(
        "AR invoice", acrinv, ("arivln", "artxdt"), int(SOURCE_AR_INVOICE), _ar_amounts
    ),
    AP_INVOICES: _InvoiceKind(
        "AP invoice", acpinv, ("apivln",), int(SOURCE_AP_INVOICE), _ap_amounts
    ),
}


class SqlPostingSink:
    """Posts documents straight into Sage's tables, one transaction per action."""

    name = "sql"

    def __init__(
        self,
        engine: Engine,
        *,
        user: str = "recon",
        fault: Fault | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.engine = engine
        self.user = user
        self._fault = fault or _no_fault
        self._clock = clock
        self._staged: dict[str, StagedPosting] = {}

    # -- actions -------------------------------------------------------------------------------

    def create(self, doc: Document) -> int | str:
        """Write ``doc``; returns the header recnum (masters: the document's own number; daily
        payroll: the new row's GUID)."""
        check_document(doc)
        with self._transaction(f"posting {doc.module} {doc.key} to Sage") as connection:
            return self._create(connection, doc)

    def replace(self, doc: Document, old_ref: int | str) -> int | str:
        """Void record ``old_ref`` and enter ``doc`` in its place; returns the new reference.

        Invoices: the new ``vodrec`` is ``old_ref``. Journal transactions and job costs: the old
        one is voided, the new one entered. Daily payroll: the line is changed in place (same
        GUID). Masters: a master with the same number is updated in place; with another number
        the old one is made inactive/closed.
        """
        check_document(doc)
        action = f"replacing {doc.module} record {old_ref} with {doc.key} in Sage"
        with self._transaction(action) as connection:
            return self._replace(connection, doc, old_ref)

    def void(self, module: str, ref: int | str) -> None:
        """Void an invoice (status 5, GL status 3), a journal transaction (status 3), a job cost
        (status 2); delete a daily payroll line; deactivate a client or vendor; close a job."""
        check_module(module)
        with self._transaction(f"voiding {module} record {ref} in Sage") as connection:
            self._void(connection, module, ref)

    def update(self, doc: Document) -> int | str:
        """Update a master by its number, or a daily payroll line by its key, in place; posted
        documents (invoices, journal transactions, job costs) are replaced instead."""
        check_document(doc)
        check_updatable(doc.module)
        with self._transaction(f"updating {doc.module} {doc.key} in Sage") as connection:
            return self._update(connection, doc)

    # -- the posting port ---------------------------------------------------------------------

    def stage(
        self,
        posting_id: str,
        action: str,
        module: str,
        document: Document | None,
        refs: Sequence[int | str] = (),
        *,
        key: str | None = None,
    ) -> None:
        """Hold a posting for ``flush``; one Sage would refuse raises ValueError here."""
        staged = staged_posting(posting_id, action, module, document, refs, key=key)
        self._staged[staged.posting_id] = staged

    def flush(self, needed: Callable[[str], bool] = always) -> Iterator[Written]:
        """Write each staged posting into Sage, one transaction each, reporting each as it
        commits. A posting Sage refuses is reported with the reason and the others go on; an
        unreachable Sage stops the flush (the rest stay proposed for the next run)."""
        staged, self._staged = list(self._staged.values()), {}
        for posting in staged:
            if not needed(posting.posting_id):
                yield Written(posting.posting_id, skipped=True)
                continue
            action = f"{posting.action} {posting.module} {posting.key} in Sage"
            try:
                with self._transaction(action) as connection:
                    refs = self.write_in(
                        connection, posting.action, posting.module, posting.document, posting.refs
                    )
            except SageUnavailableError:
                raise
            except SageError as exc:
                yield Written(posting.posting_id, error=f"{type(exc).__name__}: {exc}")
                continue
            yield Written(posting.posting_id, tuple(refs))

    def written(self, posting_id: str) -> str | None:
        """The batch that carries a posting: never any, the sql sink writes into Sage."""
        return None

    def imported(self, posting_id: str) -> Imported | None:
        """What an import did with a posting: none, the sql sink writes into Sage."""
        return None

    def write_in(
        self,
        connection: Connection,
        action: str,
        module: str,
        document: Document | None,
        refs: Sequence[int | str] = (),
    ) -> list[int | str]:
        """Apply one posting inside the caller's write transaction (no fault steps); returns the
        references written, as the action methods do (a void returns the refs it voided).

        ``replace`` with no ref creates; ``void`` voids every ref. The file import uses this so
        a batch is written by the same code as a direct posting.
        """
        if action not in ACTIONS:
            raise ValueError(f"expected an action among {', '.join(ACTIONS)}, got {action!r}")
        if action == VOID:
            check_module(module)
            for ref in refs:
                self._void(connection, module, ref)
            return list(refs)
        if document is None or document.module != module:
            raise ValueError(f"expected a {module} document to {action}, got {document!r}")
        check_document(document)
        if action == UPDATE:
            check_updatable(module)
            return [self._update(connection, document)]
        if action == REPLACE and len(refs) > 1:
            raise ValueError(f"expected at most one record to replace, got {list(refs)}")
        if action == REPLACE and refs:
            return [self._replace(connection, document, refs[0])]
        return [self._create(connection, document)]

    # -- dispatch ------------------------------------------------------------------------------

    def _create(self, connection: Connection, doc: Document) -> int | str:
        if doc.module in _INVOICE_KINDS:
            return self._post_invoice(connection, _INVOICE_KINDS[doc.module], doc, vodrec=None)
        if doc.module == JOURNAL:
            return self._post_journal(connection, doc)
        if doc.module == JOB_COST:
            return self._post_job_cost(connection, doc)
        if doc.module == DAILY_PAYROLL:
            return self._insert_payroll(connection, doc)
        return self._upsert(connection, doc)

    def _replace(self, connection: Connection, doc: Document, old_ref: int | str) -> int | str:
        if doc.module == DAILY_PAYROLL:
            return self._update_payroll(connection, doc, str(old_ref))
        old = _record_number(old_ref)
        if doc.module in _INVOICE_KINDS:
            kind = _INVOICE_KINDS[doc.module]
            self._void_invoice(connection, kind, old)
            return self._post_invoice(connection, kind, doc, vodrec=old)
        if doc.module == JOURNAL:
            self._void_journal(connection, old)
            return self._post_journal(connection, doc)
        if doc.module == JOB_COST:
            self._void_job_cost(connection, old)
            return self._post_job_cost(connection, doc)
        if _master_number(doc) != old:
            self._void_master(connection, doc.module, old)
        return self._upsert(connection, doc)

    def _void(self, connection: Connection, module: str, ref: int | str) -> None:
        if module == DAILY_PAYROLL:
            self._delete_payroll(connection, str(ref))
        elif module in _INVOICE_KINDS:
            self._void_invoice(connection, _INVOICE_KINDS[module], _record_number(ref))
        elif module == JOURNAL:
            self._void_journal(connection, _record_number(ref))
        elif module == JOB_COST:
            self._void_job_cost(connection, _record_number(ref))
        else:
            self._void_master(connection, module, _record_number(ref))

    def _update(self, connection: Connection, doc: Document) -> int | str:
        if doc.module == DAILY_PAYROLL:
            return self._update_payroll(connection, doc, self._payroll_ref_of(connection, doc))
        return self._upsert(connection, doc, must_exist=True)

    # -- transaction and stamps ----------------------------------------------------------------

    @contextmanager
    def _transaction(self, action: str) -> Iterator[Connection]:
        with translating(action, SageWriteError), self.engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                self._fault("before_write")
                yield connection
                self._fault("before_commit")
        self._fault("after_write")

    def _inserted(self, now: datetime, *, header: bool) -> dict[str, Any]:
        stamp: dict[str, Any] = {
            "_idnum": uuid.uuid4(),
            "insdte": now.replace(tzinfo=None),
            "insusr": self.user,
        }
        if header:
            stamp["entdte"] = now.date()
            stamp["usrnme"] = self.user
        return stamp

    def _updated(self, now: datetime) -> dict[str, Any]:
        return {"upddte": now.replace(tzinfo=None), "updusr": self.user}

    @staticmethod
    def _insert_generated(connection: Connection, table: Table, values: dict[str, Any]) -> int:
        """Insert one row of an IDENTITY table, leaving ``recnum`` to the database, and read it
        back by the row's ``_idnum`` (recon's own GUID): a plain SELECT, which works on every
        dialect and on tables with triggers, where SQL Server refuses ``OUTPUT inserted``."""
        connection.execute(table.insert(), {**window_zeros(table, values), **values})
        recnum = connection.execute(
            select(table.c.recnum).where(table.c._idnum == values["_idnum"])
        ).scalar_one()
        return int(recnum)

    # -- masters -------------------------------------------------------------------------------

    def _upsert(self, connection: Connection, doc: Document, *, must_exist: bool = False) -> int:
        table_name = HEADER_TABLE[doc.module]
        table = TABLES[table_name]
        values = db_values(table_name, doc.header)
        recnum = _master_number(doc)
        values["recnum"] = recnum
        now = self._clock()
        existing = connection.execute(
            select(table.c.recnum, _link_column(table)).where(table.c.recnum == recnum)
        ).first()
        if existing is None:
            if must_exist:
                raise SageRecordNotFoundError(
                    f"expected {table_name} record {recnum} to update, found none"
                )
            row = {
                **_MASTER_WINDOW.get(doc.module, {}),
                **values,
                **self._inserted(now, header=True),
            }
            connection.execute(table.insert(), {**window_zeros(table, row), **row})
            return recnum
        link = existing[1]
        if (
            doc.module == CLIENTS
            and isinstance(link, str)
            and link.startswith(CLIENT_LINK)
            and link.rstrip() != values.get("usrdf1")
        ):
            raise SageWriteError(
                f"client {recnum} is linked to {link.rstrip()!r}; expected it unlinked or linked "
                f"to {doc.key!r} (recon never takes over another linked client)"
            )
        connection.execute(
            update(table).where(table.c.recnum == recnum).values(**values, **self._updated(now))
        )
        return recnum

    def _void_master(self, connection: Connection, module: str, ref: int) -> None:
        table = TABLES[HEADER_TABLE[module]]
        done = connection.execute(
            update(table)
            .where(table.c.recnum == ref)
            .values(**_MASTER_VOID[module], **self._updated(self._clock()))
        )
        if done.rowcount == 0:
            raise SageRecordNotFoundError(f"expected {table.name} record {ref}, found none")

    # -- GL transactions -----------------------------------------------------------------------

    def _post_gl(self, connection: Connection, doc: Document, now: datetime) -> int | None:
        """Enter the document's GL transaction (``lgrtrn`` + ``lgtnln``); its recnum, or None
        when the document carries none. ``lgrtrn.lgrrec`` is set to its own recnum."""
        gl_headers = doc.tables.get("lgrtrn", ())
        if not gl_headers:
            return None
        if len(gl_headers) > 1:
            raise SageWriteError(
                f"expected at most one GL transaction on {doc.module} {doc.key}, "
                f"got {len(gl_headers)}"
            )
        stamp = self._inserted(now, header=True)
        # lgrrec is NOT NULL and names the transaction's own recnum, which exists only once the
        # row does: insert 0, read the recnum back, then set it (one transaction).
        gl_ref = self._insert_generated(
            connection, lgrtrn, {**db_values("lgrtrn", gl_headers[0]), **stamp, "lgrrec": 0}
        )
        connection.execute(
            update(lgrtrn).where(lgrtrn.c._idnum == stamp["_idnum"]).values(lgrrec=gl_ref)
        )
        self._insert_children(
            connection, "lgtnln", doc.tables.get("lgtnln", ()), gl_ref, stamp["_idnum"], now
        )
        return gl_ref

    def _void_orphaned_gl(
        self, connection: Connection, kind: _InvoiceKind, key: str, now: datetime
    ) -> int:
        """Void active GL transactions of the window's source carrying ``key`` that no active
        invoice of that window references (the invoice was deleted by hand)."""
        header = kind.header
        referenced = exists().where(
            header.c.lgrrec == lgrtrn.c.recnum,
            or_(header.c.status.is_(None), header.c.status != _AR_VOID),
        )
        result = connection.execute(
            update(lgrtrn)
            .where(
                lgrtrn.c.usrdf1 == key,
                lgrtrn.c.srcnum == kind.source,
                or_(lgrtrn.c.status.is_(None), lgrtrn.c.status != _GL_VOID),
                ~referenced,
            )
            .values(status=_GL_VOID, **self._updated(now))
        )
        return int(result.rowcount)

    def _post_journal(self, connection: Connection, doc: Document) -> int:
        gl_ref = self._post_gl(connection, doc, self._clock())
        if gl_ref is None:  # check_document makes sure the header is there
            raise SageWriteError(f"expected a GL transaction on journal {doc.key}")
        return gl_ref

    def _void_journal(self, connection: Connection, ref: int) -> None:
        done = connection.execute(
            update(lgrtrn)
            .where(lgrtrn.c.recnum == ref, lgrtrn.c.srcnum == _JOURNAL_SOURCE)
            .values(status=_GL_VOID, **self._updated(self._clock()))
        )
        if done.rowcount == 0:
            raise SageRecordNotFoundError(
                f"expected journal transaction {ref} (lgrtrn, source 3), found none"
            )

    # -- invoices ------------------------------------------------------------------------------

    def _post_invoice(
        self, connection: Connection, kind: _InvoiceKind, doc: Document, *, vodrec: int | None
    ) -> int:
        header = db_values(kind.header.name, doc.header)
        if kind.header is acrinv and header.get("jobnum") is None:
            raise SageWriteError(
                f"expected a job on AR invoice {doc.key}: Sage's acrinv.jobnum is NOT NULL (the "
                "3-2 window enters every receivable invoice against a job); give the invoice a "
                "job before posting it"
            )
        now = self._clock()
        self._void_orphaned_gl(connection, kind, doc.key, now)
        gl_ref = self._post_gl(connection, doc, now)
        stamp = self._inserted(now, header=True)
        recnum = self._insert_generated(
            connection,
            kind.header,
            {**header, **stamp, "lgrrec": gl_ref or 0, **kind.amounts(header, vodrec)},
        )
        for table_name in kind.lines:
            self._insert_children(
                connection, table_name, doc.tables.get(table_name, ()), recnum, stamp["_idnum"], now
            )
        return recnum

    def _insert_children(
        self,
        connection: Connection,
        table_name: str,
        rows: Sequence[Row],
        parent: int,
        parent_id: uuid.UUID,
        now: datetime,
    ) -> None:
        if not rows:
            return
        table = TABLES[table_name]
        written = [
            {
                **db_values(table_name, row),
                **self._inserted(now, header=False),
                "_idref": parent_id,
                "recnum": parent,
            }
            for row in rows
        ]
        connection.execute(table.insert(), [{**window_zeros(table, r), **r} for r in written])

    def _void_invoice(self, connection: Connection, kind: _InvoiceKind, ref: int) -> None:
        header = kind.header
        found = connection.execute(select(header.c.lgrrec).where(header.c.recnum == ref)).first()
        if found is None:
            raise SageRecordNotFoundError(
                f"expected {kind.name} record {ref} in {header.name}, found none"
            )
        now = self._clock()
        # Sage keeps the balance of a void invoice (reference §2.4); open items exclude 4/5.
        connection.execute(
            update(header)
            .where(header.c.recnum == ref)
            .values(status=_AR_VOID, **self._updated(now))
        )
        shared = connection.execute(
            select(header.c.recnum).where(
                header.c.lgrrec == found[0], header.c.recnum != ref, header.c.status != _AR_VOID
            )
        ).first()
        # A GL transaction another active document still points at (a header row copied by
        # hand) stays: voiding the copy must not take the original's ledger entry with it.
        # lgrrec 0 means the invoice has none.
        if found[0] and shared is None:
            connection.execute(
                update(lgrtrn)
                .where(lgrtrn.c.recnum == found[0])
                .values(status=_GL_VOID, **self._updated(now))
            )

    # -- job cost ------------------------------------------------------------------------------

    def _post_job_cost(self, connection: Connection, doc: Document) -> int:
        values = {**db_values("jobcst", doc.header), **self._inserted(self._clock(), header=True)}
        return self._insert_generated(connection, jobcst, values)

    def _void_job_cost(self, connection: Connection, ref: int) -> None:
        done = connection.execute(
            update(jobcst)
            .where(jobcst.c.recnum == ref)
            .values(status=_JOB_COST_VOID, **self._updated(self._clock()))
        )
        if done.rowcount == 0:
            raise SageRecordNotFoundError(f"expected job cost record {ref} in jobcst, found none")

    # -- daily payroll -------------------------------------------------------------------------

    def _next_line(self, connection: Connection, day: date | None) -> int:
        """The next ``linnum`` of a pay date (max + 1, under the write lock as recnums are)."""
        same_day = dlypyr.c.paydte.is_(None) if day is None else dlypyr.c.paydte == day
        statement = (
            select(func.coalesce(func.max(dlypyr.c.linnum), 0))
            .where(same_day)
            .with_hint(dlypyr, "WITH (UPDLOCK, HOLDLOCK)", "mssql")
        )
        return int(connection.execute(statement).scalar_one()) + 1

    def _insert_payroll(self, connection: Connection, doc: Document) -> str:
        values = db_values("dlypyr", doc.header)
        stamp = self._inserted(self._clock(), header=True)
        line = self._next_line(connection, values.get("paydte"))
        row = {**values, **stamp, "linnum": line}
        connection.execute(dlypyr.insert(), {**window_zeros(dlypyr, row), **row})
        return guid_text(stamp["_idnum"])

    def _payroll_ref_of(self, connection: Connection, doc: Document) -> str:
        """The GUID of the one daily payroll line carrying ``doc``'s key."""
        if doc.key.startswith(LABOR_LINK):
            where = dlypyr.c.usrdf1 == doc.key
        elif doc.key.startswith(SAGE_PAYROLL):
            where = guid_equals(dlypyr.c._idnum, doc.key[len(SAGE_PAYROLL) :])
        else:
            raise ValueError(
                f"expected a daily payroll key {LABOR_LINK}… or {SAGE_PAYROLL}…, got {doc.key!r}"
            )
        refs = connection.execute(select(_guid_as_text()).where(where)).scalars().all()
        if not refs:
            raise SageRecordNotFoundError(f"expected a daily payroll line {doc.key}, found none")
        if len(refs) > 1:
            raise SageWriteError(
                f"expected one daily payroll line {doc.key}, found {len(refs)}; "
                "void the duplicates first"
            )
        return guid_text(refs[0])

    def _update_payroll(self, connection: Connection, doc: Document, ref: str) -> str:
        """Change a daily payroll line in place; a new pay date gets that date's next line."""
        where = guid_equals(dlypyr.c._idnum, ref)
        found = connection.execute(select(_guid_as_text(), dlypyr.c.paydte).where(where)).first()
        if found is None:
            raise SageRecordNotFoundError(
                f"expected daily payroll line {ref} in dlypyr, found none"
            )
        values = db_values("dlypyr", doc.header)
        if "paydte" in values and values["paydte"] != found[1]:
            values["linnum"] = self._next_line(connection, values["paydte"])
        connection.execute(
            update(dlypyr).where(where).values(**values, **self._updated(self._clock()))
        )
        return guid_text(found[0])

    def _delete_payroll(self, connection: Connection, ref: str) -> None:
        done = connection.execute(delete(dlypyr).where(guid_equals(dlypyr.c._idnum, ref)))
        if done.rowcount == 0:
            raise SageRecordNotFoundError(
                f"expected daily payroll line {ref} in dlypyr, found none"
            )


@dataclass(frozen=True, slots=True)
class StagedPosting:
    """One posting as a sink holds it until its flush: what to do, to which document or
    records."""

    posting_id: str
    action: str
    module: str
    key: str
    document: Document | None
    refs: tuple[int | str, ...] = ()


def staged_posting(
    posting_id: str,
    action: str,
    module: str,
    document: Document | None,
    refs: Sequence[int | str] = (),
    *,
    key: str | None = None,
) -> StagedPosting:
    """A posting checked as Sage would check it, before anything is written.

    ``create``/``update`` carry a document; ``replace`` a document and at most one ref (the
    record it voids; none: create); ``void`` one or more refs, and the document's key in
    ``key`` (a void carries no document). Raises ValueError for anything Sage would refuse.
    """
    if action not in ACTIONS:
        raise ValueError(f"expected an action among {', '.join(ACTIONS)}, got {action!r}")
    check_module(module)
    refs = tuple(refs)
    if action == VOID:
        if not refs:
            raise ValueError(f"expected the Sage records to void for posting {posting_id}")
        named = key if key is not None else (document.key if document is not None else "")
        return StagedPosting(str(posting_id), action, module, named, None, refs)
    if document is None or document.module != module:
        raise ValueError(f"expected a {module} document to {action}, got {document!r}")
    check_document(document)
    if action == UPDATE:
        check_updatable(module)
    if action == REPLACE and len(refs) > 1:
        raise ValueError(f"expected at most one record to replace, got {list(refs)}")
    for table, rows in document.tables.items():
        for row in rows:
            db_values(table, row)  # refuses unknown columns and malformed text
    return StagedPosting(str(posting_id), action, module, document.key, document, refs)


def check_module(module: str) -> None:
    if module not in SINK_MODULES:
        raise ValueError(f"expected a module among {', '.join(SINK_MODULES)}, got {module!r}")


def check_updatable(module: str) -> None:
    if module not in UPDATABLE_MODULES:
        raise ValueError(
            f"expected a master or a daily payroll line to update, got {module}: posted "
            "documents are corrected by replace (void and re-enter), not updated in place"
        )


def check_document(doc: Document) -> None:
    """Refuse a document the sink cannot write (a caller bug): unknown module or tables, not
    exactly one header row, a journal of another source."""
    check_module(doc.module)
    unknown = set(doc.tables) - set(DOCUMENT_TABLES[doc.module])
    if unknown:
        raise ValueError(
            f"expected {doc.module} tables among {', '.join(DOCUMENT_TABLES[doc.module])}, "
            f"got {', '.join(sorted(unknown))}"
        )
    if len(doc.tables.get(HEADER_TABLE[doc.module], ())) != 1:
        raise ValueError(f"expected one {HEADER_TABLE[doc.module]} row in {doc.key}")
    if doc.module == JOURNAL and doc.header.get("srcnum") != SOURCE_JOURNAL:
        raise ValueError(
            f"expected journal {doc.key} to carry source {SOURCE_JOURNAL} (1-3), "
            f"got {doc.header.get('srcnum')!r}"
        )


def _record_number(ref: int | str) -> int:
    try:
        return int(ref)
    except ValueError as exc:
        raise ValueError(f"expected a Sage record number, got {ref!r}") from exc


def _master_number(doc: Document) -> int:
    number = doc.header.get("recnum")
    if number is None:
        raise ValueError(f"expected a recnum on {doc.module} document {doc.key}")
    return int(number)


def _guid_as_text() -> Any:
    """``dlypyr._idnum`` as the driver returns it: a GUID typed in by hand is no valid UUID."""
    return type_coerce(dlypyr.c._idnum, Unicode())


def _link_column(table: Table) -> Any:
    return table.c.usrdf1 if table is reccln else table.c.recnum
