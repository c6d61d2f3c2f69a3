"""One contract for the event store and projections, run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, func, select, text, update

from adapters.store import Store, create_projection_engine
from application.context import Context
from application.ingest import ingest
from domain.documents import AR_INVOICES, CLIENTS, JOBS
from domain.mapping import Mapping, TaxDistrict, TaxEntity
from domain.ports import StoredEvent
from projections.readmodel import ReadModel
from projections.rows import expected_documents
from projections.runner import catch_up
from projections.tables import (
    among,
    expected_document,
    sage_number,
    source_state,
    tracking,
    upsert,
)
from tests.fakes import ListFeed

MAPPING = Mapping(
    ar_control_account=1200,
    default_income_account=4000,
    income_accounts={"labor": 4100},
    tax_districts={1: TaxDistrict(1, "Wake", (TaxEntity(10, "NC", Decimal("4.75"), 2310),))},
    tax_group_districts={"Wake County NC": 1},
)


def company(i: int, name: str = "", updated: int = 100) -> dict[str, Any]:
    return {
        "id": str(i),
        "name": name or f"Customer {i}",
        "status": "active",
        "customer": True,
        "vendor": False,
        "phone": "",
        "ref_number": "",
        "updated": updated,
        "address": {
            "street": f"{i} Main St",
            "city": "Raleigh",
            "state": "NC",
            "postal_code": "27601",
        },
    }


def location(
    i: int, company_id: int, group: str = "Wake County NC", updated: int = 100
) -> dict[str, Any]:
    return {
        "id": str(i),
        "name": f"Site {i}",
        "company_id": str(company_id),
        "status": "active",
        "taxable": True,
        "tax_group": group,
        "phone": "",
        "ref_number": "",
        "updated": updated,
        "address": {
            "street": f"{i} Oak St",
            "city": "Raleigh",
            "state": "NC",
            "postal_code": "27601",
        },
    }


def invoice(
    i: int,
    location_id: int,
    company_id: int,
    status: str = "pending_accounting",
    price: str = "100.00",
    updated: int = 100,
) -> dict[str, Any]:
    return {
        "id": str(i),
        "number": f"INV-{i}",
        "status": status,
        "invoice_type": "invoice",
        "transaction_date": "2026-10-15",
        "customer_id": str(company_id),
        "location_id": str(location_id),
        "job_id": "",
        "updated": updated,
        "items": [
            {
                "id": "1",
                "description": "Labor",
                "quantity": "2.00",
                "price": "95.00",
                "taxable": False,
                "item_type": "labor",
                "service_line": "HVAC",
            },
            {
                "id": "2",
                "description": "Part",
                "quantity": "1.00",
                "price": price,
                "taxable": True,
                "item_type": "part",
                "service_line": "HVAC",
            },
        ],
    }


@pytest.fixture
def ctx(store_url: str) -> Iterator[Context]:
    store = Store(store_url)
    engine = create_projection_engine(store_url)
    try:
        ctx = Context(store, ReadModel(engine, MAPPING), MAPPING)
        ctx.catch_up()
        yield ctx
    finally:
        store.close()
        engine.dispose()


def feed() -> ListFeed:
    return ListFeed(
        {
            "company": [company(1), company(2)],
            "location": [location(10, 1), location(11, 2), location(12, 1)],
            "invoice": [invoice(100, 10, 1), invoice(101, 11, 2, status="ok"), invoice(102, 12, 1)],
        }
    )


def scalar(ctx: Context, query: Any) -> Any:
    with ctx.read_model.engine.connect() as conn:
        return conn.execute(query).scalar()


def test_recorded_events_read_back_in_order_with_their_state(ctx: Context) -> None:
    ingest(ctx, feed(), kinds=("company",))
    events = ctx.store.read(0, 10)
    assert [e.position for e in events] == sorted(e.position for e in events)
    assert {e.state["payload"]["name"] for e in events} == {"Customer 1", "Customer 2"}
    assert ctx.store.read(events[-1].position, 10) == []


def test_ingesting_the_same_content_again_appends_nothing(ctx: Context) -> None:
    source = feed()
    for kind in source.records.values():
        for record in kind:
            record["updated"] = 1000
    first = ingest(ctx, source)
    assert sum(first.appended.values()) == 8
    before = ctx.store.max_position()
    asked = len(source.requests)
    again = ingest(ctx, source)
    assert sum(again.appended.values()) == 0
    assert ctx.store.max_position() == before
    # the second run asked only for what changed since the cursor (1000) less the overlap (300)
    since = dict(source.requests[asked:])
    assert [since[kind] for kind in ("company", "location", "invoice")] == [700, 700, 700]
    assert since["user"] is None  # a kind never seen has no cursor: everything is asked for


def test_expected_documents_follow_the_ledger(ctx: Context) -> None:
    ingest(ctx, feed())
    with ctx.read_model.engine.connect() as conn:
        clients, _ = expected_documents(conn, CLIENTS)
        jobs, _ = expected_documents(conn, JOBS)
        invoices, problems = expected_documents(conn, AR_INVOICES)
    assert sorted(d.header["recnum"] for d in clients) == ["1001", "1002"]
    assert sorted(d.header["recnum"] for d in jobs) == ["5001", "5002", "5003"]
    # the "ok" invoice is not yet handed to accounting
    assert sorted(d.key for d in invoices) == ["ST-INV-100", "ST-INV-102"]
    assert problems == {}
    by_key = {d.key: d for d in invoices}
    assert by_key["ST-INV-100"].header["jobnum"] == "5001"
    assert by_key["ST-INV-100"].header["invttl"] == "294.75"


def test_a_change_upstream_changes_the_document_and_its_dependents(ctx: Context) -> None:
    source = feed()
    ingest(ctx, source)
    source.records["invoice"][0] = invoice(100, 10, 1, price="200.00", updated=200)
    source.records["location"][0] = location(10, 1, group="Nowhere", updated=200)
    ingest(ctx, source)
    with ctx.read_model.engine.connect() as conn:
        invoices, problems = expected_documents(conn, AR_INVOICES)
        _, job_problems = expected_documents(conn, JOBS)
    assert "ST-INV-100" in problems and "Nowhere" in problems["ST-INV-100"]
    assert "JOB-5001" in job_problems
    assert [d.key for d in invoices] == ["ST-INV-102"]


def test_a_void_after_hand_off_expects_a_void_document(ctx: Context) -> None:
    source = feed()
    ingest(ctx, source)
    source.records["invoice"][0] = invoice(100, 10, 1, status="void", updated=300)
    source.records["invoice"][1] = invoice(101, 11, 2, status="void", updated=300)
    ingest(ctx, source)
    with ctx.read_model.engine.connect() as conn:
        invoices, _ = expected_documents(conn, AR_INVOICES)
    by_key = {d.key: d for d in invoices}
    assert by_key["ST-INV-100"].is_void
    assert "ST-INV-101" not in by_key  # never handed off, so never in Sage


def _snapshot(conn: Connection) -> tuple[Any, ...]:
    return (
        sorted(tuple(r) for r in conn.execute(select(expected_document))),
        sorted(tuple(r) for r in conn.execute(select(sage_number))),
        sorted(tuple(r) for r in conn.execute(select(source_state))),
    )


def test_replay_rebuilds_exactly_the_same_rows(ctx: Context) -> None:
    source = feed()
    ingest(ctx, source)
    source.records["invoice"][2] = invoice(102, 12, 1, price="7.77", updated=500)
    ingest(ctx, source)
    with ctx.read_model.engine.connect() as conn:
        before = _snapshot(conn)
    assert ctx.read_model.rebuild(ctx.store) == ctx.store.max_position()
    with ctx.read_model.engine.connect() as conn:
        assert _snapshot(conn) == before


class Boom(Exception):
    pass


class Exploding:
    """A projection that fails part-way through its second page."""

    name = "exploding"

    def __init__(self) -> None:
        self.pages = 0

    def fingerprint(self) -> str:
        return "x"

    def reset(self, conn: Connection) -> None:
        return None

    def apply(self, conn: Connection, events: list[StoredEvent]) -> None:
        self.pages += 1
        if self.pages == 2:
            raise Boom


def test_a_failed_page_leaves_rows_and_tracking_untouched(ctx: Context) -> None:
    ingest(ctx, feed())
    ctx.read_model.rebuild(ctx.store)
    with ctx.read_model.engine.begin() as conn:
        conn.execute(tracking.delete())
        conn.execute(expected_document.delete())
        conn.execute(sage_number.delete())
        conn.execute(source_state.delete())
    projections = [*ctx.read_model.projections, Exploding()]
    with pytest.raises(Boom):
        catch_up(ctx.store, ctx.read_model.engine, projections, page_size=3)
    with ctx.read_model.engine.connect() as conn:
        positions = dict(conn.execute(select(tracking.c.name, tracking.c.position)).all())
        rows = conn.execute(select(func.count()).select_from(source_state)).scalar()
    assert set(positions.values()) == {3}
    assert rows == 3
    ctx.catch_up()  # the next run goes on from where the last whole page ended
    assert scalar(ctx, select(func.count()).select_from(source_state)) == 8


def test_quarantined_payloads_are_listed_with_the_reason_and_the_rest_syncs(ctx: Context) -> None:
    source = feed()
    source.records["company"].append({"id": "3", "name": "Broken", "updated": 100})
    source.records["company"].append({"name": "no id at all", "updated": 100})
    report = ingest(ctx, source)
    assert report.rejected["company"] == 2
    rows = ctx.read_model.quarantined()
    assert {r["source_id"] for r in rows} >= {"3"}
    assert all(r["rejection"] for r in rows)
    assert any('"Broken"' in r["raw"] for r in rows)
    assert sum(report.appended.values()) == 10
    again = ingest(ctx, source)
    assert sum(again.appended.values()) == 0


class ShiftingFeed(ListFeed):
    """Pages by number over records sorted by 'updated', like the API; a record changes
    after the first page, so the one after it slides back past a page boundary unseen."""

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]:
        self.requests.append((kind, updated_after))
        page = 0
        while True:
            rows = sorted(
                (
                    r
                    for r in self.records.get(kind, [])
                    if updated_after is None or r["updated"] >= updated_after
                ),
                key=lambda r: (r["updated"], r["id"]),
            )
            chunk = rows[page * self.page_size : (page + 1) * self.page_size]
            if not chunk:
                return
            yield chunk
            if page == 0 and kind == "company" and not getattr(self, "moved", False):
                self.moved = True
                self.records["company"][0] = company(1, "Renamed", updated=200)
            page += 1


def test_a_record_skipped_by_shifting_pages_is_fetched_next_run(ctx: Context) -> None:
    source = ShiftingFeed({"company": [company(i, updated=99 + i) for i in range(1, 6)]})
    ingest(ctx, source, kinds=("company",), overlap=0)
    assert scalar(ctx, select(func.count()).select_from(source_state)) == 4  # one slid past
    ingest(ctx, source, kinds=("company",), overlap=0)
    assert scalar(ctx, select(func.count()).select_from(source_state)) == 5
    assert source.requests[-1] == ("company", 100)


def test_a_read_model_made_before_match_digests_gains_them(ctx: Context) -> None:
    ingest(ctx, feed())
    engine = ctx.read_model.engine
    with engine.begin() as conn:  # the table as an earlier recon made it
        conn.execute(text("ALTER TABLE expected_document DROP COLUMN match_digest"))
        conn.execute(update(tracking).values(fingerprint="an earlier recon's"))

    Context(ctx.store, ReadModel(engine, MAPPING), MAPPING).catch_up()

    documents = select(func.count()).select_from(expected_document)
    with_body = expected_document.c.body.is_not(None)
    assert scalar(ctx, documents.where(with_body)) > 0
    assert scalar(ctx, documents.where(with_body, expected_document.c.match_digest.is_(None))) == 0


def test_upsert_keeps_the_last_row_of_a_key_and_among_finds_what_it_names(ctx: Context) -> None:
    # upsert and among are written per dialect (PostgreSQL: one unnest statement, one array)
    with ctx.read_model.engine.begin() as conn:
        upsert(
            conn,
            sage_number,
            [
                {"kind": "client", "source_id": "a", "number": 1},
                {"kind": "client", "source_id": "b", "number": 2},
            ],
        )
        upsert(
            conn,
            sage_number,
            [
                {"kind": "client", "source_id": "a", "number": 5},
                {"kind": "client", "source_id": "c", "number": 3},
                {"kind": "client", "source_id": "a", "number": 4},  # the same key: this one holds
            ],
        )
        held = dict(
            conn.execute(
                select(sage_number.c.source_id, sage_number.c.number).where(
                    among(conn, sage_number.c.source_id, ["a", "c", "nobody"])
                )
            ).all()
        )
        nothing = conn.execute(
            select(sage_number.c.source_id).where(among(conn, sage_number.c.source_id, []))
        ).all()

    assert held == {"a": 4, "c": 3}
    assert nothing == []
