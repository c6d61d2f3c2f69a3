"""What Sage should hold for vendors, payables, journal transactions, job cost and daily
payroll, derived from PartsLedger purchasing and ServiceTrade labor and parts.

Runs after the ``expected`` projection in the same transaction (it reads the job numbers that
projection hands out), from the latest recorded state of every record an event touched.
Vendor numbers are handed out here, in the order vendors were first recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select

from domain.builders import (
    ap_invoice_document,
    bill_job_costs,
    parts_job_cost,
    parts_journal_document,
    payroll_document,
    vendor_document,
)
from domain.documents import (
    AP_INVOICES,
    DAILY_PAYROLL,
    JOB_COST,
    JOURNAL,
    VENDORS,
    Document,
)
from domain.keys import bill_key, labor_key, parts_key
from domain.mapping import JOB_PER_JOB, Mapping, MappingError
from domain.ports import StoredEvent
from domain.source import (
    PARTSLEDGER,
    SERVICETRADE,
    Job,
    JobItem,
    User,
    Vendor,
    VendorBill,
    from_payload,
)
from projections.links import TOPICS as LINK_TOPICS
from projections.links import next_free, number_kind, records_before, renumber, taken
from projections.rows import document_row, problem_row, replace_documents
from projections.sources import TOPICS
from projections.tables import (
    among,
    expected_document,
    sage_number,
    sage_taken,
    source_state,
)

MODULES = (VENDORS, AP_INVOICES, JOURNAL, JOB_COST, DAILY_PAYROLL)
#: The source kinds whose changes this projection derives documents from.
COST_KINDS = ("vendor", "bill", "jobitem")
VENDOR = "vendor"
#: ServiceTrade job items that cost a job: what the technician worked or took from stock.
LABOR = "labor"


class CostsProjection:
    """Expected documents of the five cost modules, and the vendor numbers recon assigned."""

    name = "costs"

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping

    def fingerprint(self) -> str:
        return "costs-4:" + self.mapping.fingerprint()

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(expected_document).where(expected_document.c.module.in_(MODULES)))
        conn.execute(delete(sage_number).where(sage_number.c.kind == VENDOR))
        conn.execute(delete(sage_taken).where(sage_taken.c.kind == VENDOR))

    def apply(self, conn: Connection, events: Sequence[StoredEvent]) -> None:
        # Vendor adoptions and taken vendor numbers renumber at their place in the log (what
        # came before is derived first); a client or job renumbered by the receivables
        # projection re-derives every cost document at the end of the page, when the job
        # numbers it reads are final.
        ids: list[str] = []
        last_job_change: int | None = None
        for e in events:
            if e.topic in TOPICS:
                ids.append(e.originator_id)
            elif e.topic in LINK_TOPICS:
                kind = number_kind(e)
                if kind == VENDOR:
                    self._derive(conn, ids)
                    ids = []
                    if renumber(conn, e):
                        self._derive(conn, self._all(conn, e.position))
                elif kind is not None:
                    last_job_change = e.position
        if last_job_change is not None:
            ids.extend(self._all(conn, last_job_change))
        self._derive(conn, ids)

    @staticmethod
    def _all(conn: Connection, position: int) -> list[str]:
        return [
            *records_before(conn, PARTSLEDGER, ("vendor", "bill"), position),
            *records_before(conn, SERVICETRADE, ("jobitem",), position),
        ]

    def _derive(self, conn: Connection, ids: list[str]) -> None:
        unique = list(dict.fromkeys(ids))
        if unique:
            _Costs(conn, self.mapping).run(unique)


class _Costs:
    def __init__(self, conn: Connection, mapping: Mapping) -> None:
        self.conn = conn
        self.mapping = mapping
        self.cache: dict[tuple[str, str, str], Any] = {}
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}
        self.dropped: set[tuple[str, str]] = set()

    def _rows(self, condition: Any) -> list[dict[str, Any]]:
        result = self.conn.execute(select(source_state).where(condition))
        names = tuple(result.keys())
        return [dict(zip(names, row, strict=True)) for row in result.all()]

    def _snapshot(self, system: str, kind: str, source_id: str) -> Any:
        key = (system, kind, source_id)
        if key not in self.cache:
            found = self._rows(
                (source_state.c.system == system)
                & (source_state.c.kind == kind)
                & (source_state.c.source_id == source_id)
            )
            payload = found[0]["payload"] if found else None
            self.cache[key] = None if payload is None else from_payload(kind, orjson.loads(payload))
        return self.cache[key]

    def run(self, record_ids: list[str]) -> None:
        touched: list[dict[str, Any]] = []
        for start in range(0, len(record_ids), 500):
            touched.extend(
                self._rows(
                    among(self.conn, source_state.c.record_id, record_ids[start : start + 500])
                    & source_state.c.kind.in_(COST_KINDS)
                )
            )
        for row in sorted(touched, key=lambda r: r["first_position"]):
            system, kind = row["system"], row["kind"]
            if system == PARTSLEDGER and kind == "vendor":
                self._vendor(row)
            elif system == PARTSLEDGER and kind == "bill":
                self._bill(row)
            elif system == SERVICETRADE and kind == "jobitem":
                self._job_item(row)
        replace_documents(self.conn, self.dropped, self.documents.values())

    # -- numbers ---------------------------------------------------------------------------

    def vendor_number(self, vendor_id: str) -> int:
        found = self.conn.execute(
            select(sage_number.c.number).where(
                sage_number.c.kind == VENDOR, sage_number.c.source_id == vendor_id
            )
        ).scalar()
        if found is not None:
            return int(found)
        number = next_free(self.conn, VENDOR, self.mapping.vendor_number_start)
        # Numbers the office uses for vendors recon neither created nor adopted are never
        # given out.
        held = taken(self.conn, VENDOR)
        while number in held:
            number += 1
        self.conn.execute(
            sage_number.insert().values(kind=VENDOR, source_id=vendor_id, number=number)
        )
        return number

    def job_number(self, st_job_id: str) -> int:
        """The Sage job a ServiceTrade job's costs go to (its location's, or its own)."""
        source_id = st_job_id
        if self.mapping.job_numbering != JOB_PER_JOB:
            job = self._snapshot(SERVICETRADE, "job", st_job_id)
            if not isinstance(job, Job):
                raise MappingError(f"ServiceTrade job {st_job_id} has not been recorded")
            source_id = job.location_id
        found = self.conn.execute(
            select(sage_number.c.number).where(
                sage_number.c.kind == "job", sage_number.c.source_id == source_id
            )
        ).scalar()
        if found is None:
            raise MappingError(
                f"ServiceTrade job {st_job_id} has no Sage job yet (its location is not recorded)"
            )
        return int(found)

    # -- documents -------------------------------------------------------------------------

    def _put(self, document: Document, kind: str, source_id: str) -> None:
        if document.is_void and self._held_by_another(document, kind, source_id):
            return
        self.documents[(document.module, document.key)] = document_row(document, kind, source_id)

    def _held_by_another(self, document: Document, kind: str, source_id: str) -> bool:
        """Whether another source's active document has this key: a bill voided and entered
        again under the same vendor invoice number leaves void job cost rows whose natural key
        the new bill's active rows share, and the active ones are what Sage must show."""
        held = self.documents.get((document.module, document.key))
        if held is None:
            found = self.conn.execute(
                select(
                    expected_document.c.amount,
                    expected_document.c.source_kind,
                    expected_document.c.source_id,
                ).where(
                    expected_document.c.module == document.module,
                    expected_document.c.key == document.key,
                )
            ).first()
            # A stored row of a record re-derived this page is about to go: it holds nothing.
            if found is None or (found.source_kind, found.source_id) in self.dropped:
                return False
            held = dict(found._mapping)
        owner = (held["source_kind"], held["source_id"])
        return owner != (kind, source_id) and held["amount"] is not None

    def _problem(self, module: str, key: str, kind: str, source_id: str, problem: str) -> None:
        self.documents[(module, key)] = problem_row(module, key, kind, source_id, problem)

    def _drop(self, kind: str, source_id: str) -> None:
        """Forget what a source record produced before (its documents are derived afresh);
        the rows go when the page is written. Each record is derived once per page."""
        self.dropped.add((kind, source_id))

    def _vendor(self, row: dict[str, Any]) -> None:
        vendor = self._snapshot(PARTSLEDGER, "vendor", row["source_id"])
        if not isinstance(vendor, Vendor):
            return
        self._drop("vendor", vendor.id)  # renumbered (adopted): its old key goes
        self._put(vendor_document(vendor, self.vendor_number(vendor.id)), "vendor", vendor.id)

    def _bill(self, row: dict[str, Any]) -> None:
        bill_id = row["source_id"]
        self._drop("bill", bill_id)
        bill = self._snapshot(PARTSLEDGER, "bill", bill_id)
        if not isinstance(bill, VendorBill):
            return
        voided = bill.status == "voided" or bool(row["deleted"])
        try:
            vendor = self.vendor_number(bill.vendor_id)
            jobs = {line.job_id: self.job_number(line.job_id) for line in bill.lines if line.job_id}
            self._put(
                ap_invoice_document(
                    bill, vendor_number=vendor, mapping=self.mapping, voided=voided
                ),
                "bill",
                bill_id,
            )
            for document in bill_job_costs(
                bill, vendor_number=vendor, job_numbers=jobs, mapping=self.mapping, voided=voided
            ):
                self._put(document, "bill", bill_id)
        except MappingError as exc:
            self._problem(
                AP_INVOICES, bill_key(bill_id), "bill", bill_id, f"bill {bill.number}: {exc}"
            )

    def _job_item(self, row: dict[str, Any]) -> None:
        item_id = row["source_id"]
        self._drop("jobitem", item_id)
        item = self._snapshot(SERVICETRADE, "jobitem", item_id)
        if not isinstance(item, JobItem) or item.source != "stock" or row["deleted"]:
            return  # direct purchases are costed by their PartsLedger bill
        labor = item.item_type == LABOR
        key = labor_key(item.id) if labor else parts_key(item.id)
        module = DAILY_PAYROLL if labor else JOURNAL
        try:
            job = self.job_number(item.job_id)
            if labor:
                user = self._snapshot(SERVICETRADE, "user", item.technician_id)
                name = user.name if isinstance(user, User) else ""
                employee = self.mapping.employee_for(item.technician_id, name)
                pay_type = self.mapping.pay_type_for(item.name, item.code)
                options = {"job_number": job, "employee": employee, "pay_type": pay_type}
                # Labor job cost is Sage's to make, when the office posts the payroll the
                # daily lines become (reference §2.20, §4.4): recon enters the hours only.
                documents = [payroll_document(item, mapping=self.mapping, **options)]
            else:
                documents = [
                    parts_journal_document(item, job_number=job, mapping=self.mapping),
                    parts_job_cost(item, job_number=job, mapping=self.mapping),
                ]
        except MappingError as exc:
            self._problem(
                module, key, "jobitem", item_id, f"job item {item.name} on job {item.job_id}: {exc}"
            )
            return
        for document in documents:
            self._put(document, "jobitem", item_id)
