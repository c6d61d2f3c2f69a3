"""The brownfield company's hand-keyed records: the simulator's customers and invoices as the
office keyed them into Sage before recon existed."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cli.brownfield import hand_keyed, simulator_world
from cli.config import Config, default_config, parse_config
from domain.mapping import MappingError
from domain.source import ACCOUNTABLE_INVOICE_STATUSES
from simulator.model import (
    Address,
    Company,
    Invoice,
    InvoiceItem,
    LibItem,
    Location,
    TaxGroup,
    World,
)
from simulator.render import invoice_totals

ZONE = "America/New_York"
WAKE, EXEMPT, NOWHERE = 1, 2, 3  # tax group ids


def _moment(day: date, hour: int = 10, minute: int = 0) -> int:
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(ZONE))
    return int(local.timestamp())


def _world(today: date = date(2026, 11, 1)) -> World:
    world = World(
        seed=7,
        timezone=ZONE,
        start=_moment(date(2026, 10, 1), 0),
        scale=1,
        clock=_moment(today, 0),
        today=today,
        rng=random.Random(7),
    )
    world.tax_groups = {
        WAKE: TaxGroup(WAKE, "Wake County NC", Decimal("0.0725")),
        EXEMPT: TaxGroup(EXEMPT, "Exempt", Decimal("0")),
        NOWHERE: TaxGroup(NOWHERE, "Nowhere County", Decimal("0.05")),
    }
    world.lib_items = {
        1: LibItem(1, "Regular Labor", "LAB", "labor", Decimal("125"), Decimal("40"), False),
        2: LibItem(2, "Contactor", "CON", "part", Decimal("94.75"), Decimal("40"), True),
    }
    return world


def _customer(world: World, company_id: int, name: str, *, tax_group: int | None = WAKE) -> None:
    address = Address("2034 Creedmoor Rd", "Apex", "NC", "27554")
    world.companies[company_id] = Company(
        company_id, name, "active", "", "(919) 555-0100", address, True, False, 0, 0
    )
    location_id = company_id * 10
    world.locations[location_id] = Location(
        location_id, f"{name} - Clinic (Apex)", "", "", "", "active", True, address, company_id,
        tax_group, 0, 0,
    )  # fmt: skip


def _invoice(
    world: World,
    invoice_id: int,
    company_id: int,
    *,
    status: str = "pending_accounting",
    kind: str = "invoice",
    when: int | None = None,
    hours: str = "2.75",
    parts: str = "3",
) -> Invoice:
    items = [
        InvoiceItem(1, "Regular Labor", Decimal(hours), Decimal("125.00"), ZERO_COST, False, 1, 1),
        InvoiceItem(2, "Contactor", Decimal(parts), Decimal("94.75"), ZERO_COST, True, 2, 1),
    ]
    invoice = Invoice(
        invoice_id, f"INV-{invoice_id}", f"Repair {invoice_id}", status, kind,
        when if when is not None else _moment(date(2026, 10, 5)), False, company_id,
        company_id * 10, 0, None, items, 0, 0,
    )  # fmt: skip
    world.invoices[invoice_id] = invoice
    return invoice


ZERO_COST = Decimal("0")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    data = default_config(tmp_path)
    data["mapping"]["tax_groups"] = {"Wake County NC": 1, "Exempt": 9}
    return parse_config(data)


def _everything(world: World, config: Config) -> tuple[list[str], list[str]]:
    keyed = hand_keyed(
        world, config.mapping, seed=7, customer_share=Decimal(1), invoice_share=Decimal(1)
    )
    customers = [c.name for c in keyed.history.customers]
    return customers, [i.number for i in keyed.history.invoices]


def test_only_invoices_handed_to_accounting_that_recon_posts_are_keyed(config: Config) -> None:
    world = _world()
    _customer(world, 1, "Oakwood Dental Group")
    _customer(world, 2, "Cedar Hill Apartments")  # nothing handed to accounting
    for number, status in enumerate(sorted(ACCOUNTABLE_INVOICE_STATUSES), start=101):
        _invoice(world, number, 1, status=status)
    _invoice(world, 201, 1, status="ok")
    _invoice(world, 202, 1, status="void")
    _invoice(world, 203, 1, kind="vendorbill")
    _invoice(world, 204, 1, kind="external")
    _invoice(world, 205, 2, status="internal_review")

    customers, invoices = _everything(world, config)

    assert customers == ["Oakwood Dental Group"]
    assert invoices == ["INV-101", "INV-102", "INV-103", "INV-104", "INV-105"]


def test_an_invoice_is_keyed_at_what_servicetrade_billed(config: Config) -> None:
    world = _world()
    _customer(world, 1, "Oakwood Dental Group")
    invoice = _invoice(world, 101, 1, hours="2.75", parts="3")

    keyed = hand_keyed(world, config.mapping, seed=7).history.invoices[0]

    subtotal, tax = invoice_totals(world, invoice)  # what the API sends: subtotal, taxTotal
    assert (
        (keyed.total, keyed.tax) == (subtotal + tax, tax) == (Decimal("648.61"), Decimal("20.61"))
    )
    assert [line.amount for line in keyed.lines] == [Decimal("343.75"), Decimal("284.25")]
    assert sum(line.amount for line in keyed.lines) == keyed.total - keyed.tax
    assert [(line.item_type, line.taxable) for line in keyed.lines] == [
        ("labor", False),
        ("part", True),
    ]
    assert (keyed.customer, keyed.description) == ("Oakwood Dental Group", "Repair 101")


def test_a_locations_tax_group_becomes_the_mapped_sage_district(config: Config) -> None:
    world = _world()
    _customer(world, 1, "Oakwood Dental Group", tax_group=WAKE)
    _customer(world, 2, "Hope Valley Elementary School", tax_group=EXEMPT)
    _customer(world, 3, "Capital Bakery", tax_group=None)
    for customer in (1, 2, 3):
        _invoice(world, 100 + customer, customer)

    keyed = hand_keyed(world, config.mapping, seed=7, customer_share=Decimal(1)).history

    assert [(c.name, c.tax_district) for c in keyed.customers] == [
        ("Oakwood Dental Group", 1),
        ("Hope Valley Elementary School", 9),
        ("Capital Bakery", None),
    ]
    assert [i.tax_district for i in keyed.invoices] == [1, 9, None]
    assert keyed.customers[0].job_name == "Oakwood Dental Group - Clinic (Apex)"  # as recon's


def test_a_tax_group_without_a_district_is_a_mapping_error(config: Config) -> None:
    world = _world()
    _customer(world, 1, "Oakwood Dental Group", tax_group=NOWHERE)
    _invoice(world, 101, 1)

    with pytest.raises(MappingError, match="Nowhere County"):
        hand_keyed(world, config.mapping, seed=7)


def test_dates_are_the_accounts_local_days_and_today_is_the_last_simulated_day(
    config: Config,
) -> None:
    world = _world(today=date(2026, 11, 1))
    _customer(world, 1, "Oakwood Dental Group")
    late = _moment(date(2026, 10, 30), 22, 30)  # 02:30 on the 31st in UTC
    _invoice(world, 101, 1, when=late)

    keyed = hand_keyed(world, config.mapping, seed=7)

    assert datetime.fromtimestamp(late, UTC).date() == date(2026, 10, 31)
    assert keyed.history.invoices[0].date == date(2026, 10, 30)
    assert keyed.today == date(2026, 10, 31)


def test_two_customers_of_one_name_are_keyed_once(config: Config) -> None:
    world = _world()
    _customer(world, 1, "Oakwood Dental Group")
    _customer(world, 2, "Oakwood Dental Group")
    _invoice(world, 101, 1)
    _invoice(world, 102, 2)

    customers, invoices = _everything(world, config)

    assert customers == ["Oakwood Dental Group"]
    assert invoices == ["INV-101"]


def test_the_demo_worlds_sample_is_some_customers_and_some_of_their_invoices(
    tmp_path: Path,
) -> None:
    config = parse_config(default_config(tmp_path))
    world = simulator_world(config)
    assert world is not None

    keyed = hand_keyed(world, config.mapping, seed=7)
    again = hand_keyed(world, config.mapping, seed=7)

    assert keyed == again  # same world and seed: same sample
    customers = {c.name for c in keyed.history.customers}
    invoices = keyed.history.invoices
    handed = {
        i.invoice_number: i
        for i in world.invoices.values()
        if i.status in ACCOUNTABLE_INVOICE_STATUSES and i.type == "invoice"
    }
    handed_customers = {world.companies[i.customer_id].name for i in handed.values()}
    assert 1 < len(customers) < len(handed_customers)
    assert 1 < len(invoices) < len(handed)
    assert {i.customer for i in invoices} == customers  # every keyed customer has an invoice
    assert len({i.number for i in invoices}) == len(invoices)
    for number, source in ((i.number, handed[i.number]) for i in invoices):
        subtotal, tax = invoice_totals(world, source)
        assert next(i for i in invoices if i.number == number).total == subtotal + tax
    start = date.fromisoformat(config.servicetrade.simulator.start_date)
    assert keyed.today == world.today - timedelta(days=1)
    assert (keyed.today.year, keyed.today.month) == (start.year, start.month)
    assert max(i.date for i in invoices) <= keyed.today


def test_a_real_servicetrade_has_no_simulator_world(tmp_path: Path) -> None:
    data = default_config(tmp_path)
    data["servicetrade"]["base_url"] = "https://api.servicetrade.com/api"
    data["servicetrade"]["client_id"] = "id"
    data["servicetrade"]["client_secret"] = "secret"

    assert simulator_world(parse_config(data)) is None
