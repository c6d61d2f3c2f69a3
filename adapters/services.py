"""Use cases: ingest, project, reconcile, apply corrections, resolve. Thin over the ports."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from sqlalchemy import Engine, Integer, delete, func, select

from adapters.store import Ledger
from adapters.tieouts import tie_outs
from domain.documents import (
    AP_INVOICES,
    AR_INVOICES,
    CLIENTS,
    DAILY_PAYROLL,
    JOB_COST,
    JOBS,
    JOURNAL,
    MODULES,
    SOURCE_AP_INVOICE,
    VENDORS,
    Document,
)
from domain.expected import invoice_key
from domain.ledger import Known, observe, reject
from domain.mapping import Mapping
from domain.money import to_str
from domain.ports import BatchSink, InvoiceStatusWriter, PostingSink, SageReader, SourceFeed
from domain.posting import (
    CREATE,
    REPLACE,
    SUBMITTED,
    UPDATE,
    VOID,
    Correction,
    Posting,
    PostingError,
    Resolution,
    correction_for,
    resolution_id,
    void_correction,
)
from domain.reconcile import UNEXPECTED, Finding, diff
from domain.source import SERVICETRADE, SOURCE_KINDS, PayloadError, to_payload
from projections.costs import CostsProjection
from projections.expected import ExpectedProjection, expected_documents
from projections.postings import PostingsProjection, open_postings, settled_keys
from projections.runner import Projection, catch_up, create_tables, rebuild
from projections.sources import SourcesProjection, known, quarantined
from projections.tables import (
    expected_document,
    ingest_cursor,
    ingest_seen,
    posting,
    source_state,
    upsert,
)

FAULT_STEPS = ("after_proposed", "before_write", "after_write", "after_submitted")

Fault = Callable[[str], None]


def _no_fault(_step: str) -> None:
    return None


@dataclass
class IngestReport:
    fetched: Counter[str] = field(default_factory=Counter)
    appended: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "fetched": dict(self.fetched),
            "appended": dict(self.appended),
            "rejected": dict(self.rejected),
        }


@dataclass
class ApplyReport:
    confirmed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    left_for_people: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # submitted, not yet shown by Sage

    def to_json(self) -> dict[str, Any]:
        return {
            "confirmed": self.confirmed,
            "failed": self.failed,
            "left_for_people": self.left_for_people,
            "waiting_for_sage": self.waiting,
        }


class ResolveError(ValueError):
    """A resolve request recon cannot act on; the message says why."""


class Recon:
    """The ledger application's use cases, over injected ports."""

    def __init__(
        self,
        ledger: Ledger,
        engine: Engine,
        mapping: Mapping,
        *,
        reader: SageReader | None = None,
        sink: PostingSink | None = None,
        batch: BatchSink | None = None,
        writer: InvoiceStatusWriter | None = None,
        fault: Fault = _no_fault,
    ) -> None:
        self.ledger = ledger
        self.engine = engine
        self.mapping = mapping
        self.reader = reader
        self.sink = sink
        self.batch = batch
        self.writer = writer
        self.fault = fault
        self.projections: list[Projection] = [
            SourcesProjection(),
            ExpectedProjection(mapping),
            CostsProjection(mapping),
            PostingsProjection(),
        ]
        create_tables(engine)

    # -- projections -----------------------------------------------------------------------

    def project(self) -> int:
        """Bring every projection up to the end of the log; returns events applied."""
        return catch_up(self.ledger, self.engine, self.projections)

    def replay(self) -> int:
        """Rebuild every projection from the log."""
        rebuild(self.engine, self.projections)
        return self.project()

    # -- ingest ----------------------------------------------------------------------------

    def ingest_all(self, feeds: Iterable[SourceFeed], overlap: int = 300) -> IngestReport:
        """Ingest several feeds in order (ServiceTrade before PartsLedger: bills refer to jobs)."""
        report = IngestReport()
        for feed in feeds:
            part = self.ingest(feed, overlap=overlap)
            report.fetched.update(part.fetched)
            report.appended.update(part.appended)
            report.rejected.update(part.rejected)
        return report

    def ingest(
        self, feed: SourceFeed, kinds: Sequence[str] | None = None, overlap: int = 300
    ) -> IngestReport:
        """Record every change the feed shows since each kind's cursor (every kind of the
        feed's system, in dependency order, unless ``kinds`` names some).

        A kind's cursor moves only after every page of its run was recorded; the next run
        starts ``overlap`` seconds before it, and content already recorded appends nothing.
        """
        report = IngestReport()
        self.project()
        for kind in SOURCE_KINDS[feed.system] if kinds is None else kinds:
            cursor = self._cursor(feed.system, kind)
            since = None if cursor is None else max(cursor - overlap, 0)
            self._forget_seen(feed.system, kind)
            high = cursor
            safe: int | None = None
            for page in feed.pages(kind, since):
                report.fetched[kind] += len(page)
                decided, rejected, stamps = self._decide(feed, kind, page)
                self.ledger.record(event for _, event in decided)
                # Projected page by page, so the next page decides against what this one
                # recorded without the run holding every record it recorded in memory.
                self.project()
                report.appended[kind] += len(decided)
                report.rejected[kind] += rejected
                for updated in (u for _, u in stamps if u is not None):
                    high = updated if high is None else max(high, updated)
                for earlier in self._seen_again(feed.system, kind, stamps):
                    # It changed while the run paged: records after its old place may have
                    # shifted past a page boundary unseen, and none is older than it was.
                    if earlier is not None:
                        safe = earlier if safe is None else min(safe, earlier)
            if high is not None:
                self._advance(feed.system, kind, high if safe is None else min(high, safe))
            self._forget_seen(feed.system, kind)
        self.project()
        return report

    def _forget_seen(self, system: str, kind: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(ingest_seen).where(
                    ingest_seen.c.system == system, ingest_seen.c.kind == kind
                )
            )

    def _seen_again(
        self, system: str, kind: str, stamps: list[tuple[str, int | None]]
    ) -> list[int | None]:
        """The first ``updated`` stamps of the records in ``stamps`` this run fetched before
        (on an earlier page, or earlier on this one); the others are remembered as first seen."""
        ids = list({source_id for source_id, _ in stamps})
        before: dict[str, int | None] = {}
        first: dict[str, int | None] = {}
        again: list[int | None] = []
        with self.engine.begin() as conn:
            for start in range(0, len(ids), 500):
                query = select(ingest_seen.c.source_id, ingest_seen.c.first_updated).where(
                    ingest_seen.c.system == system,
                    ingest_seen.c.kind == kind,
                    ingest_seen.c.source_id.in_(ids[start : start + 500]),
                )
                before.update((i, u) for i, u in conn.execute(query))
            for source_id, updated in stamps:
                if source_id in before:
                    again.append(before[source_id])
                elif source_id in first:
                    again.append(first[source_id])
                else:
                    first[source_id] = updated
            if first:
                conn.execute(
                    ingest_seen.insert(),
                    [
                        {"system": system, "kind": kind, "source_id": i, "first_updated": u}
                        for i, u in first.items()
                    ],
                )
        return again

    def _decide(
        self, feed: SourceFeed, kind: str, page: list[dict[str, Any]]
    ) -> tuple[list[tuple[str, Aggregate.Event]], int, list[tuple[str, int | None]]]:
        """The events a page of raw records adds (none for content already recorded), the
        number rejected, and each record's id and ``updated`` stamp."""
        parsed: list[tuple[str, Any, dict[str, Any]]] = []
        stamps: list[tuple[str, int | None]] = []
        for raw in page:
            source_id = feed.source_id_of(raw)
            snapshot: Any
            try:
                snapshot = feed.read(kind, raw)
                source_id = snapshot.id
            except PayloadError as exc:
                snapshot = exc
            if source_id is None:
                digest = hashlib.blake2b(orjson.dumps(raw, default=str), digest_size=8)
                source_id = "unidentified-" + digest.hexdigest()
            parsed.append((source_id, snapshot, raw))
            stamps.append((source_id, feed.updated_of(raw)))
        with self.engine.connect() as conn:
            held = known(conn, feed.system, kind, {s for s, _, _ in parsed})
        decided: list[tuple[str, Aggregate.Event]] = []
        rejected = 0
        for source_id, snapshot, raw in parsed:
            event: Aggregate.Event | None
            if isinstance(snapshot, PayloadError):
                rejected += 1
                text = orjson.dumps(raw, default=str, option=orjson.OPT_SORT_KEYS).decode()
                event = reject(
                    held.get(source_id), feed.system, kind, source_id, str(snapshot), text
                )
            else:
                payload = to_payload(snapshot)
                event = observe(held.get(source_id), feed.system, kind, source_id, payload)
            if event is not None:
                decided.append((source_id, event))
                held[source_id] = Known(event.originator_version, _hash_of(event))
        return decided, rejected, stamps

    def _cursor(self, system: str, kind: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(ingest_cursor.c.updated_after).where(
                    ingest_cursor.c.system == system, ingest_cursor.c.kind == kind
                )
            ).scalar()

    def _advance(self, system: str, kind: str, value: int) -> None:
        with self.engine.begin() as conn:
            runs = conn.execute(
                select(ingest_cursor.c.completed_runs).where(
                    ingest_cursor.c.system == system, ingest_cursor.c.kind == kind
                )
            ).scalar()
            upsert(
                conn,
                ingest_cursor,
                [
                    {
                        "system": system,
                        "kind": kind,
                        "updated_after": value,
                        "completed_runs": (runs or 0) + 1,
                    }
                ],
            )

    # -- reconcile -------------------------------------------------------------------------

    def _expected(self, module: str, period: str | None) -> tuple[list[Document], dict[str, str]]:
        with self.engine.connect() as conn:
            return expected_documents(conn, module, period)

    def _reader(self) -> SageReader:
        if self.reader is None:
            raise RuntimeError("no Sage reader configured")
        return self.reader

    def reconcile(
        self, modules: Iterable[str] = MODULES, period: str | None = None
    ) -> list[Finding]:
        """What Sage holds that differs from what it should hold, module by module."""
        self.project()
        with self.engine.connect() as conn:
            settled = settled_keys(conn)
        findings: list[Finding] = []
        for module in modules:
            expected, problems = self._expected(module, period)
            actual = self._reader().read(module, period)
            findings.extend(
                diff(
                    module,
                    expected,
                    actual,
                    in_scope=in_scope(module, self.mapping),
                    accepted=settled,
                    unmapped=problems,
                )
            )
        return findings

    def _expected_one(self, module: str, key: str) -> Document | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(expected_document.c.body, expected_document.c.period).where(
                    expected_document.c.module == module, expected_document.c.key == key
                )
            ).first()
        if row is None or row.body is None:
            return None
        tables = orjson.loads(row.body)
        return Document(module, key, {t: tuple(r) for t, r in tables.items()}, row.period)

    # -- corrections -----------------------------------------------------------------------

    def apply(self, findings: Iterable[Finding]) -> ApplyReport:
        """Post the corrections for findings, after carrying on any a previous run left open.

        A finding whose key already has an open posting gets no second one: with the files
        sink that posting waits in a batch for Sage to import it, and writing it again would
        import it twice.
        """
        report = ApplyReport()
        staged: list[Posting] = []
        open_rows = self._open()
        busy = {(row["module"], row["key"]) for row in open_rows}
        for row in open_rows:
            self._carry(self.ledger.repository.get(UUID(row["id"])), report, staged)
        for finding in findings:
            if (finding.module, finding.key) in busy:
                continue
            correction = correction_for(finding, self._expected_one(finding.module, finding.key))
            if correction is None:
                report.left_for_people.append(finding.key)
                continue
            self._post(correction, report, staged)
        self._flush(staged, report)
        self.project()
        return report

    def _open(self) -> list[dict[str, Any]]:
        self.project()
        with self.engine.connect() as conn:
            return open_postings(conn)

    def _post(self, correction: Correction, report: ApplyReport, staged: list[Posting]) -> None:
        entry = Posting.propose(correction)
        self.ledger.save(entry)
        self.fault("after_proposed")
        self._carry(entry, report, staged)

    def _sink_name(self) -> str:
        if self.batch is not None:
            return self.batch.name
        if self.sink is None:
            raise RuntimeError("no posting sink configured")
        return self.sink.name

    def _carry(self, entry: Posting, report: ApplyReport, staged: list[Posting]) -> None:
        """Take a posting as far as it goes: write it unless Sage already shows it, confirm it
        once a read of Sage shows it."""
        label = f"{entry.module} {entry.key} ({entry.action})"
        needed = self._needed(entry)
        if entry.state == SUBMITTED:
            if not needed:
                entry.confirm()
                report.confirmed.append(label)
            elif self.batch is not None:
                report.waiting.append(label)  # in a batch Sage has not imported yet
                return
            else:
                entry.fail("Sage does not show the submitted correction")
                report.failed.append(label)
            self.ledger.save(entry)
            return
        if not needed:
            entry.submit(self._sink_name(), [], "Sage already shows it; nothing written")
            entry.confirm()
            self.ledger.save(entry)
            report.confirmed.append(label)
            return
        if self.batch is not None:
            batch = self.batch.written(str(entry.id))
            if batch is not None:  # written before a crash, not yet recorded as submitted
                entry.submit(self.batch.name, [], f"in batch {batch}")
                self.ledger.save(entry)
                report.waiting.append(label)
                return
            document = None if entry.document is None else Document.from_json(entry.document)
            action, refs = self._target(entry)
            self.batch.stage(str(entry.id), action, entry.module, document, refs, key=entry.key)
            staged.append(entry)
            return
        self._write_now(entry, label, report)

    def _write_now(self, entry: Posting, label: str, report: ApplyReport) -> None:
        if self.sink is None:
            raise RuntimeError("no posting sink configured")
        self.fault("before_write")
        try:
            written = self._write(entry, self.sink)
        except Exception as exc:  # the sink's errors are recorded on the posting, then raised
            entry.fail(f"{type(exc).__name__}: {exc}")
            self.ledger.save(entry)
            report.failed.append(label)
            raise
        self.fault("after_write")
        entry.submit(self.sink.name, written)
        self.ledger.save(entry)
        self.fault("after_submitted")
        if self._needed(entry):
            entry.fail("Sage still differs after the write")
            report.failed.append(label)
        else:
            entry.confirm()
            report.confirmed.append(label)
        self.ledger.save(entry)

    def _flush(self, staged: list[Posting], report: ApplyReport) -> None:
        """Write the run's batch, then record its postings as submitted (a crash in between
        is found again by ``written``, so the batch is never written twice)."""
        if self.batch is None or not staged:
            return
        self.fault("before_write")
        batch = self.batch.flush()
        self.fault("after_write")
        for entry in staged:
            entry.submit(self.batch.name, [], f"in batch {batch}")
            report.waiting.append(f"{entry.module} {entry.key} ({entry.action})")
        self.ledger.save(*staged)
        self.fault("after_submitted")

    def _needed(self, entry: Posting) -> bool:
        """Whether Sage, read now, still lacks what the posting is for."""
        held = self._reader().read_key(entry.module, entry.key)
        active = [d for d in held if not d.is_void]
        if entry.action == VOID:
            return any(d.sage_ref in entry.sage_refs for d in active)
        if entry.document is None:
            raise PostingError(entry.id, f"a {entry.action} posting carries no document")
        want = Document.from_json(entry.document)
        if len(active) > 1:
            return False  # a duplicate is settled by its own finding, never by writing more
        return any(f.kind != UNEXPECTED for f in diff(entry.module, [want], held))

    def _target(self, entry: Posting) -> tuple[str, list[int | str]]:
        """The action to write and the Sage records it acts on, read now: a replacement of a
        document that is no longer there is a plain create."""
        if entry.action == VOID:
            return VOID, list(entry.sage_refs)
        if entry.action == REPLACE:
            active = [d for d in self._reader().read_key(entry.module, entry.key) if not d.is_void]
            if len(active) == 1 and active[0].sage_ref is not None:
                return REPLACE, [active[0].sage_ref]
            return CREATE, []
        return entry.action, []

    def _write(self, entry: Posting, sink: PostingSink) -> list[int | str]:
        action, refs = self._target(entry)
        if action == VOID:
            for ref in refs:
                sink.void(entry.module, ref)
            return refs
        if entry.document is None:
            raise PostingError(entry.id, f"a {entry.action} posting carries no document")
        document = Document.from_json(entry.document)
        if action == UPDATE:
            return [sink.update(document)]
        if action == REPLACE:
            return [sink.replace(document, refs[0])]
        return [sink.create(document)]

    # -- write-back ------------------------------------------------------------------------

    def write_back(self, writer: InvoiceStatusWriter) -> dict[str, int]:
        """Tell ServiceTrade what became of invoices waiting in ``pending_accounting``.

        An invoice Sage now holds exactly as expected is marked ``processed``; one recon
        cannot map is marked ``failed`` with a comment saying what to map, so the office sees
        it where it works. Anything else stays pending until a later run.
        """
        self.project()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(source_state.c.source_id, source_state.c.payload).where(
                    source_state.c.system == SERVICETRADE,
                    source_state.c.kind == "invoice",
                    source_state.c.payload.is_not(None),
                )
            ).all()
            problems = dict(
                conn.execute(
                    select(expected_document.c.key, expected_document.c.problem).where(
                        expected_document.c.module == AR_INVOICES,
                        expected_document.c.problem.is_not(None),
                    )
                ).all()
            )
        result = {"processed": 0, "failed": 0}
        for source_id, payload in rows:
            if orjson.loads(payload).get("status") != "pending_accounting":
                continue
            key = invoice_key(source_id)
            if key in problems:
                writer.set_invoice_status(source_id, "failed", f"recon: {problems[key]}")
                result["failed"] += 1
                continue
            expected = self._expected_one(AR_INVOICES, key)
            if expected is None:
                continue
            held = self._reader().read_key(AR_INVOICES, key)
            if not [f for f in diff(AR_INVOICES, [expected], held) if f.kind != UNEXPECTED]:
                writer.set_invoice_status(source_id, "processed")
                result["processed"] += 1
        return result

    # -- resolutions -----------------------------------------------------------------------

    def resolve(self, key: str, decision: str, by: str, why: str) -> ApplyReport:
        """A person settles a document recon did not expect: keep it, or have recon void it."""
        module = module_of_key(key)
        self.project()
        expected = self._expected_one(module, key)
        with self.engine.connect() as conn:
            settled = settled_keys(conn)
        held = self._reader().read_key(module, key)
        findings = [
            f
            for f in diff(
                module,
                [] if expected is None else [expected],
                held,
                accepted=settled if decision == "accept" else (),
            )
            if f.kind == UNEXPECTED
        ]
        if not findings:
            why_not = (
                "already settled by a person" if key in settled else "Sage holds what recon expects"
            )
            raise ResolveError(f"{key}: no {UNEXPECTED} finding to resolve ({why_not})")
        resolution: Resolution
        try:
            resolution = self.ledger.repository.get(resolution_id(key))
        except AggregateNotFoundError:  # nobody has resolved this key before
            resolution = Resolution(key=key, module=module)
        report = ApplyReport()
        if decision == "accept":
            resolution.accept(by, why)
            self.ledger.save(resolution)
        else:
            resolution.request_void(by, why)
            self.ledger.save(resolution)
            staged: list[Posting] = []
            for finding in findings:
                self._post(void_correction(finding, by, why), report, staged)
            self._flush(staged, report)
        self.project()
        return report

    # -- status ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        self.project()
        with self.engine.connect() as conn:
            sources = {
                f"{system}/{kind}": {"records": total, "quarantined": int(bad or 0)}
                for system, kind, total, bad in conn.execute(
                    select(
                        source_state.c.system,
                        source_state.c.kind,
                        func.count(),
                        func.sum(source_state.c.rejection.is_not(None).cast(Integer)),
                    ).group_by(source_state.c.system, source_state.c.kind)
                )
            }
            modules: dict[str, Any] = {}
            for module, count, problems in conn.execute(
                select(
                    expected_document.c.module,
                    func.count(),
                    func.sum(expected_document.c.problem.is_not(None).cast(Integer)),
                ).group_by(expected_document.c.module)
            ):
                modules[module] = {"expected": count, "unmapped": int(problems or 0)}
            totals = conn.execute(
                select(expected_document.c.module, expected_document.c.amount).where(
                    expected_document.c.amount.is_not(None)
                )
            )
            sums: dict[str, Any] = {}
            for module, amount in totals:
                sums[module] = sums.get(module, 0) + Decimal(amount)
            for module, total in sums.items():
                modules[module]["expected_total"] = to_str(total)
            postings: dict[str, int] = dict(
                conn.execute(select(posting.c.state, func.count()).group_by(posting.c.state)).all()
            )
            cursors = [
                dict(r)
                for r in conn.execute(
                    select(ingest_cursor).order_by(ingest_cursor.c.system, ingest_cursor.c.kind)
                ).mappings()
            ]
            quarantine = len(quarantined(conn))
        return {
            "events": self.ledger.max_position(),
            "sources": sources,
            "quarantined": quarantine,
            "modules": modules,
            "postings": {str(k): int(v) for k, v in postings.items()},
            "cursors": cursors,
            **({} if self.reader is None else {"tie_outs": self.tie_outs()}),
        }

    def tie_outs(self) -> dict[str, Any]:
        """Job cost, payroll hours and payables in Sage against their sources."""
        self.project()
        return tie_outs(
            self.engine, self._reader(), self.mapping, lambda m: in_scope(m, self.mapping)
        )

    def quarantine(self) -> list[dict[str, Any]]:
        self.project()
        with self.engine.connect() as conn:
            return quarantined(conn)


