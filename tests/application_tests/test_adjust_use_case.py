"""A paid or locked invoice whose amount changed at the source is settled by an adjusting
document in the open period, after approval; the original is never touched."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from application.approve import approve
from application.ingest import ingest
from application.post import apply
from application.reconcile import reconcile
from domain.documents import AR_INVOICES, Document
from domain.policy import ADJUSTS_LOCKED, ADJUSTS_PAID, Periods
from domain.reconcile import FIELD_DIFFERS
from tests.application_tests.test_approval_gate import INVOICE, Books, books_for, waiting
from tests.fakes import FakeSage
from tests.projections_tests.test_store_contract import invoice

OPEN = Periods(current="2026-11")


def original(sage: FakeSage) -> Document:
    [mine] = [d for d in sage.read_key(AR_INVOICES, INVOICE) if d.key == INVOICE]
    return mine


def pay(sage: FakeSage, amount: str) -> Document:
    """A cash receipt applied in Sage: the invoice's paid column fills."""
    mine = original(sage)
    index = sage.documents.index(mine)
    sage.documents[index] = replace(mine, paid=Decimal(amount))
    return sage.documents[index]


def posted_books(periods: Periods = OPEN) -> Books:
    books = books_for(periods=periods)
    apply(books.ctx, reconcile(books.ctx))
    return books


def billed_again(books: Books, price: str) -> None:
    """ServiceTrade changes the invoice after Sage holds it."""
    books.feed.records["invoice"][0] = invoice(100, 10, 1, price=price, updated=200)
    ingest(books.ctx, books.feed)


def test_a_paid_invoice_whose_amount_changed_gets_a_credit_memo_after_approval() -> None:
    books = posted_books()
    ctx, sage = books.ctx, books.sage
    paid = pay(sage, "50.00")
    before = paid.tables
    billed_again(books, "90.00")

    report = apply(ctx, reconcile(ctx))

    assert report.waiting_for_approval == [f"{AR_INVOICES} {INVOICE} (create)"]
    [row] = waiting(ctx)
    assert row["waits_because"] == [ADJUSTS_PAID] and row["period"] == "2026-11"
    assert Decimal(row["amount"]) < 0  # a credit
    assert len(sage.read_key(AR_INVOICES, INVOICE)) == 1  # nothing written before approval
    approve(ctx, [row["id"]], "ana", "the customer was overbilled")

    again = apply(ctx, reconcile(ctx))

    assert again.confirmed == [f"{AR_INVOICES} {INVOICE} (create)"]
    held = sage.read_key(AR_INVOICES, INVOICE)
    [memo] = [d for d in held if d.key == f"{INVOICE}~A1"]
    assert memo.period == "2026-11" and memo.header["refnum"] == paid.header["invnum"]
    assert original(sage).tables == before and not original(sage).is_void
    expected = ctx.read_model.expected_for(AR_INVOICES, INVOICE)
    assert expected is not None
    assert (paid.amount or 0) + (memo.amount or 0) == expected.amount
    assert reconcile(ctx) == []
    assert apply(ctx, reconcile(ctx)).confirmed == []
    ctx.read_model.engine.dispose()


def test_a_locked_period_invoice_is_adjusted_in_the_current_period() -> None:
    books = posted_books()
    ctx, sage = books.ctx, books.sage
    before = original(sage).tables
    ctx.periods = Periods(current="2026-11", locked_through="2026-10")
    billed_again(books, "130.00")

    apply(ctx, reconcile(ctx))
    [row] = waiting(ctx)
    assert row["waits_because"] == [ADJUSTS_LOCKED]
    approve(ctx, [row["id"]], "ana", "billed more")
    apply(ctx, reconcile(ctx))

    [memo] = [d for d in sage.read_key(AR_INVOICES, INVOICE) if d.key != INVOICE]
    assert memo.period == "2026-11" and (memo.amount or 0) > 0  # a debit memo
    assert memo.header["dscrpt"] is not None and memo.header["dscrpt"].startswith("Debit")
    assert original(sage).tables == before
    assert reconcile(ctx) == []
    # A second change at the source is a second adjustment, never a void.
    billed_again(books, "110.00")
    apply(ctx, reconcile(ctx))
    [row] = waiting(ctx)
    approve(ctx, [row["id"]], "ana", "billed less after all")
    apply(ctx, reconcile(ctx))
    keys = sorted(d.key for d in sage.read_key(AR_INVOICES, INVOICE))
    assert keys == [INVOICE, f"{INVOICE}~A1", f"{INVOICE}~A2"]
    assert original(sage).tables == before and reconcile(ctx) == []
    ctx.read_model.engine.dispose()


def test_a_description_typed_over_on_a_paid_invoice_is_left_for_a_person() -> None:
    books = posted_books()
    ctx, sage = books.ctx, books.sage
    pay(sage, "10.00")
    sage.edit(AR_INVOICES, INVOICE, "acrinv", "dscrpt", "typed over in Sage")

    report = apply(ctx, reconcile(ctx))

    assert report.left_for_people == [INVOICE] and waiting(ctx) == []
    assert "acrinv.dscrpt" in report.why_left[INVOICE]
    assert "never voids" in report.why_left[INVOICE]
    assert [f.kind for f in reconcile(ctx)] == [FIELD_DIFFERS]
    ctx.read_model.engine.dispose()


def test_without_a_current_period_the_adjustment_is_left_for_a_person() -> None:
    books = posted_books(Periods())
    ctx, sage = books.ctx, books.sage
    pay(sage, "10.00")
    billed_again(books, "90.00")

    report = apply(ctx, reconcile(ctx))

    assert report.left_for_people == [INVOICE]
    assert "current_period" in report.why_left[INVOICE]
    ctx.read_model.engine.dispose()


def test_an_unpaid_invoice_in_an_open_period_is_still_voided_and_re_entered() -> None:
    books = posted_books()
    ctx = books.ctx
    billed_again(books, "90.00")

    apply(ctx, reconcile(ctx))

    [row] = waiting(ctx)
    assert row["action"] == "replace"
    ctx.read_model.engine.dispose()
