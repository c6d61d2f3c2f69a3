"""Throughput and memory of recon's hot paths: ingest, projection rebuild, reconcile.

Run as ``python3 bench/run.py [--changes N] [--workdir DIR] [--sage-rows M]``; prints one JSON
object. Everything goes through the product's own entry points (``application.ingest.ingest``,
``ReadModel.rebuild``, ``application.reconcile.reconcile``) with a synthetic in-process
ServiceTrade feed; only setting up the Sage sandbox bypasses the posting sink (bulk inserts,
which are not timed).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Connection, Engine, func, select, update

from adapters.sage.engine import create_sage_engine
from adapters.sage.reader import SageReader
from adapters.sage.sandbox import init_sandbox
from adapters.sage.schema import IDENTITY_TABLES, TABLES, window_zeros
from adapters.sage.sql_sink import db_values
from adapters.servicetrade.client import PAGE_LIMITS
from adapters.store import Store, create_projection_engine
from application.context import Context
from application.ingest import ingest as ingest_feed
from application.reconcile import reconcile as reconcile_all
from cli.config import default_config, parse_config
from domain.builders import ar_invoice_document
from domain.documents import AR_INVOICES, CLIENTS, JOBS, Document
from domain.keys import invoice_key
from domain.mapping import Mapping
from domain.source import Address, Invoice, InvoiceItem, Location, PayloadError, from_payload
from projections.readmodel import ReadModel
from projections.rows import document_row
from projections.tables import expected_document

OUT = Path(__file__).resolve().parent / "out"
STAMP0 = 1_790_000_000  # Unix seconds of the first sync's records
ROUND_SECONDS = 10_000_000  # a round's changes are stamped one second apart
CHANGE_ROUNDS = 4
TAX_GROUPS = ("Wake County NC", "Durham County NC", "Mecklenburg County NC", "Orange County NC")
ITEM_TYPES = ("labor", "part", "material", "fee")


# -- memory ------------------------------------------------------------------------------------


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return round(pages * resource.getpagesize() / 2**20, 1)


def maxrss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class RssSampler:
    """Samples RSS every ``interval`` seconds on a thread; keeps each phase's samples."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.phase = "setup"
        self.samples: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.setdefault(self.phase, []).append(rss_mib())

    def summary(self, phase: str) -> dict[str, Any]:
        values = self.samples.get(phase) or [rss_mib()]
        # ten evenly spaced samples show the shape (flat or growing) without the whole series
        step = max(1, len(values) // 10)
        return {"min": min(values), "max": max(values), "shape": values[::step][:10]}


# -- a synthetic ServiceTrade feed --------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How many records of each kind a run creates, and how many of them change later.

    Every change round changes a disjoint share of each kind's changing records, so a record's
    content is a function of (kind, index, state of the source).
    """

    counts: dict[str, int]
    changing: dict[str, int]
    rounds: int = CHANGE_ROUNDS

    @classmethod
    def for_changes(cls, changes: int) -> Plan:
        companies = max(1, changes * 2 // 100)
        locations = max(1, changes * 8 // 100)
        invoices = max(1, changes * 70 // 100)
        changing = {
            "company": min(companies, changes // 100),
            "location": min(locations, changes * 2 // 100),
        }
        changing["invoice"] = min(
            invoices, changes - companies - locations - invoices - sum(changing.values())
        )
        return cls({"company": companies, "location": locations, "invoice": invoices}, changing)

    @property
    def total_changes(self) -> int:
        return sum(self.counts.values()) + sum(self.changing.values())

    def stride(self, kind: str) -> int:
        return max(1, self.counts[kind] // max(1, self.changing[kind]))

    def round_of(self, kind: str, index: int) -> int:
        """The change round (1..rounds) a record changes in, or 0 if it never changes."""
        stride = self.stride(kind)
        if index % stride:
            return 0
        j = index // stride
        return 0 if j >= self.changing[kind] else 1 + j % self.rounds

    def changed_in(self, kind: str, round_: int) -> Iterator[int]:
        stride = self.stride(kind)
        for j in range(round_ - 1, self.changing[kind], self.rounds):
            yield j * stride


class SyntheticFeed:
    """ServiceTrade-shaped records in payload form, generated page by page (never all held).

    Like the API, a record's ``updated`` stamp says when it last changed: the first sync's
    records were stamped one second apart before ``STAMP0``, and the changes of round r one
    second apart from ``STAMP0 + r * ROUND_SECONDS``. So ingest's overlap fetches again only
    the last few hundred records of a run, as it would against ServiceTrade.
    """

    system = "servicetrade"

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.state = 0  # the last change round the source has gone through

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]:
        if kind not in self.plan.counts:
            return
        limit = PAGE_LIMITS[kind]
        page: list[dict[str, Any]] = []
        for index, version, updated in self._changed_since(kind, updated_after or 0):
            record = RECORDS[kind](self.plan, index, version)
            record["updated"] = updated
            page.append(record)
            if len(page) == limit:
                yield page
                page = []
        if page:
            yield page

    def _changed_since(self, kind: str, since: int) -> Iterator[tuple[int, int, int]]:
        """(index, version, updated) of the records whose latest change is at or after since."""
        count = self.plan.counts[kind]
        first_stamp = STAMP0 - count
        for index in range(max(0, since - first_stamp), count):
            if self.version(kind, index) == 0:
                yield index, 0, first_stamp + index
        for round_ in range(1, self.state + 1):
            start = STAMP0 + round_ * ROUND_SECONDS
            for position, index in enumerate(self.plan.changed_in(kind, round_)):
                if start + position >= since:
                    yield index, round_, start + position

    def version(self, kind: str, index: int) -> int:
        changed = self.plan.round_of(kind, index)
        return changed if 0 < changed <= self.state else 0

    def fetch(self, kind: str, source_id: str) -> dict[str, Any] | None:
        """Records are made page by page and not kept: none is fetched by id (the bench
        sends no change notices)."""
        return None

    def read(self, kind: str, raw: dict[str, Any]) -> Any:
        data = {k: v for k, v in raw.items() if k != "updated"}
        try:
            return from_payload(kind, data)
        except (TypeError, KeyError, ArithmeticError) as exc:
            raise PayloadError(f"{kind} {data.get('id')}: {exc}") from exc

    def source_id_of(self, raw: dict[str, Any]) -> str | None:
        value = raw.get("id")
        return str(value) if value else None

    def updated_of(self, raw: dict[str, Any]) -> int | None:
        value = raw.get("updated")
        return value if isinstance(value, int) else None


def _address(i: int, street: str) -> dict[str, str]:
    return {
        "street": f"{i} {street}",
        "city": "Raleigh",
        "state": "NC",
        "postal_code": f"{27600 + i % 100}",
    }


def company_record(plan: Plan, i: int, version: int) -> dict[str, Any]:
    return {
        "id": str(i + 1),
        "name": f"Customer {i + 1}" + (" Holdings" if version else ""),
        "status": "active",
        "customer": True,
        "vendor": i % 17 == 0,
        "phone": f"919-555-{i % 10000:04d}",
        "ref_number": "",
        "address": _address(i, "Main St"),
    }


def location_record(plan: Plan, i: int, version: int) -> dict[str, Any]:
    return {
        "id": str(i + 1),
        "name": f"Site {i + 1}" + (" (east wing)" if version else ""),
        "company_id": str(i % plan.counts["company"] + 1),
        "status": "active",
        "taxable": i % 10 != 0,
        "tax_group": TAX_GROUPS[i % len(TAX_GROUPS)],
        "phone": "",
        "ref_number": f"L{i}",
        "address": _address(i, "Oak Ave"),
    }


def invoice_record(plan: Plan, i: int, version: int) -> dict[str, Any]:
    location = i % plan.counts["location"]
    ready = i % 7 != 0  # one in seven is still being worked on when first seen
    status = "pending_accounting" if ready or version else "ok"
    bump = version if ready else 0  # a later change to a handed-off invoice changes a price
    day = date(2026, 10, 1) + timedelta(days=i % 60)
    items = [
        {
            "id": f"{i + 1}-{n}",
            "description": f"{ITEM_TYPES[(i + n) % 4].title()} for work order {i + 1}",
            "quantity": f"{1 + (i + n) % 5}.00",
            "price": f"{25 + (i * 7 + n * 13) % 400 + bump}.{(i + n) % 100:02d}",
            "taxable": ITEM_TYPES[(i + n) % 4] in ("part", "material"),
            "item_type": ITEM_TYPES[(i + n) % 4],
            "service_line": "HVAC",
        }
        for n in range(2 + i % 3)
    ]
    return {
        "id": str(i + 1),
        "number": f"INV-{i + 1:07d}",
        "status": status,
        "invoice_type": "invoice",
        "transaction_date": day.isoformat(),
        "customer_id": str(location % plan.counts["company"] + 1),
        "location_id": str(location + 1),
        "job_id": "",
        "items": items,
    }


RECORDS: dict[str, Callable[[Plan, int, int], dict[str, Any]]] = {
    "company": company_record,
    "location": location_record,
    "invoice": invoice_record,
}


# -- phases ------------------------------------------------------------------------------------


@dataclass
class Bench:
    workdir: Path
    mapping: Mapping
    sampler: RssSampler
    result: dict[str, Any] = field(default_factory=dict)
    #: The event store of the ingest, replay, scan and floor phases ("" : SQLite in workdir).
    store: str = ""

    @property
    def store_url(self) -> str:
        return self.store or f"sqlite:///{self.workdir / 'recon.db'}"

    def scratch_url(self, name: str) -> str:
        """An empty store of the same kind beside the run's (``floor``, ``record``), emptied
        of what an earlier run left."""
        if not self.store:
            path = self.workdir / (name + ".db")
            path.unlink(missing_ok=True)
            return f"sqlite:///{path}"
        url = f"{self.store}_{name}"
        recreate_database(url)
        return url

    def phase(self, name: str) -> None:
        gc.collect()
        self.sampler.phase = name

    def record(self, name: str, figures: dict[str, Any]) -> None:
        figures["rss_mib"] = self.sampler.summary(name)
        figures["ru_maxrss_mib"] = maxrss_mib()
        self.result[name] = figures


def open_context(store_url: str, mapping: Mapping, sage: Engine | None) -> tuple[Context, Store]:
    """The use cases' context, wired as ``cli.bootstrap.context`` does (minus the catch-up, and
    with no posting sink: nothing here posts)."""
    store = Store(store_url)
    read_model = ReadModel(create_projection_engine(store_url), mapping)
    reader = None if sage is None else SageReader(sage, mapping)
    return Context(store, read_model, mapping, reader=reader), store


def close_context(ctx: Context, store: Store) -> None:
    store.close()
    ctx.read_model.engine.dispose()


def ingest(bench: Bench, ctx: Context, plan: Plan) -> None:
    feed = SyntheticFeed(plan)
    bench.phase("ingest")
    fetched = appended = 0
    runs = []
    started, cpu = time.perf_counter(), time.process_time()
    for state in range(plan.rounds + 1):
        feed.state = state
        t0 = time.perf_counter()
        report = ingest_feed(ctx, feed)
        seconds = time.perf_counter() - t0
        n = sum(report.appended.values())
        fetched += sum(report.fetched.values())
        appended += n
        runs.append(
            {
                "source_changes": n,
                "seconds": round(seconds, 2),
                "per_s": round(n / seconds),
                "rss_mib": rss_mib(),
            }
        )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    bench.record(
        "ingest",
        {
            "cpu_seconds": round(cpu, 2),
            # a source change is a fetched record whose content is new (one event each); the
            # overlap's second sight of a record is fetched but is not a change
            "source_changes": appended,
            "records_fetched": fetched,
            "seconds": round(seconds, 2),
            "source_changes_per_s": round(appended / seconds),
            "records_fetched_per_s": round(fetched / seconds),
            "runs": runs,
        },
    )


def replay(bench: Bench, ctx: Context) -> None:
    bench.phase("replay")
    started, cpu = time.perf_counter(), time.process_time()
    events = ctx.read_model.rebuild(ctx.store)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    bench.record("replay", event_figures(events, seconds, cpu))


def event_figures(events: int, seconds: float, cpu: float) -> dict[str, Any]:
    """A phase's figures over the events it read."""
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_s": round(events / seconds),
        "cpu_seconds": round(cpu, 2),
    }


