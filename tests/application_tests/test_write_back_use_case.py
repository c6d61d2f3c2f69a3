"""write_back: ServiceTrade hears which invoices handed to accounting reached the books."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from application.context import Context
from application.writeback import FAILED, PROCESSED, SKIPPED, write_back
from domain.documents import AR_INVOICES, Document
from tests.application_tests.books import MAPPING, world
from tests.fakes import FakeSage, FakeStatusWriter, ListFeed, memory_context
from tests.projections_tests.test_store_contract import company, invoice, location


def expected(ctx: Context, key: str) -> Document:
    document = ctx.read_model.expected_for(AR_INVOICES, key)
    assert document is not None, key
    return document


@pytest.fixture
def ctx() -> Iterator[Context]:
    """Invoices handed to accounting (``pending_accounting``): 100 Sage holds exactly, 101 at
    a site whose tax group recon cannot map, 102 Sage lacks, 103 Sage holds with another
    total; 104 is not handed off yet; 105 is a vendor bill and 106 was invoiced outside
    ServiceTrade (recon posts neither)."""
    sage = FakeSage()
    ctx = memory_context(MAPPING, sage=sage)
    world(
        ctx,
        ListFeed(
            {
                "company": [company(1)],
                "location": [location(10, 1), location(12, 1, group="Nowhere")],
                "invoice": [
                    invoice(100, 10, 1),
                    invoice(101, 12, 1),
                    invoice(102, 10, 1),
                    invoice(103, 10, 1),
                    invoice(104, 10, 1, status="ok"),
                    {**invoice(105, 10, 1), "invoice_type": "vendorbill"},
                    {**invoice(106, 10, 1), "invoice_type": "external"},
                ],
            }
        ),
    )
    sage.add(expected(ctx, "ST-INV-100"))
    other = expected(ctx, "ST-INV-103")
    sage.add(
        replace(other, tables={**other.tables, "acrinv": ({**other.header, "invttl": "1.00"},)})
    )
    yield ctx
    ctx.read_model.engine.dispose()


def test_invoices_sage_holds_exactly_are_processed_unmapped_ones_failed(ctx: Context) -> None:
    writer = FakeStatusWriter()

    result = write_back(ctx, writer)

    assert result == {PROCESSED: 3, FAILED: 1, SKIPPED: 2}
    assert {i: writer.statuses[i] for i in ("100", "101")} == {"100": PROCESSED, "101": FAILED}
    told = {invoice_id: comment for invoice_id, _, comment in writer.told}
    assert told["100"] is None
    comment = told["101"]
    assert comment is not None
    assert comment.startswith("recon: ")
    assert "Nowhere" in comment
    assert comment == f"recon: {ctx.read_model.problems(AR_INVOICES)['ST-INV-101']}"


def test_invoices_sage_lacks_or_holds_otherwise_are_left_pending(ctx: Context) -> None:
    writer = FakeStatusWriter()

    write_back(ctx, writer)

    assert {"102", "103", "104"}.isdisjoint(writer.statuses)
    assert len(writer.told) == 4


def test_an_invoice_is_told_once_sage_holds_it(ctx: Context) -> None:
    assert isinstance(ctx.reader, FakeSage)
    ctx.reader.add(expected(ctx, "ST-INV-102"))
    writer = FakeStatusWriter()

    result = write_back(ctx, writer)

    assert result == {PROCESSED: 4, FAILED: 1, SKIPPED: 2}
    assert {i: writer.statuses[i] for i in ("100", "101", "102")} == {
        "100": PROCESSED,
        "101": FAILED,
        "102": PROCESSED,
    }


def test_types_recon_does_not_post_are_told_so_with_the_reason(ctx: Context) -> None:
    writer = FakeStatusWriter()

    write_back(ctx, writer)

    told = {invoice_id: (status, comment) for invoice_id, status, comment in writer.told}
    bill_status, bill_comment = told["105"]
    external_status, external_comment = told["106"]
    assert bill_status == external_status == PROCESSED  # accounting took them: nothing to fix
    assert bill_comment is not None and external_comment is not None
    assert bill_comment.startswith("recon: not posted to Sage: type 'vendorbill': ")
    assert "payable" in bill_comment
    assert external_comment.startswith("recon: not posted to Sage: type 'external': ")
    assert "invoiced outside ServiceTrade" in external_comment
    assert ctx.read_model.expected_for(AR_INVOICES, "ST-INV-105") is None
