"""Job costs in the simulated world: labor, clock events and parts, and PartsLedger purchasing.

Deterministic like the rest of the scenario, but drawn from random streams of their own (one per
job, one per day, derived from the seed), and numbered from id counters of their own: adding
these records left the ServiceTrade companies, locations, users, jobs and invoices of a seed
exactly as they were.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from simulator.model import (
    Address,
    BillLine,
    ClockEvent,
    Invoice,
    Job,
    JobItem,
    LibItem,
    PlItem,
    PlVendor,
    PlWarehouse,
    PoLine,
    PurchaseOrder,
    ReceiptLine,
    ShipmentReceipt,
    User,
    VendorBill,
    World,
)

CENT = Decimal("0.01")
DAY = 86_400
#: A technician's regular hours per day; more on a weekday is overtime.
REGULAR_HOURS = Decimal(8)
TRAVEL_SECONDS = 20 * 60
#: The sales tax vendors charge on purchases (Wake County, where the shop is).
PURCHASE_TAX_RATE = Decimal("0.0725")

LABOR_REGULAR = "LAB-REG"
LABOR_OVERTIME = "LAB-OT"
LABOR_PREMIUM = "LAB-PREM"
LABOR_HELPER = "LAB-HLP"  # billed on invoices only; helpers' job items use the three above
PREMIUM_LABOR = ("Premium Labor", LABOR_PREMIUM, "labor", "250.00", "96.00")

# Dispatch: which service line each lead technician mostly works, in hiring order.
_TRADES = ("HVAC", "HVAC", "PLB", "REF", "HVAC", "FIRE")

# name, terms, days due, 1099, charges sales tax, inactive, invoice number prefix, city
_VENDORS: tuple[tuple[str, str, int, bool, bool, bool, str, str], ...] = (
    ("Capital City HVAC Supply", "Net 30", 30, False, True, False, "CCS-", "Raleigh"),
    ("Triangle Plumbing Supply Co.", "Net 30", 30, False, True, False, "TPS", "Durham"),
    ("Carolina Refrigeration Wholesale", "2% 10 Net 30", 30, False, True, False, "CRW-", "Cary"),
    ("Piedmont Fire Protection Supply", "Net 45", 45, False, True, False, "PFP", "Raleigh"),
    ("Atlantic Industrial Supply", "Net 30", 30, False, True, False, "AIS-", "Raleigh"),
    ("Raleigh Motor Rewind", "Net 15", 15, True, False, False, "", "Raleigh"),
    ("Dogwood Controls", "Net 15", 15, True, False, False, "DC", "Apex"),
    ("Hal's Backflow & Valve", "Due on receipt", 0, True, False, False, "", "Garner"),
    ("Old Dominion Mechanical Supply", "Net 30", 30, False, True, True, "ODM", "Durham"),
)
# ServiceTrade part/material code -> PartsLedger item type, preferred vendor
_SYNCED_ITEMS = {
    "PRT-CAP455": ("inventory", "Capital City HVAC Supply"),
    "PRT-CON30": ("inventory", "Capital City HVAC Supply"),
    "PRT-CFM14": ("direct", "Raleigh Motor Rewind"),
    "PRT-TSTAT": ("direct", "Dogwood Controls"),
    "PRT-FLT2025": ("inventory", "Atlantic Industrial Supply"),
    "PRT-BLTA42": ("inventory", "Atlantic Industrial Supply"),
    "MAT-R410A": ("inventory", "Capital City HVAC Supply"),
    "PRT-WHE45": ("inventory", "Triangle Plumbing Supply Co."),
    "PRT-BFK34": ("direct", "Hal's Backflow & Valve"),
    "MAT-CU34": ("inventory", "Triangle Plumbing Supply Co."),
    "MAT-PVC": ("inventory", "Triangle Plumbing Supply Co."),
    "PRT-EFM": ("direct", "Carolina Refrigeration Wholesale"),
    "PRT-DFT": ("inventory", "Dogwood Controls"),
    "MAT-R404A": ("inventory", "Carolina Refrigeration Wholesale"),
    "PRT-GSK": ("direct", "Carolina Refrigeration Wholesale"),
    "PRT-SPK155": ("inventory", "Piedmont Fire Protection Supply"),
    "PRT-EXT10": ("inventory", "Piedmont Fire Protection Supply"),
}
# PartsLedger-only consumables (shop supplies, never on a job item): number, name, cost, vendor
_CONSUMABLES = (
    ("CON-BRZ15", "Brazing Rod 15% Silver (lb)", "38.60", "Capital City HVAC Supply"),
    ("CON-MASTIC", "Duct Mastic (gal)", "18.75", "Capital City HVAC Supply"),
    ("CON-NIT", "Nitrogen Cylinder Exchange", "24.00", "Atlantic Industrial Supply"),
    ("CON-RAGS", "Shop Rags (25 lb box)", "31.50", "Atlantic Industrial Supply"),
    ("CON-PTFE", "PTFE Thread Tape (10 pack)", "9.40", "Triangle Plumbing Supply Co."),
)
# How much of a stock item one replenishment orders.
_REORDER = {
    "MAT-R410A": (25, 50),
    "MAT-R404A": (25, 50),
    "MAT-CU34": (100, 200),
    "PRT-FLT2025": (24, 48),
    "MAT-PVC": (6, 12),
}
_PRICE_DRIFT = ("0.97", "1.00", "1.00", "1.00", "1.03", "1.06")


# --- helpers ----------------------------------------------------------------------------------


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _rng(world: World, *parts: object) -> random.Random:
    """A random stream of its own for one job, day or record, derived from the seed."""
    return random.Random(":".join([str(world.seed), "costs", *map(str, parts)]))


def _local(world: World, day: date, hour: int, minute: int = 0) -> int:
    zone = ZoneInfo(world.timezone)
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).timestamp())


def _day_of(world: World, moment: int) -> date:
    return datetime.fromtimestamp(moment, ZoneInfo(world.timezone)).date()


def _office_time(world: World, rng: random.Random, day: date) -> int:
    """A moment in office hours (8:00-16:55) on `day`."""
    return _local(world, day, rng.randint(8, 16), rng.randrange(0, 60, 5))


def _weekday_after(day: date, days: int) -> date:
    """`days` calendar days later, moved on to a weekday (the office does not work weekends)."""
    result = day + timedelta(days=days)
    while result.weekday() >= 5:
        result += timedelta(days=1)
    return result


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def holidays(year: int) -> frozenset[date]:
    """The shop's paid holidays: labor on these days is premium."""
    memorial = _nth_weekday(year, 6, 0, 1) - timedelta(days=7)  # last Monday of May
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    return frozenset(
        {
            date(year, 1, 1),
            memorial,
            date(year, 7, 4),
            _nth_weekday(year, 9, 0, 1),
            thanksgiving,
            thanksgiving + timedelta(days=1),
            date(year, 12, 24),
            date(year, 12, 25),
        }
    )


