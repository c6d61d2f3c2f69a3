"""Seeded scenario generator: a month of a mechanical service contractor, pure and repeatable.

Nothing here reads the wall clock or the environment: the same seed, start date, scale and
sequence of calls always give the same records, ids and timestamps.
"""

from __future__ import annotations

import calendar
import copy
import dataclasses
import random
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from simulator.costs import purchasing_day, record_job_costs, setup_costing
from simulator.defaults import DEFAULT_SEED, DEFAULT_START, TIMEZONE
from simulator.model import (
    ENTITY_TYPES,
    WEBHOOK_KINDS,
    Action,
    Address,
    Comment,
    Company,
    DayPlan,
    Deletion,
    Invoice,
    InvoiceItem,
    Job,
    LibItem,
    Location,
    PlannedAction,
    ServiceLine,
    TaxGroup,
    User,
    World,
)

#: The account's time zone; invoice transaction dates are local dates here.
ACCOUNT_NAME = "Triangle Mechanical Services"
API_USER_EMAIL = "recon@trianglemech.example"

CENT = Decimal("0.01")
DAY = 86_400

T = TypeVar("T")

# --- reference data ---------------------------------------------------------------------------

_TAX_GROUPS = (
    ("Wake County NC", Decimal("0.0725")),
    ("Durham County NC", Decimal("0.0750")),
    ("Orange County NC", Decimal("0.0750")),
    ("Mecklenburg County NC", Decimal("0.0725")),
    ("Exempt", Decimal("0")),
)

# city, state, zip prefix, area code, tax group name
_CITIES = (
    ("Raleigh", "NC", "276", "919", "Wake County NC"),
    ("Cary", "NC", "275", "919", "Wake County NC"),
    ("Apex", "NC", "275", "919", "Wake County NC"),
    ("Durham", "NC", "277", "919", "Durham County NC"),
    ("Chapel Hill", "NC", "275", "919", "Orange County NC"),
    ("Charlotte", "NC", "282", "704", "Mecklenburg County NC"),
    ("Matthews", "NC", "281", "980", "Mecklenburg County NC"),
)

_STREETS = (
    "Glenwood Ave",
    "Six Forks Rd",
    "Capital Blvd",
    "Fayetteville St",
    "Hillsborough St",
    "Kildaire Farm Rd",
    "Falls of Neuse Rd",
    "Main St",
    "Franklin St",
    "Tryon St",
    "Providence Rd",
    "Independence Blvd",
    "Duke St",
    "Chapel Hill Rd",
    "Harrison Ave",
    "Wade Ave",
    "Creedmoor Rd",
    "Lake Boone Trl",
    "Morrisville Pkwy",
    "Park Rd",
)

_SERVICE_LINES = (
    ("HVAC", "HVAC"),
    ("Plumbing", "PLB"),
    ("Refrigeration", "REF"),
    ("Fire Protection", "FIRE"),
)
_SERVICE_LINE_WEIGHTS = (55, 20, 15, 10)

# name, code, type, price, cost, taxable, service line abbr ("" = any)
_LIB_ITEMS: tuple[tuple[str, str, str, str, str, bool, str], ...] = (
    ("Regular Labor", "LAB-REG", "labor", "125.00", "48.00", False, ""),
    ("Overtime Labor", "LAB-OT", "labor", "187.50", "72.00", False, ""),
    ("Helper Labor", "LAB-HLP", "labor", "85.00", "31.00", False, ""),
    ("Trip Charge", "FEE-TRIP", "fee", "89.00", "0.00", False, ""),
    ("Diagnostic Fee", "FEE-DIAG", "fee", "129.00", "0.00", False, ""),
    ("Environmental Disposal Fee", "FEE-ENV", "fee", "35.00", "12.00", False, ""),
    ("Run Capacitor 45/5 MFD", "PRT-CAP455", "part", "68.40", "14.25", True, "HVAC"),
    ("Contactor 2-Pole 30A", "PRT-CON30", "part", "94.75", "21.10", True, "HVAC"),
    ("Condenser Fan Motor 1/4 HP", "PRT-CFM14", "part", "342.00", "118.60", True, "HVAC"),
    ("Programmable Thermostat", "PRT-TSTAT", "part", "219.00", "74.35", True, "HVAC"),
    ("Pleated Air Filter 20x25x2", "PRT-FLT2025", "part", "18.50", "6.15", True, "HVAC"),
    ("V-Belt A42", "PRT-BLTA42", "part", "24.90", "7.80", True, "HVAC"),
    ("R-410A Refrigerant (lb)", "MAT-R410A", "material", "42.00", "11.40", True, "HVAC"),
    ("Water Heater Element 4500W", "PRT-WHE45", "part", "58.00", "16.90", True, "PLB"),
    ("Backflow Repair Kit 3/4in", "PRT-BFK34", "part", "112.00", "39.50", True, "PLB"),
    ("Copper Pipe Type L 3/4in (ft)", "MAT-CU34", "material", "9.85", "4.10", True, "PLB"),
    ("PVC Fittings Assortment", "MAT-PVC", "material", "27.30", "8.75", True, "PLB"),
    ("Evaporator Fan Motor", "PRT-EFM", "part", "286.00", "97.20", True, "REF"),
    ("Defrost Timer", "PRT-DFT", "part", "96.00", "31.40", True, "REF"),
    ("R-404A Refrigerant (lb)", "MAT-R404A", "material", "38.50", "10.20", True, "REF"),
    ("Door Gasket Walk-in Cooler", "PRT-GSK", "part", "145.00", "44.00", True, "REF"),
    ("Sprinkler Head Pendent 155F", "PRT-SPK155", "part", "22.60", "6.40", True, "FIRE"),
    ("Fire Extinguisher 10lb ABC", "PRT-EXT10", "part", "79.00", "28.50", True, "FIRE"),
    ("Annual Sprinkler Inspection", "INS-SPK", "inspection", "295.00", "0.00", False, "FIRE"),
    ("Extinguisher Inspection (each)", "INS-EXT", "inspection", "12.00", "0.00", False, "FIRE"),
)

