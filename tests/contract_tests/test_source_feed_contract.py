"""The SourceFeed contract, for the list feed of the tests and the ServiceTrade and PartsLedger
feeds against the simulator on loopback (one simulator for the session)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from domain import ports
from domain.source import SNAPSHOT_TYPES, PayloadError, from_payload, to_payload
from tests.contract_tests.simulated import PL_PAGE_LIMIT, ST_PAGE_LIMITS
from tests.fakes import ListFeed
from tests.projections_tests.test_store_contract import company, invoice, location


@dataclass
class Rig:
    feed: ports.SourceFeed
    kind: str
    page_size: int
    id_field: str  # where a raw record carries its id


def list_feed() -> ListFeed:
    return ListFeed(
        {
            "company": [company(i, updated=100 + 10 * i) for i in range(1, 8)],
            "location": [location(10, 1)],
            "invoice": [invoice(100 + i, 10, 1, updated=500 - i) for i in range(5)],
        },
        page_size=2,
    )


RIGS = [
    ("list", "company"),
    ("list", "invoice"),
    ("servicetrade", "company"),
    ("servicetrade", "invoice"),
    ("partsledger", "vendor"),
    ("partsledger", "bill"),
]


@pytest.fixture(params=RIGS, ids=[f"{system}-{kind}" for system, kind in RIGS])
def rig(request: pytest.FixtureRequest) -> Rig:
    system, kind = request.param
    if system == "list":
        return Rig(list_feed(), kind, 2, "id")
    if system == "servicetrade":
        feed = request.getfixturevalue("servicetrade_feed")
        return Rig(feed, kind, ST_PAGE_LIMITS[kind], "id")
    feed = request.getfixturevalue("partsledger_feed")
    return Rig(feed, kind, PL_PAGE_LIMIT, "_id")


def everything(rig: Rig, updated_after: int | None = None) -> list[dict[str, Any]]:
    return [raw for page in rig.feed.pages(rig.kind, updated_after) for raw in page]


def test_pages_are_lists_of_raw_records(rig: Rig) -> None:
    pages = list(rig.feed.pages(rig.kind, None))

    assert len(pages) >= 2  # every rig's listing spans pages
    assert all(isinstance(page, list) and 0 < len(page) <= rig.page_size for page in pages)
    assert all(isinstance(raw, dict) for page in pages for raw in page)
    ids = [rig.feed.source_id_of(raw) for page in pages for raw in page]
    assert len(set(ids)) == len(ids)


def test_read_gives_the_snapshot_of_the_record_under_its_id(rig: Rig) -> None:
    for raw in everything(rig):
        snapshot = rig.feed.read(rig.kind, raw)

        assert isinstance(snapshot, SNAPSHOT_TYPES[rig.kind])
        assert snapshot.id == rig.feed.source_id_of(raw) == str(raw[rig.id_field])
        assert from_payload(rig.kind, to_payload(snapshot)) == snapshot


def test_a_malformed_record_raises_payload_error_and_keeps_its_id(rig: Rig) -> None:
    raws = everything(rig)
    for raw in raws[:3]:
        broken = {rig.id_field: raw[rig.id_field]}

        with pytest.raises(PayloadError):
            rig.feed.read(rig.kind, broken)
        assert rig.feed.source_id_of(broken) == rig.feed.source_id_of(raw)
    assert rig.feed.source_id_of({"name": "no id"}) is None


def test_every_record_carries_its_updated_time(rig: Rig) -> None:
    stamps = [rig.feed.updated_of(raw) for raw in everything(rig)]

    assert all(isinstance(s, int) and s > 0 for s in stamps)
    assert len(set(stamps)) > 1
    assert rig.feed.updated_of({rig.id_field: "1"}) is None


def test_updated_after_keeps_records_changed_at_or_after_the_time(rig: Rig) -> None:
    raws = everything(rig)
    stamped = {str(rig.feed.source_id_of(r)): rig.feed.updated_of(r) or 0 for r in raws}
    stamps = sorted(set(stamped.values()))
    since = stamps[len(stamps) // 2]
    want = sorted(source_id for source_id, updated in stamped.items() if updated >= since)

    got = sorted(str(rig.feed.source_id_of(raw)) for raw in everything(rig, since))

    assert got == want
    assert 0 < len(got) < len(raws)
    assert everything(rig, stamps[-1] + 1) == []
