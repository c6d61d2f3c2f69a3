from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.builders import (
    BilledTotalsError,
    ar_invoice_document,
    ar_skip_reason,
    client_document,
    invoice_category,
    largest_remainder,
)
from domain.documents import Document
from domain.mapping import Mapping, MappingError, TaxDistrict, TaxEntity
from domain.money import ZERO, cents
from domain.source import Address, Company, Invoice, InvoiceItem, Location

WAKE = TaxDistrict(
    1,
    "Wake",
    (
        TaxEntity(10, "NC", Decimal("4.75"), 2310),
        TaxEntity(11, "Wake", Decimal("2.00"), 2320),
        TaxEntity(12, "Transit", Decimal("0.50"), 2320),
    ),
)
MAPPING = Mapping(
    ar_control_account=1200,
    default_income_account=4000,
    income_accounts={"labor": 4100, "part": 4200},
    tax_districts={1: WAKE},
    tax_group_districts={"Wake County NC": 1},
)
SHOP = Location(
    "77",
    "Main St Shop",
    "5",
    "active",
    True,
    "Wake County NC",
    address=Address("1 Main", "Raleigh", "NC", "27601"),
)


def make_invoice(
    items: list[InvoiceItem],
    status: str = "processed",
    *,
    total: str | None = None,
    tax: str | None = None,
    kind: str = "invoice",
    partial: bool = False,
) -> Invoice:
    return Invoice(
        "900",
        "INV-1001",
        status,
        kind,
        "2026-10-14",
        "5",
        "77",
        "31",
        tuple(items),
        total_price=None if total is None else Decimal(total),
        tax_total=None if tax is None else Decimal(tax),
        partial=partial,
    )


FILTERS = InvoiceItem("1", "Filter", Decimal(3), Decimal("12.99"), True, "part")


def build(invoice: Invoice, mapping: Mapping = MAPPING) -> Document:
    return ar_invoice_document(invoice, job_number=5001, location=SHOP, mapping=mapping)


def gl_by_account(doc: Document) -> dict[str, Decimal]:
    """Credits less debits per GL account."""
    sums: dict[str, Decimal] = {}
    for row in doc.tables["lgtnln"]:
        amount = Decimal(row["crdamt"] or "0") - Decimal(row["dbtamt"] or "0")
        sums[row["lgract"] or ""] = sums.get(row["lgract"] or "", ZERO) + amount
    return sums


def test_total_and_tax_are_what_servicetrade_billed_split_by_largest_remainder() -> None:
    # 38.97 at Wake's 7.25 % is 2.825325: ServiceTrade bills 2.83. Rounded entity by entity
    # Sage's rates give 1.85 + 0.78 + 0.19 = 2.82, a cent short of what the customer owes.
    doc = build(make_invoice([FILTERS], total="41.80", tax="2.83"))

    assert doc.header["invttl"] == "41.80" and doc.header["slstax"] == "2.83"
    # shares of 2.83 at 4.75 : 2.00 : 0.50 are 1.854, 0.781, 0.195: the missing cent goes
    # to the largest remainder (the transit entity's .517 of a cent)
    assert [r["taxamt"] for r in doc.tables["artxdt"]] == ["1.85", "0.78", "0.20"]
    assert [r["sbjtax"] for r in doc.tables["artxdt"]] == ["38.97"] * 3
    assert gl_by_account(doc) == {
        "1200": Decimal("-41.80"),
        "4200": Decimal("38.97"),
        "2310": Decimal("1.85"),
        "2320": Decimal("0.98"),
    }


def test_without_servicetrades_totals_the_tax_is_the_district_rate_applied_once() -> None:
    doc = build(make_invoice([FILTERS]))

    assert doc.header["slstax"] == "2.83" and doc.header["invttl"] == "41.80"
    assert [r["taxamt"] for r in doc.tables["artxdt"]] == ["1.85", "0.78", "0.20"]


def test_the_tax_alone_gives_the_total_and_the_total_alone_gives_the_tax() -> None:
    only_tax = build(make_invoice([FILTERS], tax="2.83"))
    only_total = build(make_invoice([FILTERS], total="41.80"))

    assert only_tax.tables == only_total.tables == build(make_invoice([FILTERS])).tables


def test_lines_are_rounded_to_servicetrades_subtotal_within_rounding() -> None:
    half = InvoiceItem("1", "Washer", Decimal("0.5"), Decimal("0.25"), False, "part")
    # each line is 0.125: half up gives 0.13 + 0.13 = 0.26; ServiceTrade says 0.25
    doc = build(make_invoice([half, half], total="0.25", tax="0.00"))

    assert [r["extprc"] for r in doc.tables["arivln"]] == ["0.13", "0.12"]
    assert doc.header["invttl"] == "0.25" and doc.header["nontax"] == "0.25"


