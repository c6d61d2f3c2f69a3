"""Adjusting documents: credit and debit memos in the open period for invoices Sage may not
void, and the diff that counts them with their original."""

from dataclasses import replace
from decimal import Decimal

import pytest

from domain.builders import adjusting_document, first_day_of
from domain.documents import AP_INVOICES, AR_INVOICES, Document
from domain.keys import (
    UnknownKey,
    adjusted_key,
    adjustment_key,
    module_of_key,
    next_adjustment_key,
)
from domain.mapping import Mapping
from domain.money import ZERO
from domain.policy import (
    ADJUSTS_LOCKED,
    ADJUSTS_PAID,
    Periods,
    SageFacts,
    Subject,
    adjustment_for,
    reasons_to_wait,
    why_unwritable,
)
from domain.posting import CREATE, REPLACE, Correction
from domain.reconcile import AMOUNT_DIFFERS, FIELD_DIFFERS, UNEXPECTED, diff
from domain.source import InvoiceItem
from tests.domain_tests.test_builders import MAPPING, build, make_invoice

KEY = "ST-INV-900"
A1 = f"{KEY}~A1"
OPEN = "2026-11"


def filters(price: str) -> Document:
    item = InvoiceItem("1", "Filter", Decimal(3), Decimal(price), True, "part")
    return build(make_invoice([item]))


def posted(price: str = "12.99", paid: str = "0") -> Document:
    """The invoice as Sage holds it, with what was paid on it."""
    return replace(filters(price), sage_ref=7, paid=Decimal(paid))


def adjust(expected: Document, original: Document, *earlier: Document) -> Document:
    key = next_adjustment_key(KEY, [d.key for d in earlier])
    made = adjusting_document(expected, original, earlier, key=key, period=OPEN, mapping=MAPPING)
    assert made is not None
    return made


def balance(document: Document) -> tuple[Decimal, Decimal]:
    lines = document.tables["lgtnln"]
    debits = sum((Decimal(r["dbtamt"] or "0") for r in lines), ZERO)
    credits = sum((Decimal(r["crdamt"] or "0") for r in lines), ZERO)
    return debits, credits


def net(document: Document, account: int) -> Decimal:
    """Debits less credits on one account."""
    return sum(
        (
            Decimal(r["dbtamt"] or "0") - Decimal(r["crdamt"] or "0")
            for r in document.tables["lgtnln"]
            if r["lgract"] == str(account)
        ),
        ZERO,
    )


def test_a_lower_amount_makes_a_credit_memo_for_the_difference_in_the_open_period() -> None:
    original, expected = posted("12.99"), filters("10.00")  # 41.80 billed, 32.18 expected

    memo = adjust(expected, original)

    header = memo.header
    assert (header["invttl"], header["slstax"], header["taxabl"]) == ("-9.62", "-0.65", "-8.97")
    assert header["invnum"] == "INV-1001-A1" and header["refnum"] == "INV-1001"
    assert header["usrdf1"] == A1 and memo.key == A1
    assert header["dscrpt"] == "Credit memo for invoice INV-1001"
    assert header["invtyp"] == original.header["invtyp"] and header["status"] == "1"
    assert header["jobnum"] == original.header["jobnum"]
    assert (memo.period, header["invdte"], header["actper"]) == (OPEN, "2026-11-01", "11")
    [line] = memo.tables["arivln"]
    assert (line["extprc"], line["lgract"]) == ("-8.97", original.tables["arivln"][0]["lgract"])
    taxes = sum((Decimal(r["taxamt"] or "0") for r in memo.tables["artxdt"]), ZERO)
    assert taxes == Decimal("-0.65")
    debits, credits = balance(memo)
    assert debits == credits
    assert net(memo, MAPPING.ar_control_account) == Decimal("-9.62")
    [gl] = memo.tables["lgrtrn"]
    assert (gl["srcnum"], gl["usrdf1"], gl["actprd"]) == ("5", A1, "11")


def test_a_higher_amount_makes_a_debit_memo() -> None:
    memo = adjust(filters("20.00"), posted("12.99"))

    assert Decimal(memo.header["invttl"] or "0") > 0
    assert (memo.header["dscrpt"] or "").startswith("Debit memo")
    assert net(memo, MAPPING.ar_control_account) == Decimal(memo.header["invttl"] or "0")


def test_nothing_to_adjust_when_the_amounts_agree() -> None:
    original = posted("12.99")
    memo = adjusting_document(filters("12.99"), original, (), key=A1, period=OPEN, mapping=MAPPING)
    assert memo is None


def test_a_second_adjustment_adds_only_what_the_first_left() -> None:
    original = posted("12.99")
    first = adjust(filters("10.00"), original)
    second = adjust(filters("11.00"), original, first)

    assert second.key == f"{KEY}~A2"
    total = sum((d.amount or ZERO for d in (original, first, second)), ZERO)
    assert total == filters("11.00").amount


def test_the_diff_counts_adjustments_with_their_original() -> None:
    original, expected = posted("12.99"), filters("10.00")
    memo = replace(adjust(expected, original), sage_ref=8)

    assert diff(AR_INVOICES, [expected], [original, memo]) == []
    kinds = {f.kind for f in diff(AR_INVOICES, [expected], [original])}
    assert AMOUNT_DIFFERS in kinds