_LINE_OF_CODE = {row[1]: row[6] for row in _LIB_ITEMS}

_FIRST_NAMES = (
    "James",
    "Maria",
    "Darnell",
    "Kevin",
    "Luis",
    "Ashley",
    "Brandon",
    "Tyrone",
    "Megan",
    "Carlos",
    "Jason",
    "Latoya",
    "Eric",
    "Hannah",
    "Marcus",
    "Derek",
    "Tanya",
    "Ryan",
    "Andre",
    "Kayla",
    "Victor",
    "Shawn",
    "Nicole",
    "Travis",
)
_LAST_NAMES = (
    "Whitaker",
    "Alvarez",
    "Boone",
    "Chen",
    "Dawson",
    "Ellis",
    "Farrow",
    "Greene",
    "Hughes",
    "Ingram",
    "Jenkins",
    "Keller",
    "Lowery",
    "McNeil",
    "Norris",
    "Oakley",
    "Pruitt",
    "Quinn",
    "Ramsey",
    "Sutton",
    "Tillman",
    "Vance",
    "Wheeler",
    "Yates",
)

_CUSTOMER_PREFIXES = (
    "Oakwood",
    "Capital",
    "Crabtree",
    "Falls Lake",
    "Brier Creek",
    "Umstead",
    "Pinecrest",
    "Cameron Village",
    "Southpoint",
    "Ballantyne",
    "Research Triangle",
    "Hope Valley",
    "Lake Norman",
    "Neuse River",
    "Carolina",
    "Piedmont",
    "Bull City",
    "Tar Heel",
    "Magnolia",
    "Dogwood",
    "Longleaf",
    "Cardinal",
    "Eno River",
    "Blue Ridge",
    "Mordecai",
    "Midtown",
    "Harris Teeter Plaza",
    "Six Forks",
    "Wakefield",
    "Crossroads",
)
# suffix, exempt (school/church/government), typical location count
_CUSTOMER_KINDS: tuple[tuple[str, bool], ...] = (
    ("Medical Plaza", False),
    ("Properties LLC", False),
    ("Office Park", False),
    ("Elementary School", True),
    ("Baptist Church", True),
    ("Apartments", False),
    ("Market", False),
    ("Brewing Co.", False),
    ("Dental Group", False),
    ("Hotel", False),
    ("Self Storage", False),
    ("Animal Hospital", False),
    ("Restaurant Group", False),
    ("Senior Living", False),
    ("Data Center", False),
    ("Fire Department", True),
)
_LOCATION_NAMES = (
    "Main Building",
    "North Campus",
    "Warehouse",
    "Store",
    "Annex",
    "Clinic",
    "Tower",
    "Kitchen",
)

_JOB_TYPES = (
    ("service_call", 40),
    ("preventative_maintenance", 20),
    ("repair", 15),
    ("inspection", 10),
    ("emergency_service_call", 8),
    ("installation", 4),
    ("warranty", 3),
)
_PROBLEMS = {
    "HVAC": (
        "RTU not cooling",
        "Heat pump short cycling",
        "Thermostat unresponsive",
        "Noisy condenser fan",
        "Filter change and coil cleaning",
        "Ice on evaporator coil",
    ),
    "PLB": (
        "Water heater leaking",
        "Backflow preventer test failed",
        "Slow drain in kitchen",
        "No hot water in restrooms",
        "Burst pipe in mechanical room",
    ),
    "REF": (
        "Walk-in cooler above temperature",
        "Ice machine not harvesting",
        "Reach-in freezer alarm",
        "Display case frosting over",
    ),
    "FIRE": (
        "Annual sprinkler inspection",
        "Extinguisher inspection",
        "Sprinkler head replacement",
        "Fire pump churn test",
    ),
}


# --- helpers ----------------------------------------------------------------------------------


def _money(value: str) -> Decimal:
    return Decimal(value)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _weighted(rng: random.Random, options: Sequence[tuple[T, int]]) -> T:
    return rng.choices([value for value, _ in options], [weight for _, weight in options])[0]


def _count(rng: random.Random, mean: float) -> int:
    """A small non-negative count around `mean` (cheap, deterministic)."""
    if mean <= 0:
        return 0
    low = int(mean * 0.5)
    high = max(low, round(mean * 1.5))
    return rng.randint(low, high)


def local_time(world: World, day: date, hour: int, minute: int = 0) -> int:
    """Unix seconds of a local wall time on `day` in the account's time zone."""
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(world.timezone))
    return int(moment.timestamp())


def _business_time(world: World, day: date, first_hour: int = 7, last_hour: int = 17) -> int:
    hour = world.rng.randint(first_hour, last_hour)
    return local_time(world, day, hour, world.rng.randrange(0, 60, 5))


def _phone(rng: random.Random, area: str) -> str:
    return f"({area}) {rng.randint(200, 989)}-{rng.randint(0, 9999):04d}"


def _address(rng: random.Random, city: tuple[str, str, str, str, str]) -> Address:
    name, state, zip_prefix, _, _ = city
    street = f"{rng.randint(100, 9899)} {rng.choice(_STREETS)}"
    return Address(street, name, state, f"{zip_prefix}{rng.randint(1, 99):02d}")


