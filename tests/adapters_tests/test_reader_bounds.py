"""The readers check what Sage can hold at the boundary: a value outside a Sage column's bound,
an id no key can carry, text no store can keep or a stamp no cursor should take is a
PayloadError (the record is quarantined), and whatever they accept is storable and fits."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.http.jsontext import Unparsed
from adapters.http.wire import bad_character
from adapters.partsledger import read_record as read_partsledger
from adapters.partsledger import updated_of as partsledger_updated
from adapters.servicetrade import read_record as read_servicetrade
from adapters.servicetrade import source_id_of
from adapters.servicetrade import updated_of as servicetrade_updated
from domain import bounds
from domain.money import cents
from domain.source import Invoice, JobItem, PayloadError, Snapshot, VendorBill, to_payload
from tests.adapters_tests.test_partsledger_reader import BILL, PURCHASE_ORDER
from tests.adapters_tests.test_servicetrade_reader import CLOCK_EVENT, INVOICE, JOB_ITEM
from tests.fakes import json_paths

TZ = "America/New_York"
COMPANY: dict[str, Any] = {
    "id": 2500000000000035,
    "name": "Triangle Mechanical",
    "updated": 1790949600,
}


def with_(record: dict[str, Any], *path: Any, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(record)
    holder = changed
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = value
    return changed


def servicetrade(kind: str, raw: Any) -> Snapshot:
    return read_servicetrade(kind, raw, tz=TZ)


# -- amounts and quantities: Sage's decimal columns ----------------------------------------------


def test_a_quantity_of_a_million_does_not_fit_arivln_decimal_7_2() -> None:
    with pytest.raises(PayloadError, match=r"does not fit.*decimal\(7,2\)"):
        servicetrade("invoice", with_(INVOICE, "items", 0, "quantity", value="1000000"))


@pytest.mark.parametrize(
    ("quantity", "fits"),
    [("99999.99", True), ("-99999.99", True), ("99999.994", True), ("99999.995", False)],
)
def test_a_quantity_fits_when_rounded_to_cents_it_is_within_decimal_7_2(
    quantity: str, fits: bool
) -> None:
    raw = with_(INVOICE, "items", 0, "price", value="1.00")
    raw = with_(raw, "items", 0, "quantity", value=quantity)
    raw.pop("totalPrice")
    if fits:
        invoice = servicetrade("invoice", raw)
        assert isinstance(invoice, Invoice) and invoice.items[0].quantity == Decimal(quantity)
    else:
        with pytest.raises(PayloadError, match="decimal"):
            servicetrade("invoice", raw)


@pytest.mark.parametrize("price", [Decimal("1E+24"), "1e24", Decimal("-1E+24"), 10**24])
def test_a_price_of_1e24_is_refused(price: Any) -> None:
    with pytest.raises(PayloadError, match="does not fit"):
        servicetrade("invoice", with_(INVOICE, "items", 0, "price", value=price))


def test_a_line_whose_extended_amount_overflows_sage_money_is_refused() -> None:
    raw = with_(INVOICE, "items", 0, "quantity", value="99999")
    raw = with_(raw, "items", 0, "price", value="200000.00")  # each fits, 2e10 does not
    with pytest.raises(PayloadError, match=r"quantity \* price.*decimal\(12,2\)"):
        servicetrade("invoice", raw)


def test_an_invoice_whose_lines_add_up_past_sage_money_is_refused() -> None:
    raw = with_(INVOICE, "items", 0, "quantity", value="90000")
    raw = with_(raw, "items", 0, "price", value="100000.00")  # 9e9 each line
    raw = with_(raw, "items", 1, "quantity", value="90000")
    raw = with_(raw, "items", 1, "price", value="100000.00")
    with pytest.raises(PayloadError, match="their total"):
        servicetrade("invoice", raw)


@pytest.mark.parametrize(
    "amount", ["1" + "0" * 4999, Decimal("1E-5000"), "0.1234567890123456789012345678901"]
)
def test_numbers_beyond_decimal_precision_are_refused(amount: Any) -> None:
    with pytest.raises(PayloadError):
        servicetrade("invoice", with_(INVOICE, "items", 0, "price", value=amount))


@pytest.mark.parametrize("value", [float("nan"), Unparsed("1e999999999999999999999"), [1], True])
def test_what_is_no_number_is_refused(value: Any) -> None:
    with pytest.raises(PayloadError):
        servicetrade("invoice", with_(INVOICE, "items", 0, "price", value=value))


def test_a_labor_cost_is_a_pay_rate_and_a_part_cost_a_unit_price() -> None:
    with pytest.raises(PayloadError, match=r"decimal\(10,4\)"):
        servicetrade("jobitem", with_(JOB_ITEM, "cost", value="1000000.00"))
    part = with_(JOB_ITEM, "libItem", "type", value="part")
    part = with_(part, "cost", value="1000000.00")
    item = servicetrade("jobitem", part)
    assert isinstance(item, JobItem) and item.cost == Decimal("1000000.00")


def test_a_bill_checks_freight_and_its_total_against_acpinv() -> None:
    with pytest.raises(PayloadError, match=r"freigh, decimal\(9,2\)"):
        read_partsledger("bill", with_(BILL, "freight", value="10000000.00"))
    with pytest.raises(PayloadError, match="invoice total"):
        read_partsledger("bill", with_(BILL, "tax", value="9999999999.99"))
    bill = read_partsledger("bill", with_(BILL, "freight", value="9999999.99"))
    assert isinstance(bill, VendorBill) and bill.freight == Decimal("9999999.99")


def test_a_purchase_order_line_quantity_must_fit_decimal_7_2() -> None:
    with pytest.raises(PayloadError, match=r"decimal\(7,2\)"):
        read_partsledger(
            "purchase_order", with_(PURCHASE_ORDER, "POLineItems", 0, "quantity", value="1000000")
        )


# -- ids: every key made from one fits VARCHAR(64) and usrdf1 ------------------------------------


@pytest.mark.parametrize(
    ("source_id", "taken"),
    [
        ("a" * 38, True),
        ("A-1_b.2", True),
        ("a" * 39, False),
        ("c" * 62, False),
        ("5~A1", False),  # would read as an adjusting document's key
        ("a/b", False),
        ("../x", False),
        ("id\ud800", False),
        ("id\x00", False),
        (2**63 - 1, True),
        (2**63, False),
        (2**64, False),
        (-1, False),
    ],
)
def test_source_ids_are_bounded_so_that_every_key_fits(source_id: Any, taken: bool) -> None:
    raw = with_(COMPANY, "id", value=source_id)
    if taken:
        assert servicetrade("company", raw).id == str(source_id)
        assert source_id_of(raw) == str(source_id)
    else:
        with pytest.raises(PayloadError, match=r"company\.id"):
            servicetrade("company", raw)
        assert source_id_of(raw) is None


def test_a_job_item_id_fits_jobcst_trnnum_after_its_prefix() -> None:
    assert servicetrade("jobitem", with_(JOB_ITEM, "id", value=10**17)).id == str(10**17)
    with pytest.raises(PayloadError, match="at most 18 digits"):
        servicetrade("jobitem", with_(JOB_ITEM, "id", value=10**18))


def test_a_document_number_longer_than_sage_str_20_is_refused_not_cut() -> None:
    assert isinstance(
        servicetrade("invoice", with_(INVOICE, "invoiceNumber", value="N" * 20)), Invoice
    )
    with pytest.raises(PayloadError, match="at most 20 characters"):
        servicetrade("invoice", with_(INVOICE, "invoiceNumber", value="N" * 21))
    with pytest.raises(PayloadError, match="at most 20 characters"):
        read_partsledger("bill", with_(BILL, "number", value="B" * 21))


# -- text -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("lone \ud800 surrogate", "lone surrogate U\\+D800"),
        ("nul \x00 byte", "control character U\\+0000"),
        ("escape \x1b[31m", "control character U\\+001B"),
        ("n" * 4001, "at most 4000 characters"),
    ],
)
def test_text_no_store_keeps_is_refused(name: str, why: str) -> None:
    with pytest.raises(PayloadError, match=why):
        servicetrade("company", with_(COMPANY, "name", value=name))


def test_tabs_newlines_and_any_language_are_text() -> None:
    name = "Café\tΩ 株式会社\nline two 😀"
    assert servicetrade("company", with_(COMPANY, "name", value=name)).name == name  # type: ignore[union-attr]


# -- stamps and dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "updated", [2**64, 10**30, 4_102_444_800, 946_684_799, -1, "1790949600", Decimal("1.5"), True]
)
def test_an_updated_stamp_outside_2000_to_2099_is_quarantined_and_moves_no_cursor(
    updated: Any,
) -> None:
    raw = with_(COMPANY, "updated", value=updated)
    with pytest.raises(PayloadError, match="updated"):
        servicetrade("company", raw)
    assert servicetrade_updated(raw) is None


def test_the_last_second_of_2099_is_still_a_stamp() -> None:
    raw = with_(COMPANY, "updated", value=bounds.LAST_STAMP)
    assert servicetrade("company", raw).id and servicetrade_updated(raw) == bounds.LAST_STAMP


@pytest.mark.parametrize(
    "updated_at", ["9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2026-13-01", 2**64, "x" * 100]
)
def test_a_partsledger_updated_at_outside_the_range_is_quarantined(updated_at: Any) -> None:
    raw = with_(BILL, "updatedAt", value=updated_at)
    with pytest.raises(PayloadError, match="updatedAt"):
        read_partsledger("bill", raw)
    assert partsledger_updated(raw) is None


@pytest.mark.parametrize("day", ["1899-12-31", "2100-01-01", "0001-01-01", "9999-12-31"])
def test_a_business_date_outside_1900_to_2099_is_refused(day: str) -> None:
    with pytest.raises(PayloadError, match="expected a date from 1900-01-01 to 2099-12-31"):
        read_partsledger("bill", with_(BILL, "billDate", value=day))


def test_a_servicetrade_date_is_checked_in_the_account_zone() -> None:
    last = 4_102_462_799  # 2100-01-01 04:59:59 UTC: still 2099 in New York
    assert isinstance(
        servicetrade("invoice", with_(INVOICE, "transactionDate", value=last)), Invoice
    )
    with pytest.raises(PayloadError, match="got 2100-01-01"):
        servicetrade("invoice", with_(INVOICE, "transactionDate", value=last + 1))


# -- whatever a reader accepts, every store and Sage can hold -------------------------------------


hostile_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([2**64, 10**30, Decimal("1E+24"), Decimal("9" * 40), Unparsed("1e99999")])
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.floats()
    | st.text(st.characters(codec=None, categories=None), max_size=8)
    | st.sampled_from(["\ud800", "\x00", "1000000", "99999.995", "9" * 5000, "n" * 4001]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


TARGETS = [
    *(("servicetrade", kind, record, path) for kind, record in
      (("invoice", INVOICE), ("jobitem", JOB_ITEM), ("clockevent", CLOCK_EVENT), ("company", COMPANY))
      for path in json_paths(record)),
    *(("partsledger", kind, record, path) for kind, record in
      (("bill", BILL), ("purchase_order", PURCHASE_ORDER))
      for path in json_paths(record)),
]  # fmt: skip


def assert_storable(snapshot: Snapshot) -> None:
    payload = to_payload(snapshot)
    orjson.dumps(payload)  # no lone surrogate, no integer beyond 64 bits
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(payload)
    assert all(bad_character(text) is None for text in texts)
    for line in getattr(snapshot, "items", ()) + getattr(snapshot, "lines", ()):
        for name in ("quantity", "quantity_received"):
            if hasattr(line, name):
                assert bounds.QUANTITY.fits(getattr(line, name))
        for name in ("price", "unit_cost"):
            if hasattr(line, name):
                assert bounds.PRICE.fits(getattr(line, name))
        if hasattr(line, "amount"):
            assert bounds.MONEY.fits(line.amount)
    if isinstance(snapshot, Invoice):
        lines = sum((cents(i.quantity * i.price) for i in snapshot.items), Decimal(0))
        assert bounds.MONEY.fits(lines)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), value=hostile_values)
def test_any_hostile_value_anywhere_is_refused_or_read_into_what_sage_holds(
    target: tuple[str, str, dict[str, Any], tuple[Any, ...]], value: Any
) -> None:
    system, kind, record, path = target
    raw = with_(record, *path, value=value)
    try:
        snapshot = (
            servicetrade(kind, raw) if system == "servicetrade" else read_partsledger(kind, raw)
        )
    except PayloadError as exc:
        assert str(exc)
        return
    assert_storable(snapshot)