def _lib(world: World, code: str) -> LibItem | None:
    for item in world.lib_items.values():
        if item.code == code:
            return item
    return None


# --- set-up -----------------------------------------------------------------------------------


def setup_costing(world: World) -> None:
    """Technicians' hourly costs, the Premium Labor item, and PartsLedger's master data."""
    _technician_rates(world)
    if _lib(world, LABOR_PREMIUM) is None:
        name, code, kind, price, cost = PREMIUM_LABOR
        item = LibItem(world.new_usage_id(), name, code, kind, Decimal(price), Decimal(cost), False)
        world.lib_items[item.id] = item
    if not world.pl_vendors:
        _build_partsledger(world)


def _technician_rates(world: World) -> None:
    leads = 0
    for user in sorted(world.users.values(), key=lambda u: u.id):
        if not user.is_tech or user.hourly_cost is not None:
            continue
        rng = _rng(world, "technician", user.id)
        if user.is_helper:
            user.hourly_cost = _cents(Decimal(rng.randint(112, 124)) / 4)  # 28.00-31.00
            user.trade = "HVAC"
        else:
            user.hourly_cost = _cents(Decimal(rng.randint(128, 168)) / 4)  # 32.00-42.00
            user.trade = _TRADES[leads % len(_TRADES)]
            leads += 1