def _tax_group_id(world: World, name: str) -> int:
    for group in world.tax_groups.values():
        if group.name == name:
            return group.id
    raise KeyError(name)


# --- master data ------------------------------------------------------------------------------


def generate(
    seed: int = DEFAULT_SEED,
    *,
    start: date = DEFAULT_START,
    scale: int = 1,
    days: int | None = None,
    timezone: str = TIMEZONE,
) -> World:
    """Build the account and simulate `days` of activity from `start` (default: one month)."""
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    if days is None:
        days = calendar.monthrange(start.year, start.month)[1] - start.day + 1
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    start_ts = int(
        datetime(start.year, start.month, start.day, tzinfo=ZoneInfo(timezone)).timestamp()
    )
    world = World(
        seed=seed,
        timezone=timezone,
        start=start_ts,
        scale=scale,
        clock=start_ts,
        today=start,
        rng=random.Random(seed),
    )
    _build_catalog(world)
    _build_account(world)
    setup_costing(world)
    for _ in range(25 * scale):
        _new_customer(world, created=_before_start(world))
    _run_days(world, days, history=True)
    return world


def _before_start(world: World) -> int:
    """A business-hours moment some time in the two years before the scenario starts."""
    day = world.today - timedelta(days=world.rng.randint(30, 720))
    return _business_time(world, day)


def _build_catalog(world: World) -> None:
    for name, rate in _TAX_GROUPS:
        group = TaxGroup(world.new_id(), name, rate)
        world.tax_groups[group.id] = group
    for name, abbr in _SERVICE_LINES:
        line = ServiceLine(world.new_id(), name, abbr)
        world.service_lines[line.id] = line
    for name, code, kind, price, cost, taxable, _ in _LIB_ITEMS:
        item = LibItem(world.new_id(), name, code, kind, _money(price), _money(cost), taxable)
        world.lib_items[item.id] = item


def _build_account(world: World) -> None:
    rng = world.rng
    created = local_time(world, world.today - timedelta(days=1200), 9)
    account = Company(
        id=world.new_id(),
        name=ACCOUNT_NAME,
        status="active",
        ref_number="TMS",
        phone="(919) 555-0142",
        address=Address("4120 Atlantic Ave", "Raleigh", "NC", "27604"),
        customer=False,
        vendor=True,
        created=created,
        updated=created,
    )
    world.companies[account.id] = account
    world.account_id = account.id

    def add_user(first: str, last: str, *, tech: bool, helper: bool = False) -> User:
        moment = _before_start(world)
        email = f"{first}.{last}@trianglemech.example".lower()
        user = User(
            world.new_id(), first, last, email, "active", tech, helper, account.id, moment, moment
        )
        world.users[user.id] = user
        return user

    api_user = add_user("Recon", "Integration", tech=False)
    api_user.email = API_USER_EMAIL
    world.api_user_id = api_user.id
    add_user("Pam", "Whitley", tech=False)  # dispatcher
    add_user("Gordon", "Baxter", tech=False)  # office manager
    names = [(first, last) for first in _FIRST_NAMES for last in _LAST_NAMES]
    chosen = rng.sample(names, k=min(len(names), 8 * world.scale))
    techs = [
        add_user(first, last, tech=True, helper=index >= 6 * world.scale)
        for index, (first, last) in enumerate(chosen)
    ]
    techs[-1].status = "inactive"


def _customer_names(world: World) -> list[str]:
    taken = {company.name for company in world.companies.values()}
    branch = 1
    while True:  # beyond the 480 base names (large scales), branches get a number
        suffix = "" if branch == 1 else f" {branch}"
        names = [
            f"{prefix} {kind}{suffix}"
            for prefix in _CUSTOMER_PREFIXES
            for kind, _ in _CUSTOMER_KINDS
            if f"{prefix} {kind}{suffix}" not in taken
        ]
        if names:
            return names
        branch += 1


def _new_customer(world: World, *, created: int) -> Company:
    rng = world.rng
    name = rng.choice(_customer_names(world))
    exempt = any(f" {kind}" in name and is_exempt for kind, is_exempt in _CUSTOMER_KINDS)
    city = rng.choice(_CITIES)
    status = _weighted(rng, (("active", 90), ("inactive", 8), ("pending", 2)))
    company = Company(
        id=world.new_id(),
        name=name,
        status=status,
        ref_number=f"C{rng.randint(1000, 9999)}",
        phone=_phone(rng, city[3]),
        address=_address(rng, city),
        customer=True,
        vendor=False,
        created=created,
        updated=created,
    )
    world.companies[company.id] = company
    for index in range(_weighted(rng, ((1, 50), (2, 30), (3, 14), (4, 6)))):
        site_city = city if index == 0 or rng.random() < 0.6 else rng.choice(_CITIES)
        _new_location(world, company, site_city, exempt=exempt, created=created)
    return company


def _new_location(
    world: World,
    company: Company,
    city: tuple[str, str, str, str, str],
    *,
    exempt: bool,
    created: int,
) -> Location:
    rng = world.rng
    label = rng.choice(_LOCATION_NAMES)
    group = "Exempt" if exempt else city[4]
    location = Location(
        id=world.new_id(),
        name=f"{company.name} - {label} ({city[0]})",
        ref_number=f"L{rng.randint(10000, 99999)}",
        phone=_phone(rng, city[3]),
        email=f"facilities{rng.randint(1, 99)}@{company.name.split()[0].lower()}.example",
        status="active" if company.status == "active" else company.status,
        taxable=not exempt,
        address=_address(rng, city),
        company_id=company.id,
        tax_group_id=_tax_group_id(world, group),
        created=created,
        updated=created,
    )
    world.locations[location.id] = location
    return location