def test_an_original_of_100_with_an_adjustment_of_minus_10_is_the_90_expected() -> None:
    def invoice(key: str, total: str, ref: int | None = None) -> Document:
        header = {"invnum": "7", "invttl": total, "slstax": "0.00", "usrdf1": KEY}
        return Document(AR_INVOICES, key, {"acrinv": (header,)}, sage_ref=ref)

    expected = invoice(KEY, "90.00")
    original, memo = invoice(KEY, "100.00", 1), invoice(A1, "-10.00", 2)

    assert diff(AR_INVOICES, [expected], [original, memo]) == []
    [alone] = diff(AR_INVOICES, [expected], [original])
    assert (alone.kind, alone.difference) == (AMOUNT_DIFFERS, Decimal("10.00"))


def test_an_adjustment_settles_amounts_not_other_fields() -> None:
    original, expected = posted("12.99"), filters("10.00")
    memo = adjust(expected, original)
    typed_over = replace(
        original,
        tables={**original.tables, "acrinv": ({**original.header, "dscrpt": "typed over"},)},
    )

    [found] = diff(AR_INVOICES, [expected], [typed_over, memo])

    assert found.kind == FIELD_DIFFERS and set(found.expected) == {"acrinv.dscrpt"}


def test_an_adjustment_without_its_original_is_unexpected() -> None:
    memo = adjust(filters("10.00"), posted("12.99"))

    [found] = diff(AR_INVOICES, [], [memo])

    assert (found.kind, found.key) == (UNEXPECTED, A1)


def test_adjustment_keys() -> None:
    assert adjustment_key(KEY, 1) == A1 and adjusted_key(A1) == KEY
    assert adjusted_key(KEY) is None and module_of_key(A1) == AR_INVOICES
    assert next_adjustment_key(KEY, [KEY, A1, "ST-INV-9000~A4"]) == f"{KEY}~A2"
    with pytest.raises(UnknownKey, match="at most 50"):
        adjustment_key("ST-INV-" + "9" * 42, 1)


def test_an_adjustment_always_waits_and_may_be_written() -> None:
    subject = Subject(CREATE, AR_INVOICES, Decimal("-9.62"), OPEN, True, "2026-10")
    periods = Periods(current=OPEN, locked_through="2026-10")

    assert reasons_to_wait(subject, SageFacts(paid=Decimal("5")), periods) == (
        ADJUSTS_PAID,
        ADJUSTS_LOCKED,
    )
    assert reasons_to_wait(subject, SageFacts(), Periods(current=OPEN)) != ()
    assert why_unwritable(subject, SageFacts(paid=Decimal("5")), periods) is None


def test_a_replacement_of_a_paid_invoice_becomes_an_adjustment() -> None:
    original, expected = posted("12.99", paid="41.80"), filters("10.00")
    replacing = Correction(AR_INVOICES, KEY, REPLACE, expected, (7,), "amount_differs")

    settled = adjustment_for(replacing, [original], Periods(current=OPEN), MAPPING)

    assert isinstance(settled, Correction)
    assert (settled.action, settled.key, settled.sage_refs) == (CREATE, KEY, (7,))
    assert settled.document is not None and settled.document.key == A1
    unpaid = adjustment_for(replacing, [posted("12.99")], Periods(current=OPEN), MAPPING)
    assert unpaid is replacing


def test_the_first_day_of_a_fiscal_period() -> None:
    july = Mapping(ar_control_account=1, default_income_account=2, fiscal_year_start_month=7)
    assert first_day_of("2027-01", july) == first_day_of("2026-07", MAPPING)
    assert july.period_of(first_day_of("2027-06", july)) == (2027, 6)


def test_a_payable_credit_balances_against_the_control_account() -> None:
    mapping = Mapping(
        ar_control_account=1200,
        default_income_account=4000,
        ap_control_account=2000,
        purchase_tax_account=5900,
    )

    def bill(total: str, tax: str, key: str = "PL-BILL-5") -> Document:
        header = {"invnum": "B-5", "vndnum": "2001", "invtyp": "2", "status": "1"}
        header |= {"slstax": tax, "invttl": total, "usrdf1": key}
        line = {"linnum": "1", "prtdsc": "Pipe", "linqty": "1.00", "extttl": total}
        return Document(
            AP_INVOICES, key, {"acpinv": (header,), "apivln": ({**line, "actnum": "5100"},)}
        )

    memo = adjusting_document(
        bill("80.00", "5.00"),
        bill("100.00", "6.00"),
        (),
        key="PL-BILL-5~A1",
        period=OPEN,
        mapping=mapping,
    )

    assert memo is not None and memo.header["invttl"] == "-20.00"
    assert [r["extttl"] for r in memo.tables["apivln"]] == ["-19.00", "-1.00"]
    debits, credits = balance(memo)
    assert debits == credits and net(memo, 2000) == Decimal("20.00")
    assert memo.tables["lgrtrn"][0]["srcnum"] == "11"
