"""ingest with hostile sources: a stale payload never rolls a record back, two different payloads
of one record with one stamp in a fetch are quarantined, a stamp in the future moves no cursor
past the clock, and what is quarantined is kept whole with a bounded reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.servicetrade.reader import read_record, source_id_of, updated_of
from application.context import Context
from application.ingest import BATCH, CLOCK_SKEW, ingest, ingest_ids
from domain import bounds
from domain.records import REASON_BYTES, raw_text
from domain.source import SERVICETRADE, PayloadError, Snapshot
from tests.application_tests.books import MAPPING
from tests.fakes import memory_context

TZ = "America/New_York"
NOW = 1_790_000_000


class WireFeed:
    """ServiceTrade as pages of wire records, read by the real reader (no HTTP)."""

    system = SERVICETRADE

    def __init__(self) -> None:
        self.served: dict[str, list[list[dict[str, Any]]]] = {}
        self.held: dict[tuple[str, str], dict[str, Any]] = {}

    def serve(self, kind: str, *pages: list[dict[str, Any]]) -> None:
        self.served[kind] = list(pages)
        for page in pages:
            for raw in page:
                self.held[(kind, str(raw.get("id")))] = raw

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]:
        yield from self.served.get(kind, [])

    def read(self, kind: str, raw: dict[str, Any]) -> Snapshot:
        return read_record(kind, raw, tz=TZ)

    def source_id_of(self, raw: dict[str, Any]) -> str | None:
        return source_id_of(raw)

    def updated_of(self, raw: dict[str, Any]) -> int | None:
        return updated_of(raw)

    def fetch(self, kind: str, source_id: str) -> dict[str, Any] | None:
        return self.held.get((kind, source_id))


def company(name: str, updated: int, source_id: Any = 1) -> dict[str, Any]:
    return {"id": source_id, "name": name, "updated": updated}


@pytest.fixture(params=["memory", "sqlite"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    url = "memory:" if request.param == "memory" else f"sqlite:///{tmp_path / 'recon.db'}"
    ctx = memory_context(MAPPING, store_url=url)
    yield ctx
    ctx.read_model.engine.dispose()


def names(ctx: Context) -> dict[str, str]:
    return {i: p["name"] for i, p in ctx.read_model.payloads(SERVICETRADE, "company")}


def rejections(ctx: Context) -> dict[str, dict[str, Any]]:
    return {q["source_id"]: q for q in ctx.read_model.quarantined()}


def run(ctx: Context, feed: WireFeed) -> Any:
    return ingest(ctx, feed, kinds=["company"], now=NOW)


def test_a_stale_payload_appends_nothing_and_never_rolls_the_record_back(ctx: Context) -> None:
    feed = WireFeed()
    feed.serve("company", [company("Newer", NOW - 10)])
    run(ctx, feed)
    position = ctx.store.max_position()

    feed.serve("company", [company("Older", NOW - 20)])
    report = run(ctx, feed)

    assert report.stale["company"] == 1 and report.appended["company"] == 0
    assert ctx.store.max_position() == position and names(ctx) == {"1": "Newer"}
    feed.serve("company", [company("Newest", NOW - 5)])
    assert run(ctx, feed).appended["company"] == 1 and names(ctx) == {"1": "Newest"}


def test_a_change_notice_that_fetches_a_stale_copy_appends_nothing(ctx: Context) -> None:
    feed = WireFeed()
    feed.serve("company", [company("Newer", NOW - 10)])
    run(ctx, feed)
    feed.held[("company", "1")] = company("Older", NOW - 20)

    report = ingest_ids(ctx, feed, "company", ["1"])

    assert report.stale["company"] == 1 and report.appended["company"] == 0
    assert names(ctx) == {"1": "Newer"}


def test_a_stale_invalid_payload_does_not_quarantine_a_good_record(ctx: Context) -> None:
    feed = WireFeed()
    feed.serve("company", [company("Good", NOW - 10)])
    run(ctx, feed)
    feed.serve("company", [{"id": 1, "name": None, "updated": NOW - 20}])

    assert run(ctx, feed).stale["company"] == 1
    assert rejections(ctx) == {} and names(ctx) == {"1": "Good"}


def test_a_stamp_only_refresh_is_no_change_but_raises_the_bar_for_stale_copies(
    ctx: Context,
) -> None:
    feed = WireFeed()
    feed.serve("company", [company("A", NOW - 30)])
    run(ctx, feed)
    feed.serve("company", [company("A", NOW - 10)])  # the same content, stamped again
    assert run(ctx, feed).appended["company"] == 0
    feed.serve("company", [company("B", NOW - 20)])  # between the two stamps: still stale

    assert run(ctx, feed).stale["company"] == 1 and names(ctx) == {"1": "A"}


def test_two_payloads_of_one_record_with_one_stamp_in_a_page_are_quarantined(ctx: Context) -> None:
    feed = WireFeed()
    feed.serve("company", [company("One", NOW - 10), company("Two", NOW - 10)])

    report = run(ctx, feed)

    assert report.rejected["company"] == 1
    held = rejections(ctx)["1"]
    assert "'1' came twice in one fetch" in held["rejection"] and held["has_valid"]
    assert '"Two"' in held["raw"] and names(ctx) == {"1": "One"}  # the first kept, not overwritten


def test_duplicates_on_different_pages_of_one_run_are_quarantined_too(ctx: Context) -> None:
    feed = WireFeed()
    feed.serve("company", [company("One", NOW - 10)], [company("Two", NOW - 10)])

    assert run(ctx, feed).rejected["company"] == 1
    assert "came twice" in rejections(ctx)["1"]["rejection"]


def test_an_invalid_copy_then_a_valid_one_with_the_same_stamp_is_still_a_duplicate(
    ctx: Context,
) -> None:
    feed = WireFeed()
    feed.serve("company", [{"id": 1, "name": 7.5, "updated": NOW - 10}, company("Two", NOW - 10)])

    assert run(ctx, feed).rejected["company"] == 2
    assert "came twice" in rejections(ctx)["1"]["rejection"]


def test_a_page_larger_than_a_batch_is_recorded_whole_and_its_duplicates_still_found(
    ctx: Context,
) -> None:
    # ingest decides, records and projects a page BATCH records at a time: a record whose two
    # copies fall in different batches of one page is still a duplicate in one fetch
    others = [company(f"Co {i}", NOW - 10, i) for i in range(2, BATCH + 2)]
    feed = WireFeed()
    feed.serve("company", [company("One", NOW - 10), *others, company("Two", NOW - 10)])

    report = run(ctx, feed)

    assert report.fetched["company"] == BATCH + 2
    # every record, and the quarantine of the one that came twice
    assert report.appended["company"] == BATCH + 2 and report.rejected["company"] == 1
    assert "came twice" in rejections(ctx)["1"]["rejection"]
    assert ctx.read_model.cursor(SERVICETRADE, "company") == NOW - 10


def test_the_same_payload_twice_in_a_fetch_is_no_duplicate(ctx: Context) -> None:
    feed = WireFeed()
    feed.serve("company", [company("One", NOW - 10)], [company("One", NOW - 10)])

    report = run(ctx, feed)

    assert report.rejected["company"] == 0 and report.appended["company"] == 1


def test_one_stamp_with_new_content_in_a_later_run_is_a_change(ctx: Context) -> None:
    feed = WireFeed()
    feed.serve("company", [company("One", NOW - 10)])
    run(ctx, feed)
    feed.serve("company", [company("Two", NOW - 10)])  # changed within the same second

    assert run(ctx, feed).appended["company"] == 1 and names(ctx) == {"1": "Two"}


def test_a_stamp_far_ahead_is_recorded_but_the_cursor_stops_near_the_clock(ctx: Context) -> None:
    feed = WireFeed()
    feed.serve("company", [company("Ahead", bounds.LAST_STAMP), company("Now", NOW, 2)])

    report = run(ctx, feed)

    assert report.appended["company"] == 2
    assert ctx.read_model.cursor(SERVICETRADE, "company") == NOW + CLOCK_SKEW


@pytest.mark.parametrize("updated", [2**64, 10**30, -1])
def test_an_updated_stamp_no_cursor_can_hold_is_quarantined_not_a_crash(
    ctx: Context, updated: int
) -> None:
    feed = WireFeed()
    feed.serve("company", [company("Odd stamp", updated), company("Fine", NOW, 2)])

    report = run(ctx, feed)

    assert report.rejected["company"] == 1 and "updated" in rejections(ctx)["1"]["rejection"]
    assert ctx.read_model.cursor(SERVICETRADE, "company") == NOW


class LongWinded(WireFeed):
    def read(self, kind: str, raw: dict[str, Any]) -> Snapshot:
        if raw.get("name") == "explain":
            raise PayloadError("company 1: " + "why " * 2000)
        return super().read(kind, raw)


def test_a_quarantine_keeps_the_raw_payload_whole_and_a_reason_of_at_most_1_kb(
    ctx: Context,
) -> None:
    feed = LongWinded()
    raw = {"id": 1, "name": "explain", "updated": NOW, "junk": "\ud800" + "j" * 50_000, "n": 2**64}
    feed.serve("company", [raw])

    run(ctx, feed)

    held = rejections(ctx)["1"]
    assert len(held["rejection"].encode()) <= REASON_BYTES and held["rejection"].endswith("…")
    assert held["raw"] == raw_text(raw) and "j" * 50_000 in held["raw"]
    assert "\\ud800" in held["raw"] and "18446744073709551616" in held["raw"]


def test_a_payload_without_a_usable_id_is_quarantined_under_a_digest_of_itself(
    ctx: Context,
) -> None:
    feed = WireFeed()
    feed.serve("company", [company("Huge id", NOW, 2**64), company("Long id", NOW, "c" * 62)])

    assert run(ctx, feed).rejected["company"] == 2
    assert all(i.startswith("unidentified-") and len(i) <= 64 for i in rejections(ctx))