# --- daily activity ---------------------------------------------------------------------------


def advance(world: World, days: int) -> dict[str, int]:
    """Simulate `days` more days of activity; returns counts of what happened.

    A day in progress (after `advance_minutes`) is finished first and counts as the first day.
    """
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    return _run_days(world, days, history=False)


def advance_minutes(world: World, minutes: int) -> dict[str, int]:
    """Move the clock `minutes` on, simulating what happens on the way; returns counts.

    Advancing to a local midnight in minutes leaves the world exactly as `advance` in days:
    a day is planned (drawing from the world's generator) at its first moment and its actions
    happen in time order either way.
    """
    if minutes < 0:
        raise ValueError(f"minutes must not be negative, got {minutes}")
    return advance_to(world, world.clock + minutes * 60)


def advance_to(world: World, moment: int) -> dict[str, int]:
    """Simulate up to and including `moment` (unix seconds); the clock ends at `moment` or
    later (never earlier than it was)."""
    counts: Counter[str] = Counter()
    while True:
        plan = world.plan
        if plan is None:
            if moment <= local_time(world, world.today, 0):
                break
            plan = _plan_day(world, history=False)
        if moment >= plan.day_end:
            _finish_day(world, counts, history=False)
            continue
        _apply_until(world, plan, moment, counts)
        break
    world.clock = max(world.clock, moment)
    return dict(sorted(counts.items()))


def settle_day(world: World) -> World:
    """The world as it will be at the end of the day in progress (a copy; `world` is left as
    it is), or `world` itself when no day is in progress. What a state file saves."""
    if world.plan is None:
        return world
    settled = copy.deepcopy(world)
    _finish_day(settled, Counter(), history=False)
    return settled


def _run_days(world: World, days: int, *, history: bool) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for _ in range(days):
        _finish_day(world, counts, history=history)
    return dict(sorted(counts.items()))


def _finish_day(world: World, counts: Counter[str], *, history: bool) -> None:
    """Simulate the rest of the day in progress (planning it first if it has not begun), then
    the office's purchasing, and move to the next day."""
    plan = world.plan or _plan_day(world, history=history)
    _apply_until(world, plan, None, counts)
    purchasing_day(world, plan.day, counts)
    world.clock = max(world.clock, plan.day_end)
    world.today = plan.day + timedelta(days=1)
    world.plan = None


def _apply_until(world: World, plan: DayPlan, moment: int | None, counts: Counter[str]) -> None:
    """Apply the planned actions due at or before `moment` (None: all), in time order."""
    while plan.done < len(plan.actions):
        entry = plan.actions[plan.done]
        if moment is not None and entry.moment > moment:
            return
        plan.done += 1
        if entry.live:
            entry.action(max(entry.moment, world.clock), counts)
            continue
        now = max(entry.moment, world.clock + 1)
        world.clock = now
        entry.action(now, counts)


def _plan_day(world: World, *, history: bool) -> DayPlan:
    """Plan one local day with the seeded rng: what happens, and when. Actions that draw from
    the rng themselves do so when they happen, in time order."""
    rng = world.rng
    day = world.today
    day_start = local_time(world, day, 0)
    day_end = local_time(world, day + timedelta(days=1), 0)
    weekday = day.weekday() < 5
    plan: list[tuple[int, int, Action]] = []

    def at(moment: int, action: Action) -> None:
        plan.append((moment, len(plan), action))

    for _ in range(_count(rng, (5.0 if weekday else 1.0) * world.scale)):
        at(_business_time(world, day), partial(_new_job, world))

    for job in sorted(world.jobs.values(), key=lambda j: j.id):
        # Jobs due today, and jobs created too late yesterday to be worked yesterday.
        if (
            job.status == "scheduled"
            and job.scheduled_date is not None
            and (job.scheduled_date < day_end)
        ):
            if rng.random() < 0.06:
                moment = max(job.scheduled_date - 3 * 3600, day_start + 7 * 3600)
                at(moment, partial(_cancel_job, world, job))
            else:
                begin = max(job.scheduled_date, day_start + 7 * 3600)
                finish = min(begin + rng.randint(1, 5) * 3600, day_end - 60)
                at(finish, partial(_complete_job, world, job))

    for invoice in sorted(world.invoices.values(), key=lambda i: i.id):
        if invoice.approve_at is not None and invoice.approve_at < day_end:
            at(
                max(invoice.approve_at, day_start),
                partial(_approve, world, invoice, history=history),
            )
        elif history and invoice.status == "pending_accounting" and invoice.updated < day_start:
            if rng.random() < 0.12:
                at(
                    _business_time(world, day),
                    partial(_set_invoice_status, world, invoice, "processed"),
                )
        elif (
            history
            and invoice.status == "processed"
            and invoice.updated < day_start - 7 * DAY
            and rng.random() < 0.02
        ):
            at(
                _business_time(world, day),
                partial(_set_invoice_status, world, invoice, "paid"),
            )

    open_invoices = [
        i
        for i in sorted(world.invoices.values(), key=lambda i: i.id)
        if i.status in ("internal_review", "ok", "pending_accounting") and i.created < day_start
    ]
    if open_invoices and weekday:
        for _ in range(_count(rng, 1.0 * world.scale)):
            invoice = rng.choice(open_invoices)
            at(_business_time(world, day), partial(_edit_invoice, world, invoice))
        if rng.random() < 0.15:
            invoice = rng.choice(open_invoices)
            at(_business_time(world, day), partial(_void, world, invoice))
    processed = [i for i in world.invoices.values() if i.status == "processed"]
    if processed and rng.random() < 0.03:
        invoice = rng.choice(sorted(processed, key=lambda i: i.id))
        at(_business_time(world, day), partial(_void, world, invoice))

    if rng.random() < 0.1 * world.scale:
        at(_business_time(world, day), partial(_customer_signs_up, world))
    locations = sorted(world.locations.values(), key=lambda loc: loc.id)
    if locations and rng.random() < 0.12:
        location = rng.choice(locations)
        at(_business_time(world, day), partial(_location_changes, world, location))

    actions = [
        PlannedAction(moment, order, action)
        for moment, order, action in sorted(plan, key=lambda entry: (entry[0], entry[1]))
    ]
    if world.live:
        actions = _with_live_activity(world, day, actions)
    world.plan = DayPlan(day, day_end, actions)
    return world.plan


