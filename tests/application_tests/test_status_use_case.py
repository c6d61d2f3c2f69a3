"""status: AR ties out to the ServiceTrade invoices handed to accounting, type by type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from application.context import Context
from application.status import status
from domain.documents import AR_INVOICES
from tests.application_tests.books import MAPPING, world
from tests.fakes import FakeSage, ListFeed, memory_context
from tests.projections_tests.test_store_contract import company, invoice, location


def billed(i: int, **changes: Any) -> dict[str, Any]:
    """Invoice ``i`` handed to accounting: labor 190.00 and a taxable part 100.00 at 4.75 %,
    billed 294.75 with 4.75 tax."""
    return {**invoice(i, 10, 1), "total_price": "294.75", "tax_total": "4.75", **changes}


def credit(i: int) -> dict[str, Any]:
    items = [{**item, "price": f"-{item['price']}"} for item in invoice(i, 10, 1)["items"]]
    return billed(i, items=items, total_price="-294.75", tax_total="-4.75")


@pytest.fixture
def ctx() -> Iterator[Context]:
    """Handed to accounting: an invoice, a partial invoice, a credit, a vendor bill and an
    external invoice; one invoice still "ok" (not handed off). Sage holds what recon posts."""
    sage = FakeSage()
    ctx = memory_context(MAPPING, sage=sage)
    world(
        ctx,
        ListFeed(
            {
                "company": [company(1)],
                "location": [location(10, 1)],
                "invoice": [
                    billed(100),
                    billed(101, partial=True),
                    credit(102),
                    billed(103, invoice_type="vendorbill"),
                    billed(104, invoice_type="external"),
                    billed(105, status="ok"),
                ],
            }
        ),
    )
    expected, _ = ctx.read_model.expected(AR_INVOICES, None)
    for document in expected:
        sage.add(document)
    yield ctx
    ctx.read_model.engine.dispose()


def test_ar_ties_out_to_the_invoices_handed_to_accounting(ctx: Context) -> None:
    tie = status(ctx)["tie_outs"]["ar_invoices"]

    assert tie["ties"] and tie["differences"] == []
    assert tie["servicetrade"] == {
        "handed_off": {"count": 5, "total": "884.25"},
        "posted_by_rule": {"count": 3, "total": "294.75"},
        "skipped": {"count": 2, "total": "589.50"},
    }
    assert tie["expected"] == tie["sage"] == {"count": 3, "total": "294.75"}
    assert tie["by_type"] == {
        "credit": {"count": 1, "total": "-294.75"},
        "external": {"count": 1, "total": "294.75"},
        "invoice": {"count": 1, "total": "294.75"},
        "partial": {"count": 1, "total": "294.75"},
        "vendorbill": {"count": 1, "total": "294.75"},
    }


def test_skipped_invoices_are_listed_with_the_reason(ctx: Context) -> None:
    skipped = status(ctx)["skipped_invoices"]

    assert [(row["invoice"], row["type"], row["total"]) for row in skipped] == [
        ("INV-103", "vendorbill", "294.75"),
        ("INV-104", "external", "294.75"),
    ]
    assert all(row["reason"].startswith("not posted to Sage: type ") for row in skipped)


def test_an_invoice_sage_holds_otherwise_or_recon_cannot_post_breaks_the_tie(
    ctx: Context,
) -> None:
    assert isinstance(ctx.reader, FakeSage)
    held = next(d for d in ctx.reader.documents if d.key == "ST-INV-100")
    ctx.reader.documents.remove(held)
    ctx.reader.add(
        replace(held, tables={**held.tables, "acrinv": ({**held.header, "invttl": "294.74"},)})
    )
    world(ctx, ListFeed({"invoice": [billed(106, total_price="300.00", updated=200)]}))

    tie = status(ctx)["tie_outs"]["ar_invoices"]

    assert not tie["ties"]
    by_key = {row["invoice"]: row for row in tie["differences"]}
    assert by_key["ST-INV-100"]["difference"] == "-0.01"
    assert by_key["ST-INV-106"]["expected"] is None
    assert by_key["ST-INV-106"]["servicetrade"] == "300.00"
    assert "subtotal" in by_key["ST-INV-106"]["problem"]
    assert [row["invoice"] for row in tie["unposted"]] == ["ST-INV-106"]