def raw_scan(bench: Bench) -> None:
    """Every row of the event table in log order, with the database's own driver: what
    reading the log costs before recon decodes or applies any of it."""
    bench.phase("raw_sqlite_scan")
    rows = 0
    if bench.store:
        with psycopg_connect(bench.store) as connection, connection.cursor("scan") as cursor:
            cursor.itersize = 5000
            started = time.perf_counter()
            cursor.execute(f"SELECT * FROM {PG_EVENTS} ORDER BY notification_id")
            for _row in cursor:
                rows += 1
            seconds = time.perf_counter() - started
    else:
        connection = sqlite3.connect(bench.workdir / "recon.db")
        try:
            started = time.perf_counter()
            for _row in connection.execute("SELECT rowid, * FROM stored_events ORDER BY rowid"):
                rows += 1
            seconds = time.perf_counter() - started
        finally:
            connection.close()
    bench.record(
        "raw_sqlite_scan",
        {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds)},
    )


def decode(bench: Bench) -> None:
    """The whole log read as a rebuild reads it (``Store.read``: a page of 1,000 events at a
    time, each event's state decoded), and nothing applied: what any rebuild spends before its
    projections do anything."""
    store = Store(bench.store_url)
    try:
        bench.phase("decode")
        events = after = 0
        started, cpu = time.perf_counter(), time.process_time()
        while page := store.read(after, 1000):
            events += len(page)
            after = page[-1].position
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        store.close()
    bench.record("decode", event_figures(events, seconds, cpu))


