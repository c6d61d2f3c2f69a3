"""The sync agent's cycle: notices fetched and recorded before they are acknowledged,
polling as the backstop, deletions, backoff when a part is down, and the writer lease."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from application.context import Context
from application.status import sync_status
from application.sync import AGENT, RELAY, Agent, Busy, SyncSettings
from domain.documents import AR_INVOICES, CLIENTS
from domain.keys import invoice_key
from domain.ports import ChangeNotice
from domain.source import SERVICETRADE
from tests.application_tests.books import MAPPING
from tests.fakes import FakeSage, FakeSink, FakeStatusWriter, ListFeed, memory_context
from tests.projections_tests.test_store_contract import company, invoice, location


class SourceDown(Exception):
    pass


class Feed(ListFeed):
    """A ListFeed that can be taken down, counting fetches and polls."""

    def __init__(self, records: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__(records)
        self.down = False
        self.fetches: list[tuple[str, str]] = []

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]:
        if self.down:
            raise SourceDown("ServiceTrade answered 503")
        return super().pages(kind, updated_after)

    def fetch(self, kind: str, source_id: str) -> dict[str, Any] | None:
        if self.down:
            raise SourceDown("ServiceTrade answered 503")
        self.fetches.append((kind, source_id))
        return super().fetch(kind, source_id)


class Notices:
    """The change-notice port over a list, as the relay stream behaves: what is taken and
    not acknowledged is sent again when the stream is reopened."""

    def __init__(self) -> None:
        self.queue: list[ChangeNotice] = []
        self.acked = 0
        self.lost = 0

    def send(self, kind: str, source_id: str, action: str = "updated") -> None:
        seq = len(self.queue) + 1
        self.queue.append(ChangeNotice(seq, SERVICETRADE, kind, source_id, action))

    def take(self, timeout: float) -> Sequence[ChangeNotice]:
        return [n for n in self.queue if n.seq > self.acked]

    def ack(self, seq: int) -> None:
        self.acked = max(self.acked, seq)

    def gaps(self) -> int:
        lost, self.lost = self.lost, 0
        return lost

    def describe(self) -> dict[str, Any]:
        return {"state": "connected", "last_acked": self.acked}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def free() -> Iterator[None]:
    yield


@contextmanager
def held() -> Iterator[None]:
    raise Busy("reconcile --apply (pid 1 on host h)")
    yield


@pytest.fixture
def sage() -> FakeSage:
    return FakeSage()


@pytest.fixture
def ctx(sage: FakeSage) -> Iterator[Context]:
    ctx = memory_context(MAPPING, sage=sage, sink=FakeSink(sage))
    yield ctx
    ctx.read_model.engine.dispose()


def source() -> Feed:
    return Feed(
        {
            "company": [company(1)],
            "location": [location(10, 1)],
            "invoice": [invoice(100, 10, 1)],
        }
    )


def agent(ctx: Context, feed: Feed, notices: Notices | None, clock: Clock, **kw: Any) -> Agent:
    kw.setdefault("posting_turn", free)
    return Agent(
        ctx,
        [feed],
        notices=notices,
        writer=kw.pop("writer", None),
        settings=SyncSettings(poll_interval=60.0, backoff_start=1.0, backoff_max=8.0),
        source_errors=(SourceDown,),
        clock=clock,
        **kw,
    )


def live_keys(sage: FakeSage, module: str) -> set[str]:
    return {d.key for d in sage.read(module, None) if not d.is_void}


def test_the_first_cycle_polls_everything_and_posts_it(ctx: Context, sage: FakeSage) -> None:
    writer = FakeStatusWriter()
    report = agent(ctx, source(), Notices(), Clock(), writer=writer).cycle(wait=0)

    assert report.polled == [SERVICETRADE]
    assert dict(report.recorded) == {"company": 1, "location": 1, "invoice": 1}
    assert report.reconciled and report.posted["failed"] == 0
    assert invoice_key("100") in live_keys(sage, AR_INVOICES)
    assert writer.statuses == {"100": "processed"}


def test_a_notice_is_fetched_recorded_and_then_acknowledged(ctx: Context, sage: FakeSage) -> None:
    feed, notices, clock = source(), Notices(), Clock()
    sync = agent(ctx, feed, notices, clock)
    sync.cycle(wait=0)
    clock.now += 5  # well inside the poll interval: only the notice brings the change
    feed.records["invoice"].append(invoice(101, 10, 1, updated=200))
    notices.send("invoice", "101", "created")
    notices.send("invoice", "101", "created")  # delivered twice

    report = sync.cycle(wait=0)

    assert report.polled == []
    assert feed.fetches == [("invoice", "101")]  # once, though named twice
    assert dict(report.recorded) == {"invoice": 1}
    assert notices.acked == 2
    assert invoice_key("101") in live_keys(sage, AR_INVOICES)


def test_a_deleted_entity_is_recorded_as_deleted_once(ctx: Context) -> None:
    feed, notices, clock = source(), Notices(), Clock()
    sync = agent(ctx, feed, notices, clock)
    sync.cycle(wait=0)
    feed.records["location"] = []
    notices.send("location", "10", "deleted")
    notices.send("location", "10", "updated")  # an older notice, arriving late

    report = sync.cycle(wait=0)

    assert dict(report.deleted) == {"location": 1}
    assert notices.acked == 2
    notices.send("location", "10", "deleted")  # ServiceTrade sends it again
    assert sum(sync.cycle(wait=0).recorded.values()) == 0


def test_notices_of_kinds_recon_does_not_keep_are_acknowledged(ctx: Context) -> None:
    feed, notices, clock = source(), Notices(), Clock()
    sync = agent(ctx, feed, notices, clock)
    notices.send("appointment", "5")
    sync.cycle(wait=0)
    assert notices.acked == 1
    assert ("appointment", "5") not in feed.fetches


def test_a_source_outage_backs_off_keeps_notices_and_loses_nothing(
    ctx: Context, sage: FakeSage
) -> None:
    feed, notices, clock = source(), Notices(), Clock()
    sync = agent(ctx, feed, notices, clock)
    sync.cycle(wait=0)
    feed.down = True
    feed.records["invoice"].append(invoice(101, 10, 1, updated=200))
    notices.send("invoice", "101", "created")

    down = sync.cycle(wait=0)
    assert SERVICETRADE in down.errors
    assert notices.acked == 0  # not recorded, so not acknowledged: the relay keeps it
    clock.now += 0.5
    assert sync.cycle(wait=0).notices == 1 and feed.fetches == []  # backing off: not tried
    state = sync_status(ctx, now=sync.wall())
    assert state is not None and not state["health"][SERVICETRADE]["ok"]

    feed.down = False
    clock.now += 10
    sync.cycle(wait=0)
    assert notices.acked == 1
    assert invoice_key("101") in live_keys(sage, AR_INVOICES)
    state = sync_status(ctx, now=sync.wall())
    assert state is not None and state["health"][SERVICETRADE] == {"ok": True}


def test_polling_finds_what_no_notice_named(ctx: Context, sage: FakeSage) -> None:
    feed, clock = source(), Clock()
    sync = agent(ctx, feed, Notices(), clock)
    sync.cycle(wait=0)
    feed.records["company"].append(company(2, updated=300))
    clock.now += 30
    assert sum(sync.cycle(wait=0).recorded.values()) == 0  # the webhook was lost
    clock.now += 31  # the poll interval has passed
    report = sync.cycle(wait=0)
    assert report.polled == [SERVICETRADE]
    assert dict(report.recorded) == {"company": 1}
    assert len(live_keys(sage, CLIENTS)) == 2


def test_a_held_lease_posts_nothing_and_the_next_cycle_does(ctx: Context, sage: FakeSage) -> None:
    turn: dict[str, Any] = {"lease": held}
    sync = agent(ctx, source(), Notices(), Clock(), posting_turn=lambda: turn["lease"]())
    report = sync.cycle(wait=0)
    assert not report.reconciled and live_keys(sage, AR_INVOICES) == set()
    assert sync.waiting_for_lease is not None and "reconcile --apply" in sync.waiting_for_lease
    turn["lease"] = free
    assert sync.cycle(wait=0).reconciled
    assert invoice_key("100") in live_keys(sage, AR_INVOICES)


def test_run_stops_when_told_and_says_so(ctx: Context) -> None:
    stopping = threading.Event()
    sync = agent(ctx, source(), Notices(), Clock())
    runner = threading.Thread(target=sync.run, args=(stopping,))
    runner.start()
    stopping.set()
    runner.join(timeout=5)
    assert not runner.is_alive()
    sync.stopped()
    state = ctx.read_model.sync_state()
    assert state[AGENT]["running"] is False and state[RELAY]["state"] == "connected"