def _new_job(world: World, now: int, counts: Counter[str]) -> None:
    rng = world.rng
    customers = [
        c
        for c in sorted(world.companies.values(), key=lambda c: c.id)
        if c.customer and c.status == "active"
    ]
    customer = rng.choice(customers)
    sites = [
        loc
        for loc in sorted(world.locations.values(), key=lambda loc: loc.id)
        if loc.company_id == customer.id and loc.status == "active"
    ]
    if not sites:
        return
    location = rng.choice(sites)
    line = rng.choices(list(world.service_lines.values()), _SERVICE_LINE_WEIGHTS)[0]
    job_type = (
        "inspection" if line.abbr == "FIRE" and rng.random() < 0.7 else _weighted(rng, _JOB_TYPES)
    )
    problem = rng.choice(_PROBLEMS[line.abbr])
    local_day = datetime.fromtimestamp(now, ZoneInfo(world.timezone)).date()
    if job_type == "emergency_service_call":
        scheduled = now + rng.randint(1, 3) * 3600
    else:
        scheduled = _business_time(world, local_day + timedelta(days=rng.randint(0, 6)), 7, 15)
        scheduled = max(scheduled, now + 2 * 3600)
    job = Job(
        id=world.new_id(),
        number=world.next_job_number,
        name=f"{job_type.replace('_', ' ').title()} - {problem}",
        type=job_type,
        status="scheduled",
        description=f"{problem} at {location.name}.",
        customer_id=customer.id,
        location_id=location.id,
        vendor_id=world.account_id,
        scheduled_date=scheduled,
        completed_on=None,
        created=now,
        updated=now,
        service_line_id=line.id,
    )
    world.next_job_number += 1
    world.jobs[job.id] = job
    counts["jobs_created"] += 1


def _cancel_job(world: World, job: Job, now: int, counts: Counter[str]) -> None:
    if job.status != "scheduled":
        return
    job.status = "canceled"
    job.updated = now
    counts["jobs_canceled"] += 1


def _complete_job(world: World, job: Job, now: int, counts: Counter[str]) -> None:
    if job.status != "scheduled":
        return
    rng = world.rng
    job.status = "completed"
    job.completed_on = now
    job.updated = now
    counts["jobs_completed"] += 1
    invoice_time = now + rng.randint(5, 180) * 60
    field_created = rng.random() < 0.6
    status = "internal_review" if field_created else "ok"
    invoice = Invoice(
        id=world.new_id(),
        invoice_number=f"INV-{world.next_invoice_number}",
        name=job.name,
        status=status,
        type="vendorbill" if rng.random() < 0.03 else "invoice",
        transaction_date=invoice_time,
        partial=rng.random() < 0.02,
        customer_id=job.customer_id,
        location_id=job.location_id,
        vendor_id=job.vendor_id,
        job_id=job.id,
        items=[],
        created=invoice_time,
        updated=invoice_time,
    )
    world.next_invoice_number += 1
    invoice.items = _invoice_items(world, job)
    if rng.random() < 0.08:
        invoice.approve_at = None  # stuck: nobody in the office gets to it
    else:
        invoice.approve_at = invoice_time + rng.randint(2, 40) * 3600
    world.invoices[invoice.id] = invoice
    counts["invoices_created"] += 1
    record_job_costs(world, job, invoice, now, counts)
    _external_or_credit(world, invoice, counts)


#: Of the invoices of type "invoice": billed outside ServiceTrade, and credits.
EXTERNAL_SHARE = 0.03
CREDIT_SHARE = 0.06


def _external_or_credit(world: World, invoice: Invoice, counts: Counter[str]) -> None:
    """Some invoices are ``external`` (billed outside ServiceTrade), some credits (every price
    negative: the job was done, the customer is credited, e.g. warranty work).

    Drawn from a generator of the invoice's own, not the world's: every other record of a
    seed stays what it was before these kinds existed.
    """
    if invoice.type != "invoice":
        return
    draw = random.Random(f"{world.seed}:invoice-kind:{invoice.id}").random()
    if draw < EXTERNAL_SHARE:
        invoice.type = "external"
        counts["invoices_external"] += 1
    elif draw < EXTERNAL_SHARE + CREDIT_SHARE:
        invoice.name = f"Credit - {invoice.name}"
        for item in invoice.items:
            item.price = -item.price
        counts["invoices_credit"] += 1


def _lib(world: World, code: str) -> LibItem:
    for item in world.lib_items.values():
        if item.code == code:
            return item
    raise KeyError(code)


def _item(
    world: World, lib: LibItem, quantity: Decimal, line_id: int, location_id: int
) -> InvoiceItem:
    location = world.locations[location_id]
    return InvoiceItem(
        id=world.new_id(),
        description=lib.name,
        quantity=quantity,
        price=lib.price,
        cost=lib.cost,
        taxable=lib.taxable and location.taxable,
        lib_item_id=lib.id,
        service_line_id=line_id,
    )