def _build_partsledger(world: World) -> None:
    rng = _rng(world, "partsledger")

    def before_start() -> int:
        return _office_time(world, rng, world.today - timedelta(days=rng.randint(60, 720)))

    vendors: dict[str, PlVendor] = {}
    for name, terms, days_due, is_1099, taxes, inactive, prefix, city in _VENDORS:
        moment = before_start()
        domain = "".join(ch for ch in name.lower().split()[0] if ch.isalnum())
        vendor = PlVendor(
            id=world.new_pl_id(),
            name=name,
            email=f"ar@{domain}.example",
            phone=f"(919) {rng.randint(200, 989)}-{rng.randint(0, 9999):04d}",
            terms=terms,
            days_due=days_due,
            is_1099=is_1099,
            charges_tax=taxes,
            inactive=inactive,
            address=Address(
                f"{rng.randint(100, 9899)} {rng.choice(('Industrial Dr', 'Commerce Pkwy'))}",
                city,
                "NC",
                f"27{rng.randint(500, 699)}",
            ),
            created=moment,
            updated=moment,
            invoice_prefix=prefix,
        )
        world.pl_vendors[vendor.id] = vendor
        vendors[name] = vendor
    for lib in sorted(world.lib_items.values(), key=lambda item: item.id):
        if lib.code not in _SYNCED_ITEMS:
            continue
        kind, vendor_name = _SYNCED_ITEMS[lib.code]
        moment = before_start()
        item = PlItem(
            id=world.new_pl_id(),
            number=lib.code,
            name=lib.name,
            sku=f"{vendors[vendor_name].name[:3].upper()}-{rng.randint(10000, 99999)}",
            type=kind,
            purchase_price=lib.cost,
            sale_price=lib.price,
            vendor_id=vendors[vendor_name].id,
            inactive=False,
            created=moment,
            updated=moment,
        )
        world.pl_items[item.id] = item
    for number, name, cost, vendor_name in _CONSUMABLES:
        moment = before_start()
        item = PlItem(
            id=world.new_pl_id(),
            number=number,
            name=name,
            sku=f"{vendors[vendor_name].name[:3].upper()}-{rng.randint(10000, 99999)}",
            type="consumable",
            purchase_price=Decimal(cost),
            sale_price=Decimal("0.00"),
            vendor_id=vendors[vendor_name].id,
            inactive=False,
            created=moment,
            updated=moment,
        )
        world.pl_items[item.id] = item
    account = world.companies.get(world.account_id)
    moment = before_start()
    main = PlWarehouse(
        id=world.new_pl_id(),
        name="Main Warehouse",
        description="Shop stock room, Raleigh",
        type="facility",
        technician_id=None,
        inactive=False,
        address=Address(**vars(account.address)) if account is not None else None,
        created=moment,
        updated=moment,
    )
    world.pl_warehouses[main.id] = main
    technicians = [u for u in sorted(world.users.values(), key=lambda u: u.id) if u.is_tech]
    for index, tech in enumerate(technicians, start=1):
        truck = PlWarehouse(
            id=world.new_pl_id(),
            name=f"Truck {index:02d} - {tech.name}",
            description=f"Service van stock of {tech.name}",
            type="truck",
            technician_id=tech.id,
            inactive=tech.status != "active",
            address=None,
            created=tech.created,
            updated=tech.created,
        )
        world.pl_warehouses[truck.id] = truck


def main_warehouse(world: World) -> PlWarehouse:
    return next(w for w in world.pl_warehouses.values() if w.type == "facility")


def truck_of(world: World, user_id: int) -> PlWarehouse:
    for warehouse in world.pl_warehouses.values():
        if warehouse.technician_id == user_id:
            return warehouse
    return main_warehouse(world)


# --- a job's labor, clock events and parts ----------------------------------------------------


def _visits_on(world: World, day: date) -> dict[int, list[tuple[int, int]]]:
    """Each technician's (clock-in, clock-out) pairs on `day`, in time order."""
    start = _local(world, day, 0)
    events: list[ClockEvent] = []
    # Days are simulated in order, so today's events are the newest ones.
    for event in reversed(world.clock_events.values()):
        if event.event_time < start:
            break
        events.append(event)
    events.sort(key=lambda e: (e.event_time, e.id))
    open_at: dict[int, int] = {}
    visits: dict[int, list[tuple[int, int]]] = {}
    for event in events:
        if event.event_type == "clockin":
            open_at[event.user_id] = event.event_time
        elif event.user_id in open_at:
            visits.setdefault(event.user_id, []).append(
                (open_at.pop(event.user_id), event.event_time)
            )
    return visits