def test_a_subtotal_beyond_rounding_is_refused_never_adjusted() -> None:
    with pytest.raises(BilledTotalsError, match=r"subtotal 40\.00 .* lines add up to \(38\.97\)"):
        build(make_invoice([FILTERS], total="42.83", tax="2.83"))


def test_a_tax_sages_rates_do_not_give_is_refused_with_where_to_look() -> None:
    # 7.50 % (Durham's) on a Wake site: ServiceTrade's group and Sage's district disagree
    with pytest.raises(BilledTotalsError, match=r"2\.92 .*7\.25.*\[mapping.tax_groups\]"):
        build(make_invoice([FILTERS], total="41.89", tax="2.92"))


def test_tax_without_a_district_to_carry_it_is_refused() -> None:
    nowhere = Location("79", "Untaxed", "5", "active", True, "")
    with pytest.raises(BilledTotalsError, match="no Sage tax district"):
        ar_invoice_document(
            make_invoice([FILTERS], total="41.80", tax="2.83"),
            job_number=5001,
            location=nowhere,
            mapping=MAPPING,
        )


def test_a_credit_splits_as_its_invoice_with_the_sign_turned() -> None:
    credit = InvoiceItem("1", "Filter", Decimal(3), Decimal("-12.99"), True, "part")
    doc = build(make_invoice([credit], total="-41.80", tax="-2.83"))

    assert doc.header["invttl"] == "-41.80" and doc.header["slstax"] == "-2.83"
    assert [r["taxamt"] for r in doc.tables["artxdt"]] == ["-1.85", "-0.78", "-0.20"]
    ar = doc.tables["lgtnln"][0]
    assert (ar["lgract"], ar["dbtamt"], ar["crdamt"]) == ("1200", "0.00", "41.80")


def test_largest_remainder_adds_up_exactly_or_says_it_cannot() -> None:
    assert largest_remainder([Decimal("0.005")] * 3, Decimal("0.02")) == [
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.00"),
    ]
    assert largest_remainder([Decimal("1.00"), Decimal("2.00")], Decimal("3.01")) is None
    assert largest_remainder([Decimal("-0.125")], Decimal("-0.12")) == [Decimal("-0.12")]


@pytest.mark.parametrize(
    ("invoice", "category", "posted"),
    [
        (make_invoice([FILTERS]), "invoice", True),
        (make_invoice([FILTERS], partial=True), "partial", True),
        (make_invoice([FILTERS], total="-41.80"), "credit", True),
        (make_invoice([FILTERS], kind="vendorbill"), "vendorbill", False),
        (make_invoice([FILTERS], kind="external"), "external", False),
        (make_invoice([FILTERS], kind="unknown"), "unknown", False),
    ],
)
def test_every_invoice_type_is_posted_or_skipped_with_a_reason(
    invoice: Invoice, category: str, posted: bool
) -> None:
    assert invoice_category(invoice) == category
    reason = ar_skip_reason(invoice)
    assert (reason is None) == posted
    if reason is not None:
        assert reason.startswith(f"not posted to Sage: type {invoice.invoice_type!r}: ")


def test_labor_is_not_taxed_and_lands_in_its_income_account() -> None:
    doc = ar_invoice_document(
        make_invoice([InvoiceItem("1", "Labor", Decimal("2.5"), Decimal("95"), False, "labor")]),
        job_number=5001,
        location=SHOP,
        mapping=MAPPING,
    )
    assert doc.header["nontax"] == "237.50" and doc.header["slstax"] == "0.00"
    assert doc.tables["artxdt"] == ()
    assert [(r["lgract"], r["crdamt"]) for r in doc.tables["lgtnln"][1:]] == [("4100", "237.50")]
    assert doc.period == "2026-10" and doc.header["duedte"] == "2026-11-13"


def test_an_unmapped_tax_group_names_where_to_map_it() -> None:
    elsewhere = Location("78", "Far", "5", "active", True, "Orange County NC")
    with pytest.raises(MappingError, match=r"Orange County NC.*\[mapping.tax_groups\]"):
        ar_invoice_document(make_invoice([]), job_number=5001, location=elsewhere, mapping=MAPPING)


items = st.lists(
    st.builds(
        InvoiceItem,
        id=st.just("1"),
        description=st.text(max_size=60),
        quantity=st.decimals(min_value=-50, max_value=50, places=2, allow_nan=False),
        price=st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False),
        taxable=st.booleans(),
        item_type=st.sampled_from(["labor", "part", "fee", "material"]),
    ),
    max_size=8,
)


