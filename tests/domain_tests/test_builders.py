from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.builders import ar_invoice_document, client_document, sales_tax
from domain.mapping import Mapping, MappingError, TaxDistrict, TaxEntity
from domain.money import ZERO
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


def make_invoice(items: list[InvoiceItem], status: str = "processed") -> Invoice:
    return Invoice(
        "900", "INV-1001", status, "invoice", "2026-10-14", "5", "77", "31", tuple(items)
    )


def test_tax_is_rounded_per_entity_and_summed() -> None:
    taxes = sales_tax(Decimal("38.97"), WAKE)
    assert [t.tax for t in taxes] == [Decimal("1.85"), Decimal("0.78"), Decimal("0.19")]
    doc = ar_invoice_document(
        make_invoice([InvoiceItem("1", "Filter", Decimal(3), Decimal("12.99"), True, "part")]),
        job_number=5001,
        location=SHOP,
        mapping=MAPPING,
    )
    assert doc.header["slstax"] == "2.82"
    assert doc.header["invttl"] == "41.79"
    assert [r["taxamt"] for r in doc.tables["artxdt"]] == ["1.85", "0.78", "0.19"]


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