def _worked(visits: list[tuple[int, int]]) -> Decimal:
    return Decimal(sum(end - begin for begin, end in visits)) / 3600


def _dispatch(
    rng: random.Random,
    candidates: list[User],
    trade: str,
    desired: int,
    visits: dict[int, list[tuple[int, int]]],
) -> tuple[User, int]:
    """The technician for a visit wanted at `desired`, and when they can start."""
    options: list[tuple[User, int, int]] = []
    for tech in candidates:
        mine = visits.get(tech.id, [])
        start = desired if not mine else max(desired, mine[-1][1] + TRAVEL_SECONDS)
        weight = (5 if tech.trade == trade else 1) * (2 if mine else 1)
        options.append((tech, start, weight))
    free = [option for option in options if option[1] == desired]
    if free:
        tech, start, _ = rng.choices(free, [weight for _, _, weight in free])[0]
        return tech, start
    tech, start, _ = min(options, key=lambda option: (option[1], option[0].id))
    return tech, start


def _labor_split(job: Job, day: date, hours: Decimal, before: Decimal) -> list[tuple[str, Decimal]]:
    """The hours of one visit by labor type: Sundays and holidays premium, Saturdays and
    emergency calls overtime, else regular up to 8 hours in the technician's day."""
    if day in holidays(day.year) or day.weekday() == 6:
        return [(LABOR_PREMIUM, hours)]
    if day.weekday() == 5 or job.type == "emergency_service_call":
        return [(LABOR_OVERTIME, hours)]
    regular = min(hours, max(Decimal(0), REGULAR_HOURS - before))
    split = [(LABOR_REGULAR, regular), (LABOR_OVERTIME, hours - regular)]
    return [(code, quantity) for code, quantity in split if quantity > 0]


def record_job_costs(
    world: World, job: Job, invoice: Invoice, now: int, counts: Counter[str]
) -> None:
    """The labor (job items and clock events) and parts behind a job completed at `now`."""
    rng = _rng(world, "job", job.id)
    day = _day_of(world, now)
    day_end = _local(world, day + timedelta(days=1), 0)
    floor = _local(world, day, 6)
    codes = {lib.id: lib.code for lib in world.lib_items.values()}
    billed: dict[str, Decimal] = {}
    for item in invoice.items:
        code = codes.get(item.lib_item_id, "")
        billed[code] = billed.get(code, Decimal(0)) + item.quantity
    lead_hours = billed.get(LABOR_REGULAR, Decimal(0)) + billed.get(LABOR_OVERTIME, Decimal(0))
    if lead_hours <= 0:  # flat-priced inspections: the time is still worked
        lead_hours = Decimal(rng.randint(4, 16)) / 4
    technicians = sorted(world.users.values(), key=lambda u: u.id)
    leads = [u for u in technicians if u.is_tech and not u.is_helper and u.status == "active"]
    if not leads:
        return
    line = world.service_lines[job.service_line_id]
    visits = _visits_on(world, day)
    desired = max(now - int(lead_hours * 3600), floor)
    lead, start = _dispatch(rng, leads, line.abbr, desired, visits)
    crew = [(lead, start, lead_hours)]
    helper_hours = billed.get(LABOR_HELPER, Decimal(0))
    if helper_hours > 0:
        helpers = [u for u in technicians if u.is_helper and u.status == "active"]
        for helper in rng.sample(helpers, k=len(helpers)):
            mine = visits.get(helper.id, [])
            if not mine or mine[-1][1] + TRAVEL_SECONDS <= start:
                crew.append((helper, start, helper_hours))
                break
    for tech, begin, hours in crew:
        end = begin + int(hours * 3600)
        if end >= day_end:  # never across midnight: start earlier instead
            begin, end = begin - (end - day_end + 60), day_end - 60
        before = _worked(visits.get(tech.id, []))
        source = "ivr" if rng.random() < 0.1 else "mobile"
        for event_type, moment in (("clockin", begin), ("clockout", end)):
            event = ClockEvent(
                world.new_usage_id(),
                tech.id,
                job.id,
                event_type,
                "onsite",
                moment,
                source,
                moment,
                moment,
            )
            world.clock_events[event.id] = event
            counts["clockevents_created"] += 1
        visits.setdefault(tech.id, []).append((begin, end))
        for code, quantity in _labor_split(job, day, hours, before):
            lib = _lib(world, code)
            if lib is None:
                continue
            _add_job_item(
                world,
                job,
                lib,
                quantity,
                tech.hourly_cost or lib.cost,
                begin,
                tech.id,
                end,
                counts,
                source="",
            )
    _use_parts(
        world, rng, job, invoice, lead, crew[0][1], crew[0][1] + int(lead_hours * 3600), counts
    )