def record(bench: Bench) -> None:
    """The ingest's events recorded again through ``Store.record`` into a fresh store of the
    same kind, 1,000 per call as ingest records a page, from events already made (read back
    and mapped before the clock starts): what ingest spends recording alone, against the
    ``floor`` of inserting the same rows raw."""
    url = bench.scratch_url("record")
    source, target = Store(bench.store_url), Store(url)
    try:
        bench.phase("record")
        events = 0
        seconds = 0.0
        after = 0
        while notifications := source.recorder.select_notifications(
            start=after, limit=1000, inclusive_of_start=False
        ):
            after = notifications[-1].id
            batch: list[Any] = [source.mapper.to_domain_event(n) for n in notifications]
            started = time.perf_counter()
            target.record(batch)
            seconds += time.perf_counter() - started
            events += len(batch)
    finally:
        source.close()
        target.close()
    bench.record(
        "record",
        {"events": events, "seconds": round(seconds, 3), "events_per_s": round(events / seconds)},
    )


#: The event table of recon's store on PostgreSQL (eventsourcing names it after the app).
PG_EVENTS = "recon_events"
FLOOR_BATCH = 1000  # rows per executemany and commit (ingest commits a feed page at a time)


def psycopg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def recreate_database(url: str) -> None:
    """Drop and create the PostgreSQL database a URL names (a scratch database)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg_connect(admin) as connection:
        connection.autocommit = True
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def floor(bench: Bench) -> None:
    """The ingest's event rows written again, as they are, into a fresh store of the same
    kind (its tables made by eventsourcing's recorder) with the driver's plain executemany,
    a batch per transaction: the floor under what ingest spends recording them. Only the
    inserts and commits are timed."""
    url = bench.scratch_url("floor")
    Store(url).close()  # the recorder creates its tables
    bench.phase("floor")
    rows = 0
    seconds = 0.0
    if bench.store:
        source, target = psycopg_connect(bench.store), psycopg_connect(url)
        insert = (
            f"INSERT INTO {PG_EVENTS} (originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s)"
        )
        select_rows = (
            "SELECT originator_id, originator_version, topic, state FROM "
            f"{PG_EVENTS} ORDER BY notification_id"
        )
        reader = source.cursor("rows")
    else:
        source = sqlite3.connect(bench.workdir / "recon.db")
        target = sqlite3.connect(url[len("sqlite:///") :])
        target.execute("PRAGMA journal_mode=WAL")  # as eventsourcing's recorder runs it
        insert = (
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)"
        )
        select_rows = (
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        )
        reader = source.cursor()
    try:
        reader.execute(select_rows)
        writer = target.cursor()
        while batch := reader.fetchmany(FLOOR_BATCH):
            started = time.perf_counter()
            writer.executemany(insert, batch)
            target.commit()
            seconds += time.perf_counter() - started
            rows += len(batch)
    finally:
        source.close()
        target.close()
    bench.record(
        "floor",
        {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds)},
    )


class SandboxLoader:
    """Bulk-inserts documents' rows into the sandbox tables (SQLAlchemy Core executemany).

    The sandbox is strict like a Sage company database: ``recnum`` of an IDENTITY table
    (``schema.IDENTITY_TABLES``: ``acrinv``, ``lgrtrn``) is left to the database and read back
    per chunk, children and ``lgrrec`` take the numbers it gave, and every NOT NULL column a
    document leaves out gets what the window writes (``schema.window_zeros``).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows = 0

    def load(self, documents: Iterator[Document], chunk: int = 5000) -> None:
        pending: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        held = 0
        for document in documents:
            held += self._add(document, pending)
            if held >= chunk * 10:
                self._flush(pending)
                held = 0
        self._flush(pending)

    def _add(self, document: Document, pending: dict[str, list[dict[str, Any]]]) -> int:
        now = datetime(2026, 12, 1, tzinfo=UTC).replace(tzinfo=None)
        added = 0
        if document.module != AR_INVOICES:
            name = next(iter(document.tables))
            values = db_values(name, document.header)
            pending[name].append({**values, "_idnum": uuid.uuid4(), "insdte": now})
            return 1
        header_id, gl_id = uuid.uuid4(), uuid.uuid4()
        # recnum of both is the database's; until the flush, a row names its parent by _idnum.
        pending["acrinv"].append(
            {
                **db_values("acrinv", document.header),
                "_idnum": header_id,
                "lgrrec": gl_id,
                "insdte": now,
            }
        )
        pending["lgrtrn"].append(
            {
                **db_values("lgrtrn", document.tables["lgrtrn"][0]),
                "_idnum": gl_id,
                "lgrrec": 0,  # its own recnum, set once the database has given it
                "insdte": now,
            }
        )
        added += 2
        for name, parent_id in (("arivln", header_id), ("artxdt", header_id), ("lgtnln", gl_id)):
            for row in document.tables[name]:
                pending[name].append(
                    {
                        **db_values(name, row),
                        "_idnum": uuid.uuid4(),
                        "_idref": parent_id,
                        "insdte": now,
                    }
                )
                added += 1
        return added

    def _flush(self, pending: dict[str, list[dict[str, Any]]]) -> None:
        with self.engine.begin() as connection:
            numbers: dict[uuid.UUID, int] = {}  # _idnum -> recnum of this chunk's IDENTITY rows
            for name in (*PARENTS_FIRST, *(n for n in pending if n not in PARENTS_FIRST)):
                rows = pending[name]
                table = TABLES[name]
                for row in rows:
                    if name in CHILD_TABLES:
                        row["recnum"] = numbers[row["_idref"]]
                    elif name == "acrinv":
                        row["lgrrec"] = numbers[row["lgrrec"]]
                if name in IDENTITY_TABLES and rows:
                    before = connection.execute(select(func.max(table.c.recnum))).scalar()
                    self._insert(connection, name, rows)
                    newer = table.c.recnum > (before or 0)
                    found = connection.execute(select(table.c._idnum, table.c.recnum).where(newer))
                    numbers.update((guid, int(recnum)) for guid, recnum in found)
                    if name == "lgrtrn":
                        connection.execute(update(table).where(newer).values(lgrrec=table.c.recnum))
                else:
                    self._insert(connection, name, rows)
                self.rows += len(rows)
                rows.clear()

    @staticmethod
    def _insert(connection: Connection, name: str, rows: list[dict[str, Any]]) -> None:
        table = TABLES[name]
        # executemany wants one key set per statement: group rows by their keys
        by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            by_keys.setdefault(tuple(row), []).append({**window_zeros(table, row), **row})
        for same in by_keys.values():
            connection.execute(table.insert(), same)


#: Flush order: a GL transaction before the invoice naming it, parents before their lines.
PARENTS_FIRST = ("lgrtrn", "acrinv")
#: Line tables whose recnum repeats their parent's (found by _idref).
CHILD_TABLES = frozenset({"arivln", "artxdt", "lgtnln"})


def sage_rows_in(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: int(
                connection.execute(select(func.count()).select_from(TABLES[name])).scalar_one()
            )
            for name in ("reccln", "actrec", "acrinv", "arivln", "artxdt", "lgrtrn", "lgtnln")
        }


def expected_of(ctx: Context) -> Iterator[Document]:
    for module in (CLIENTS, JOBS, AR_INVOICES):  # what ServiceTrade records become
        documents, _ = ctx.read_model.expected(module, None)
        yield from documents


def reconcile(bench: Bench, ctx: Context, sage: Engine, name: str) -> None:
    rows = sage_rows_in(sage)
    bench.phase(name)
    started, cpu = time.perf_counter(), time.process_time()
    # Timed with the reconcile, as the command catches up before it; nothing is left to apply.
    ctx.catch_up()
    findings = reconcile_all(ctx)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    kinds: dict[str, int] = {}
    for finding in findings:
        kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
    bench.record(
        name,
        {
            "sage_rows_read": sum(rows.values()),
            "sage_rows": rows,
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
            "sage_rows_per_s": round(sum(rows.values()) / seconds),
            "findings": kinds,
        },
    )


def close_pack(bench: Bench, ctx: Context, sage: Engine) -> None:
    """``recon report``'s pack for the first synthetic month over the whole sandbox."""
    from application.report import build_pack

    rows = sage_rows_in(sage)
    bench.phase("report_sage_rows")
    started, cpu = time.perf_counter(), time.process_time()
    ctx.catch_up()
    pack = build_pack(ctx, "2026-10")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    bench.record(
        "report_sage_rows",
        {
            "period": pack["period"],
            "sage_rows": sum(rows.values()),
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
            "ready": pack["ready"],
            "tieouts_tie": sum(t["ties"] for t in pack["tieouts"]),
            "tieouts": len(pack["tieouts"]),
        },
    )


def synthetic_invoices(mapping: Mapping, rows: int) -> Iterator[tuple[Document, Invoice]]:
    """Invoice documents of three items (ten Sage rows each) until ``rows`` rows are made."""
    made = i = 0
    locations = [
        Location(
            id=str(n + 1),
            name=f"Site {n + 1}",
            company_id=str(n + 1),
            status="active",
            taxable=True,
            tax_group=TAX_GROUPS[n % len(TAX_GROUPS)],
            address=Address(f"{n} Oak Ave", "Raleigh", "NC", "27601"),
        )
        for n in range(100)
    ]
    while made < rows:
        types = [ITEM_TYPES[(i + n) % 4] for n in range(3)]
        invoice = Invoice(
            id=str(i + 1),
            number=f"INV-{i + 1:07d}",
            status="processed",
            invoice_type="invoice",
            transaction_date=(date(2026, 10, 1) + timedelta(days=i % 60)).isoformat(),
            customer_id="1",
            location_id=str(i % 100 + 1),
            job_id="",
            items=tuple(
                InvoiceItem(
                    id=f"{i}-{n}",
                    description=f"{kind.title()} for work order {i + 1}",
                    quantity=Decimal(1 + (i + n) % 5),
                    price=Decimal(f"{25 + (i * 7 + n * 13) % 400}.{(i + n) % 100:02d}"),
                    taxable=kind in ("part", "material"),
                    item_type=kind,
                )
                for n, kind in enumerate(types)
            ),
        )
        document = ar_invoice_document(
            invoice, job_number=5001 + i % 100, location=locations[i % 100], mapping=mapping
        )
        made += sum(len(r) for r in document.tables.values())
        i += 1
        yield document, invoice


def sage_rows_setup(bench: Bench, rows: int) -> None:
    """A store holding expected invoices (rows written directly) and a sandbox holding them."""
    workdir = bench.workdir / "sage_rows"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    sage_url = f"sqlite:///{workdir / 'sage.db'}"
    init_sandbox(sage_url, bench.mapping, reset=True)
    sage = create_sage_engine(sage_url)
    ctx, store = open_context(f"sqlite:///{workdir / 'recon.db'}", bench.mapping, None)
    bench.phase("sage_rows_setup")
    started = time.perf_counter()
    try:
        ctx.catch_up()  # tracking rows exist, so the rows below are not reset as stale
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            with ctx.read_model.engine.begin() as connection:
                connection.execute(expected_document.insert(), batch)
            batch.clear()

        def documents() -> Iterator[Document]:
            for document, invoice in synthetic_invoices(bench.mapping, rows):
                assert document.key == invoice_key(invoice.id)
                batch.append(document_row(document, "invoice", invoice.id))
                if len(batch) >= 5000:
                    flush()
                yield document

        loader = SandboxLoader(sage)
        loader.load(documents())
        if batch:
            flush()
    finally:
        close_context(ctx, store)
        sage.dispose()
    bench.record(
        "sage_rows_setup",
        {"sage_rows_written": loader.rows, "seconds": round(time.perf_counter() - started, 2)},
    )


def sandbox_setup(bench: Bench) -> None:
    """A sandbox holding exactly the documents the main run's store expects."""
    sage_url = f"sqlite:///{bench.workdir / 'sage.db'}"
    init_sandbox(sage_url, bench.mapping, reset=True)
    sage = create_sage_engine(sage_url)
    ctx, store = open_context(f"sqlite:///{bench.workdir / 'recon.db'}", bench.mapping, None)
    bench.phase("sandbox_setup")
    started = time.perf_counter()
    try:
        loader = SandboxLoader(sage)
        loader.load(expected_of(ctx))
    finally:
        close_context(ctx, store)
        sage.dispose()
    bench.record(
        "sandbox_setup",
        {"sage_rows_written": loader.rows, "seconds": round(time.perf_counter() - started, 2)},
    )


def run_phase(bench: Bench, name: str, plan: Plan, sage_rows: int) -> None:
    """One phase, in this process (so its peak RSS is its own)."""
    if name == "ingest":
        shutil.rmtree(bench.workdir, ignore_errors=True)
        bench.workdir.mkdir(parents=True)
        if bench.store:
            recreate_database(bench.store)
    if name == "scan":
        raw_scan(bench)
    elif name == "floor":
        floor(bench)
    elif name == "decode":
        decode(bench)
    elif name == "record":
        record(bench)
    elif name == "sandbox_setup":
        sandbox_setup(bench)
    elif name == "sage_rows_setup":
        sage_rows_setup(bench, sage_rows)
    elif name in ("ingest", "replay"):
        ctx, events = open_context(bench.store_url, bench.mapping, None)
        try:
            if name == "ingest":
                ingest(bench, ctx, plan)
            else:
                replay(bench, ctx)
        finally:
            close_context(ctx, events)
    else:
        on_rows = name in ("reconcile_sage_rows", "report_sage_rows")
        workdir = bench.workdir / "sage_rows" if on_rows else bench.workdir
        sage = create_sage_engine(f"sqlite:///{workdir / 'sage.db'}")
        ctx, events = open_context(f"sqlite:///{workdir / 'recon.db'}", bench.mapping, sage)
        try:
            if name == "report_sage_rows":
                close_pack(bench, ctx, sage)
            else:
                reconcile(bench, ctx, sage, name)
        finally:
            close_context(ctx, events)
            sage.dispose()


PHASES = (
    "ingest",
    "replay",
    "scan",
    "floor",
    "decode",
    "record",
    "sandbox_setup",
    "reconcile",
    "sage_rows_setup",
    "reconcile_sage_rows",
    "report_sage_rows",
)
MAIN_PHASES = PHASES[:8]
#: The phases that run on the ``--store`` given (the others need the SQLite sandbox setup).
STORE_PHASES = ("ingest", "replay", "scan", "floor", "decode", "record")
#: Each ratio of ``vs_floor``: a phase's throughput over another's, measured in the same run
#: on the same store. ``ingest`` and ``replay`` are the issue's targets; ``decode`` and
#: ``record`` show how much of each floor recon's reading and recording of events alone
#: leave (a rebuild cannot outrun ``decode``, nor ingest ``record``).
FLOORS = {
    "ingest": ("ingest", "source_changes_per_s", "floor", "rows_per_s"),
    "replay": ("replay", "events_per_s", "raw_sqlite_scan", "rows_per_s"),
    "decode": ("decode", "events_per_s", "raw_sqlite_scan", "rows_per_s"),
    "record": ("record", "events_per_s", "floor", "rows_per_s"),
    "replay_vs_decode": ("replay", "events_per_s", "decode", "events_per_s"),
    "ingest_vs_record": ("ingest", "source_changes_per_s", "record", "events_per_s"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000, help="source changes to ingest")
    parser.add_argument("--workdir", type=Path, default=OUT / "run", help="scratch folder")
    parser.add_argument(
        "--sage-rows",
        type=int,
        default=0,
        help="also reconcile this many synthetic Sage rows (about 1,000,000 for the target)",
    )
    parser.add_argument(
        "--phases",
        default=",".join(MAIN_PHASES),
        help=f"comma-separated phases of the main run, among {', '.join(MAIN_PHASES)}",
    )
    parser.add_argument(
        "--store",
        default="",
        help="run ingest, replay, scan and floor on this PostgreSQL database instead of SQLite "
        "(postgresql://user:password@host:port/scratch; dropped and created again, with "
        "scratch_floor beside it)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="an earlier run's JSON output: also print each phase's throughput as a ratio of "
        "that run's (a PostgreSQL run against a SQLite one)",
    )
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)  # one, in-process
    args = parser.parse_args()
    if not 1 <= args.changes <= 1_000_000:
        parser.error("--changes: expected 1 to 1,000,000")
    workdir: Path = args.workdir.resolve()
    plan = Plan.for_changes(args.changes)
    if args.phase:
        mapping = parse_config(default_config(workdir), None).mapping
        with RssSampler() as sampler:
            bench = Bench(workdir, mapping, sampler, store=args.store)
            run_phase(bench, args.phase, plan, args.sage_rows)
        print(json.dumps(bench.result))
        return
    phases = [p for p in args.phases.split(",") if p]
    unknown = set(phases) - set(MAIN_PHASES)
    if unknown:
        parser.error(f"--phases: unknown {', '.join(sorted(unknown))}")
    if args.store and set(phases) - set(STORE_PHASES):
        parser.error(f"--store: only the phases {', '.join(STORE_PHASES)} run on it")
    if args.sage_rows > 0:
        phases += ["sage_rows_setup", "reconcile_sage_rows", "report_sage_rows"]
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpus": len(os.sched_getaffinity(0)),
        },
        "changes": args.changes,
        "sage_rows": args.sage_rows,
        "store": "postgresql" if args.store else "sqlite",
        "note": "each phase ran in a fresh process; ru_maxrss_mib is that process's peak RSS",
    }
    for name in (p for p in PHASES if p in phases):
        command = [sys.executable, __file__, "--phase", name, "--changes", str(args.changes)]
        command += ["--workdir", str(workdir), "--sage-rows", str(args.sage_rows)]
        command += ["--store", args.store]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"bench phase {name} failed:\n{done.stderr}")
        result.update(json.loads(done.stdout))
    result["vs_floor"] = ratios(result, result)
    if args.against:
        result["vs_against"] = ratios(result, json.loads(args.against.read_text()), same=True)
    print(json.dumps(result, indent=2))
    for ratio_name, ratio in result["vs_floor"].items():
        phase, _figure, under, _under_figure = FLOORS[ratio_name]
        print(f"{phase}: {ratio}x {under}", file=sys.stderr)
    for phase, ratio in result.get("vs_against", {}).items():
        print(f"{phase}: {ratio}x the run in {args.against}", file=sys.stderr)


def ratios(run: dict[str, Any], other: dict[str, Any], same: bool = False) -> dict[str, float]:
    """Each phase's throughput over its floor's in ``other`` (``same``: over the same
    phase's in ``other``); phases either run lacks are left out."""
    found: dict[str, float] = {}
    if same:
        pairs = {
            name: (phase, figure, phase, figure)
            for name, (phase, figure, _under, _under_figure) in FLOORS.items()
            if name == phase
        }
        pairs["scan"] = ("raw_sqlite_scan", "rows_per_s", "raw_sqlite_scan", "rows_per_s")
        pairs["floor"] = ("floor", "rows_per_s", "floor", "rows_per_s")
    else:
        pairs = FLOORS
    for name, (phase, figure, under, under_figure) in pairs.items():
        if phase in run and under in other:
            found[name] = round(run[phase][figure] / other[under][under_figure], 4)
    return found


if __name__ == "__main__":
    main()