def _hours(rng: random.Random, low: int, high: int) -> Decimal:
    """Labor hours in quarter-hour steps between low and high quarters."""
    return Decimal(rng.randint(low, high)) / 4


def _invoice_items(world: World, job: Job) -> list[InvoiceItem]:
    rng = world.rng
    line = world.service_lines[job.service_line_id]
    items: list[InvoiceItem] = []

    def add(code: str, quantity: Decimal) -> None:
        if len(items) < 6:
            items.append(_item(world, _lib(world, code), quantity, line.id, job.location_id))

    if job.type == "inspection" and line.abbr == "FIRE":
        add("INS-SPK" if rng.random() < 0.5 else "INS-EXT", Decimal(rng.randint(1, 24)))
    else:
        overtime = job.type == "emergency_service_call"
        add("LAB-OT" if overtime else "LAB-REG", _hours(rng, 2, 24))
        if rng.random() < 0.25:
            add("LAB-HLP", _hours(rng, 2, 16))
        if job.type in ("service_call", "emergency_service_call"):
            add("FEE-TRIP", Decimal(1))
        elif rng.random() < 0.2:
            add("FEE-DIAG", Decimal(1))
    parts = [
        lib
        for lib in world.lib_items.values()
        if lib.type in ("part", "material") and _LINE_OF_CODE.get(lib.code) == line.abbr
    ]
    for lib in rng.sample(parts, k=min(len(parts), rng.randint(0, 3))):
        if lib.code.startswith("MAT-R"):
            quantity = Decimal(rng.randint(1, 12)) / 2  # refrigerant in half pounds
        elif lib.code == "MAT-CU34":
            quantity = Decimal(rng.randint(2, 40))
        else:
            quantity = Decimal(rng.randint(1, 4))
        add(lib.code, quantity)
    if rng.random() < 0.1:
        add("FEE-ENV", Decimal(1))
    return items


def _approve(
    world: World, invoice: Invoice, now: int, counts: Counter[str], *, history: bool
) -> None:
    rng = world.rng
    invoice.approve_at = None
    if invoice.status == "internal_review":
        invoice.status = "ok"
        invoice.approve_at = now + rng.randint(1, 30) * 3600 if rng.random() < 0.9 else None
    elif invoice.status == "ok":
        if history and rng.random() < 0.04:
            invoice.status = "sent"
        else:
            invoice.status = "pending_accounting"
            if invoice.job_id is not None:
                job = world.jobs[invoice.job_id]
                if job.status == "completed":
                    job.status = "closed"
                    job.updated = now
    else:
        return
    invoice.updated = now
    counts["invoices_approved"] += 1


def _set_invoice_status(
    world: World, invoice: Invoice, status: str, now: int, counts: Counter[str]
) -> None:
    invoice.status = status
    invoice.updated = now
    counts[f"invoices_{status}"] += 1


def _edit_invoice(world: World, invoice: Invoice, now: int, counts: Counter[str]) -> None:
    if invoice.status not in ("internal_review", "ok", "pending_accounting"):
        return
    rng = world.rng
    choice = rng.random()
    if choice < 0.5 and invoice.items:
        item = rng.choice(invoice.items)
        step = Decimal(1) if item.quantity == item.quantity.to_integral_value() else Decimal("0.25")
        item.quantity = max(step, item.quantity + step * rng.choice((-2, -1, 1, 2, 3)))
    elif choice < 0.75 and len(invoice.items) > 1:
        invoice.items.pop(rng.randrange(len(invoice.items)))
    elif choice < 0.9 and invoice.items:
        item = rng.choice(invoice.items)
        item.price = _cents(item.price * Decimal(rng.choice(("0.90", "0.95", "1.05", "1.10"))))
    elif len(invoice.items) < 6:
        lib = world.lib_items[_lib(world, "FEE-ENV").id]
        line_id = (
            invoice.items[0].service_line_id if invoice.items else next(iter(world.service_lines))
        )
        invoice.items.append(_item(world, lib, Decimal(1), line_id, invoice.location_id))
    invoice.updated = now
    counts["invoices_edited"] += 1


def _void(world: World, invoice: Invoice, now: int, counts: Counter[str]) -> None:
    if invoice.status in ("void", "paid"):
        return
    invoice.status = "void"
    invoice.approve_at = None
    invoice.updated = now
    counts["invoices_voided"] += 1


def _customer_signs_up(world: World, now: int, counts: Counter[str]) -> None:
    company = _new_customer(world, created=now)
    company.status = "active"
    for location in world.locations.values():
        if location.company_id == company.id:
            location.status = "active"
    counts["companies_created"] += 1


def _location_changes(world: World, location: Location, now: int, counts: Counter[str]) -> None:
    rng = world.rng
    area = location.phone[1:4] if location.phone.startswith("(") else "919"
    if rng.random() < 0.5:
        location.phone = _phone(rng, area)
    else:
        location.email = f"maintenance{rng.randint(1, 99)}@{location.email.split('@')[-1]}"
    location.updated = now
    counts["locations_updated"] += 1


# --- live activity: mistakes entered and deleted again ------------------------------------------

#: On a weekday of a live (paced) simulator: the chance a technician enters a job item twice,
#: and the chance a visit is clocked twice (the mobile app and the phone line both recorded it).
#: Either is deleted again later that day.
LIVE_ITEM_TWICE = 0.5
LIVE_VISIT_TWICE = 0.35


