"""Every source payload is recorded or quarantined: hostile payloads travel over real HTTP from
the simulator through recon's clients, readers and ingest into a SQLite event store, and none
crashes a run, loses a good record or rolls one back."""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import simulator
from adapters.partsledger.client import build_client as build_partsledger_client
from adapters.partsledger.feed import PartsLedgerFeed
from adapters.servicetrade.client import build_client as build_servicetrade_client
from adapters.servicetrade.feed import ServiceTradeFeed
from application.context import Context
from application.ingest import CLOCK_SKEW, IngestReport, ingest_all, ingest_ids
from cli.config import default_config, parse_config
from domain.ports import SourceFeed
from domain.records import REASON_BYTES, raw_text
from domain.source import PARTSLEDGER, SERVICETRADE, PayloadError
from tests.e2e import hostile
from tests.e2e.hostile import DUPLICATE, KINDS, MUTATE, STALE, Hostile, Token, World
from tests.e2e.test_servicetrade_account import setup
from tests.fakes import memory_context

#: Hostile payloads per batch (one ingest run each) and batches: 10,000 plans and more payloads
#: (a duplicate is two).
BATCH = 250
BATCHES = 40


class Books:
    """recon over a running simulator: a SQLite store, both feeds, the control API."""

    def __init__(self, sim: simulator.RunningSimulator, tmp_path: Path) -> None:
        self.sim = sim
        mapping = parse_config(default_config(tmp_path)).mapping
        self.ctx: Context = memory_context(mapping, store_url=f"sqlite:///{tmp_path / 'recon.db'}")
        self.servicetrade = ServiceTradeFeed(
            build_servicetrade_client(
                sim.base_url,
                client_id=simulator.DEFAULT_CLIENT_ID,
                client_secret=simulator.DEFAULT_CLIENT_SECRET,
                timeout=30.0,
            ),
            simulator.TIMEZONE,
        )
        self.partsledger = PartsLedgerFeed(
            build_partsledger_client(
                sim.partsledger_url,
                client_id=simulator.DEFAULT_PL_CLIENT_ID,
                client_secret=simulator.DEFAULT_PL_CLIENT_SECRET,
                timeout=30.0,
            )
        )
        self.control = httpx.Client(base_url=sim.control_url + "/", timeout=30.0)

    @property
    def feeds(self) -> list[SourceFeed]:
        return [self.servicetrade, self.partsledger]

    def feed(self, system: str) -> SourceFeed:
        return self.servicetrade if system == SERVICETRADE else self.partsledger

    def now(self) -> int:
        """The source's clock: recon's clock in step with it (the simulated world's is its own)."""
        return int(self.sim.summary()["clock"])

    def ingest(self) -> IngestReport:
        return ingest_all(self.ctx, self.feeds, now=self.now())

    def world(self) -> World:
        """Every record the world serves now, raw, by (system, kind)."""
        found = World()
        for system, kind in KINDS:
            pages = self.feed(system).pages(kind, None)
            found.records[(system, kind)] = [raw for page in pages for raw in page]
        return found

    def payloads(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        return {
            (system, kind, source_id): payload
            for system, kind in KINDS
            for source_id, payload in self.ctx.read_model.payloads(system, kind)
        }

    def quarantined(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        return {
            (q["system"], q["kind"], q["source_id"]): q for q in self.ctx.read_model.quarantined()
        }

    def close(self) -> None:
        self.control.close()
        self.servicetrade.client.close()
        self.partsledger.client.close()
        self.ctx.read_model.engine.dispose()


@pytest.fixture
def books(tmp_path: Path) -> Iterator[Books]:
    # The store on a RAM disk where there is one: its fsyncs are not what is tested here.
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path
    with simulator.run_simulator(7) as sim:
        opened = Books(sim, folder)
        try:
            yield opened
        finally:
            opened.close()
            if folder != tmp_path:
                shutil.rmtree(folder, ignore_errors=True)


def world_payloads(world: World) -> dict[tuple[str, str, str], dict[str, Any]]:
    """What recon must hold of every record of the world."""
    expected = {}
    for (system, kind), records in world.records.items():
        for raw in records:
            snapshot = hostile.read(system, kind, raw)
            assert not isinstance(snapshot, PayloadError), snapshot
            expected[(system, kind, str(snapshot.id))] = hostile.payload_of(snapshot)
    return expected


def check(
    books: Books,
    injected: list[Hostile],
    report: IngestReport,
    good: dict[tuple[str, str, str], dict[str, Any]],
) -> None:
    """Each payload of a batch recorded, quarantined, or (a stale copy) passed over."""
    payloads = books.payloads()
    quarantined = books.quarantined()
    stale = 0
    for payload in injected:
        raw = hostile.as_fetched(payload.text)
        snapshot = hostile.read(payload.system, payload.kind, raw)
        if payload.mode == STALE:
            stale += 1
            key = (payload.system, payload.kind, str(payload.world_id))
            assert key not in quarantined, (payload.text[:300], quarantined[key])
            assert payloads[key] == good[key], "rolled back by a stale copy"
            continue
        key = (payload.system, payload.kind, hostile.source_id(payload.system, raw, snapshot))
        if payload.mode == DUPLICATE:
            if payload.twin is None:
                continue  # its twin, the second copy, says what holds
            first = hostile.read(
                payload.system, payload.kind, hostile.as_fetched(payload.twin.text)
            )
            held = quarantined[key]
            assert "came twice" in held["rejection"] and key[2] in held["rejection"]
            assert payloads[key] == hostile.payload_of(first)  # the last valid payload kept
            continue
        if isinstance(snapshot, PayloadError):
            assert key in quarantined, (payload.text[:300], key, str(snapshot))
            held = quarantined[key]
            assert held["raw"] == raw_text(raw)  # whole
            assert held["rejection"]
        else:
            assert key not in quarantined, (payload.text[:300], quarantined[key])
            assert payloads[key] == hostile.payload_of(snapshot), payload.text[:300]
    assert all(len(q["rejection"].encode()) <= REASON_BYTES for q in quarantined.values())
    assert sum(report.stale.values()) >= stale


@pytest.mark.slow
def test_thousands_of_hostile_payloads_are_recorded_or_quarantined_and_lose_no_good_record(
    books: Books,
) -> None:
    first = books.ingest()
    assert sum(first.rejected.values()) == 0 and sum(first.appended.values()) > 900
    world = books.world()
    good = world_payloads(world)
    numbers = itertools.count(1)
    counts: Counter[str] = Counter()

    @settings(
        max_examples=BATCHES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # a failing batch is reported as it came
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(st.lists(hostile.plans(), min_size=BATCH, max_size=BATCH))
    def batch(plans: list[hostile.Plan]) -> None:
        injected = [p for plan in plans for p in hostile.build(plan, next(numbers), world)]
        hostile.inject(books.control, injected)
        try:
            report = books.ingest()  # a crash fails here
            check(books, injected, report, good)
            for payload in [p for p in injected if p.mode == STALE][:3]:
                # A change notice fetches the record alone: the simulator serves the copy.
                feed = books.feed(payload.system)
                alone = ingest_ids(books.ctx, feed, payload.kind, [str(payload.world_id)])
                assert alone.stale[payload.kind] == 1 and not alone.appended[payload.kind]
        finally:
            hostile.clear(books.control)
        counts.update(p.mode for p in injected)
        counts["batches"] += 1
        counts["quarantined"] += sum(report.rejected.values())

    batch()

    assert counts["batches"] == BATCHES
    assert counts[MUTATE] + counts[DUPLICATE] + counts[STALE] >= BATCH * BATCHES
    assert counts["quarantined"] > BATCH * BATCHES // 3  # most mutations are refused
    # Every good record of the world is still recorded with its content, none quarantined.
    payloads, quarantined = books.payloads(), books.quarantined()
    for key, payload in good.items():
        assert payloads.get(key) == payload, key
        assert key not in quarantined, key
    # No stamp far ahead put the world's later changes behind a cursor.
    for system, kind in KINDS:
        cursor = books.ctx.read_model.cursor(system, kind)
        assert cursor is not None and cursor <= books.now() + CLOCK_SKEW
    company = world.records[(SERVICETRADE, "company")][0]
    books.sim.mutate("company", int(company["id"]), {"name": "Renamed after the storm"})
    after = books.ingest()
    assert after.appended["company"] == 1
    assert books.payloads()[(SERVICETRADE, "company", str(company["id"]))]["name"] == (
        "Renamed after the storm"
    )


#: The cases that crashed ``recon ingest`` before, and their neighbours: (kind, JSON text).
CORPUS: tuple[tuple[str, bytes], ...] = (
    ("company", b'{"id": 18446744073709551616, "name": "2^64 id"}'),
    ("company", b'{"id": 9100000001, "name": "2^64 elsewhere", "junk": 18446744073709551616}'),
    ("company", b'{"id": 9100000002, "name": "lone \\ud800 surrogate"}'),
    ("company", b'{"id": 9100000003, "name": "ok", "junk": "lone \\udfff in an ignored field"}'),
    ("company", b'{"id": 9100000004, "name": "5000 digits", "junk": ' + b"7" * 5000 + b"}"),
    ("company", b'{"id": ' + b"1" * 5000 + b', "name": "a 5000-digit id"}'),
    ("company", b'{"id": 9100000005, "name": "huge updated", "updated": 99999999999999999999}'),
    ("company", b'{"id": 9100000006, "name": "2^64 updated", "updated": 18446744073709551616}'),
    ("company", b'{"id": "' + b"c" * 62 + b'", "name": "62-character id"}'),
    ("company", b'{"id": "' + b"c" * 38 + b'", "name": "38-character id"}'),
    ("company", b'{"id": 9100000007, "name": NaN}'),
    ("company", b'{"id": 9100000008, "name": "raw \x01 control"}'),
    ("company", b'{"id": 9100000009, "name": "not UTF-8 \xff\xfe"}'),
    ("company", b'{"id": 9100000010, "name": "nul \\u0000 escaped"}'),
    ("company", b'{"id": 9100000011, "name": "deep", "junk": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ("company", b'[{"id": 9100000012, "name": "wrapped"}]'),
    ("company", b'"just a string"'),
    ("company", b'{"id": 9100000013, "name": "' + b"n" * 100_000 + b'"}'),
    ("vendor", b'{"_id": 9100000014, "name": "1e999 tax", "updatedAt": 1e999999999999999999999}'),
    (
        "vendor",
        b'{"_id": 9100000015, "name": "updatedAt in 9999", "updatedAt": "9999-12-31T23:59:59Z"}',
    ),
)


def _invoice_with(books: Books, world: World, n: int, **items: Any) -> bytes:
    """A world invoice under a new id and number, its first item's fields replaced."""
    invoice = json.loads(json.dumps(world.records[(SERVICETRADE, "invoice")][0], default=str))
    invoice["id"], invoice["invoiceNumber"] = 9_200_000_000 + n, f"HOSTILE-{n}"
    invoice.pop("totalPrice", None)
    invoice.pop("taxTotal", None)
    invoice["items"] = invoice["items"][:1]
    invoice["items"][0].update(items)
    return hostile.encode(invoice)


def test_the_cases_that_crashed_ingest_are_quarantined_and_the_run_goes_on(books: Books) -> None:
    books.ingest()
    world = books.world()
    corpus = [
        *CORPUS,
        ("invoice", _invoice_with(books, world, 1, quantity="1000000")),  # arivln decimal(7,2)
        ("invoice", _invoice_with(books, world, 2, price=Token(b"1e24"))),  # void, re-enter...
        ("invoice", _invoice_with(books, world, 3, quantity="99999.99", price="1.00")),  # fits
    ]
    for kind, text in corpus:
        books.control.post(f"raw/{kind}", content=text).raise_for_status()

    report = books.ingest()

    quarantined = books.quarantined()
    payloads = books.payloads()
    for kind, text in corpus:
        system = PARTSLEDGER if kind == "vendor" else SERVICETRADE
        raw = hostile.as_fetched(text)
        snapshot = hostile.read(system, kind, raw)
        key = (system, kind, hostile.source_id(system, raw, snapshot))
        if isinstance(snapshot, PayloadError):
            assert quarantined[key]["raw"] == raw_text(raw), text[:80]
            assert len(quarantined[key]["rejection"].encode()) <= REASON_BYTES
        else:
            assert payloads[key] == hostile.payload_of(snapshot), text[:80]
    by_id = {key[2]: q["rejection"] for key, q in quarantined.items()}
    assert "does not fit" in by_id["9200000001"] and "decimal(7,2)" in by_id["9200000001"]
    assert "does not fit" in by_id["9200000002"]
    assert "lone surrogate" in by_id["9100000002"]
    assert "updated" in by_id["9100000005"] and "updated" in by_id["9100000006"]
    assert "9200000003" not in by_id and "c" * 38 not in by_id
    assert (SERVICETRADE, "company", "9100000003") in payloads  # odd only where unread
    assert (SERVICETRADE, "company", "9100000011") in payloads
    assert report.rejected["company"] == 13 and report.rejected["vendor"] == 2
    # Every kind after the odd ones was still read.
    assert all(report.fetched[kind] > 0 for kind in ("location", "invoice", "bill"))


@pytest.fixture
def account() -> Iterator[simulator.RunningSimulator]:
    with simulator.run_simulator(11) as sim:
        yield sim


@pytest.mark.slow
def test_recon_ingest_quarantines_hostile_records_and_exits_0_every_run(
    tmp_path: Path, account: simulator.RunningSimulator
) -> None:
    by_kind: dict[str, list[bytes]] = {}
    for kind, written in CORPUS:
        by_kind.setdefault(kind, []).append(written)
    hostile.inject_texts(account.control_url, by_kind)
    recon = setup(tmp_path, account)

    first = recon.json("ingest")
    again = recon.json("ingest")  # what crashed once used to crash on every run

    assert first["rejected"]["company"] == 13 and first["rejected"]["vendor"] == 2
    assert again["rejected"]["company"] == 13 and sum(again["appended"].values()) == 0
    assert all(first["fetched"][kind] for kind in ("invoice", "jobitem", "bill"))
    rows = recon.json("quarantine", "list")["quarantined"]
    assert len(rows) == 15
    assert all(len(r["rejection"].encode()) <= REASON_BYTES and r["raw"] for r in rows)
    text_out = recon.run("ingest", "--config", str(recon.config)).stdout
    assert "quarantined" in text_out.lower()
