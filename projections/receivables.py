"""What Sage should hold for clients, jobs and receivable invoices, derived from the ledger.

Runs after the sources projection in the same transaction, so it derives documents from the
latest recorded state of every record an event touched, and of the records that depend on
it (a location's tax group changes its invoices; a new location gets a job number). Sage
numbers (client #, job #) are handed out in the order records were first recorded, so a
rebuild from the log gives every record the number it had.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Select, delete, func, select

from domain.builders import (
    BilledTotalsError,
    ar_invoice_document,
    ar_skip_reason,
    client_document,
    job_document,
    job_job_name,
    location_job_name,
)
from domain.documents import (
    AR_INVOICES,
    CLIENTS,
    JOBS,
    Document,
)
from domain.keys import invoice_key, job_key
from domain.mapping import JOB_PER_JOB, Mapping, MappingError
from domain.ports import StoredEvent
from domain.source import (
    ACCOUNTABLE_INVOICE_STATUSES,
    SERVICETRADE,
    Company,
    Invoice,
    Job,
    Location,
    from_payload,
)
from projections.links import TOPICS as LINK_TOPICS
from projections.links import number_kind, records_before, renumber, taken
from projections.rows import document_row, problem_row, replace_documents
from projections.sources import TOPICS
from projections.tables import (
    among,
    expected_document,
    location_tax,
    records,
    sage_number,
    sage_taken,
    source_state,
    upsert,
)

CLIENT = "client"
JOB = "job"
#: The source kinds whose documents a change of client or job numbers derives again.
NUMBERED_KINDS = ("company", "location", "job", "invoice")
#: The modules whose documents this projection owns (the costs projection owns the others).
MODULES = (CLIENTS, JOBS, AR_INVOICES)
_CHUNK = 500  # records derived between writes


class ReceivablesProjection:
    """The clients, jobs and receivable invoices Sage should hold, with the numbers recon
    assigned to clients and jobs."""

    name = "receivables"

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping

    def fingerprint(self) -> str:
        return "receivables-6:" + self.mapping.fingerprint()

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(expected_document).where(expected_document.c.module.in_(MODULES)))
        conn.execute(delete(sage_number).where(sage_number.c.kind.in_((CLIENT, JOB))))
        conn.execute(delete(sage_taken).where(sage_taken.c.kind.in_((CLIENT, JOB))))
        conn.execute(delete(location_tax))

    def apply(self, conn: Connection, events: Sequence[StoredEvent]) -> None:
        # An adoption or a change of the numbers taken in Sage renumbers at its place in the
        # log: what came before it is derived first, so a rebuild gives every record the
        # number it had, wherever the pages fall.
        ids: list[str] = []
        for e in events:
            if e.topic in TOPICS:
                ids.append(e.originator_id)
            elif e.topic in LINK_TOPICS and number_kind(e) in (CLIENT, JOB):
                self._derive(conn, ids)
                ids = []
                if renumber(conn, e):
                    self._derive(
                        conn, records_before(conn, SERVICETRADE, NUMBERED_KINDS, e.position)
                    )
        self._derive(conn, ids)

    def _derive(self, conn: Connection, ids: list[str]) -> None:
        unique = list(dict.fromkeys(ids))
        if unique:
            _Derivation(conn, self.mapping).run(unique)


class _Derivation:
    """One page's worth of derivation, with the source rows it needed loaded once."""

    def __init__(self, conn: Connection, mapping: Mapping) -> None:
        self.conn = conn
        self.mapping = mapping
        self.rows: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.snapshots: dict[tuple[str, str], Any] = {}
        self.numbers: dict[tuple[str, str], int] = {}
        self.looked_up: set[tuple[str, str]] = set()  # number keys already asked of the table
        self.new_numbers: list[dict[str, Any]] = []
        self.next_number: dict[str, int] = {}
        self.taken: dict[str, set[int]] = {}
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}
        self.dropped: set[tuple[str, str]] = set()

    # -- loading ---------------------------------------------------------------------------

    def _remember(self, query: Select[Any]) -> list[dict[str, Any]]:
        loaded = records(self.conn, query)
        for record in loaded:
            self.rows[(record["kind"], record["source_id"])] = record
        return loaded

    def _load(self, kind: str, source_ids: Iterable[str]) -> None:
        wanted = [i for i in set(source_ids) if i and (kind, i) not in self.rows]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            self._remember(
                select(source_state).where(
                    source_state.c.system == SERVICETRADE,
                    source_state.c.kind == kind,
                    among(self.conn, source_state.c.source_id, chunk),
                )
            )
            for source_id in chunk:
                self.rows.setdefault((kind, source_id), None)

    def _snapshot(self, kind: str, source_id: str | None) -> Any:
        if not source_id:
            return None
        key = (kind, source_id)
        if key in self.snapshots:
            return self.snapshots[key]
        if key not in self.rows:
            self._load(kind, [source_id])
        row = self.rows.get(key)
        snapshot = None
        if row is not None and row["payload"] is not None:
            snapshot = from_payload(kind, orjson.loads(row["payload"]))
        self.snapshots[key] = snapshot  # an invoice's location is read once per page
        return snapshot

    def _dependents(self, column: str, values: set[str], kind: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        items = sorted(values)
        for start in range(0, len(items), 500):
            found.extend(
                self._remember(
                    select(source_state).where(
                        source_state.c.kind == kind,
                        among(
                            self.conn, getattr(source_state.c, column), items[start : start + 500]
                        ),
                    )
                )
            )
        return found

    # -- numbering -------------------------------------------------------------------------

    def _load_numbers(self, kind: str, source_ids: Iterable[str | None]) -> None:
        """Read the numbers already given to these records, in one query per 500."""
        wanted = sorted({i for i in source_ids if i and (kind, i) not in self.looked_up})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            query = select(sage_number.c.source_id, sage_number.c.number).where(
                sage_number.c.kind == kind, among(self.conn, sage_number.c.source_id, chunk)
            )
            for source_id, found in self.conn.execute(query):
                self.numbers[(kind, source_id)] = int(found)
            self.looked_up.update((kind, i) for i in chunk)

    def number(self, kind: str, source_id: str) -> int:
        key = (kind, source_id)
        if key not in self.looked_up:
            self._load_numbers(kind, [source_id])
        if key not in self.numbers:
            if kind not in self.next_number:
                highest = self.conn.execute(
                    select(func.max(sage_number.c.number)).where(sage_number.c.kind == kind)
                ).scalar()
                start = (
                    self.mapping.client_number_start
                    if kind == CLIENT
                    else self.mapping.job_number_start
                )
                self.next_number[kind] = start if highest is None else int(highest) + 1
                self.taken[kind] = taken(self.conn, kind)
            # Numbers the office uses for records recon neither created nor adopted are
            # never given out (recon would overwrite them).
            while self.next_number[kind] in self.taken[kind]:
                self.next_number[kind] += 1
            self.numbers[key] = self.next_number[kind]
            self.next_number[kind] += 1
            self.new_numbers.append(
                {"kind": kind, "source_id": source_id, "number": self.numbers[key]}
            )
        return self.numbers[key]

    # -- derivation ------------------------------------------------------------------------

    def run(self, record_ids: list[str]) -> None:
        touched: list[dict[str, Any]] = []
        for start in range(0, len(record_ids), 500):
            touched.extend(
                self._remember(
                    select(source_state).where(
                        among(self.conn, source_state.c.record_id, record_ids[start : start + 500])
                    )
                )
            )
        touched = [r for r in touched if r["system"] == SERVICETRADE]
        jobs = {r["source_id"] for r in touched if r["kind"] == "job"}
        affected = {(r["kind"], r["source_id"]): r for r in touched}
        changed = self._tax_changed([r for r in touched if r["kind"] == "location"])
        if changed:
            for r in self._dependents("location_id", changed, "invoice"):
                affected[(r["kind"], r["source_id"])] = r
        customers = self._customer_changed([r for r in touched if r["kind"] == "company"])
        if customers:
            # A job names its customer's client number: one recorded before its company
            # became (or stopped being) a customer is derived again.
            named_by = "job" if self.mapping.job_numbering == JOB_PER_JOB else "location"
            for r in self._dependents("company_id", customers, named_by):
                affected[(r["kind"], r["source_id"])] = r
        if jobs and self.mapping.job_numbering == JOB_PER_JOB:
            for r in self._dependents("job_id", jobs, "invoice"):
                affected[(r["kind"], r["source_id"])] = r
        ordered = sorted(affected.values(), key=lambda r: r["first_position"])
        del touched, affected
        self._load("location", (r["location_id"] for r in ordered if r["kind"] == "invoice"))
        self._load("company", (r["company_id"] for r in ordered if r["company_id"]))
        # The numbers the records below may need, read at once rather than one by one.
        self._load_numbers(CLIENT, (i for kind, i in self.rows if kind == "company"))
        if self.mapping.job_numbering == JOB_PER_JOB:
            job_ids = (r["source_id"] if r["kind"] == "job" else r["job_id"] for r in ordered)
            self._load_numbers(JOB, job_ids)
        else:
            self._load_numbers(JOB, (i for kind, i in self.rows if kind == "location"))
        # Derived and written a chunk at a time, each invoice forgotten once derived: a page of
        # location changes re-derives all their invoices (thousands), and memory stays bounded.
        pending = deque(ordered)
        del ordered
        while pending:
            for _ in range(min(_CHUNK, len(pending))):
                self._derive(pending.popleft())
            self._write()

    def _tax_changed(self, locations: list[dict[str, Any]]) -> set[str]:
        """The locations whose tax group or taxability changed (or that are new): only their
        invoices need deriving again; a renamed location's invoices stay as they are."""
        if not locations:
            return set()
        ids = [r["source_id"] for r in locations]
        held = {
            row.location_id: (row.tax_group, row.taxable)
            for row in self.conn.execute(
                select(location_tax).where(among(self.conn, location_tax.c.location_id, ids))
            )
        }
        now: dict[str, tuple[str, bool]] = {}
        for row in locations:
            if row["payload"] is not None:
                payload = orjson.loads(row["payload"])
                now[row["source_id"]] = (payload.get("tax_group", ""), bool(payload["taxable"]))
        changed = {i for i, values in now.items() if held.get(i) != values}
        upsert(
            self.conn,
            location_tax,
            [{"location_id": i, "tax_group": now[i][0], "taxable": now[i][1]} for i in changed],
        )
        return changed

    def _customer_changed(self, companies: list[dict[str, Any]]) -> set[str]:
        """The companies that became customers, or stopped being ones, by whether a client
        document is held for them: the jobs naming them need their client number again."""
        if not companies:
            return set()
        ids = [r["source_id"] for r in companies]
        held = {
            str(source_id)
            for (source_id,) in self.conn.execute(
                select(expected_document.c.source_id).where(
                    expected_document.c.module == CLIENTS,
                    expected_document.c.source_kind == "company",
                    among(self.conn, expected_document.c.source_id, ids),
                )
            )
        }
        now = {
            r["source_id"]
            for r in companies
            if r["payload"] is not None and orjson.loads(r["payload"]).get("customer")
        }
        return (now - held) | (held - now)

    def _derive(self, row: dict[str, Any]) -> None:
        kind = row["kind"]
        if kind == "company":
            self._client(row)
        elif kind == "location" and self.mapping.job_numbering != JOB_PER_JOB:
            self._location_job(row)
        elif kind == "job" and self.mapping.job_numbering == JOB_PER_JOB:
            self._job_job(row)
        elif kind == "invoice":
            self._invoice(row)
            # no record depends on an invoice: nothing later in the page reads it again
            self.rows.pop((kind, row["source_id"]), None)
            self.snapshots.pop((kind, row["source_id"]), None)

    def _write(self) -> None:
        """Write the chunk's numbers, removals and documents, each in one statement."""
        if self.new_numbers:
            self.conn.execute(sage_number.insert(), self.new_numbers)
        replace_documents(self.conn, self.dropped, self.documents.values())
        self.new_numbers.clear()
        self.dropped.clear()
        self.documents.clear()

    def _put(self, document: Document, kind: str, source_id: str) -> None:
        self.documents[(document.module, document.key)] = document_row(document, kind, source_id)

    def _problem(self, module: str, key: str, kind: str, source_id: str, problem: str) -> None:
        self.documents[(module, key)] = problem_row(module, key, kind, source_id, problem)

    def _drop(self, kind: str, source_id: str) -> None:
        """No document for this record: its rows go when the page is written.

        Every record is derived once per page, so nothing this page derived comes from it.
        """
        self.dropped.add((kind, source_id))

    def _client(self, row: dict[str, Any]) -> None:
        company = self._snapshot("company", row["source_id"])
        if not isinstance(company, Company) or not company.customer:
            self._drop("company", row["source_id"])
            return
        if row["deleted"]:
            company = Company(**{**_fields(company), "status": "inactive"})
        self._put(client_document(company, self.number(CLIENT, company.id)), "company", company.id)

    def _client_number(self, company_id: str | None) -> int | None:
        company = self._snapshot("company", company_id)
        if not isinstance(company, Company) or not company.customer:
            return None
        return self.number(CLIENT, company.id)

    def _location_job(self, row: dict[str, Any]) -> None:
        location = self._snapshot("location", row["source_id"])
        if not isinstance(location, Location):
            return
        self._drop("location", location.id)  # renumbered (adopted): its old key goes
        number = self.number(JOB, location.id)
        try:
            district = self.mapping.district_for(location.tax_group)
        except MappingError as exc:
            self._problem(JOBS, job_key(number), "location", location.id, str(exc))
            return
        active = location.status == "active" and not row["deleted"]
        document = job_document(
            number,
            location_job_name(location),
            self._client_number(location.company_id),
            location,
            district,
            active,
        )
        self._put(document, "location", location.id)

    def _job_job(self, row: dict[str, Any]) -> None:
        job = self._snapshot("job", row["source_id"])
        if not isinstance(job, Job):
            return
        self._drop("job", job.id)  # renumbered (adopted): its old key goes
        number = self.number(JOB, job.id)
        location = self._snapshot("location", job.location_id)
        location = location if isinstance(location, Location) else None
        try:
            district = self.mapping.district_for(location.tax_group) if location else None
        except MappingError as exc:
            self._problem(JOBS, job_key(number), "job", job.id, str(exc))
            return
        active = job.status not in ("completed", "closed", "canceled") and not row["deleted"]
        document = job_document(
            number,
            job_job_name(job),
            self._client_number(job.customer_id),
            location,
            district,
            active,
        )
        self._put(document, "job", job.id)

    def _invoice(self, row: dict[str, Any]) -> None:
        invoice = self._snapshot("invoice", row["source_id"])
        key = invoice_key(row["source_id"])
        # A type recon does not post (ar_skip_reason) makes no document and no finding: status
        # and the write-back show it as skipped, with the reason, from the source record.
        if not isinstance(invoice, Invoice) or ar_skip_reason(invoice) is not None:
            self._drop("invoice", row["source_id"])
            return
        voided = invoice.status == "void" or bool(row["deleted"])
        handed_off = invoice.status in ACCOUNTABLE_INVOICE_STATUSES
        if not row["accountable"] or (not voided and not handed_off):
            self._drop("invoice", invoice.id)
            return
        location = self._snapshot("location", invoice.location_id)
        if not isinstance(location, Location):
            self._problem(
                AR_INVOICES,
                key,
                "invoice",
                invoice.id,
                f"invoice {invoice.number}: ServiceTrade location {invoice.location_id} "
                "has not been recorded (is it quarantined?)",
            )
            return
        if self.mapping.job_numbering == JOB_PER_JOB and not invoice.job_id:
            self._problem(
                AR_INVOICES,
                key,
                "invoice",
                invoice.id,
                f"invoice {invoice.number} names no ServiceTrade job: a 3-2 invoice needs a Sage "
                'job (acrinv.jobnum is NOT NULL); with mapping.job_numbering = "job" every '
                "invoice must belong to a job",
            )
            return
        job_number = self.number(
            JOB, invoice.job_id if self.mapping.job_numbering == JOB_PER_JOB else location.id
        )
        try:
            document = ar_invoice_document(
                invoice,
                job_number=job_number,
                location=location,
                mapping=self.mapping,
                voided=voided,
            )
        except (MappingError, BilledTotalsError) as exc:
            self._problem(
                AR_INVOICES, key, "invoice", invoice.id, f"invoice {invoice.number}: {exc}"
            )
            return
        self._put(document, "invoice", invoice.id)


def _fields(company: Company) -> dict[str, Any]:
    return {f: getattr(company, f) for f in Company.__dataclass_fields__}