@given(items)
def test_every_invoice_balances_to_the_penny(lines: list[InvoiceItem]) -> None:
    doc = ar_invoice_document(make_invoice(lines), job_number=5001, location=SHOP, mapping=MAPPING)
    header = doc.header
    debits = sum((Decimal(r["dbtamt"]) for r in doc.tables["lgtnln"]), ZERO)
    credits = sum((Decimal(r["crdamt"]) for r in doc.tables["lgtnln"]), ZERO)
    assert debits == credits
    line_total = sum((Decimal(r["extprc"]) for r in doc.tables["arivln"]), ZERO)
    assert line_total + Decimal(header["slstax"]) == Decimal(header["invttl"])
    assert Decimal(header["taxabl"]) + Decimal(header["nontax"]) == line_total
    assert sum((Decimal(r["taxamt"]) for r in doc.tables["artxdt"]), ZERO) == Decimal(
        header["slstax"]
    )


def test_fiscal_periods_follow_the_fiscal_year_start() -> None:
    july = Mapping(1200, 4000, fiscal_year_start_month=7)
    assert july.period_of(date(2026, 7, 1)) == (2027, 1)
    assert july.period_of(date(2026, 6, 30)) == (2026, 12)


def test_client_document_carries_the_link_key() -> None:
    company = Company(
        "5", "Acme Mechanical Services of the Triangle, Incorporated", "inactive", True, False
    )
    doc = client_document(company, 1001)
    row = doc.header
    assert row["usrdf1"] == doc.key == "ST-CO-5"
    assert row["inactv"] == "1" and len(row["shtnme"] or "") == 30


@st.composite
def districts(draw: st.DrawFn) -> TaxDistrict:
    """A district of 1 to 5 entities at any rate (zero included) and a few liability accounts."""
    count = draw(st.integers(min_value=1, max_value=5))
    rates = draw(
        st.lists(
            st.decimals(min_value=0, max_value=8, places=3, allow_nan=False),
            min_size=count,
            max_size=count,
        )
    )
    accounts = draw(st.lists(st.sampled_from([2310, 2320, 2330]), min_size=count, max_size=count))
    return TaxDistrict(
        7,
        "Anywhere",
        tuple(
            TaxEntity(70 + i, f"Entity {i}", rate, account)
            for i, (rate, account) in enumerate(zip(rates, accounts, strict=True))
        ),
    )


@given(districts(), items, st.booleans())
def test_sage_gets_what_servicetrade_billed_split_across_any_district(
    district: TaxDistrict, lines: list[InvoiceItem], per_line: bool
) -> None:
    mapping = Mapping(
        ar_control_account=1200,
        default_income_account=4000,
        tax_districts={7: district},
        tax_group_districts={"Wake County NC": 7},
    )
    # ServiceTrade's own arithmetic: lines to the cent, tax at the group's rate, rounded once
    # or line by line (both within the rounding recon allows).
    extended = [cents(i.quantity * i.price) for i in lines]
    rate = district.rate / 100
    taxed = [amount for amount, item in zip(extended, lines, strict=True) if item.taxable]
    tax = (
        sum((cents(a * rate) for a in taxed), ZERO) if per_line else cents(sum(taxed, ZERO) * rate)
    )
    total = sum(extended, ZERO) + tax

    doc = build(make_invoice(lines, total=str(total), tax=str(tax)), mapping)

    header = doc.header
    assert Decimal(header["invttl"]) == total and Decimal(header["slstax"]) == tax
    entity_taxes = [Decimal(r["taxamt"]) for r in doc.tables["artxdt"]]
    assert sum(entity_taxes, ZERO) == tax
    assert sum((Decimal(r["extprc"]) for r in doc.tables["arivln"]), ZERO) + tax == total
    lines_gl = doc.tables["lgtnln"]
    assert sum((Decimal(r["dbtamt"]) for r in lines_gl), ZERO) == sum(
        (Decimal(r["crdamt"]) for r in lines_gl), ZERO
    )
    if not entity_taxes:
        assert tax == ZERO
        return
    # each liability account carries the tax allocated to its entities, to the cent
    by_account: dict[str, Decimal] = {}
    for entity, amount in zip(district.entities, entity_taxes, strict=True):
        by_account[str(entity.account)] = by_account.get(str(entity.account), ZERO) + amount
    posted = gl_by_account(doc)
    assert {account: posted.get(account, ZERO) for account in by_account} == by_account
    # and no entity is a cent or more off its share of the tax at Sage's rates
    for entity, amount in zip(district.entities, entity_taxes, strict=True):
        share = tax * entity.rate / district.rate if district.rate else ZERO
        assert abs(amount - share) < Decimal("0.01")