def _with_live_activity(
    world: World, day: date, actions: list[PlannedAction]
) -> list[PlannedAction]:
    """The day's plan with live activity added, drawn from a generator of the day's own (never
    the world's). Its records number from `LIVE_ID_BASE` and are gone again by the end of the
    day; while they exist nothing else reads them, so every other record is what it would be
    without them."""
    if day.weekday() >= 5:
        return actions
    rng = random.Random(f"{world.seed}:live:{day.isoformat()}")
    day_end = local_time(world, day + timedelta(days=1), 0)
    extra: list[tuple[int, Action]] = []
    for chance, kind, enter in (
        (LIVE_ITEM_TWICE, "jobitem", _enter_item_twice),
        (LIVE_VISIT_TWICE, "clockevent", _clock_visit_twice),
    ):
        if rng.random() >= chance:
            continue
        entered = local_time(world, day, rng.randint(10, 17), rng.randrange(0, 60, 5))
        removed = min(entered + rng.randint(6, 48) * 300, day_end - 60)
        made: list[Any] = []
        extra.append((entered, partial(enter, world, rng, made)))
        extra.append((removed, partial(_delete_mistakes, world, kind, made)))
    added = [
        PlannedAction(moment, len(actions) + index, action, live=True)
        for index, (moment, action) in enumerate(extra)
    ]
    return sorted([*actions, *added], key=lambda entry: (entry.moment, entry.order))


def _enter_item_twice(
    world: World, rng: random.Random, made: list[Any], now: int, counts: Counter[str]
) -> None:
    """A technician enters one of today's labor or stock job items a second time."""
    day_start = local_time(world, datetime.fromtimestamp(now, ZoneInfo(world.timezone)).date(), 0)
    candidates = [
        item
        for item in world.job_items.values()
        if day_start <= item.created <= now and item.po_line_id is None
    ]
    if not candidates:
        return
    original = rng.choice(sorted(candidates, key=lambda item: item.id))
    twice = dataclasses.replace(original, id=world.new_live_id(), created=now, updated=now)
    world.job_items[twice.id] = twice
    made.append(twice)
    counts["jobitems_entered_twice"] += 1


def _clock_visit_twice(
    world: World, rng: random.Random, made: list[Any], now: int, counts: Counter[str]
) -> None:
    """One of today's finished visits is clocked a second time, in and out at the same
    moments, from the other source."""
    day_start = local_time(world, datetime.fromtimestamp(now, ZoneInfo(world.timezone)).date(), 0)
    events = world.clock_events
    visits = [
        (clock_in, events[clock_in.id + 1])
        for clock_in in events.values()
        if clock_in.event_type == "clockin"
        and day_start <= clock_in.event_time
        and clock_in.created <= now
        and clock_in.id + 1 in events
        and events[clock_in.id + 1].event_type == "clockout"
        and events[clock_in.id + 1].user_id == clock_in.user_id
        and events[clock_in.id + 1].created <= now
    ]
    if not visits:
        return
    for original in rng.choice(sorted(visits, key=lambda visit: visit[0].id)):
        twice = dataclasses.replace(
            original,
            id=world.new_live_id(),
            source="ivr" if original.source == "mobile" else "mobile",
            created=now,
            updated=now,
        )
        events[twice.id] = twice
        made.append(twice)
        counts["clockevents_entered_twice"] += 1


def _delete_mistakes(
    world: World, kind: str, made: list[Any], now: int, counts: Counter[str]
) -> None:
    """The office (or the technician) deletes what was entered twice."""
    table = world.table(kind)
    for record in made:
        if record.id in table:
            user_id = record.user_id if kind == "jobitem" else None
            delete_record(world, kind, record.id, user_id=user_id, now=now)
            counts[f"{kind}s_deleted"] += 1


# --- deletions --------------------------------------------------------------------------------

#: Kinds the control API may delete (the rest only when nothing refers to them, see below).
DELETABLE_KINDS = ("company", "location", "job", "jobitem", "clockevent", "comment")


class DeleteRefused(ValueError):
    """A record that cannot be deleted without breaking the world (the message says why)."""


def delete_record(
    world: World,
    kind: str,
    record_id: int,
    *,
    user_id: int | None = None,
    now: int | None = None,
) -> None:
    """Delete a ServiceTrade record and journal it for the webhooks; KeyError when there is
    no such record, DeleteRefused when others still refer to it. Comments on the record go
    with it. Without `now`, the deletion is an API write (the clock ticks)."""
    if kind not in DELETABLE_KINDS:
        raise DeleteRefused(_NEVER_DELETED.get(kind, f"{kind} records are not deletable"))
    table = world.table(kind)
    record = table[record_id]
    reason = _still_needed(world, kind, record)
    if reason:
        raise DeleteRefused(f"cannot delete {kind} {record_id}: {reason}")
    moment = world.tick() if now is None else now
    del table[record_id]
    world.corruptions.pop((kind, record_id), None)
    entity_type = ENTITY_TYPES.get(kind)
    for comment in [c for c in world.comments.values() if c.entity_id == record_id]:
        if comment.entity_type == entity_type:
            del world.comments[comment.id]
    if kind in WEBHOOK_KINDS:
        world.deletions.append(Deletion(kind, record_id, moment, user_id))


_NEVER_DELETED = {
    "invoice": "an invoice is voided, never deleted",
    "user": "a user is deactivated, never deleted (job items, clock events and trucks name them)",
}


