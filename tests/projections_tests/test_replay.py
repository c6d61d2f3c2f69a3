"""A replay (sources folded first, each record's documents derived once from its final state)
leaves exactly the rows a catch-up applying the log event by event leaves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from adapters.store import Store, create_projection_engine
from application.context import Context
from application.ingest import ingest, ingest_ids
from application.reconcile import reconcile
from domain.documents import CLIENTS, Document
from domain.mapping import Mapping
from projections.readmodel import ReadModel
from projections.runner import catch_up_in_order, rebuild, replay
from projections.tables import metadata
from tests.application_tests.books import MAPPING as BOOKS_MAPPING
from tests.application_tests.books import world
from tests.application_tests.test_adopt_use_case import office_books
from tests.fakes import FakeSage, FakeSink, ListFeed, memory_context
from tests.projections_tests import test_costs
from tests.projections_tests.test_store_contract import MAPPING, company, invoice, location

#: Tables that are not projections of the log (ingest's and the agent's own state).
NOT_PROJECTED = {"ingest_cursor", "ingest_seen", "ingest_stamp", "sync_state"}


def tables(ctx: Context) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table's rows, sorted."""
    with ctx.read_model.engine.connect() as conn:
        return {
            name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
            for name, table in metadata.tables.items()
            if name not in NOT_PROJECTED
        }


def in_order(ctx: Context, page_size: int) -> dict[str, list[tuple[Any, ...]]]:
    model = ctx.read_model
    rebuild(model.engine, model.projections)
    catch_up_in_order(ctx.store, model.engine, model.projections, page_size)
    return tables(ctx)


def replayed(ctx: Context) -> dict[str, list[tuple[Any, ...]]]:
    model = ctx.read_model
    assert replay(ctx.store, model.engine, model.projections) == ctx.store.max_position()
    return tables(ctx)


def assert_replay_matches(ctx: Context) -> None:
    ctx.catch_up()
    as_recorded = tables(ctx)
    for page_size in (1, 3, 1000):
        event_by_event = in_order(ctx, page_size)
        assert replayed(ctx) == event_by_event
    assert replayed(ctx) == as_recorded


def varied(ctx: Context) -> None:
    """Changes of every kind: renames, a tax group change, prices, voids, hand-offs, a
    quarantined payload made good, an invoice recorded before its location, a company that
    becomes a customer after its site was recorded, deletions."""
    feed = ListFeed(
        {
            "company": [company(1), company(2), {"id": "3", "name": "Broken", "updated": 100}],
            "location": [location(10, 1), location(11, 2), location(13, 2)],
            "invoice": [
                invoice(100, 10, 1),
                invoice(101, 11, 2, status="ok"),
                invoice(102, 10, 1, price="55.10"),
                invoice(103, 12, 1),  # its location comes later
                invoice(104, 13, 2),
            ],
        },
        page_size=2,
    )
    ingest(ctx, feed)
    feed.records["company"][0] = company(1, name="Customer One Renamed", updated=200)
    feed.records["company"][2] = company(3, updated=200)
    feed.records["location"][1] = location(11, 2, group="", updated=200)  # tax group changes
    feed.records["location"].append(location(12, 1, updated=200))
    feed.records["invoice"][1] = invoice(101, 11, 2, updated=200)  # handed to accounting
    feed.records["invoice"][2] = invoice(102, 10, 1, price="66.20", updated=200)
    ingest(ctx, feed)
    feed.records["company"].append(company(4, updated=250) | {"customer": False})
    feed.records["location"].append(location(14, 4, updated=250))
    feed.records["invoice"].append(invoice(105, 14, 4, updated=250))
    ingest(ctx, feed)
    feed.records["company"][3] = company(4, updated=300)  # becomes a customer
    feed.records["invoice"][0] = invoice(100, 10, 1, status="void", updated=300)
    feed.records["location"][0] = location(10, 1, updated=300) | {"name": "Site Ten East"}
    ingest(ctx, feed)
    gone = feed.records["invoice"].pop(4)
    ingest_ids(ctx, feed, "invoice", [str(gone["id"])])


def costs(ctx: Context) -> None:
    st, pl = test_costs.sources()
    test_costs.ingest(ctx, st, pl)
    pl.records["bill"][0] = test_costs.bill(amount="120.00", updated=200)
    st.records["jobitem"][0] = test_costs.item(
        1, "labor", "Overtime Labor", "3", "40.00", updated=200
    )
    test_costs.ingest(ctx, st, pl)


WORLDS: dict[str, tuple[Mapping, Callable[[Context], None]]] = {
    "varied": (MAPPING, varied),
    "costs": (test_costs.MAPPING, costs),
}


@pytest.mark.parametrize("name", sorted(WORLDS))
def test_a_replay_leaves_the_rows_of_a_catch_up_event_by_event(store_url: str, name: str) -> None:
    mapping, build = WORLDS[name]
    store = Store(store_url)
    engine = create_projection_engine(store_url)
    try:
        ctx = Context(store, ReadModel(engine, mapping), mapping)
        build(ctx)
        assert_replay_matches(ctx)
    finally:
        store.close()
        engine.dispose()


def test_a_replay_keeps_the_numbers_adoption_gave_and_skips_the_numbers_sage_uses() -> None:
    office = office_books()
    office.append(
        Document(
            CLIENTS,
            "SAGE-reccln-1001",
            {"reccln": ({"recnum": "1001", "clnnme": "Office Only Co", "usrdf1": ""},)},
        )
    )
    sage = FakeSage(office)
    ctx = memory_context(BOOKS_MAPPING, sage=sage, sink=FakeSink(sage))
    world(ctx)
    reconcile(ctx)  # adopts the office's records and notes the numbers it uses
    assert_replay_matches(ctx)
    assert ctx.read_model.sage_numbers() == {("client", "1"): 1003, ("job", "10"): 5004}


def test_the_varied_world_differs_from_an_empty_one() -> None:
    """The comparison above sees rows: the varied world leaves documents of every module it
    touches, so a replay that derived nothing could not pass it."""
    ctx = memory_context(MAPPING)
    varied(ctx)
    rows = tables(ctx)
    modules = {row[0] for row in rows["expected_document"]}
    assert modules == {"clients", "jobs", "ar_invoices"}
    assert rows["sage_number"] and rows["location_tax"]
    numbers = ctx.read_model.sage_numbers()
    site = ctx.read_model.expected_for("jobs", f"JOB-{numbers[('job', '14')]}")
    assert site is not None and site.header["clnnum"] == str(numbers[("client", "4")])
