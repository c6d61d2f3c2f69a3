"""The scenario's job costs and purchasing: labor that matches the clock, parts that match
PartsLedger, and the purchasing month an AP clerk would recognise."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from simulator import jsonio
from simulator.costs import holidays
from simulator.model import PL_RESOURCES, JobItem, World
from simulator.partsledger import PlRenderer
from simulator.persist import load_world, save_world, world_to_data
from simulator.render import Renderer
from simulator.scenario import advance, corrupt, generate

ST_KINDS = ("company", "location", "user", "job", "invoice", "jobitem", "clockevent")


def wire(world: World) -> str:
    st, pl = Renderer(world, "http://sim/api"), PlRenderer(world)
    data = {kind: [st.render(kind, r) for r in world.table(kind).values()] for kind in ST_KINDS}
    data |= {
        kind: [pl.render(kind, r) for r in world.table(kind).values()] for kind in PL_RESOURCES
    }
    return jsonio.dumps(data)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(7)


def local_day(world: World, moment: int) -> date:
    return datetime.fromtimestamp(moment, ZoneInfo(world.timezone)).date()


def visits(world: World) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """(technician, job) -> [(clock-in, clock-out)] from the clock events."""
    found: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    opened: dict[tuple[int, int], int] = {}
    for event in sorted(world.clock_events.values(), key=lambda e: (e.event_time, e.id)):
        key = (event.user_id, event.job_id)
        if event.event_type == "clockin":
            assert key not in opened
            opened[key] = event.event_time
        else:
            found[key].append((opened.pop(key), event.event_time))
    assert not opened, "every clock-in has its clock-out"
    return found


def labor(world: World, code: str | None = None) -> list[JobItem]:
    libs = world.lib_items
    return [
        item
        for item in world.job_items.values()
        if libs[item.lib_item_id].type == "labor" and code in (None, libs[item.lib_item_id].code)
    ]


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_gives_identical_costs_and_purchasing() -> None:
    assert wire(generate(7)) == wire(generate(7))
    assert wire(generate(7)) != wire(generate(8))


def test_advance_is_deterministic_for_the_new_kinds_too() -> None:
    first, second = generate(11), generate(11)
    assert advance(first, 4) == advance(second, 4)
    corrupt(first, "bill", 1)
    corrupt(second, "bill", 1)
    assert wire(first) == wire(second)


def test_costs_do_not_disturb_the_other_records_ids() -> None:
    world = generate(7)
    assert all(record_id < 2_500_500_000_000_000 for record_id in world.invoices)
    assert all(record_id > 2_500_500_000_000_000 for record_id in world.job_items)
    assert all(record_id < 1_000_000 for record_id in world.bills)


# --- labor and the clock ------------------------------------------------------------------------


def test_labor_hours_match_the_clock_for_every_technician_on_every_job(world: World) -> None:
    hours: Counter[tuple[int, int]] = Counter()
    for item in labor(world):
        hours[(item.user_id, item.job_id)] += item.quantity
    pairs = visits(world)
    assert hours and set(hours) == set(pairs)
    for key, spans in pairs.items():
        clocked = Decimal(sum(end - begin for begin, end in spans)) / 3600
        assert clocked == hours[key], key


def test_visits_never_overlap_and_stay_within_their_day(world: World) -> None:
    by_tech: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (tech, _), spans in visits(world).items():
        by_tech[tech] += spans
    for spans in by_tech.values():
        spans.sort()
        for (_, end), (begin, _) in pairwise(spans):
            assert end <= begin
        for begin, end in spans:
            assert local_day(world, begin) == local_day(world, end)


def test_labor_is_costed_at_the_technicians_rate_in_quarter_hours(world: World) -> None:
    technicians = [user for user in world.users.values() if user.is_tech]
    rates = {user.id: user.hourly_cost for user in technicians}
    assert all(Decimal("28.00") <= rate <= Decimal("42.00") for rate in rates.values() if rate)
    for item in labor(world):
        assert item.cost == rates[item.user_id]
        assert (item.quantity * 4) % 1 == 0
        assert item.source == ""


def test_overtime_past_eight_hours_and_premium_on_sundays_and_holidays(world: World) -> None:
    libs = world.lib_items
    per_day: dict[tuple[int, date], Counter[str]] = defaultdict(Counter)
    for item in labor(world):
        day = local_day(world, item.used_on)
        code = libs[item.lib_item_id].code
        per_day[(item.user_id, day)][code] += item.quantity
        if day.weekday() == 6 or day in holidays(day.year):
            assert code == "LAB-PREM"
        else:
            assert code in ("LAB-REG", "LAB-OT")
    assert all(codes["LAB-REG"] <= 8 for codes in per_day.values())
    long_weekdays = [
        codes
        for (_, day), codes in per_day.items()
        if day.weekday() < 5 and codes["LAB-REG"] + codes["LAB-OT"] > 8
    ]
    assert long_weekdays
    # Past 8 hours it is overtime (emergency calls are overtime from the first hour).
    assert any(codes["LAB-REG"] == 8 and codes["LAB-OT"] > 0 for codes in long_weekdays)
    assert labor(world, "LAB-PREM") and labor(world, "LAB-OT")


def test_every_completed_job_has_labor_and_canceled_ones_have_none(world: World) -> None:
    worked = {item.job_id for item in labor(world)}
    for job in world.jobs.values():
        assert (job.id in worked) == (job.completed_on is not None), job.status


def test_holidays_are_the_shops_paid_days() -> None:
    days = holidays(2026)
    assert date(2026, 11, 26) in days and date(2026, 11, 27) in days  # Thanksgiving + Friday
    assert date(2026, 5, 25) in days and date(2026, 9, 7) in days
    assert date(2026, 10, 12) not in days


# --- parts and PartsLedger ----------------------------------------------------------------------


def test_parts_on_jobs_come_from_stock_or_from_a_purchase_for_that_job(world: World) -> None:
    parts = [item for item in world.job_items.values() if item.source]
    assert {item.source for item in parts} == {"stock", "vendor"}
    lines = {line.id: (po, line) for po in world.purchase_orders.values() for line in po.lines}
    items = {item.id: item for item in world.pl_items.values()}
    for item in parts:
        lib = world.lib_items[item.lib_item_id]
        assert lib.type in ("part", "material")
        if item.source == "stock":
            assert world.pl_warehouses[item.warehouse_id or 0].type == "truck"
            continue
        po, line = lines[item.po_line_id or 0]
        assert line.job_id == item.job_id
        assert po.number == item.po_number and po.vendor_id == item.vendor_id
        assert items[line.item_id].number == lib.code
        assert line.quantity == item.quantity == line.quantity_received
        billed = [
            bill_line.unit_cost
            for bill in world.bills.values()
            if bill.status != "voided"
            for bill_line in bill.lines
            if bill_line.po_line_id == line.id
        ]
        assert item.cost == (billed[0] if billed else line.unit_cost)


def test_partsledger_master_data(world: World) -> None:
    vendors = list(world.pl_vendors.values())
    assert 6 <= len(vendors) <= 10
    assert 1 <= sum(v.is_1099 for v in vendors) < len(vendors)
    assert any(v.inactive for v in vendors)
    assert {item.type for item in world.pl_items.values()} == {"inventory", "direct", "consumable"}
    warehouses = list(world.pl_warehouses.values())
    technicians = [user for user in world.users.values() if user.is_tech]
    assert [w.type for w in warehouses].count("facility") == 1
    assert sorted(w.technician_id or 0 for w in warehouses if w.type == "truck") == sorted(
        user.id for user in technicians
    )


def test_a_purchasing_month(world: World) -> None:
    orders = list(world.purchase_orders.values())
    direct = [po for po in orders if all(line.job_id for line in po.lines)]
    stock = [po for po in orders if not any(line.job_id for line in po.lines)]
    assert direct and stock and len(direct) + len(stock) == len(orders)
    assert any(po.status == "voided" for po in stock)
    receipts_per_po = Counter(
        po_id for r in world.receipts.values() for po_id in {line.po_id for line in r.lines}
    )
    split = [po for po in stock if receipts_per_po[po.id] >= 2]
    assert split, "a partial receipt, then the rest"
    assert any(po.status == "partiallyFulfilled" for po in orders) or split
    bills = list(world.bills.values())
    assert {"open", "paid", "voided"} <= {bill.status for bill in bills}
    received = {
        line.po_id: receipt.date_received
        for receipt in world.receipts.values()
        for line in receipt.lines
    }
    for bill in bills:
        assert bill.bill_date > received[bill.po_id], "bills come days after the goods"
        assert bill.due_date >= bill.bill_date


def test_some_bills_differ_from_their_purchase_orders(world: World) -> None:
    lines = {line.id: line for po in world.purchase_orders.values() for line in po.lines}
    price, quantity = 0, 0
    for bill in world.bills.values():
        if bill.status == "voided":
            continue
        for line in bill.lines:
            ordered = lines[line.po_line_id or 0]
            price += line.unit_cost != ordered.unit_cost
            quantity += line.quantity != ordered.quantity_received
    assert price and quantity


def test_a_voided_bill_is_entered_again_under_the_same_number(world: World) -> None:
    voided = [bill for bill in world.bills.values() if bill.status == "voided"]
    assert voided
    for bill in voided:
        again = [
            other
            for other in world.bills.values()
            if other.number == bill.number and other.status != "voided"
        ]
        assert len(again) == 1
        assert again[0].lines[0].quantity * 10 == bill.lines[0].quantity


def test_advance_buys_receives_and_bills() -> None:
    world = generate(5)
    counts = advance(world, 7)
    for name in ("jobitems_created", "clockevents_created", "receipts_created", "bills_entered"):
        assert counts.get(name, 0) > 0, name
    clock = world.clock
    for kind in ("jobitem", "clockevent", *PL_RESOURCES):
        assert all(record.updated <= clock for record in world.table(kind).values())


def test_corrupting_partsledger_records() -> None:
    world = generate(7)
    ids = corrupt(world, "purchase_order", 2)
    assert len(ids) == 2
    rendered = [PlRenderer(world).render("purchase_order", world.purchase_orders[i]) for i in ids]
    assert rendered[0]["POLineItems"][0]["quantity"] == "abc"
    assert "number" not in rendered[1]
    with pytest.raises(ValueError, match="malformed kind"):
        corrupt(world, "widget", 1)


# --- persistence --------------------------------------------------------------------------------


def test_a_saved_world_keeps_its_costs_and_continues_identically(tmp_path: Path) -> None:
    world = generate(13)
    advance(world, 2)
    corrupt(world, "vendor", 1)
    path = tmp_path / "simulator.json"
    save_world(world, path)
    loaded = load_world(path)
    assert wire(loaded) == wire(world)
    assert advance(loaded, 9) == advance(world, 9)
    assert wire(loaded) == wire(world)


def test_a_state_file_from_before_partsledger_still_loads(tmp_path: Path) -> None:
    data = world_to_data(generate(13))
    data["format"] = 1
    for name in ("job_items", "clock_events", "pl_vendors", "pl_items", "pl_warehouses",
                 "purchase_orders", "receipts", "bills"):  # fmt: skip
        del data[name]
    for user in data["users"]:
        user.pop("hourly_cost", None)
    path = tmp_path / "old.json"
    path.write_text(jsonio.dumps(data))
    world = load_world(path)
    assert world.pl_vendors and world.pl_warehouses and not world.bills
    assert all(u.hourly_cost for u in world.users.values() if u.is_tech)
    counts = advance(world, 5)
    assert counts.get("jobitems_created", 0) > 0