def in_scope(module: str, mapping: Mapping) -> Callable[[Document], bool]:
    """Which Sage documents nobody expects recon answers for.

    Receivable invoices: every one in the period (ServiceTrade is the billing system). Other
    modules: what carries recon's link key or numbers — clients, jobs and vendors numbered in
    recon's ranges; payables of recon's vendors; journal transactions recon entered; job cost
    of recon's payables, journals and labor; daily payroll of mapped technicians. The
    company's own entries (rent, accruals, subcontract bills, older masters) are never
    reported.
    """
    vendors = mapping.vendor_number_start
    employees = {str(n) for n in mapping.employees.values()}
    rules: dict[str, Callable[[Document], bool]] = {
        CLIENTS: lambda d: d.key.startswith("ST-CO-") or _number(d) >= mapping.client_number_start,
        JOBS: lambda d: _number(d) >= mapping.job_number_start,
        VENDORS: lambda d: _number(d) >= vendors,
        AP_INVOICES: lambda d: d.key.startswith("PL-BILL-") or _int(d.header, "vndnum") >= vendors,
        JOURNAL: lambda d: d.key.startswith("ST-JI-"),
        JOB_COST: lambda d: (
            str(d.header.get("trnnum") or "").startswith(("JI", "LB"))
            or (d.header.get("srcnum") == SOURCE_AP_INVOICE and _int(d.header, "vndnum") >= vendors)
        ),
        DAILY_PAYROLL: lambda d: d.key.startswith("ST-LB-") or d.header.get("empnum") in employees,
    }
    return rules.get(module, lambda _d: True)


