"""Vendors, payables, journal, job cost and daily payroll derived from the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from adapters.store import Store, create_projection_engine
from application import ingest as use_case
from application.context import Context
from domain.documents import AP_INVOICES, DAILY_PAYROLL, JOB_COST, JOURNAL, VENDORS, Document
from domain.mapping import Mapping
from projections.readmodel import ReadModel
from projections.rows import expected_documents
from tests.fakes import ListFeed
from tests.projections_tests.test_store_contract import company, location

MAPPING = Mapping(
    ar_control_account=1200,
    default_income_account=4000,
    ap_control_account=2000,
    inventory_account=1300,
    direct_expense_account=5000,
    freight_account=5100,
    purchase_tax_account=5000,
    employees={"Ana Tech": 101},
    pay_types={"Regular Labor": 1, "Overtime Labor": 2},
    cost_codes={
        "labor": (Decimal("100"), 2),
        "part": (Decimal("200"), 1),
        "purchase": (Decimal("210"), 1),
    },
)


def job(i: int, location_id: int) -> dict[str, Any]:
    return {
        "id": str(i),
        "number": str(i),
        "name": "Repair",
        "status": "completed",
        "job_type": "repair",
        "customer_id": "1",
        "location_id": str(location_id),
        "description": "",
        "updated": 100,
    }


def user(i: int, name: str) -> dict[str, Any]:
    return {
        "id": str(i),
        "name": name,
        "status": "active",
        "is_tech": True,
        "email": "",
        "updated": 100,
    }


def item(
    i: int,
    kind: str,
    name: str,
    quantity: str,
    cost: str,
    tech: str = "7",
    source: str = "stock",
    updated: int = 100,
) -> dict[str, Any]:
    return {
        "id": str(i),
        "job_id": "500",
        "item_type": kind,
        "name": name,
        "code": name[:3].upper(),
        "quantity": quantity,
        "cost": cost,
        "used_on": "2026-10-14",
        "technician_id": tech,
        "source": source,
        "service_line": "HVAC",
        "description": "",
        "updated": updated,
    }


def bill(status: str = "open", amount: str = "100.00", updated: int = 100) -> dict[str, Any]:
    return {
        "id": "77",
        "number": "F-5521",
        "vendor_id": "900",
        "po_id": "31",
        "po_number": "PO-31",
        "bill_date": "2026-10-20",
        "due_date": "2026-11-19",
        "status": status,
        "tax": "3.00",
        "freight": "10.00",
        "updated": updated,
        "lines": [
            {
                "id": "1",
                "description": "Compressor",
                "quantity": "1",
                "unit_cost": amount,
                "amount": amount,
                "item_id": "5",
                "po_line_id": "1",
                "job_id": "500",
            },
            {
                "id": "2",
                "description": "Filters (stock)",
                "quantity": "10",
                "unit_cost": "5.00",
                "amount": "50.00",
                "item_id": "6",
                "po_line_id": "2",
                "job_id": "",
            },
        ],
    }


class PartsLedgerFeed(ListFeed):
    system = "partsledger"


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


def sources() -> tuple[ListFeed, PartsLedgerFeed]:
    st = ListFeed(
        {
            "company": [company(1)],
            "location": [location(10, 1)],
            "user": [user(7, "Ana Tech"), user(8, "Bo Helper")],
            "job": [job(500, 10)],
            "jobitem": [
                item(1, "labor", "Regular Labor", "2.5", "40.00"),
                item(2, "labor", "Overtime Labor", "1", "40.00"),
                item(3, "part", "Capacitor", "3", "12.50"),
                item(4, "part", "Compressor", "1", "100.00", source="vendor"),
                item(5, "labor", "Regular Labor", "4", "30.00", tech="8"),
            ],
        }
    )
    pl = PartsLedgerFeed(
        {
            "vendor": [
                {
                    "id": "900",
                    "name": "Ferguson Supply",
                    "inactive": False,
                    "is_1099": False,
                    "terms": "Net 30",
                    "phone": "",
                    "address": {"street": "", "city": "", "state": "", "postal_code": ""},
                    "updated": 100,
                }
            ],
            "bill": [bill()],
        }
    )
    return st, pl


def documents(ctx: Context, module: str) -> tuple[dict[str, Document], dict[str, str]]:
    with ctx.read_model.engine.connect() as conn:
        docs, problems = expected_documents(conn, module)
    return {d.key: d for d in docs}, problems


def ingest(ctx: Context, *feeds: ListFeed) -> None:
    for feed in feeds:
        use_case.ingest(ctx, feed, kinds=tuple(feed.records))


def test_every_cost_module_is_derived(ctx: Context) -> None:
    ingest(ctx, *sources())
    vendors, _ = documents(ctx, VENDORS)
    assert list(vendors) == ["VND-2001"]
    payables, _ = documents(ctx, AP_INVOICES)
    ap = payables["PL-BILL-77"]
    assert ap.header["invttl"] == "163.00" and ap.header["vndnum"] == "2001"
    assert [r["actnum"] for r in ap.tables["apivln"]] == ["5000", "1300", "5100", "5000"]
    debits = sum(Decimal(r["dbtamt"]) for r in ap.tables["lgtnln"])
    assert debits == sum(Decimal(r["crdamt"]) for r in ap.tables["lgtnln"]) == Decimal("163.00")
    journal, _ = documents(ctx, JOURNAL)
    assert journal["ST-JI-3"].amount == Decimal("37.50")
    payroll, problems = documents(ctx, DAILY_PAYROLL)
    assert {
        k: (d.header["paytyp"], d.header["payhrs"], d.header["empnum"]) for k, d in payroll.items()
    } == {
        "ST-LB-1": ("1", "2.50", "101"),
        "ST-LB-2": ("2", "1.00", "101"),
    }
    assert "Bo Helper" in problems["ST-LB-5"] and "[mapping.employees]" in problems["ST-LB-5"]
    costs, _ = documents(ctx, JOB_COST)
    amounts = sorted((d.header["srcnum"], d.header["cstamt"]) for d in costs.values())
    # Labor is entered as hours only: its job cost is Sage's, made when payroll is posted.
    assert amounts == [("11", "100.00"), ("3", "37.50")]
    assert all(d.header["jobnum"] == "5001" for d in costs.values())


def test_a_changed_bill_replaces_its_documents_and_a_void_expects_voids(ctx: Context) -> None:
    st, pl = sources()
    ingest(ctx, st, pl)
    pl.records["bill"] = [bill(amount="120.00", updated=200)]
    ingest(ctx, pl)
    costs, _ = documents(ctx, JOB_COST)
    assert sorted(d.header["cstamt"] for d in costs.values() if d.header["srcnum"] == "11") == [
        "120.00"
    ]
    pl.records["bill"] = [bill(status="voided", amount="120.00", updated=300)]
    ingest(ctx, pl)
    payables, _ = documents(ctx, AP_INVOICES)
    costs, _ = documents(ctx, JOB_COST)
    assert payables["PL-BILL-77"].is_void
    assert all(d.is_void for d in costs.values() if d.header["srcnum"] == "11")


def test_replay_rebuilds_the_cost_modules_with_the_same_numbers(ctx: Context) -> None:
    ingest(ctx, *sources())
    before = {
        m: documents(ctx, m) for m in (VENDORS, AP_INVOICES, JOURNAL, JOB_COST, DAILY_PAYROLL)
    }
    ctx.read_model.rebuild(ctx.store)
    assert {m: documents(ctx, m) for m in before} == before


def test_a_mapping_change_rebuilds_every_module_and_loses_none(ctx: Context) -> None:
    ingest(ctx, *sources())
    before = {
        m: documents(ctx, m)[0].keys()
        for m in (VENDORS, AP_INVOICES, JOURNAL, JOB_COST, DAILY_PAYROLL)
    }
    changed = replace(MAPPING, inventory_account=1310)
    other = Context(ctx.store, ReadModel(ctx.read_model.engine, changed), changed)
    other.catch_up()
    after = {m: documents(other, m)[0] for m in before}
    assert {m: docs.keys() for m, docs in after.items()} == before
    assert after[JOURNAL]["ST-JI-3"].tables["lgtnln"][1]["lgract"] == "1310"