def _add_job_item(
    world: World,
    job: Job,
    lib: LibItem,
    quantity: Decimal,
    cost: Decimal,
    used_on: int,
    user_id: int,
    posted: int,
    counts: Counter[str],
    *,
    source: str,
    vendor_id: int | None = None,
    po_number: str = "",
    po_line_id: int | None = None,
    warehouse_id: int | None = None,
) -> JobItem:
    item = JobItem(
        id=world.new_usage_id(),
        job_id=job.id,
        lib_item_id=lib.id,
        service_line_id=job.service_line_id,
        quantity=quantity,
        cost=_cents(cost),
        used_on=used_on,
        user_id=user_id,
        description=lib.name,
        source=source,
        created=posted,
        updated=posted,
        vendor_id=vendor_id,
        po_number=po_number,
        po_line_id=po_line_id,
        warehouse_id=warehouse_id,
    )
    world.job_items[item.id] = item
    counts["jobitems_created"] += 1
    return item


def _use_parts(
    world: World,
    rng: random.Random,
    job: Job,
    invoice: Invoice,
    lead: User,
    begin: int,
    end: int,
    counts: Counter[str],
) -> None:
    """Parts on the invoice came off the lead's truck, or were bought for the job that day."""
    by_number = {item.number: item for item in world.pl_items.values()}
    truck = truck_of(world, lead.id)
    day = _day_of(world, begin)
    end = min(end, _local(world, day + timedelta(days=1), 0) - 60)
    purchases: dict[int, list[tuple[LibItem, PlItem, Decimal]]] = {}
    for invoice_item in invoice.items:
        lib = world.lib_items.get(invoice_item.lib_item_id)
        if lib is None or lib.type not in ("part", "material"):
            continue
        stocked = by_number.get(lib.code)
        if stocked is None:
            continue
        if stocked.type == "direct" or rng.random() < 0.1:  # direct, or not on the truck
            purchases.setdefault(stocked.vendor_id, []).append(
                (lib, stocked, invoice_item.quantity)
            )
            continue
        _add_job_item(
            world,
            job,
            lib,
            invoice_item.quantity,
            stocked.purchase_price,
            begin,
            lead.id,
            end,
            counts,
            source="stock",
            warehouse_id=truck.id,
        )
    for vendor_id, lines in sorted(purchases.items()):
        ordered = max(_local(world, day, 6), begin - rng.randint(30, 150) * 60)
        received = ordered + rng.randint(15, 60) * 60
        po = PurchaseOrder(
            id=world.new_pl_id(),
            number=f"PO-{world.next_po_number}",
            vendor_id=vendor_id,
            warehouse_id=truck.id,
            status="fulfilled",
            issue_date=day.isoformat(),
            delivery_date=day.isoformat(),
            description=f"Direct purchase for job {job.number}",
            lines=[],
            created=ordered,
            updated=received,
        )
        world.next_po_number += 1
        for lib, stocked, quantity in lines:
            unit = _cents(stocked.purchase_price * Decimal(rng.choice(_PRICE_DRIFT)))
            line = PoLine(
                world.new_pl_id(), stocked.id, stocked.name, quantity, quantity, unit, job.id
            )
            po.lines.append(line)
            _add_job_item(
                world,
                job,
                lib,
                quantity,
                unit,
                begin,
                lead.id,
                end,
                counts,
                source="vendor",
                vendor_id=vendor_id,
                po_number=po.number,
                po_line_id=line.id,
            )
        po.bill_at = _office_time(world, rng, _weekday_after(day, rng.randint(2, 10)))
        world.purchase_orders[po.id] = po
        counts["purchase_orders_created"] += 1
        _receipt(world, po, [(line, line.quantity) for line in po.lines], truck.id, received, day)
        counts["receipts_created"] += 1


