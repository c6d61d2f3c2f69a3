"""write_back: ServiceTrade hears which invoices handed to accounting reached the books."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from application.context import Context
from application.writeback import FAILED, PROCESSED, write_back
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
    total; 104 is not handed off yet."""
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

    assert result == {PROCESSED: 1, FAILED: 1}
    assert writer.statuses == {"100": PROCESSED, "101": FAILED}
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
    assert len(writer.told) == 2


def test_an_invoice_is_told_once_sage_holds_it(ctx: Context) -> None:
    assert isinstance(ctx.reader, FakeSage)
    ctx.reader.add(expected(ctx, "ST-INV-102"))
    writer = FakeStatusWriter()

    result = write_back(ctx, writer)

    assert result == {PROCESSED: 2, FAILED: 1}
    assert writer.statuses == {"100": PROCESSED, "101": FAILED, "102": PROCESSED}
