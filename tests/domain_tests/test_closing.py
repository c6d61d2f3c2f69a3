"""Close-pack arithmetic: tie-out records, subledger tracing, aging buckets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.closing import (
    LedgerInvoice,
    LedgerLine,
    LedgerPayment,
    aged,
    bucket,
    differing,
    part,
    period_last_day,
    subledger_tie_out,
    tie_out,
)

D = Decimal


def invoice(recnum: int, total: str, *, balance: str | None = None, status: int = 1,
            period: str = "2026-10", due: date | None = None, party: int = 1) -> LedgerInvoice:  # fmt: skip
    return LedgerInvoice(
        recnum=recnum, number=f"INV-{recnum}", key=f"K{recnum}", period=period, status=status,
        total=D(total), balance=D(total if balance is None else balance), gl_ref=100 + recnum,
        party=party, party_name=f"Client {party}", due=due,
    )  # fmt: skip


def gl(transaction: int, amount: str, period: str = "2026-10", source: int = 5) -> LedgerLine:
    return LedgerLine(transaction, f"T{transaction}", source, period, D(amount))


def test_a_tie_out_lists_items_only_when_it_does_not_tie() -> None:
    items = [{"key": "a", "document": "", "left": "1.00", "right": "2.00",
              "difference": "1.00", "detail": ""}]  # fmt: skip
    tied = tie_out("x", "X", ("l", "r"), D(1), D(1), [part("p", D(1), D(1))], items)
    assert tied["ties"] and tied["items"] == [] and tied["difference"] == "0.00"
    off = tie_out("x", "X", ("l", "r"), D(1), D(1), [part("p", D(1), D("2.5"))], items)
    assert not off["ties"] and off["items"] == items
    assert off["parts"][0] == {"name": "p", "left": "1.00", "right": "2.50",
                               "difference": "1.50", "ties": False}  # fmt: skip


def test_differing_treats_a_missing_side_as_zero() -> None:
    assert differing({"a": D(1), "b": D(2)}, {"b": D(2), "c": D(3)}) == [
        ("a", D(1), D(0)),
        ("c", D(0), D(3)),
    ]


def test_subledger_ties_with_its_gl_and_names_a_journal_entry_on_the_control_account() -> None:
    invoices = [invoice(1, "100.00"), invoice(2, "50.00", period="2026-09")]
    lines = [gl(101, "100.00"), gl(102, "50.00", period="2026-09")]
    result = subledger_tie_out("ar_gl", "AR", ("l", "r"), "2026-10", invoices, [], lines, "3-2")
    assert result["ties"] and result["left"] == "150.00"
    lines.append(gl(900, "12.34", source=3))
    result = subledger_tie_out("ar_gl", "AR", ("l", "r"), "2026-10", invoices, [], lines, "3-2")
    parts = {p["name"]: p for p in result["parts"]}
    assert parts["activity"]["difference"] == "12.34"
    assert parts["balance"]["difference"] == "12.34"
    assert {(i["key"], i["difference"]) for i in result["items"]} == {("lgrtrn:900", "12.34")}


def test_a_payment_without_gl_moves_the_open_balance_only_on_the_subledger_side() -> None:
    invoices = [invoice(1, "100.00", balance="60.00")]
    payments = [LedgerPayment(1, "CHK-1", "2026-10", D("40.00"), 0)]
    result = subledger_tie_out(
        "ar_gl", "AR", ("l", "r"), "2026-10", invoices, payments, [gl(101, "100.00")], "3-2"
    )
    parts = {p["name"]: p for p in result["parts"]}
    assert parts["balance"]["left"] == "60.00" and parts["balance"]["difference"] == "40.00"
    assert [i["document"] for i in result["items"]] == ["CHK-1", "CHK-1"]
    # With its GL (Dr cash / Cr AR), it ties.
    lines = [gl(101, "100.00"), gl(7, "-40.00", source=10)]
    paid = subledger_tie_out(
        "ar_gl", "AR", ("l", "r"), "2026-10", invoices,
        [LedgerPayment(1, "CHK-1", "2026-10", D("40.00"), 7)], lines, "3-2",
    )  # fmt: skip
    assert paid["ties"]


def test_void_and_paid_invoices_are_not_open() -> None:
    invoices = [invoice(1, "10.00", status=5), invoice(2, "20.00", balance="0.00", status=4)]
    result = aged(invoices, date(2026, 10, 31))
    assert result["total"] == "0.00" and result["rows"] == []


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (date(2026, 10, 31), "current"),
        (date(2026, 11, 15), "current"),
        (date(2026, 10, 30), "1_30"),
        (date(2026, 10, 1), "1_30"),
        (date(2026, 9, 30), "31_60"),
        (date(2026, 8, 2), "61_90"),
        (date(2026, 8, 1), "over_90"),
        (None, "current"),
    ],
)
def test_buckets_count_days_past_due(due: date | None, expected: str) -> None:
    assert bucket(due, date(2026, 10, 31)) == expected


def test_aging_sums_by_party_and_bucket() -> None:
    invoices = [
        invoice(1, "100.00", due=date(2026, 11, 1), party=7),
        invoice(2, "25.50", due=date(2026, 9, 1), party=7),
        invoice(3, "10.00", due=date(2026, 6, 1), party=3),
    ]
    result = aged(invoices, date(2026, 10, 31))
    assert result["total"] == "135.50"
    assert result["buckets"]["31_60"] == "25.50" and result["buckets"]["over_90"] == "10.00"
    assert [(r["number"], r["total"]) for r in result["rows"]] == [(3, "10.00"), (7, "125.50")]


def test_period_last_day_follows_the_fiscal_year() -> None:
    assert period_last_day("2026-10") == date(2026, 10, 31)
    assert period_last_day("2026-02") == date(2026, 2, 28)
    assert period_last_day("2027-01", fiscal_year_start_month=7) == date(2026, 7, 31)
    assert period_last_day("2026-12", fiscal_year_start_month=1) == date(2026, 12, 31)
    with pytest.raises(ValueError):
        period_last_day("2026-00")