def _receipt(
    world: World,
    po: PurchaseOrder,
    lines: list[tuple[PoLine, Decimal]],
    warehouse_id: int,
    moment: int,
    day: date,
) -> ShipmentReceipt:
    receipt = ShipmentReceipt(
        id=world.new_pl_id(),
        number=f"RCV-{world.next_receipt_number}",
        vendor_id=po.vendor_id,
        date_received=day.isoformat(),
        lines=[
            ReceiptLine(
                world.new_pl_id(),
                po.id,
                line.id,
                line.item_id,
                warehouse_id,
                quantity,
                _cents(quantity * line.unit_cost),
            )
            for line, quantity in lines
            if quantity > 0
        ],
        created=moment,
        updated=moment,
    )
    world.next_receipt_number += 1
    world.receipts[receipt.id] = receipt
    return receipt


# --- PartsLedger's day ------------------------------------------------------------------------


def purchasing_day(world: World, day: date, counts: Counter[str]) -> None:
    """The office's purchasing work on `day`: receipts, bills, payments, voids, stock orders,
    and a few corrections to job items. Timestamps fall inside the day."""
    rng = _rng(world, "day", day.isoformat())
    day_end = _local(world, day + timedelta(days=1), 0)
    due: list[tuple[int, int, str, int]] = []
    for po in world.purchase_orders.values():
        for order, (name, moment) in enumerate(
            (("void", po.void_at), ("receive", po.receive_at), ("bill", po.bill_at))
        ):
            if moment is not None and moment < day_end:
                due.append((moment, order, name, po.id))
    for bill in world.bills.values():
        for order, (name, moment) in enumerate((("void_bill", bill.void_at), ("pay", bill.pay_at))):
            if moment is not None and moment < day_end:
                due.append((moment, 3 + order, name, bill.id))
    for moment, _, name, record_id in sorted(due):
        if name == "void":
            _void_po(world, world.purchase_orders[record_id], moment, counts)
        elif name == "receive":
            _receive(world, world.purchase_orders[record_id], moment, counts)
        elif name == "bill":
            _enter_bill(world, world.purchase_orders[record_id], moment, counts)
        elif name == "void_bill":
            _void_bill(world, world.bills[record_id], moment, counts)
        else:
            _pay(world, world.bills[record_id], moment, counts)
    if day.weekday() >= 5:
        return
    for _ in range(world.scale):
        if rng.random() < 0.55:
            _replenish(world, rng, day, counts)
    if rng.random() < 0.04:
        vendors = [v for v in sorted(world.pl_vendors.values(), key=lambda v: v.id)]
        vendor = rng.choice(vendors)
        vendor.phone = f"(919) {rng.randint(200, 989)}-{rng.randint(0, 9999):04d}"
        vendor.updated = _office_time(world, rng, day)
        counts["vendors_updated"] += 1
    if rng.random() < 0.3:
        _correct_job_item(world, rng, day, counts)


def _replenish(world: World, rng: random.Random, day: date, counts: Counter[str]) -> None:
    vendors = [
        v
        for v in sorted(world.pl_vendors.values(), key=lambda v: v.id)
        if not v.inactive
        and any(i.vendor_id == v.id and i.type == "inventory" for i in world.pl_items.values())
    ]
    if not vendors:
        return
    world.replenishments += 1
    serial = world.replenishments
    vendor = rng.choice(vendors)
    stock = [
        i
        for i in sorted(world.pl_items.values(), key=lambda i: i.id)
        if i.vendor_id == vendor.id and i.type in ("inventory", "consumable") and not i.inactive
    ]
    chosen = sorted(rng.sample(stock, k=rng.randint(1, min(4, len(stock)))), key=lambda i: i.id)
    moment = _office_time(world, rng, day)
    delivery = _weekday_after(day, rng.randint(1, 4))
    po = PurchaseOrder(
        id=world.new_pl_id(),
        number=f"PO-{world.next_po_number}",
        vendor_id=vendor.id,
        warehouse_id=main_warehouse(world).id,
        status="issued",
        issue_date=day.isoformat(),
        delivery_date=delivery.isoformat(),
        description="Stock replenishment",
        lines=[],
        created=moment,
        updated=moment,
        split_receipt=serial % 4 == 1,
    )
    world.next_po_number += 1
    for item in chosen:
        low, high = _REORDER.get(item.number, (4, 12))
        count = rng.choice((low, high)) if item.number in _REORDER else rng.randint(low, high)
        unit = _cents(item.purchase_price * Decimal(rng.choice(_PRICE_DRIFT)))
        line = PoLine(world.new_pl_id(), item.id, item.name, Decimal(count), Decimal(0), unit, None)
        po.lines.append(line)
    if serial % 6 == 4:  # raised by mistake, never issued, voided the next working day
        po.status = "created"
        po.void_at = _office_time(world, rng, _weekday_after(day, 1))
    else:
        po.receive_at = _office_time(world, rng, delivery)
    world.purchase_orders[po.id] = po
    counts["purchase_orders_created"] += 1