def _still_needed(world: World, kind: str, record: Any) -> str:
    """Why `record` cannot go ("" when it can)."""
    if kind == "company":
        if record.id == world.account_id:
            return "it is the account's own company"
        if any(loc.company_id == record.id for loc in world.locations.values()):
            return "it has locations"
        if any(u.company_id == record.id for u in world.users.values()):
            return "it has users"
        if any(record.id in (j.customer_id, j.vendor_id) for j in world.jobs.values()):
            return "jobs refer to it"
        if any(record.id in (i.customer_id, i.vendor_id) for i in world.invoices.values()):
            return "invoices refer to it"
    elif kind == "location":
        if any(job.location_id == record.id for job in world.jobs.values()):
            return "it has jobs"
        if any(inv.location_id == record.id for inv in world.invoices.values()):
            return "invoices refer to it"
    elif kind == "job":
        if record.status != "canceled":
            return f"only a canceled job can be deleted, this one is {record.status!r}"
        if any(inv.job_id == record.id for inv in world.invoices.values()):
            return "it has invoices"
        if any(item.job_id == record.id for item in world.job_items.values()):
            return "it has job items"
        if any(event.job_id == record.id for event in world.clock_events.values()):
            return "it has clock events"
        if any(
            line.job_id == record.id for po in world.purchase_orders.values() for line in po.lines
        ):
            return "PartsLedger purchase order lines refer to it"
    return ""


# --- test hooks: comments and corruption ------------------------------------------------------


def add_comment(
    world: World, entity_type: int, entity_id: int, content: str, author_id: int, now: int
) -> Comment:
    comment = Comment(world.new_id(), entity_type, entity_id, content, author_id, now, now)
    world.comments[comment.id] = comment
    return comment


# Wire corruptions per kind: each is a list of (op, path, value) applied after rendering.
_CORRUPTIONS: dict[str, tuple[list[tuple[str, tuple[str | int, ...], Any]], ...]] = {
    "invoice": (
        [("set", ("items", 0, "quantity"), "abc")],
        [("del", ("customer",), None)],
        [("set", ("items", 0, "price"), "12.3.4")],
        [("set", ("transactionDate",), "yesterday")],
    ),
    "company": (
        [("del", ("name",), None)],
        [("set", ("name",), "")],
    ),
    "location": (
        [("del", ("company",), None)],
        [("set", ("taxable",), "yes")],
    ),
    "job": (
        [("del", ("location",), None)],
        [("set", ("number",), "N/A")],
        [("del", ("status",), None)],
    ),
    "user": (
        [("del", ("name",), None), ("del", ("firstName",), None), ("del", ("lastName",), None)],
        [("set", ("isTech",), "maybe")],
    ),
    "jobitem": (
        [("set", ("quantity",), "abc")],
        [("del", ("job",), None)],
        [("set", ("usedOn",), "today")],
        [("set", ("cost",), "12.3.4")],
    ),
    "clockevent": (
        [("del", ("user",), None)],
        [("set", ("eventType",), "lunch")],
        [("set", ("eventTime",), "noon")],
    ),
}
#: PartsLedger wire corruptions (its records carry `_id`, never removed).
_PL_CORRUPTIONS: dict[str, tuple[list[tuple[str, tuple[str | int, ...], Any]], ...]] = {
    "vendor": (
        [("del", ("name",), None)],
        [("set", ("name",), "")],
        [("set", ("is1099",), "sometimes")],
    ),
    "item": (
        [("set", ("type",), "gadget")],
        [("set", ("purchasePrice",), "free")],
    ),
    "warehouse": ([("del", ("name",), None)],),
    "purchase_order": (
        [("set", ("POLineItems", 0, "quantity"), "abc")],
        [("del", ("number",), None)],
        [("set", ("issueDate",), "tomorrow")],
        [("set", ("POLineItems", 0, "amount"), "1,234.00")],
    ),
    "receipt": (
        [("set", ("ShipmentReceiptLines", 0, "quantityReceived"), "lots")],
        [("del", ("VendorId",), None), ("del", ("Vendor",), None)],
    ),
    "bill": (
        [("set", ("BillLineItems", 0, "amount"), "12.3.4")],
        [("del", ("VendorId",), None), ("del", ("Vendor",), None)],
        [("set", ("billDate",), "someday")],
        [("set", ("tax",), "abc")],
    ),
}

CORRUPTIBLE_KINDS = tuple(_CORRUPTIONS)
PL_CORRUPTIBLE_KINDS = tuple(_PL_CORRUPTIONS)


_LINED = ("purchase_order", "receipt", "bill")


def corrupt(world: World, kind: str, count: int) -> list[int]:
    """Persistently corrupt `count` records of `kind` on the wire; bumps `updated`; returns ids."""
    table_of_variants = {**_CORRUPTIONS, **_PL_CORRUPTIONS}
    if kind not in table_of_variants:
        raise ValueError(f"malformed kind must be one of {sorted(table_of_variants)}, got {kind!r}")
    world.malformed_rounds += 1
    rng = random.Random(f"{world.seed}:malformed:{world.malformed_rounds}")
    table = world.table(kind)
    candidates = [
        record_id
        for record_id in sorted(table)
        if (kind, record_id) not in world.corruptions
        and not (kind == "invoice" and not world.invoices[record_id].items)
        and not (kind in _LINED and not table[record_id].lines)
        and not (kind == "company" and record_id == world.account_id)
        and not (kind == "user" and record_id == world.api_user_id)
    ]
    chosen = sorted(rng.sample(candidates, k=min(count, len(candidates))))
    variants = table_of_variants[kind]
    for index, record_id in enumerate(chosen):
        world.corruptions[(kind, record_id)] = list(variants[index % len(variants)])
        table[record_id].updated = world.tick()
    return chosen


def entity_type_of(value: object) -> int | None:
    """Entity type integer from an int or a kind name ("invoice"); None when unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value in ENTITY_TYPES.values() else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return entity_type_of(int(text))
        return ENTITY_TYPES.get(text)
    return None
