"""The seeded scenario: repeatable, believable, and internally consistent."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from simulator import jsonio, run_simulator
from simulator.model import ID_BASE, World
from simulator.persist import StateFileError, load_world, save_world
from simulator.render import Renderer, invoice_totals
from simulator.scenario import advance, corrupt, generate

KINDS = ("company", "location", "user", "job", "invoice")


def wire(world: World) -> str:
    renderer = Renderer(world, "http://sim/api")
    return jsonio.dumps(
        {
            kind: [renderer.render(kind, record) for record in world.table(kind).values()]
            for kind in KINDS
        }
    )


@pytest.fixture(scope="module")
def world() -> World:
    return generate(7)


def test_same_seed_gives_identical_data() -> None:
    assert wire(generate(7)) == wire(generate(7))


def test_different_seeds_give_different_data() -> None:
    assert wire(generate(7)) != wire(generate(8))


def test_advance_is_deterministic_given_seed_and_calls() -> None:
    first, second = generate(11), generate(11)
    assert advance(first, 3) == advance(second, 3)
    corrupt(first, "invoice", 2)
    corrupt(second, "invoice", 2)
    advance(first, 2)
    advance(second, 2)
    assert wire(first) == wire(second)
    assert first.clock == second.clock


def test_the_default_month_is_october_2026_in_the_account_time_zone(world: World) -> None:
    zone = ZoneInfo(world.timezone)
    start = int(datetime(2026, 10, 1, tzinfo=zone).timestamp())
    end = int(datetime(2026, 11, 1, tzinfo=zone).timestamp())
    assert world.start == start
    assert world.clock == end
    assert world.today == date(2026, 11, 1)
    for job in world.jobs.values():
        assert start <= job.created < end
        assert job.created <= job.updated <= end
    for invoice in world.invoices.values():
        assert start <= invoice.created <= invoice.updated <= end


def test_start_date_is_configurable() -> None:
    world = generate(3, start=date(2027, 2, 1))
    assert world.today == date(2027, 3, 1)
    months = {
        datetime.fromtimestamp(job.created, ZoneInfo(world.timezone)).month
        for job in world.jobs.values()
    }
    assert months == {2}


def test_a_believable_contractor_month(world: World) -> None:
    companies = list(world.companies.values())
    customers = [company for company in companies if company.customer]
    technicians = [user for user in world.users.values() if user.is_tech]
    assert 20 <= len(customers) <= 35
    assert any(company.status == "inactive" for company in customers)
    assert [company.name for company in companies if company.vendor] == [
        "Triangle Mechanical Services"
    ]
    assert len(technicians) == 8
    assert 80 <= len(world.jobs) <= 170
    for customer in customers:
        assert 1 <= sum(loc.company_id == customer.id for loc in world.locations.values()) <= 5
    job_statuses = Counter(job.status for job in world.jobs.values())
    assert {"scheduled", "completed", "closed", "canceled"} <= set(job_statuses)
    invoice_statuses = Counter(invoice.status for invoice in world.invoices.values())
    assert invoice_statuses["pending_accounting"] + invoice_statuses["processed"] > (
        len(world.invoices) / 2
    )
    assert {"ok", "internal_review", "void"} <= set(invoice_statuses)
    assert all(record_id > ID_BASE for record_id in world.jobs)


def test_invoices_mix_labor_parts_and_fees_with_tax_only_on_taxable_lines(world: World) -> None:
    types: Counter[str] = Counter()
    for invoice in world.invoices.values():
        assert 1 <= len(invoice.items) <= 6
        location = world.locations[invoice.location_id]
        for item in invoice.items:
            lib = world.lib_items[item.lib_item_id]
            types[lib.type] += 1
            if lib.type in ("labor", "fee"):
                assert not item.taxable
            assert item.taxable == (lib.taxable and location.taxable)
            assert item.quantity > 0
            assert item.price == item.price.quantize(Decimal("0.01"))
        _, tax = invoice_totals(world, invoice)
        if not location.taxable:
            assert tax == 0
        assert tax == tax.quantize(Decimal("0.01"))
    assert {"labor", "part", "material", "fee"} <= set(types)


def test_a_month_has_a_few_invoices_of_every_kind_handed_to_accounting(world: World) -> None:
    handed = ("pending_accounting", "processed", "paid", "sent")
    renderer = Renderer(world, "http://sim/api")
    kinds: Counter[str] = Counter()
    for invoice in world.invoices.values():
        if invoice.status not in handed:
            continue
        wire = renderer.render("invoice", invoice)
        if wire["totalPrice"] < 0:
            kinds["credit"] += 1
        elif invoice.type == "invoice" and invoice.partial:
            kinds["partial"] += 1
        else:
            kinds[invoice.type] += 1
        assert wire["totalPrice"] == wire["subtotal"] + wire["taxTotal"]
    assert all(kinds[kind] >= 2 for kind in ("vendorbill", "external", "partial", "credit"))
    assert kinds["invoice"] > sum(kinds.values()) / 2


def test_exempt_locations_are_not_taxable(world: World) -> None:
    groups = {group.id: group.name for group in world.tax_groups.values()}
    seen = Counter(groups[loc.tax_group_id or 0] for loc in world.locations.values())
    assert len(seen) >= 3
    for location in world.locations.values():
        assert location.taxable == (groups[location.tax_group_id or 0] != "Exempt")


def test_some_invoices_are_edited_after_creation(world: World) -> None:
    edited = [inv for inv in world.invoices.values() if inv.updated > inv.created + 86_400]
    assert len(edited) >= 5


def test_advance_generates_new_activity_and_moves_the_clock() -> None:
    world = generate(5)
    before_jobs, before_clock = len(world.jobs), world.clock
    counts = advance(world, 5)
    assert world.clock > before_clock
    assert len(world.jobs) == before_jobs + counts["jobs_created"]
    assert counts["jobs_created"] > 0
    assert counts.get("invoices_created", 0) > 0
    assert all(job.updated <= world.clock for job in world.jobs.values())


def test_scale_multiplies_counts() -> None:
    small, large = generate(4), generate(4, scale=3)
    assert len(large.jobs) > 2 * len(small.jobs)
    assert sum(c.customer for c in large.companies.values()) >= 70


def test_corrupt_picks_records_persistently_and_bumps_updated() -> None:
    world = generate(9)
    clock = world.clock
    ids = corrupt(world, "invoice", 3)
    assert len(ids) == 3
    for invoice_id in ids:
        assert world.invoices[invoice_id].updated > clock
        assert ("invoice", invoice_id) in world.corruptions
    again = corrupt(world, "invoice", 2)
    assert not set(again) & set(ids)


def test_a_saved_world_loads_back_identical_and_continues_identically(tmp_path: Path) -> None:
    world = generate(13)
    advance(world, 2)
    corrupt(world, "company", 1)
    path = tmp_path / "simulator.json"
    save_world(world, path)
    loaded = load_world(path)
    assert wire(loaded) == wire(world)
    assert advance(loaded, 3) == advance(world, 3)
    assert wire(loaded) == wire(world)


def test_a_damaged_state_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "simulator.json"
    path.write_text('{"format": 1, "seed": 3}')
    with pytest.raises(StateFileError, match=r"simulator\.json"):
        load_world(path)


def test_run_simulator_continues_from_its_state_file(tmp_path: Path) -> None:
    path = tmp_path / "sim" / "state.json"
    with run_simulator(seed=3, state_file=path) as sim:
        pending = next(
            i for i in sim.state.world.invoices.values() if i.status == "pending_accounting"
        )
        sim.mutate("invoice", pending.id, {"status": "processed"})
        sim.advance(1)
        clock = sim.state.world.clock
    assert path.exists()
    with run_simulator(seed=3, state_file=path) as sim:
        assert sim.state.world.invoices[pending.id].status == "processed"
        assert sim.state.world.clock == clock