def _void_po(world: World, po: PurchaseOrder, moment: int, counts: Counter[str]) -> None:
    po.void_at = None
    if po.status not in ("created", "issued"):
        return
    po.status = "voided"
    po.receive_at = po.bill_at = None
    po.updated = moment
    counts["purchase_orders_voided"] += 1


def _receive(world: World, po: PurchaseOrder, moment: int, counts: Counter[str]) -> None:
    po.receive_at = None
    if po.status in ("voided", "fulfilled", "created"):
        return
    rng = _rng(world, "receive", po.id, moment)
    day = _day_of(world, moment)
    taking: list[tuple[PoLine, Decimal]] = []
    split = po.split_receipt
    for line in po.lines:
        remaining = line.quantity - line.quantity_received
        if split and remaining >= 2:
            remaining = (remaining / 2).quantize(Decimal(1), rounding=ROUND_FLOOR)
            split = False  # one line short: the rest is back-ordered
            po.split_receipt = False
        taking.append((line, remaining))
    for line, quantity in taking:
        line.quantity_received += quantity
        item = world.pl_items.get(line.item_id)
        if item is not None and item.type == "inventory" and item.purchase_price != line.unit_cost:
            item.purchase_price = line.unit_cost  # standard cost follows the last receipt
            item.updated = moment
            counts["items_updated"] += 1
    _receipt(world, po, taking, po.warehouse_id, moment, day)
    counts["receipts_created"] += 1
    if all(line.quantity_received >= line.quantity for line in po.lines):
        po.status = "fulfilled"
        po.bill_at = _office_time(world, rng, _weekday_after(day, rng.randint(1, 7)))
    else:
        po.status = "partiallyFulfilled"
        po.receive_at = _office_time(world, rng, _weekday_after(day, rng.randint(2, 5)))
    po.updated = moment


def _purchase_tax(vendor: PlVendor, lines: list[BillLine], freight: Decimal) -> Decimal:
    if not vendor.charges_tax:
        return Decimal("0.00")
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    return _cents((subtotal + freight) * PURCHASE_TAX_RATE)


def _enter_bill(world: World, po: PurchaseOrder, moment: int, counts: Counter[str]) -> None:
    po.bill_at = None
    if po.status == "voided":
        return
    rng = _rng(world, "bill", po.id)
    vendor = world.pl_vendors[po.vendor_id]
    world.bills_entered += 1
    serial = world.bills_entered
    lines = [
        BillLine(
            world.new_pl_id(),
            line.description,
            line.quantity_received,
            line.unit_cost,
            _cents(line.quantity_received * line.unit_cost),
            line.item_id,
            line.id,
            line.job_id,
        )
        for line in po.lines
        if line.quantity_received > 0
    ]
    if not lines:
        return
    first = lines[0]
    if serial % 12 == 3:  # the vendor's price went up since the PO
        first.unit_cost = _cents(first.unit_cost * Decimal("1.05"))
    elif serial % 12 == 9:  # billed one more than was received
        first.quantity += 1
    first.amount = _cents(first.quantity * first.unit_cost)
    direct = all(line.job_id is not None for line in lines)
    freight = (
        Decimal("0.00")
        if direct or rng.random() < 0.5
        else _cents(Decimal(rng.randint(50, 180)) / 4)
    )
    day = _day_of(world, moment)
    bill = VendorBill(
        id=world.new_pl_id(),
        number=f"{vendor.invoice_prefix}{rng.randint(100000, 999999)}",
        vendor_id=vendor.id,
        po_id=po.id,
        po_number=po.number,
        bill_date=day.isoformat(),
        due_date=(day + timedelta(days=vendor.days_due)).isoformat(),
        status="open",
        tax=_purchase_tax(vendor, lines, freight),
        freight=freight,
        lines=lines,
        created=moment,
        updated=moment,
    )
    if serial % 10 == 7:  # keyed wrong (ten times the quantity): voided and entered again
        first.quantity *= 10
        first.amount = _cents(first.quantity * first.unit_cost)
        bill.tax = _purchase_tax(vendor, lines, freight)
        bill.void_at = _office_time(world, rng, _weekday_after(day, 1))
    else:
        bill.pay_at = _payment_time(world, rng, vendor, day)
    world.bills[bill.id] = bill
    counts["bills_entered"] += 1
    _cost_direct_purchases(world, bill, moment, counts)


