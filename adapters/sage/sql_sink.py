"""The ``sql`` posting sink: writes to Sage's tables what the Sage window would write.

Each action (create, replace, void, update) is ONE database transaction and returns the Sage
record number it wrote. Receivable invoices get their GL transaction (``lgrtrn`` + ``lgtnln``,
source 5) first, then the invoice (``acrinv`` + ``arivln`` + ``artxdt``), linked by
``acrinv.lgrrec = lgrtrn.recnum``. Posted invoices are corrected as Sage does it: void the old
one (status 5, ``invbal`` kept; its GL status 3) and enter a new one whose ``vodrec`` names it.

Used for the sandbox and, opt-in, for sites that accept direct SQL writes (docs/sage.md).

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
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, Engine, Table, exists, func, or_, select, update

from adapters.sage.engine import WRITE_OPTION
from adapters.sage.errors import SageRecordNotFoundError, SageWriteError, translating
from adapters.sage.schema import TABLES, acrinv, lgrtrn, reccln
from domain.documents import (
    AR_INVOICES,
    AR_STATUS_VOID,
    CLIENTS,
    COLUMNS,
    DATE,
    DOCUMENT_TABLES,
    GL_STATUS_VOID,
    HEADER_TABLE,
    INT,
    JOBS,
    SOURCE_AR_INVOICE,
    TEXT,
    Document,
    Row,
)

Fault = Callable[[str], None]
FAULT_STEPS = ("before_write", "before_commit", "after_write")
SINK_MODULES = (CLIENTS, JOBS, AR_INVOICES)
CLIENT_LINK_PREFIX = "ST-CO-"
JOB_STATUS_CLOSED = 6
CLIENT_INACTIVE = 1
_AR_VOID = int(AR_STATUS_VOID)
_GL_VOID = int(GL_STATUS_VOID)
_AR_SOURCE = int(SOURCE_AR_INVOICE)
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
    kinds = COLUMNS[table_name]
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

    # -- actions -------------------------------------------------------------------------------

    def create(self, doc: Document) -> int:
        """Write ``doc``; returns the header recnum (masters: the document's own number)."""
        _check(doc)
        with self._transaction(f"posting {doc.module} {doc.key} to Sage") as connection:
            if doc.module == AR_INVOICES:
                return self._post_invoice(connection, doc, vodrec=None)
            return self._upsert(connection, doc)

    def replace(self, doc: Document, old_ref: int | str) -> int:
        """Void record ``old_ref`` and enter ``doc`` in its place; returns the new recnum.

        Invoices: the new ``acrinv.vodrec`` is ``old_ref``. Masters: a master with the same
        number is updated in place; with another number the old one is made inactive/closed.
        """
        _check(doc)
        old_ref = int(old_ref)
        action = f"replacing {doc.module} record {old_ref} with {doc.key} in Sage"
        with self._transaction(action) as connection:
            if doc.module == AR_INVOICES:
                self._void_invoice(connection, old_ref)
                return self._post_invoice(connection, doc, vodrec=old_ref)
            if _master_number(doc) != old_ref:
                self._void_master(connection, doc.module, old_ref)
            return self._upsert(connection, doc)

    def void(self, module: str, ref: int | str) -> None:
        """Void an invoice (status 5, GL status 3), deactivate a client, close a job."""
        _check_module(module)
        ref = int(ref)
        with self._transaction(f"voiding {module} record {ref} in Sage") as connection:
            if module == AR_INVOICES:
                self._void_invoice(connection, ref)
            else:
                self._void_master(connection, module, ref)

    def update(self, doc: Document) -> int:
        """Update a client or job in place by its number; posted invoices are replaced instead."""
        _check(doc)
        if doc.module == AR_INVOICES:
            raise ValueError(
                "expected a client or job: posted invoices are corrected by replace "
                "(void and re-enter), not updated in place"
            )
        with self._transaction(f"updating {doc.module} {doc.key} in Sage") as connection:
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
            zeros = {"begbal": _ZERO, "endbal": _ZERO}
            connection.execute(
                table.insert(), {**zeros, **values, **self._inserted(now, header=True)}
            )
            return recnum
        link = existing[1]
        if (
            doc.module == CLIENTS
            and isinstance(link, str)
            and link.startswith(CLIENT_LINK_PREFIX)
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
        change = {"inactv": CLIENT_INACTIVE} if module == CLIENTS else {"status": JOB_STATUS_CLOSED}
        done = connection.execute(
            update(table)
            .where(table.c.recnum == ref)
            .values(**change, **self._updated(self._clock()))
        )
        if done.rowcount == 0:
            raise SageRecordNotFoundError(f"expected {table.name} record {ref}, found none")

    # -- receivable invoices -------------------------------------------------------------------

    def _next_recnum(self, connection: Connection, table: Table) -> int:
        """max(recnum) + 1 in the write transaction (locked on SQL Server, IMMEDIATE on SQLite)."""
        statement = select(func.coalesce(func.max(table.c.recnum), 0)).with_hint(
            table, "WITH (UPDLOCK, HOLDLOCK)", "mssql"
        )
        return int(connection.execute(statement).scalar_one()) + 1

    def _void_orphaned_gl(self, connection: Connection, key: str, now: datetime) -> int:
        """Void active AR GL transactions carrying ``key`` that no active invoice references."""
        referenced = exists().where(
            acrinv.c.lgrrec == lgrtrn.c.recnum,
            or_(acrinv.c.status.is_(None), acrinv.c.status != _AR_VOID),
        )
        result = connection.execute(
            update(lgrtrn)
            .where(
                lgrtrn.c.usrdf1 == key,
                lgrtrn.c.srcnum == _AR_SOURCE,
                or_(lgrtrn.c.status.is_(None), lgrtrn.c.status != _GL_VOID),
                ~referenced,
            )
            .values(status=_GL_VOID, **self._updated(now))
        )
        return int(result.rowcount)

    def _post_invoice(self, connection: Connection, doc: Document, *, vodrec: int | None) -> int:
        now = self._clock()
        self._void_orphaned_gl(connection, doc.key, now)
        gl_headers = doc.tables.get("lgrtrn", ())
        if len(gl_headers) > 1:
            raise SageWriteError(
                f"expected at most one GL transaction on invoice {doc.key}, got {len(gl_headers)}"
            )
        gl_ref: int | None = None
        if gl_headers:
            gl_ref = self._next_recnum(connection, lgrtrn)
            gl_stamp = self._inserted(now, header=True)
            connection.execute(
                lgrtrn.insert(),
                {
                    **db_values("lgrtrn", gl_headers[0]),
                    **gl_stamp,
                    "recnum": gl_ref,
                    "lgrrec": gl_ref,
                },
            )
            self._insert_children(
                connection, "lgtnln", doc.tables.get("lgtnln", ()), gl_ref, gl_stamp["_idnum"], now
            )
        header = db_values("acrinv", doc.header)
        total = header.get("invttl") or _ZERO
        subtotal = (header.get("taxabl") or _ZERO) + (header.get("nontax") or _ZERO)
        recnum = self._next_recnum(connection, acrinv)
        stamp = self._inserted(now, header=True)
        connection.execute(
            acrinv.insert(),
            {
                **header,
                **stamp,
                "recnum": recnum,
                "lgrrec": gl_ref,
                "vodrec": vodrec,
                "subttl": subtotal,
                "invamt": _ZERO,
                "retain": _ZERO,
                "amtpad": _ZERO,
                "ttlpad": _ZERO,
                "dsctkn": _ZERO,
                "dscavl": _ZERO,
                "invbal": total,
                "invnet": total,
            },
        )
        for table_name in ("arivln", "artxdt"):
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
        connection.execute(
            TABLES[table_name].insert(),
            [
                {
                    **db_values(table_name, row),
                    **self._inserted(now, header=False),
                    "_idref": parent_id,
                    "recnum": parent,
                }
                for row in rows
            ],
        )

    def _void_invoice(self, connection: Connection, ref: int) -> None:
        found = connection.execute(select(acrinv.c.lgrrec).where(acrinv.c.recnum == ref)).first()
        if found is None:
            raise SageRecordNotFoundError(f"expected AR invoice record {ref} in acrinv, found none")
        now = self._clock()
        # Sage keeps invbal on a void (reference §2.4); open AR excludes status 4/5 instead.
        connection.execute(
            update(acrinv)
            .where(acrinv.c.recnum == ref)
            .values(status=_AR_VOID, **self._updated(now))
        )
        if found[0] is not None:
            connection.execute(
                update(lgrtrn)
                .where(lgrtrn.c.recnum == found[0])
                .values(status=_GL_VOID, **self._updated(now))
            )


def _check_module(module: str) -> None:
    if module not in SINK_MODULES:
        raise ValueError(f"expected a module among {', '.join(SINK_MODULES)}, got {module!r}")


def _check(doc: Document) -> None:
    _check_module(doc.module)
    unknown = set(doc.tables) - set(DOCUMENT_TABLES[doc.module])
    if unknown:
        raise ValueError(
            f"expected {doc.module} tables among {', '.join(DOCUMENT_TABLES[doc.module])}, "
            f"got {', '.join(sorted(unknown))}"
        )
    if len(doc.tables.get(HEADER_TABLE[doc.module], ())) != 1:
        raise ValueError(f"expected one {HEADER_TABLE[doc.module]} row in {doc.key}")


def _master_number(doc: Document) -> int:
    number = doc.header.get("recnum")
    if number is None:
        raise ValueError(f"expected a recnum on {doc.module} document {doc.key}")
    return int(number)


def _link_column(table: Table) -> Any:
    return table.c.usrdf1 if table is reccln else table.c.recnum
