"""ingest: every change recorded once; a payload that cannot be read is quarantined."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from application.context import Context
from application.ingest import ingest
from application.reconcile import reconcile
from domain.reconcile import MISSING
from domain.source import SERVICETRADE
from tests.application_tests.books import MAPPING
from tests.fakes import FakeSage, ListFeed, memory_context
from tests.projections_tests.test_store_contract import company, invoice, location


@pytest.fixture
def ctx() -> Iterator[Context]:
    ctx = memory_context(MAPPING, sage=FakeSage())
    yield ctx
    ctx.read_model.engine.dispose()


def feed() -> ListFeed:
    return ListFeed(
        {
            "company": [company(1), company(2)],
            "location": [location(10, 1), location(11, 2)],
            "invoice": [invoice(100, 10, 1), invoice(101, 11, 2)],
        }
    )


def ids(ctx: Context, kind: str) -> list[str]:
    return sorted(source_id for source_id, _ in ctx.read_model.payloads(SERVICETRADE, kind))


def test_the_same_content_twice_appends_nothing(ctx: Context) -> None:
    source = feed()
    first = ingest(ctx, source)
    assert dict(first.appended) == {"company": 2, "location": 2, "invoice": 2}
    position = ctx.store.max_position()

    again = ingest(ctx, source)

    assert sum(again.appended.values()) == 0
    assert dict(again.fetched) == {"company": 2, "location": 2, "invoice": 2}
    assert ctx.store.max_position() == position
    # the second run asked from the cursor (100) less the overlap (300), floored at 0
    asked = [since for kind, since in source.requests if kind == "invoice"]
    assert asked == [None, 0]


def test_a_record_sent_again_with_only_a_new_stamp_appends_nothing(ctx: Context) -> None:
    source = feed()
    ingest(ctx, source)
    position = ctx.store.max_position()
    source.records["company"][0] = company(1, updated=900)

    report = ingest(ctx, source, kinds=("company",), overlap=0)

    assert source.requests[-1] == ("company", 100)  # from the cursor
    assert report.fetched["company"] == 2
    assert report.appended["company"] == 0
    assert ctx.store.max_position() == position
    assert ctx.read_model.cursor(SERVICETRADE, "company") == 900


def test_a_changed_record_appends_one_event(ctx: Context) -> None:
    source = feed()
    ingest(ctx, source)
    position = ctx.store.max_position()
    source.records["company"][1] = company(2, name="Renamed Co", updated=200)

    report = ingest(ctx, source)

    assert dict(report.appended) == {"company": 1, "location": 0, "invoice": 0}
    assert ctx.store.max_position() == position + 1
    names = dict(ctx.read_model.payloads(SERVICETRADE, "company"))
    assert names["2"]["name"] == "Renamed Co"


def test_a_malformed_payload_is_quarantined_and_the_rest_recorded(ctx: Context) -> None:
    source = feed()
    source.records["company"].insert(1, {"id": "3", "name": "Broken", "updated": 100})

    report = ingest(ctx, source)

    assert report.rejected["company"] == 1
    assert dict(report.appended) == {"company": 3, "location": 2, "invoice": 2}
    [row] = ctx.read_model.quarantined()
    assert row["source_id"] == "3"
    assert "company 3" in row["rejection"]
    assert '"Broken"' in row["raw"]
    assert ids(ctx, "company") == ["1", "2"]
    assert ids(ctx, "invoice") == ["100", "101"]
    assert ctx.read_model.counts()["sources"]["servicetrade/company"] == {
        "records": 3,
        "quarantined": 1,
    }
    # the rest syncs on: both invoices are expected in Sage
    missing = {f.key for f in reconcile(ctx) if f.kind == MISSING}
    assert {"ST-INV-100", "ST-INV-101"} <= missing

    # fetched again unchanged, it is not quarantined twice
    position = ctx.store.max_position()
    again = ingest(ctx, source)
    assert again.rejected["company"] == 1
    assert sum(again.appended.values()) == 0
    assert ctx.store.max_position() == position

    # once the source fixes it, it is recorded and leaves the quarantine
    source.records["company"][1] = company(3, updated=200)
    fixed = ingest(ctx, source)
    assert fixed.appended["company"] == 1
    assert ctx.read_model.quarantined() == []
    assert ids(ctx, "company") == ["1", "2", "3"]