def _payment_time(world: World, rng: random.Random, vendor: PlVendor, day: date) -> int:
    days = rng.randint(max(1, vendor.days_due - 12), max(3, vendor.days_due))
    return _office_time(world, rng, _weekday_after(day, days))


def _cost_direct_purchases(
    world: World, bill: VendorBill, moment: int, counts: Counter[str]
) -> None:
    """PartsLedger costs a direct purchase's job items at what the vendor billed."""
    billed = {line.po_line_id: line.unit_cost for line in bill.lines if line.job_id is not None}
    if not billed:
        return
    for item in world.job_items.values():
        if item.po_line_id in billed and item.cost != billed[item.po_line_id]:
            item.cost = billed[item.po_line_id]
            item.updated = moment
            counts["jobitems_edited"] += 1


def _void_bill(world: World, bill: VendorBill, moment: int, counts: Counter[str]) -> None:
    bill.void_at = None
    if bill.status != "open":
        return
    bill.status = "voided"
    bill.updated = moment
    counts["bills_voided"] += 1
    vendor = world.pl_vendors[bill.vendor_id]
    lines = [
        BillLine(
            world.new_pl_id(),
            line.description,
            line.quantity,
            line.unit_cost,
            line.amount,
            line.item_id,
            line.po_line_id,
            line.job_id,
        )
        for line in bill.lines
    ]
    first = lines[0]
    first.quantity = first.quantity / 10
    first.amount = _cents(first.quantity * first.unit_cost)
    again = VendorBill(
        id=world.new_pl_id(),
        number=bill.number,
        vendor_id=bill.vendor_id,
        po_id=bill.po_id,
        po_number=bill.po_number,
        bill_date=bill.bill_date,
        due_date=bill.due_date,
        status="open",
        tax=_purchase_tax(vendor, lines, bill.freight),
        freight=bill.freight,
        lines=lines,
        created=moment + 300,
        updated=moment + 300,
    )
    again.pay_at = _payment_time(
        world, _rng(world, "bill", bill.id), vendor, date.fromisoformat(bill.bill_date)
    )
    world.bills[again.id] = again
    counts["bills_entered"] += 1


def _pay(world: World, bill: VendorBill, moment: int, counts: Counter[str]) -> None:
    bill.pay_at = None
    if bill.status != "open":
        return
    bill.status = "paid"
    bill.updated = moment
    counts["bills_paid"] += 1


def _correct_job_item(world: World, rng: random.Random, day: date, counts: Counter[str]) -> None:
    """The office corrects the quantity of a part a technician took from stock."""
    day_start = _local(world, day, 0)
    recent: list[JobItem] = []
    for item in reversed(world.job_items.values()):
        if item.created < day_start - 14 * DAY:
            break
        if item.source == "stock" and item.created < day_start:
            recent.append(item)
    if not recent:
        return
    item = rng.choice(sorted(recent, key=lambda i: i.id))
    step = Decimal(1) if item.quantity == item.quantity.to_integral_value() else Decimal("0.5")
    item.quantity = max(step, item.quantity + step * rng.choice((-1, 1, 2)))
    item.updated = _office_time(world, rng, day)
    counts["jobitems_edited"] += 1