def _number(document: Document) -> int:
    return document.sage_ref if isinstance(document.sage_ref, int) else 0


def _int(row: Any, column: str) -> int:
    value = row.get(column)
    return int(value) if value else 0


#: Finding keys carry their module: recon's link keys, natural keys, or SAGE-<table>-<ref>.
KEY_PREFIXES = {
    "ST-CO-": CLIENTS,
    "SAGE-reccln-": CLIENTS,
    "JOB-": JOBS,
    "VND-": VENDORS,
    "ST-INV-": AR_INVOICES,
    "SAGE-acrinv-": AR_INVOICES,
    "PL-BILL-": AP_INVOICES,
    "SAGE-acpinv-": AP_INVOICES,
    "ST-JI-": JOURNAL,
    "SAGE-lgrtrn-": JOURNAL,
    "JC-": JOB_COST,
    "ST-LB-": DAILY_PAYROLL,
    "SAGE-dlypyr-": DAILY_PAYROLL,
}


def module_of_key(key: str) -> str:
    """The module a finding key belongs to."""
    for prefix, module in KEY_PREFIXES.items():
        if key.startswith(prefix):
            return module
    raise ResolveError(
        f"{key!r} is not a finding key: expected one starting "
        + ", ".join(f"{p}…" for p in KEY_PREFIXES)
    )


def _hash_of(event: Aggregate.Event) -> str:
    return str(getattr(event, "content_hash", ""))
