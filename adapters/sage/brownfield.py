"""A brownfield Sage sandbox: a company with two years of history, keyed in as an office would.

``init_brownfield`` creates a sandbox with ``init_sandbox`` and then writes, in one transaction,
the 24 periods before today's period the way Sage's windows would have left them: clients,
jobs, vendors and employees in recon's number ranges (no recon link key); receivable (3-2) and
payable (4-2) invoices with their lines, tax detail, GL and job cost, and the receipts (3-3-1)
and checks (4-3-2) applied to them; weekly payroll records converted from daily payroll
(5-2-2 ``payrec`` + ``tmcdln``) with the labor job cost and GL that posting creates; GL period
balances (``lgrbal``); a few days of daily payroll (5-5-1) not yet converted; and the
ServiceTrade customers and invoices the caller says the office keyed in by hand before recon
existed. Everything follows from ``seed`` and ``today``; choices are in docs/brownfield.md.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select, update

from adapters.sage.engine import WRITE_OPTION, create_sage_engine
from adapters.sage.errors import SageConfigError, SageWriteError, translating
from adapters.sage.sandbox import (
    ADMINISTRATIVE,
    CASH,
    CURRENT_ASSET,
    CURRENT_LIABILITY,
    DIRECT_EXPENSE,
    OVERHEAD,
    SEED_PAY_GROUP,
    SEED_WORKERS_COMP,
    Account,
    init_sandbox,
    sandbox_accounts,
    sandbox_cost_codes,
    sandbox_employees,
)
from adapters.sage.schema import TABLES, employ, lgract, lgrtrn, window_zeros
from domain.builders import TaxLine, district_tax, split_tax
from domain.documents import period_text
from domain.mapping import Mapping, MappingError, TaxDistrict
from domain.money import ZERO, cents
from domain.policy import Periods

__all__ = [
    "DEFAULT_SEED",
    "HISTORY_MONTHS",
    "Brownfield",
    "BrownfieldHistory",
    "HandKeyedCustomer",
    "HandKeyedInvoice",
    "HandKeyedLine",
    "init_brownfield",
]

DEFAULT_SEED = 7
HISTORY_MONTHS = 24
#: Sage application users who keyed the history in (``usrnme``/``insusr``).
OFFICE_USERS = ("jmarsh", "kdelgado", "accounting")

# Document codes (reference §3).
JOB_BID, JOB_REFUSED, JOB_CONTRACT, JOB_CURRENT, JOB_COMPLETE, JOB_CLOSED = 1, 2, 3, 4, 5, 6
OPEN, REVIEW, DISPUTE, PAID, VOID = 1, 2, 3, 4, 5
TYPE_CONTRACT, TYPE_MEMO = 1, 2
GL_OPEN, GL_CLEARED, GL_VOID = 1, 2, 3
COST_OPEN, COST_VOID = 1, 2
BILLING_OPEN = 1
SRC_AR, SRC_RECEIPT, SRC_AP, SRC_CHECK, SRC_PAYROLL = 5, 10, 11, 14, 16
PAY_REGULAR, PAY_OVERTIME = 1, 2
PAYROLL_REGULAR, PAYROLL_POSTED = 1, 3
MATERIAL, LABOR, EQUIPMENT, SUBCONTRACT = 1, 2, 3, 4
EMPLOYEE_CURRENT, EMPLOYEE_QUIT = 1, 3

#: Cost codes the office uses beyond the mapping's (added to ``cstcde`` when missing).
OFFICE_COST_CODES = {
    Decimal("300.000"): "Equipment rental",
    Decimal("400.000"): "Subcontract",
    Decimal("500.000"): "Permits and other",
}
WITHHOLDING = Decimal("0.235")  # share of gross pay withheld (taxes, benefits)
STATE = "NC"


# -- what the caller passes ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HandKeyedLine:
    """A grid line the office typed from a ServiceTrade invoice."""

    description: str
    amount: Decimal  # extended amount
    quantity: Decimal = Decimal(1)
    taxable: bool = True
    item_type: str = ""  # labor, part, fee, ...: picks the income account (mapping)


@dataclass(frozen=True, slots=True)
class HandKeyedCustomer:
    """A ServiceTrade customer the office keyed in as a Sage client with one job."""

    name: str
    street: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    phone: str = ""
    tax_district: int | None = None  # Sage district of its location (None: the mapping's)
    job_name: str = ""  # "" names the job after the customer


@dataclass(frozen=True, slots=True)
class HandKeyedInvoice:
    """A ServiceTrade invoice the office keyed into 3-2 by hand.

    Sage gets ``total`` (``totalPrice``) and ``tax`` (``taxTotal``) exactly; the lines are
    keyed so that they add up to ``total - tax`` (the last absorbs any difference).
    """

    number: str  # ServiceTrade invoice number -> acrinv.invnum
    customer: str  # a HandKeyedCustomer's name
    date: date
    total: Decimal
    tax: Decimal = ZERO
    lines: tuple[HandKeyedLine, ...] = ()
    tax_district: int | None = None  # None: the customer's
    description: str = ""  # "" uses the first line's


@dataclass(frozen=True, slots=True)
class BrownfieldHistory:
    """What the brownfield company holds: the hand-keyed ServiceTrade records and the size of
    the office's own history."""

    customers: tuple[HandKeyedCustomer, ...] = ()
    invoices: tuple[HandKeyedInvoice, ...] = ()
    clients: int = 40
    jobs: int = 80
    vendors: int = 25
    ar_invoices: int = 600
    ap_invoices: int = 400
    employees: int = 12  # at least; every employee of the mapping is one
    months: int = HISTORY_MONTHS


@dataclass(frozen=True, slots=True)
class Brownfield:
    """What ``init_brownfield`` made."""

    rows: dict[str, int]  # history rows written per table (on top of the seeds)
    seeded: dict[str, int]  # init_sandbox's seed rows per table
    current_period: str  # YYYY-MM: Sage's current period (today's)
    locked_through: str  # YYYY-MM: every period up to this one is locked
    history_from: str  # YYYY-MM: the first period holding history
    clients: dict[str, int]  # hand-keyed customer name -> client number
    jobs: dict[str, int]  # hand-keyed customer name -> job number
    invoices: dict[str, int]  # hand-keyed ServiceTrade invoice number -> acrinv.recnum

    @property
    def periods(self) -> Periods:
        """For ``[sage] current_period`` / ``locked_through`` in recon.toml."""
        return Periods(self.current_period, self.locked_through)


# -- the plan: every row, before the database numbers them ---------------------------------


class _Ref(NamedTuple):
    """A generated ``recnum`` not known until its row is inserted."""

    table: str
    guid: uuid.UUID


#: Columns that may hold a _Ref, per table.
_REF_COLUMNS = {
    "lgtnln": ("recnum",),
    "acrinv": ("lgrrec",),
    "arivln": ("recnum",),
    "artxdt": ("recnum",),
    "acrpmt": ("recnum", "lgrrec"),
    "acpinv": ("lgrrec",),
    "apivln": ("recnum",),
    "acppmt": ("recnum", "lgrrec"),
    "payrec": ("lgrrec",),
    "tmcdln": ("recnum",),
    "jobcst": ("lgrrec", "payrec"),
}
#: Insert order: parents first; IDENTITY tables are read back right after their insert.
_WRITE_ORDER = (
    "reccln",
    "actrec",
    "actpay",
    "employ",
    "cstcde",
    "lgrtrn",
    "lgtnln",
    "acrinv",
    "arivln",
    "artxdt",
    "acrpmt",
    "acpinv",
    "apivln",
    "acppmt",
    "payrec",
    "tmcdln",
    "jobcst",
    "dlypyr",
)
_READ_BACK = ("lgrtrn", "acrinv", "acpinv", "payrec")


@dataclass(slots=True)
class _Gl:
    guid: uuid.UUID
    source: int
    trnnum: str
    day: date
    description: str
    postings: list[tuple[int, Decimal]]  # account, signed amount (+ debit, - credit)
    user: str
    void: bool = False
    vndnum: int = 0
    empnum: int = 0
    payee: str = ""
    chkamt: Decimal = ZERO


@dataclass(slots=True)
class _Payment:
    day: date
    amount: Decimal  # cash
    credit: Decimal = ZERO  # a credit memo applied (aplcrd)
    chknum: str = ""
    gl: _Gl | None = None


@dataclass(slots=True)
class _Line:
    description: str
    quantity: Decimal
    price: Decimal
    amount: Decimal
    account: int
    job: int | None = None  # AP: the job a direct expense line is costed to
    cost_code: Decimal = ZERO


@dataclass(slots=True)
class _Invoice:
    guid: uuid.UUID
    number: str
    day: date
    job: int | None
    party: int  # AR: client; AP: vendor
    lines: list[_Line]
    description: str
    user: str
    invtyp: int = TYPE_CONTRACT
    taxable: Decimal = ZERO
    nontax: Decimal = ZERO
    tax: Decimal = ZERO
    taxes: tuple[TaxLine, ...] = ()
    tax_account: int = 0  # where a tax with no entity split is credited
    district: int | None = None
    void: bool = False
    open_status: int = OPEN
    refnum: str = ""
    pchord: str = ""
    usrdf1: str = ""
    payments: list[_Payment] = field(default_factory=list)
    gl: _Gl | None = None

    @property
    def total(self) -> Decimal:
        return self.taxable + self.nontax + self.tax

    @property
    def settled(self) -> Decimal:
        return sum((p.amount + p.credit for p in self.payments), ZERO)

    @property
    def balance(self) -> Decimal:
        return self.total - self.settled

    @property
    def status(self) -> int:
        if self.void:
            return VOID
        return PAID if self.balance == ZERO else self.open_status


@dataclass(slots=True)
class _Job:
    number: int
    name: str
    client: int
    district: int | None
    kind: str  # service, project, hand
    status: int
    start: date | None
    end: date | None  # completion; None while current
    contract: Decimal
    address: tuple[str, str, str, str]


@dataclass(slots=True)
class _Employee:
    number: int
    last: str
    first: str
    rate: Decimal
    hired: date
    quit: date | None
    field: bool
    salary: Decimal = ZERO
    seeded: bool = False


@dataclass(slots=True)
class _Accounts:
    cash: int
    ar: int
    ap: int
    accrued_payroll: int
    sales_tax: int
    material: int
    labor: int
    equipment: int
    subcontract: int
    inventory: int
    overhead: int
    admin: int
    chart: dict[int, Account]


# -- word lists ------------------------------------------------------------------------------

_CLIENT_WORDS = (
    "Oakwood", "Cedar Hill", "Capital", "Crabtree", "Falls Lake", "Neuse River", "Longleaf",
    "Harbor", "Summit", "Brier Creek", "Millbrook", "Glenwood", "Six Forks", "Lake Boone",
    "Cameron Village", "Five Points", "Hayes Barton", "Wakefield", "Stonehenge", "North Hills",
    "Brookside", "Tryon", "Wade", "Method", "Lassiter", "Bedford", "Hillcrest", "Fox Run",
)  # fmt: skip
_CLIENT_KINDS = (
    "Properties", "Dental Group", "Medical Center", "Apartments", "Baptist Church",
    "Elementary School", "Office Park", "Bakery", "Hotel", "Family YMCA", "Self Storage",
    "Animal Hospital", "Market", "Brewing Co.", "Auto Service", "Law Offices", "HOA",
    "Restaurant Group", "Veterinary Clinic", "Fitness", "Senior Living", "Library",
)  # fmt: skip
_PROJECTS = (
    "RTU replacement", "Boiler retrofit", "Tenant upfit", "Chiller overhaul", "Duct renovation",
    "VRF install", "Controls upgrade", "Kitchen exhaust", "Heat pump changeout", "Make-up air",
)  # fmt: skip
_STREETS = (
    "Glenwood Ave", "Hillsborough St", "Six Forks Rd", "Falls of Neuse Rd", "Capital Blvd",
    "Wade Ave", "Oberlin Rd", "Creedmoor Rd", "Leesville Rd", "Atlantic Ave", "New Bern Ave",
    "Poole Rd", "Garner Rd", "Tryon Rd", "Western Blvd", "Avent Ferry Rd", "Lake Wheeler Rd",
)  # fmt: skip
_CITIES = (
    ("Raleigh", "276"), ("Durham", "277"), ("Cary", "275"), ("Chapel Hill", "275"),
    ("Garner", "275"), ("Wake Forest", "275"), ("Apex", "275"), ("Charlotte", "282"),
)  # fmt: skip
_FIRST = (
    "Marcus", "Tyrone", "Luis", "Jared", "Colin", "Andre", "Wesley", "Ramon", "Dale", "Trevor",
    "Denise", "Keisha", "Brandon", "Curtis", "Hector", "Shawn", "Derek", "Monica",
)  # fmt: skip
_LAST = (
    "Holloway", "Pruitt", "Castillo", "Barnes", "McNeill", "Tate", "Whitaker", "Ochoa",
    "Sutton", "Batts", "Langley", "Faircloth", "Rouse", "Pittman", "Strickland", "Medlin",
)  # fmt: skip
_SUPPLIERS = (
    "Carolina HVAC Supply", "Triangle Pipe & Valve", "Ferguson HVAC #412", "Johnstone Supply",
    "Capital Refrigeration Supply", "Wake Electric Supply", "Sheet Metal Works of Raleigh",
    "Piedmont Controls", "Eastern Insulation Co.", "Coastal Filter Supply",
)  # fmt: skip
_SUBS = (
    ("Bull City Crane & Rigging", "crane and rigging"), ("Oak City Electric", "electrical"),
    ("Neuse Insulation Contractors", "insulation"), ("Tar Heel Test & Balance", "test and balance"),
    ("Redline Concrete Cutting", "concrete cutting"), ("Pro Roofing of Wake", "roof curbs"),
)  # fmt: skip
_RENTALS = ("Sunbelt Rentals #221", "United Rentals Garner")
#: Overhead vendors: name, account kind, monthly amount range (cents), billing months step.
_OVERHEAD = (
    ("Glenwood Commercial Realty", "overhead", (450000, 450000), 1, "Shop rent"),
    ("Duke Energy Progress", "overhead", (31000, 92000), 1, "Electric service"),
    ("Spectrum Business", "overhead", (28500, 31500), 1, "Phone and internet"),
    ("Builders Mutual Insurance", "admin", (185000, 185000), 1, "Insurance premium"),
    ("WEX Fleet Fuel", "overhead", (90000, 220000), 1, "Fleet fuel"),
    ("Sage Business Cloud", "admin", (45000, 45000), 1, "Software subscription"),
    ("Hobgood & Lee CPAs", "admin", (120000, 180000), 3, "Accounting services"),
    ("Waste Industries", "overhead", (17500, 19500), 1, "Dumpster service"),
)
_MATERIALS = (
    "Copper pipe and fittings", "Refrigerant R-410A", "Condensing unit", "Thermostats",
    "Ductwork and fittings", "Pleated filters", "Motors and capacitors", "Ball valves",
    "Pipe insulation", "Controls and sensors", "Evaporator coil", "Condensate pumps",
)  # fmt: skip
_OFFICE_NOTES = ("Net 30", "Key account", "COI on file", "Call before dispatch", "PO required")


# -- dates and money -------------------------------------------------------------------------


def _month_start(day: date, months: int = 0) -> date:
    """The first day of the month ``months`` after (negative: before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _amount(rng: random.Random, low_cents: int, high_cents: int) -> Decimal:
    return Decimal(rng.randint(low_cents, high_cents)) / 100


def _weekdays(first: date, last: date) -> list[date]:
    days = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


class _Planner:
    """Builds every history row in memory, deterministically from the rng and ``today``."""

    def __init__(
        self, mapping: Mapping, history: BrownfieldHistory, today: date, seed: int
    ) -> None:
        self.mapping = mapping
        self.history = history
        self.today = today
        self.rng = random.Random(seed)
        self.start = _month_start(today, -history.months)
        self.current_start = _month_start(today)
        self.history_end = self.current_start - timedelta(days=1)
        self.last_paid = max(self.start, today - timedelta(days=1))
        self.locked_through = _month_start(today, -2)
        self.accounts = _accounts(mapping)
        self.labor_code = _cost_code(mapping, ("labor",), Decimal("100.000"))
        self.material_code = _cost_code(mapping, ("purchase", "part"), Decimal("200.000"))
        self.stamp_count = 0
        self.gls: list[_Gl] = []
        self.ar: list[_Invoice] = []
        self.ap: list[_Invoice] = []
        self.jobs: dict[int, _Job] = {}
        self.clients: dict[int, dict[str, Any]] = {}
        self.vendors: dict[int, dict[str, Any]] = {}
        self.vendor_kind: dict[int, str] = {}
        self.employees: dict[int, _Employee] = {}
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.employee_updates: list[dict[str, Any]] = []
        self.hand_clients: dict[str, int] = {}
        self.hand_jobs: dict[str, int] = {}
        self.hand_invoices: dict[str, _Invoice] = {}
        self.vendor_counters: dict[int, int] = {}
        self.tech_jobs: dict[int, _Job] = {}
        self.idle_jobs = 0  # bids, refusals and signed contracts not started
        self._active: dict[date, list[_Job]] = {}

    # -- stamps -----------------------------------------------------------------------------

    def user(self) -> str:
        return self.rng.choice(OFFICE_USERS)

    def stamp(self, day: date, user: str) -> dict[str, Any]:
        """Entry and audit stamps of a row keyed in on ``day`` (during office hours)."""
        self.stamp_count += 1
        n = self.stamp_count
        return {
            "_idnum": uuid.uuid4(),
            "entdte": day,
            "usrnme": user,
            "insdte": datetime.combine(day, time(8 + n % 9, n * 7 % 60)),
            "insusr": user,
        }

    def period(self, day: date) -> tuple[int, int]:
        return self.mapping.period_of(day)

    def locked(self, day: date) -> bool:
        return day < _month_start(self.locked_through, 1)

    # -- the plan ---------------------------------------------------------------------------

    def build(self) -> None:
        self._check_input()
        self._employees()
        self._clients_and_jobs()
        self._vendors()
        self._receivables()
        self._hand_keyed_invoices()
        self._payables()
        self._payroll()
        self._daily_payroll()
        self._masters()
        self._gl_rows()
        self._cost_codes()

    def _check_input(self) -> None:
        h = self.history
        if h.months < 3 or h.clients < 1 or h.jobs < 4 or h.vendors < 4 or h.employees < 0:
            raise ValueError(
                "expected at least 3 months, 1 client, 4 jobs and 4 vendors of history, got "
                f"{h.months} months, {h.clients} clients, {h.jobs} jobs, {h.vendors} vendors"
            )
        names = [c.name for c in self.history.customers]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"expected one hand-keyed customer per name, got {doubled} twice")
        numbers = [i.number for i in self.history.invoices]
        doubled = sorted({n for n in numbers if numbers.count(n) > 1})
        if doubled:
            raise ValueError(f"expected one hand-keyed invoice per number, got {doubled} twice")
        for invoice in self.history.invoices:
            if invoice.customer not in names:
                raise ValueError(
                    f"hand-keyed invoice {invoice.number} names customer {invoice.customer!r}; "
                    "expected one of the hand-keyed customers"
                )
            if not invoice.number or len(invoice.number) > 20:
                raise ValueError(
                    f"expected an invoice number of 1 to 20 characters (acrinv.invnum), got "
                    f"{invoice.number!r}"
                )
            if invoice.date > self.today:
                raise ValueError(
                    f"hand-keyed invoice {invoice.number} is dated {invoice.date}, after today "
                    f"({self.today}); expected it keyed in already"
                )

    # -- employees --------------------------------------------------------------------------

    def _employees(self) -> None:
        rng = self.rng
        seeded = sandbox_employees(self.mapping)
        for number, (last, first) in seeded.items():
            before = rng.random() < 0.5
            hired = (
                self.start - timedelta(days=rng.randint(30, 1500))
                if before
                else self._within(rng.randint(0, 540))
            )
            self.employees[number] = _Employee(
                number, last, first, _amount(rng, 2200, 3800), hired, None, True, seeded=True
            )
        extra = max(0, self.history.employees - len(seeded))
        first_number = max([*seeded, 100]) + 1
        names = rng.sample([(f, la) for f in _FIRST for la in _LAST], k=extra)
        for i, (first, last) in enumerate(names):
            number = first_number + i
            if i == 0:  # a technician who quit during the history
                hired = self.start - timedelta(days=rng.randint(200, 900))
                quit_ = self._within(rng.randint(150, 450))
                employee = _Employee(
                    number, last, first, _amount(rng, 2400, 3400), hired, quit_, True
                )
            elif i % 2 == 1:  # office staff on salary
                hired = self.start - timedelta(days=rng.randint(100, 2000))
                employee = _Employee(
                    number,
                    last,
                    first,
                    ZERO,
                    hired,
                    None,
                    False,
                    salary=_amount(rng, 90000, 140000),
                )
            else:
                hired = self._within(rng.randint(60, 600))
                employee = _Employee(
                    number, last, first, _amount(rng, 1900, 2600), hired, None, True
                )
            self.employees[number] = employee
        for e in self.employees.values():
            values = {
                "payrt1": e.rate,
                "payrt2": cents(e.rate * Decimal("1.5")),
                "payrt3": e.rate * 2,
                "salary": e.salary,
                "dtehre": e.hired,
                "dteina": e.quit,
                "status": EMPLOYEE_QUIT if e.quit else EMPLOYEE_CURRENT,
                "taxste": STATE,
            }
            if e.seeded:
                when = datetime.combine(self.start - timedelta(days=20), time(10))
                self.employee_updates.append(
                    {**{f"b_{k}": v for k, v in values.items()}, "b_recnum": e.number,
                     "b_upddte": when, "b_updusr": OFFICE_USERS[0]}
                )  # fmt: skip
                continue
            day = min(e.hired, self.start - timedelta(days=1))
            row = {
                **self.stamp(day, OFFICE_USERS[0]),
                **values,
                "recnum": e.number,
                "lstnme": e.last,
                "fstnme": e.first,
                "emptyp": 1,
                "payprd": 1,
                "paygrp": SEED_PAY_GROUP,
                "wrkcmp": SEED_WORKERS_COMP,
                "usrnme": None,
            }
            self.rows["employ"].append(row)

    def _within(self, days: int) -> date:
        """``days`` into the history, but a month before today at the latest."""
        return min(self.start + timedelta(days=days), self.today - timedelta(days=30))

    # -- clients and jobs -------------------------------------------------------------------

    def _district(self) -> int | None:
        districts = sorted(self.mapping.tax_districts.values(), key=lambda d: d.recnum)
        if not districts:
            return self.mapping.default_tax_district
        taxed = [d for d in districts if d.rate > ZERO]
        exempt = [d for d in districts if d.rate == ZERO]
        if exempt and (not taxed or self.rng.random() < 0.08):
            return self.rng.choice(exempt).recnum
        return self.rng.choice(taxed).recnum

    def _address(self) -> tuple[str, str, str, str]:
        rng = self.rng
        city, zip_head = rng.choice(_CITIES)
        street = f"{rng.randint(100, 9800)} {rng.choice(_STREETS)}"
        return street, city, STATE, f"{zip_head}{rng.randint(1, 99):02d}"

    def _clients_and_jobs(self) -> None:
        rng = self.rng
        hand_names = {c.name for c in self.history.customers}
        pool = [f"{w} {k}" for w in _CLIENT_WORDS for k in _CLIENT_KINDS]
        pool = [name for name in pool if name not in hand_names]
        office = rng.sample(pool, k=min(len(pool), self.history.clients))
        everyone: list[tuple[str, HandKeyedCustomer | None]] = [(n, None) for n in office]
        everyone += [(c.name, c) for c in self.history.customers]
        rng.shuffle(everyone)
        client_rows: dict[str, dict[str, Any]] = {}
        for offset, (name, customer) in enumerate(everyone):
            number = self.mapping.client_number_start + offset
            if customer is None:
                street, city, state, zipcode = self._address()
                phone = f"(919) 555-{rng.randint(1000, 9999)}"
                district = self._district()
                note = rng.choice(_OFFICE_NOTES) if rng.random() < 0.3 else ""
                contact = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            else:
                street, city, state, zipcode = (
                    customer.street, customer.city, customer.state, customer.postal_code
                )  # fmt: skip
                phone, note, contact = customer.phone, "", ""
                district = (
                    customer.tax_district
                    if customer.tax_district is not None
                    else self.mapping.default_tax_district
                )
                self.hand_clients[name] = number
            client_rows[name] = {
                "recnum": number,
                "clnnme": name[:75],
                "shtnme": name[:30].rstrip(),
                "addrs1": street[:50],
                "ctynme": city[:50],
                "state_": state[:2],
                "zipcde": zipcode[:10],
                "phnnum": phone[:20],
                "contct": contact,
                "taxdst": district,
                "usrdf1": note,
                "inactv": 0,
            }
        # Office jobs: every office client has one, the rest go to clients at random.
        owners = list(office) + [rng.choice(office) for _ in range(self.history.jobs - len(office))]
        owners = owners[: self.history.jobs]
        planned: list[_Job] = []
        for i, owner in enumerate(owners):
            client = client_rows[owner]
            planned.append(self._office_job(i, owner, client["recnum"], client["taxdst"]))
        for customer in self.history.customers:
            client = client_rows[customer.name]
            days = [i.date for i in self.history.invoices if i.customer == customer.name]
            start = (
                min(days) - timedelta(days=rng.randint(0, 30))
                if days
                else self.today - timedelta(days=rng.randint(10, 60))
            )
            address = (customer.street, customer.city, customer.state, customer.postal_code)
            job = _Job(
                0, (customer.job_name or customer.name)[:50], client["recnum"],
                client["taxdst"], "hand", JOB_CURRENT, start, None, ZERO, address,
            )  # fmt: skip
            planned.append(job)
        # Jobs are numbered as the office opened them: by start date.
        far = date.max
        planned.sort(key=lambda j: (j.start or far, j.kind, j.name))
        for offset, job in enumerate(planned):
            job.number = self.mapping.job_number_start + offset
            self.jobs[job.number] = job
            if job.kind == "hand":
                self.hand_jobs[self._hand_owner(job.client)] = job.number
        self.clients = {row["recnum"]: row for row in client_rows.values()}
        # A client whose jobs all closed long ago is inactive.
        for number, row in self.clients.items():
            jobs = [j for j in self.jobs.values() if j.client == number]
            if jobs and all(j.status == JOB_CLOSED for j in jobs):
                row["inactv"] = 1

    def _hand_owner(self, client: int) -> str:
        return next(name for name, number in self.hand_clients.items() if number == client)

    def _office_job(self, i: int, owner: str, client: int, district: int | None) -> _Job:
        rng = self.rng
        short = owner.split(" ")[0] if len(owner) > 30 else owner
        kind = "service" if i < 4 or rng.random() < 0.7 else "project"
        roll = rng.random()
        if i >= 4 and roll < 0.11:  # no activity yet, or never
            status = (JOB_BID, JOB_REFUSED, JOB_CONTRACT)[self.idle_jobs % 3]
            self.idle_jobs += 1
            name = f"{short} - {rng.choice(_PROJECTS)}"
            start = None if status != JOB_CONTRACT else self.today + timedelta(days=20)
            return _Job(
                0, name[:50], client, district, "project", status, start, None,
                _amount(rng, 1500000, 12000000), self._address(),
            )  # fmt: skip
        if i < 4:  # long-running agreements: something to cost every month
            start = self.start - timedelta(days=rng.randint(30, 400))
            end: date | None = None
        else:
            start = self.start + timedelta(
                days=rng.randint(-90, (self.today - self.start).days - 20)
            )
            length = rng.randint(180, 900) if kind == "service" else rng.randint(30, 240)
            end = start + timedelta(days=length)
            if end > self.today - timedelta(days=30):
                end = None
        if end is None:
            status = JOB_CURRENT
        elif end < self.today - timedelta(days=180) and rng.random() < 0.6:
            status = JOB_CLOSED
        else:
            status = JOB_COMPLETE
        if kind == "service":
            name = f"{short} - Service agreement" if i % 3 else f"{short} - Service"
            contract = ZERO
        else:
            name = f"{short} - {rng.choice(_PROJECTS)}"
            contract = _amount(rng, 1500000, 15000000)
        return _Job(0, name[:50], client, district, kind, status, start, end, contract,
                    self._address())  # fmt: skip

    def active_jobs(self, day: date) -> list[_Job]:
        """Office jobs open on ``day`` (hand-keyed ones belong to ServiceTrade's history)."""
        found = self._active.get(day)
        if found is None:
            found = [
                j
                for j in self.jobs.values()
                if j.kind != "hand"
                and j.start is not None
                and j.status in (JOB_CURRENT, JOB_COMPLETE, JOB_CLOSED)
                and j.start <= day <= (j.end or self.today)
            ]
            if not found:  # cannot happen with the long-running agreements; be safe
                found = [j for j in self.jobs.values() if j.kind == "service"]
            self._active[day] = found
        return found

    def job_on(self, day: date, *, project: float = 0.6) -> _Job:
        jobs = self.active_jobs(day)
        weights = [project if j.kind == "project" else 1.0 for j in jobs]
        return self.rng.choices(jobs, weights=weights)[0]

    # -- vendors ----------------------------------------------------------------------------

    def _vendors(self) -> None:
        rng = self.rng
        total = self.history.vendors
        overhead = min(len(_OVERHEAD), max(1, round(total * 0.32)))
        subs = min(len(_SUBS), max(1, round(total * 0.2)))
        rentals = min(len(_RENTALS), max(1, round(total * 0.08)))
        suppliers = min(len(_SUPPLIERS), max(1, total - overhead - subs - rentals))
        listing: list[tuple[str, str, str]] = []  # name, kind, detail
        listing += [(n, "supplier", "") for n in _SUPPLIERS[:suppliers]]
        listing += [(n, "sub", trade) for n, trade in _SUBS[:subs]]
        listing += [(n, "rental", "") for n in _RENTALS[:rentals]]
        listing += [(o[0], "overhead", str(i)) for i, o in enumerate(_OVERHEAD[:overhead])]
        rng.shuffle(listing)
        a = self.accounts
        for offset, (name, kind, detail) in enumerate(listing):
            number = self.mapping.vendor_number_start + offset
            street, city, state, zipcode = self._address()
            if kind == "overhead":
                account = a.admin if _OVERHEAD[int(detail)][1] == "admin" else a.overhead
                code, cost_type = ZERO, 0
            elif kind == "sub":
                account, code, cost_type = a.subcontract, Decimal("400.000"), SUBCONTRACT
            elif kind == "rental":
                account, code, cost_type = a.equipment, Decimal("300.000"), EQUIPMENT
            else:
                account, code, cost_type = a.material, self.material_code, MATERIAL
            self.vendor_kind[number] = f"{kind}:{detail}"
            self.vendors[number] = {
                "recnum": number,
                "vndnme": name,
                "shtnme": name[:30].rstrip(),
                "addrs1": street,
                "ctynme": city,
                "state_": state,
                "zipcde": zipcode,
                "phnnum": f"(919) 555-{rng.randint(1000, 9999)}",
                "fedidn": f"56-{rng.randint(1000000, 9999999)}" if kind == "sub" else "",
                "lgrdft": account,
                "cdedft": code,
                "typdft": cost_type,
                "stsdft": OPEN,
                "prt199": 1 if kind == "sub" else 0,
                "inactv": 0,
            }

    # -- receivables ------------------------------------------------------------------------

    def _office_numbers(self, count: int, first: int) -> list[str]:
        taken = {i.number for i in self.history.invoices}
        numbers: list[str] = []
        n = first
        while len(numbers) < count:
            if str(n) not in taken:
                numbers.append(str(n))
            n += 1
        return numbers

    def _receivables(self) -> None:
        rng = self.rng
        days = _weekdays(self.start, self.history_end)
        dates = sorted(rng.choice(days) for _ in range(self.history.ar_invoices))
        numbers = self._office_numbers(len(dates), 3001)
        m = self.mapping
        for day, number in zip(dates, numbers, strict=True):
            job = self.job_on(day)
            district = m.tax_districts.get(job.district) if job.district is not None else None
            lines: list[_Line] = []
            taxable_flags: list[bool] = []
            if job.kind == "project":
                progress = _amount(rng, 500000, 4500000)
                lines.append(_Line(f"Progress billing - {job.name}"[:50], Decimal(1), progress,
                                   progress, m.default_income_account))  # fmt: skip
                taxable_flags.append(False)
                if rng.random() < 0.3:
                    stored = _amount(rng, 50000, 600000)
                    lines.append(_Line("Materials stored on site", Decimal(1), stored, stored,
                                       m.income_account("part")))  # fmt: skip
                    taxable_flags.append(True)
                description = f"Progress billing {day:%m/%Y}"
            else:
                hours = Decimal(rng.choice((4, 6, 8, 10, 12, 16, 24))) / 2
                rate = Decimal(125 if rng.random() < 0.1 else 95)
                lines.append(_Line("Service labor", hours, rate, cents(hours * rate),
                                   m.income_account("labor")))  # fmt: skip
                taxable_flags.append(False)
                if rng.random() < 0.5:
                    parts = _amount(rng, 2500, 180000)
                    lines.append(_Line(rng.choice(_MATERIALS), Decimal(1), parts, parts,
                                       m.income_account("part")))  # fmt: skip
                    taxable_flags.append(True)
                if rng.random() < 0.7:
                    fee = Decimal(79)
                    lines.append(_Line("Trip charge", Decimal(1), fee, fee,
                                       m.income_account("fee")))  # fmt: skip
                    taxable_flags.append(False)
                description = f"Service call {day:%m/%d/%Y}"
            invoice = self._ar_invoice(
                number, day, job, lines, taxable_flags, district, description
            )
            invoice.invtyp = TYPE_MEMO if job.kind == "service" and rng.random() < 0.05 else 1
            if job.kind == "project" and rng.random() < 0.6:
                invoice.pchord = f"PO {rng.randint(1000, 99999)}"
            if rng.random() < 0.1:
                invoice.usrdf1 = rng.choice(("emailed", "mailed", "portal upload"))
            self.ar.append(invoice)
            self._settle_ar(invoice)

    def _ar_invoice(
        self,
        number: str,
        day: date,
        job: _Job,
        lines: list[_Line],
        taxable_flags: Sequence[bool],
        district: TaxDistrict | None,
        description: str,
        *,
        tax: Decimal | None = None,
    ) -> _Invoice:
        taxable = sum((ln.amount for ln, t in zip(lines, taxable_flags, strict=True) if t), ZERO)
        nontax = sum((ln.amount for ln, t in zip(lines, taxable_flags, strict=True) if not t), ZERO)
        if tax is None:
            tax = district_tax(taxable, district)
        taxes: tuple[TaxLine, ...] = ()
        if district is not None and taxable != ZERO and (district.rate > ZERO or tax == ZERO):
            taxes = split_tax(tax, taxable, district)
        return _Invoice(
            uuid.uuid4(), number, day, job.number, job.client, lines, description[:50],
            self.user(), taxable=taxable, nontax=nontax, tax=tax, taxes=taxes,
            tax_account=self.accounts.sales_tax,
            district=None if district is None else district.recnum,
        )  # fmt: skip

    def _pay_day(self, after: date, low: int, high: int) -> date | None:
        day = after + timedelta(days=self.rng.randint(low, high))
        return day if day <= self.last_paid else None

    def _settle_ar(self, invoice: _Invoice) -> None:
        rng = self.rng
        age = (self.today - invoice.day).days
        roll = rng.random()
        if roll < 0.02:
            invoice.void = True
            return
        full, partial = (
            (0.94, 0.03) if age > 120 else (0.8, 0.08) if age > 60 else (0.55, 0.1)
            if age > 30 else (0.2, 0.05)
        )  # fmt: skip
        roll = rng.random()
        total = invoice.total
        if roll < full:
            credited = invoice.day
            if invoice.nontax >= 100 and rng.random() < 0.025:
                credited = self._ar_credit(invoice) or credited
            owed = invoice.balance
            first = self._pay_day(max(credited, invoice.day + timedelta(days=7)), 3, 58)
            if first is not None and rng.random() < 0.15 and owed > 100:
                part = cents(owed * Decimal(rng.randint(40, 60)) / 100)
                self._receipt(invoice, first, part)
                second = self._pay_day(first, 14, 45)
                if second is not None:
                    self._receipt(invoice, second, owed - part)
            elif first is not None:
                self._receipt(invoice, first, owed)
        elif roll < full + partial:
            day = self._pay_day(invoice.day, 10, 65)
            if day is not None:
                self._receipt(invoice, day, cents(total * Decimal(rng.randint(30, 70)) / 100))
        if invoice.balance != ZERO and age > 45 and rng.random() < 0.25:
            invoice.open_status = DISPUTE

    def _receipt(self, invoice: _Invoice, day: date, amount: Decimal) -> None:
        rng = self.rng
        chknum = (
            f"ACH{rng.randint(100000, 999999)}"
            if rng.random() < 0.2
            else str(rng.randint(1001, 99999))
        )
        client = self.clients[invoice.party]["shtnme"]
        gl = self._gl(
            SRC_RECEIPT, chknum, day, f"Receipt {client} inv {invoice.number}",
            [(self.accounts.cash, amount), (self.accounts.ar, -amount)], self.user(),
        )  # fmt: skip
        invoice.payments.append(_Payment(day, amount, chknum=chknum, gl=gl))

    def _ar_credit(self, target: _Invoice) -> date | None:
        """A credit memo on a paid invoice's nontaxable part: applied to it (status 4 both),
        or left open on the client's account."""
        rng = self.rng
        day = self._pay_day(target.day, 3, 15)
        if day is None or target.job is None:
            return None
        amount = -cents(target.nontax * Decimal(rng.randint(10, 30)) / 100)
        line = _Line("Credit - billing adjustment", Decimal(1), amount, amount,
                     self.mapping.income_account("labor"))  # fmt: skip
        job = self.jobs[target.job]
        credit = self._ar_invoice(
            f"{target.number}C"[:20], day, job, [line], [False], None,
            f"Credit on invoice {target.number}",
        )  # fmt: skip
        credit.invtyp = TYPE_MEMO
        credit.refnum = target.number
        self.ar.append(credit)
        if rng.random() < 0.8:  # applied in 3-3-1: no cash moves, no GL
            credit.payments.append(_Payment(day, ZERO, credit=amount, chknum="CREDIT"))
            target.payments.append(_Payment(day, ZERO, credit=-amount, chknum="CREDIT"))
        return day

    # -- hand-keyed ServiceTrade invoices ---------------------------------------------------

    def _hand_keyed_invoices(self) -> None:
        rng = self.rng
        m = self.mapping
        customers = {c.name: c for c in self.history.customers}
        for source in sorted(self.history.invoices, key=lambda i: (i.date, i.number)):
            customer = customers[source.customer]
            job = self.jobs[self.hand_jobs[source.customer]]
            chosen = source.tax_district
            if chosen is None:
                chosen = customer.tax_district
            if chosen is None:
                chosen = m.default_tax_district
            district = m.tax_districts.get(chosen) if chosen is not None else None
            total, tax = cents(source.total), cents(source.tax)
            subtotal = total - tax
            given = source.lines or (
                HandKeyedLine(source.description or f"Service {source.number}", subtotal),
            )
            lines = [
                _Line(ln.description[:50], ln.quantity,
                      cents(ln.amount / ln.quantity) if ln.quantity else cents(ln.amount),
                      cents(ln.amount), m.income_account(ln.item_type or "labor"))
                for ln in given
            ]  # fmt: skip
            difference = subtotal - sum((ln.amount for ln in lines), ZERO)
            if difference:  # the office keys the paper invoice's total
                last = lines[-1]
                last.amount += difference
                last.price = cents(last.amount / last.quantity) if last.quantity else last.amount
            flags = [ln.taxable for ln in given]
            if tax != ZERO and not any(flags):
                flags = [True] * len(lines)
            description = source.description or given[0].description
            invoice = self._ar_invoice(
                source.number, source.date, job, lines, flags, district, description, tax=tax
            )
            self.ar.append(invoice)
            self.hand_invoices[source.number] = invoice
            roll = rng.random()
            if total <= ZERO:  # a credit waits on the client's account
                continue
            if roll < 0.45:
                day = self._pay_day(source.date, 5, 40)
                if day is not None:
                    self._receipt(invoice, day, total)
            elif roll < 0.6:
                day = self._pay_day(source.date, 5, 40)
                if day is not None and total > 1:
                    self._receipt(invoice, day, cents(total * Decimal(rng.randint(25, 60)) / 100))

    # -- payables ---------------------------------------------------------------------------

    def _payables(self) -> None:
        rng = self.rng
        a = self.accounts
        recurring: list[_Invoice] = []
        months = [_month_start(self.start, k) for k in range(self.history.months)]
        kinds = self.vendor_kind
        for vendor, kind in sorted(kinds.items()):
            if not kind.startswith("overhead:"):
                continue
            _name, _acct, (low, high), step, what = _OVERHEAD[int(kind.split(":")[1])]
            bill_day = rng.randint(1, 25)
            for k, month in enumerate(months):
                if k % step:
                    continue
                day = month + timedelta(days=bill_day - 1)
                amount = _amount(rng, low, high)
                account = self.vendors[vendor]["lgrdft"]
                line = _Line(f"{what} {month:%b %Y}", Decimal(1), amount, amount, account)
                recurring.append(self._ap_invoice(vendor, day, [line], TYPE_MEMO, what))
        job_bills = max(0, self.history.ap_invoices - len(recurring))
        days = _weekdays(self.start, self.history_end)
        others = sorted(v for v, k in kinds.items() if not k.startswith("overhead:"))
        weights = [6.0 if kinds[v].startswith("supplier") else 2.0 for v in others]
        planned: list[_Invoice] = list(recurring)
        for day in sorted(rng.choice(days) for _ in range(job_bills)):
            vendor = rng.choices(others, weights=weights)[0]
            kind = kinds[vendor].split(":")[0]
            if kind == "sub":
                job = self.job_on(day, project=4.0)
                trade = kinds[vendor].split(":")[1]
                amount = _amount(rng, 150000, 2500000)
                lines = [_Line(f"Subcontract - {trade}", Decimal(1), amount, amount,
                               a.subcontract, job.number, Decimal("400.000"))]  # fmt: skip
                invoice = self._ap_invoice(vendor, day, lines, TYPE_CONTRACT, f"{job.name}")
            elif kind == "rental":
                job = self.job_on(day, project=2.0)
                amount = _amount(rng, 30000, 350000)
                lines = [_Line("Equipment rental - lift", Decimal(1), amount, amount,
                               a.equipment, job.number, Decimal("300.000"))]  # fmt: skip
                invoice = self._ap_invoice(vendor, day, lines, TYPE_MEMO, "Equipment rental")
            else:
                stock = rng.random() < 0.2
                job_for = None if stock else self.job_on(day)
                lines = []
                for _ in range(rng.randint(1, 4)):
                    quantity = Decimal(rng.randint(1, 10))
                    price = _amount(rng, 500, 40000)
                    lines.append(
                        _Line(rng.choice(_MATERIALS), quantity, price, cents(quantity * price),
                              a.inventory if stock else a.material,
                              None if job_for is None else job_for.number, self.material_code)
                    )  # fmt: skip
                what = "Stock purchase" if job_for is None else f"Material {job_for.name}"
                invoice = self._ap_invoice(vendor, day, lines, TYPE_MEMO, what)
                invoice.pchord = f"PO-{rng.randint(10000, 99999)}" if rng.random() < 0.7 else ""
            planned.append(invoice)
        planned.sort(key=lambda i: (i.day, i.party, i.number))
        for invoice in planned:
            self.ap.append(invoice)
            self._settle_ap(invoice)
        self._number_checks()

    def _ap_invoice(
        self, vendor: int, day: date, lines: list[_Line], invtyp: int, description: str
    ) -> _Invoice:
        jobs = {ln.job for ln in lines if ln.job is not None}
        invoice = _Invoice(
            uuid.uuid4(), self._vendor_invoice_number(vendor), day,
            jobs.pop() if len(jobs) == 1 else None, vendor, lines, description[:50], self.user(),
            invtyp=invtyp, nontax=sum((ln.amount for ln in lines), ZERO),
        )  # fmt: skip
        return invoice

    def _vendor_invoice_number(self, vendor: int) -> str:
        style = vendor % 3
        n = self.vendor_counters.get(vendor)
        n = self.rng.randint(10000, 90000) if n is None else n + self.rng.randint(1, 400)
        self.vendor_counters[vendor] = n
        return (str(n * 7), f"INV{n:06d}", f"F-{n}")[style]

    def _settle_ap(self, invoice: _Invoice) -> None:
        rng = self.rng
        age = (self.today - invoice.day).days
        if rng.random() < 0.015:
            invoice.void = True
            return
        kind = self.vendor_kind[invoice.party]
        if kind.startswith("supplier") and invoice.total > 100 and rng.random() < 0.03:
            self._ap_credit(invoice)
        full = 0.97 if age > 75 else 0.85 if age > 45 else 0.5 if age > 20 else 0.1
        roll = rng.random()
        owed = invoice.balance
        if roll < full:
            day = self._pay_day(invoice.day, 12, 45)
            if day is None:
                return
            if kind.startswith("sub") and rng.random() < 0.3:
                part = cents(owed * Decimal(rng.randint(40, 70)) / 100)
                invoice.payments.append(_Payment(day, part))
                second = self._pay_day(day, 14, 40)
                if second is not None:
                    invoice.payments.append(_Payment(second, owed - part))
            else:
                invoice.payments.append(_Payment(day, owed))
        elif roll < full + 0.04:
            day = self._pay_day(invoice.day, 12, 45)
            if day is not None:
                invoice.payments.append(
                    _Payment(day, cents(owed * Decimal(rng.randint(30, 60)) / 100))
                )
        elif age < 10 and rng.random() < 0.3:
            invoice.open_status = REVIEW

    def _ap_credit(self, target: _Invoice) -> None:
        """A vendor's return credit applied to the invoice it credits (4-2 credit, 4-3)."""
        rng = self.rng
        day = self._pay_day(target.day, 2, 10)
        if day is None:
            return
        amount = -cents(target.total * Decimal(rng.randint(5, 20)) / 100)
        first = target.lines[0]
        line = _Line(f"Return - {first.description}"[:50], Decimal(-1), -amount, amount,
                     first.account, first.job, first.cost_code)  # fmt: skip
        credit = self._ap_invoice(target.party, day, [line], TYPE_MEMO, "Return credit")
        credit.refnum = target.number
        credit.payments.append(_Payment(day, ZERO, credit=amount, chknum="CREDIT"))
        target.payments.append(_Payment(day, ZERO, credit=-amount, chknum="CREDIT"))
        self.ap.append(credit)

    def _number_checks(self) -> None:
        """Checks (4-3-2) are numbered in the order they were printed."""
        payments = [
            (p.day, invoice.party, invoice.number, p, invoice)
            for invoice in self.ap
            for p in invoice.payments
            if p.amount != ZERO
        ]
        payments.sort(key=lambda t: (t[0], t[1], t[2]))
        for n, (day, vendor, _, payment, invoice) in enumerate(payments, start=10001):
            payment.chknum = str(n)
            name = self.vendors[vendor]["vndnme"]
            payment.gl = self._gl(
                SRC_CHECK, payment.chknum, day, f"{name} inv {invoice.number}",
                [(self.accounts.ap, payment.amount), (self.accounts.cash, -payment.amount)],
                self.user(), vndnum=vendor, payee=name[:50], chkamt=payment.amount,
            )  # fmt: skip

    # -- payroll ----------------------------------------------------------------------------

    def _payroll(self) -> None:
        rng = self.rng
        first_monday = self.start + timedelta(days=(7 - self.start.weekday()) % 7)
        this_monday = self.today - timedelta(days=self.today.weekday())
        check = 50001
        ytd: dict[tuple[int, int], tuple[Decimal, Decimal]] = {}
        monday = first_monday
        while monday + timedelta(days=6) < this_monday:
            sunday = monday + timedelta(days=6)
            pay_day = min(sunday + timedelta(days=5), self.today)
            for e in sorted(self.employees.values(), key=lambda e: e.number):
                if e.hired > monday or (e.quit is not None and e.quit < sunday):
                    continue
                if e.field and rng.random() < 0.06:  # vacation week: no timecard
                    continue
                self._timecard(e, monday, sunday, pay_day, str(check), ytd)
                check += 1
            monday += timedelta(days=7)

    def _timecard(
        self,
        e: _Employee,
        monday: date,
        sunday: date,
        pay_day: date,
        chknum: str,
        ytd: dict[tuple[int, int], tuple[Decimal, Decimal]],
    ) -> None:
        rng = self.rng
        a = self.accounts
        guid = uuid.uuid4()
        overtime = cents(e.rate * Decimal("1.5"))
        lines: list[dict[str, Any]] = []

        def work(day: date, job: _Job | None, hours: Decimal, pay_type: int, text: str) -> None:
            rate = e.rate if pay_type == PAY_REGULAR else overtime
            wage = cents(hours * rate)
            lines.append(
                {
                    "linnum": len(lines) + 1,
                    "dtewrk": day,
                    "daywrk": day.isoweekday(),
                    "dscrpt": text[:50],
                    "jobnum": 0 if job is None else job.number,
                    "phsnum": 0,
                    "cstcde": ZERO if job is None else self.labor_code,
                    "paytyp": pay_type,
                    "paygrp": SEED_PAY_GROUP,
                    "payrte": rate,
                    "hrswrk": hours,
                    "cmpcde": SEED_WORKERS_COMP,
                    "jobcst": ZERO if job is None else wage,
                    "cmpwge": wage,
                    "cmpgrs": wage,
                }
            )

        if e.field:
            for offset in range(6):
                day = monday + timedelta(days=offset)
                if offset == 5:  # Saturday: overtime now and then
                    if rng.random() < 0.06:
                        job = self.job_on(day)
                        work(day, job, Decimal(rng.randint(3, 6)), PAY_OVERTIME, "Saturday call")
                    continue
                if rng.random() < 0.04:
                    continue  # a day off
                if rng.random() < 0.03:
                    work(day, None, Decimal(8), PAY_REGULAR, "Shop - truck stock")
                    continue
                job = self._tech_job(e, day)
                if rng.random() < 0.12:
                    other = self.job_on(day)
                    split = Decimal(rng.randint(2, 6))
                    work(day, job, split, PAY_REGULAR, job.name)
                    work(day, other, Decimal(8) - split, PAY_REGULAR, other.name)
                else:
                    work(day, job, Decimal(8), PAY_REGULAR, job.name)
                if rng.random() < 0.1:
                    work(day, job, Decimal(rng.randint(1, 4)), PAY_OVERTIME, job.name)
        regular = sum((ln["hrswrk"] for ln in lines if ln["paytyp"] == PAY_REGULAR), ZERO)
        over = sum((ln["hrswrk"] for ln in lines if ln["paytyp"] == PAY_OVERTIME), ZERO)
        regular_pay = sum((ln["cmpwge"] for ln in lines if ln["paytyp"] == PAY_REGULAR), ZERO)
        over_pay = sum((ln["cmpwge"] for ln in lines if ln["paytyp"] == PAY_OVERTIME), ZERO)
        gross = regular_pay + over_pay + e.salary
        deductions = cents(gross * WITHHOLDING)
        net = gross - deductions
        year_key = (e.number, pay_day.year)
        ytd_gross, ytd_net = ytd.get(year_key, (ZERO, ZERO))
        ytd[year_key] = (ytd_gross + gross, ytd_net + net)
        job_labor = sum((ln["jobcst"] for ln in lines), ZERO)
        shop_labor = regular_pay + over_pay - job_labor
        name = f"{e.first} {e.last}"
        gl = self._gl(
            SRC_PAYROLL, chknum, pay_day, f"Payroll {name} {sunday:%m/%d/%Y}",
            [(a.labor, job_labor), (a.overhead, shop_labor), (a.admin, e.salary),
             (a.cash, -net), (a.accrued_payroll, -deductions)],
            OFFICE_USERS[0], empnum=e.number, payee=name, chkamt=net,
        )  # fmt: skip
        year, period = self.period(pay_day)
        direct = e.number % 10 < 7
        self.rows["payrec"].append(
            {
                **self.stamp(pay_day, OFFICE_USERS[0]),
                "_idnum": guid,
                "empnum": e.number,
                "strprd": monday,
                "payprd": sunday,
                "chknum": chknum,
                "chkdte": pay_day,
                "taxste": STATE,
                "salary": e.salary,
                "payrt1": e.rate,
                "payrt2": overtime,
                "payrt3": e.rate * 2,
                "paytyp": PAYROLL_REGULAR,
                "status": PAYROLL_POSTED,
                "qtrnum": (pay_day.month - 1) // 3 + 1,
                "reghrs": regular,
                "ovthrs": over,
                "ttlhrs": regular + over,
                "regpay": regular_pay,
                "ovtpay": over_pay,
                "grspay": gross,
                "dedttl": deductions,
                "netpay": net,
                "dirdep": net if direct else ZERO,
                "lgrrec": _Ref("lgrtrn", gl.guid),
                "cmpgrs": gross,
                "cmpwge": regular_pay + over_pay,
                "ytdgrs": ytd_gross + gross,
                "ytdnet": ytd_net + net,
            }
        )
        grouped: dict[tuple[int, Decimal, int], list[dict[str, Any]]] = defaultdict(list)
        for line in lines:
            self.rows["tmcdln"].append(
                {**self.stamp(pay_day, OFFICE_USERS[0]), **line, "_idref": guid,
                 "recnum": _Ref("payrec", guid), "entdte": None, "usrnme": ""}
            )  # fmt: skip
            if line["jobnum"]:
                grouped[(line["jobnum"], line["cstcde"], line["paytyp"])].append(line)
        # Posting payroll (5-2-6) costs each job: one row per job, cost code and pay type.
        for (job_number, code, pay_type), group in sorted(grouped.items()):
            amount = sum((ln["jobcst"] for ln in group), ZERO)
            self.rows["jobcst"].append(
                {
                    **self.stamp(pay_day, OFFICE_USERS[0]),
                    "jobnum": job_number,
                    "phsnum": 0,
                    "trnnum": chknum,
                    "dscrpt": f"{name} payroll"[:50],
                    "trndte": sunday,
                    "actprd": period,
                    "postyr": year,
                    "srcnum": SRC_PAYROLL,
                    "status": COST_OPEN,
                    "bllsts": BILLING_OPEN,
                    "cstcde": code,
                    "csttyp": LABOR,
                    "vndnum": None,
                    "empnum": e.number,
                    "payrec": _Ref("payrec", guid),
                    "paytyp": pay_type,
                    "csthrs": sum((ln["hrswrk"] for ln in group), ZERO),
                    "cstamt": amount,
                    "grswge": amount,
                    "lgrrec": _Ref("lgrtrn", gl.guid),
                }
            )

    def _tech_job(self, e: _Employee, day: date) -> _Job:
        """A technician stays on a job for days at a time."""
        job = self.tech_jobs.get(e.number)
        if job is None or job not in self.active_jobs(day) or self.rng.random() < 0.35:
            job = self.tech_jobs[e.number] = self.job_on(day)
        return job

    def _daily_payroll(self) -> None:
        """This week's daily payroll (5-5-1) in the current period, not yet converted."""
        rng = self.rng
        monday = self.today - timedelta(days=self.today.weekday())
        first = max(monday, self.current_start)
        days = _weekdays(first, self.today - timedelta(days=1)) or [self.today]
        current = [j for j in self.active_jobs(self.today) if j.status == JOB_CURRENT]
        for day in days:
            linnum = 0
            for e in sorted(self.employees.values(), key=lambda e: e.number):
                if not e.field or e.hired > day or e.quit is not None:
                    continue
                job = rng.choice(current or self.active_jobs(day))
                linnum += 1
                self.rows["dlypyr"].append(
                    {
                        **self.stamp(day, OFFICE_USERS[1]),
                        "paydte": day,
                        "linnum": linnum,
                        "empnum": e.number,
                        "dscrpt": job.name[:50],
                        "jobnum": job.number,
                        "phsnum": 0,
                        "cstcde": self.labor_code,
                        "paytyp": PAY_REGULAR,
                        "paygrp": SEED_PAY_GROUP,
                        "payrte": e.rate,
                        "payhrs": Decimal(rng.choice((6, 7, 8, 8, 8))),
                        "cmpcde": SEED_WORKERS_COMP,
                        "usrdf1": "",
                    }
                )

    # -- GL ---------------------------------------------------------------------------------

    def _gl(
        self,
        source: int,
        trnnum: str,
        day: date,
        description: str,
        postings: list[tuple[int, Decimal]],
        user: str,
        **header: Any,
    ) -> _Gl:
        gl = _Gl(uuid.uuid4(), source, trnnum[:20], day, description[:50], postings, user,
                 **header)  # fmt: skip
        self.gls.append(gl)
        return gl

    def _invoice_gl(self, invoice: _Invoice, *, receivable: bool) -> _Gl:
        a = self.accounts
        postings: list[tuple[int, Decimal]] = []
        if receivable:
            postings.append((a.ar, invoice.total))
            for line in invoice.lines:
                postings.append((line.account, -line.amount))
            split = sum((t.tax for t in invoice.taxes), ZERO)
            for t in invoice.taxes:
                postings.append((t.account, -t.tax))
            if invoice.tax != split:  # a tax with no district or entity split to carry it
                postings.append((invoice.tax_account, -(invoice.tax - split)))
            source = SRC_AR
        else:
            for line in invoice.lines:
                postings.append((line.account, line.amount))
            postings.append((a.ap, -invoice.total))
            source = SRC_AP
        gl = self._gl(source, invoice.number, invoice.day, invoice.description, postings,
                      invoice.user, void=invoice.void)  # fmt: skip
        if not receivable:
            gl.vndnum = invoice.party
        return gl

    def _gl_rows(self) -> None:
        # Record numbers follow entry: by date, then by window.
        for gl in sorted(self.gls, key=lambda g: (g.day, g.source)):
            year, period = self.period(gl.day)
            if gl.void:
                status = GL_VOID
            elif gl.source in (SRC_RECEIPT, SRC_CHECK, SRC_PAYROLL) and self.locked(gl.day):
                status = GL_CLEARED  # bank-reconciled before the period was locked
            else:
                status = GL_OPEN
            self.rows["lgrtrn"].append(
                {
                    **self.stamp(gl.day, gl.user),
                    "_idnum": gl.guid,
                    "trnnum": gl.trnnum,
                    "trndte": gl.day,
                    "dscrpt": gl.description,
                    "status": status,
                    "srcnum": gl.source,
                    "actprd": period,
                    "postyr": year,
                    "vndnum": gl.vndnum,
                    "empnum": gl.empnum,
                    "payee1": gl.payee,
                    "chkamt": gl.chkamt,
                    "lgrrec": 0,
                }
            )
            for linnum, (account, debit, credit) in enumerate(_gl_lines(gl.postings), start=1):
                self.rows["lgtnln"].append(
                    {
                        **self.stamp(gl.day, gl.user),
                        "_idref": gl.guid,
                        "recnum": _Ref("lgrtrn", gl.guid),
                        "linnum": linnum,
                        "lgract": account,
                        "subact": 0,
                        "dscrpt": gl.description,
                        "dbtamt": debit,
                        "crdamt": credit,
                        "entdte": None,
                        "usrnme": "",
                    }
                )

    # -- masters and documents as rows ------------------------------------------------------

    def _masters(self) -> None:
        open_ar: dict[int, Decimal] = defaultdict(lambda: ZERO)
        open_job: dict[int, Decimal] = defaultdict(lambda: ZERO)
        open_ap: dict[int, Decimal] = defaultdict(lambda: ZERO)
        self.ar.sort(key=lambda i: i.day)
        self.ap.sort(key=lambda i: i.day)
        for invoice in self.ar:
            invoice.gl = self._invoice_gl(invoice, receivable=True)
            if invoice.status not in (PAID, VOID):
                open_ar[invoice.party] += invoice.balance
                if invoice.job is not None:
                    open_job[invoice.job] += invoice.balance
            self._ar_rows(invoice)
        for invoice in self.ap:
            invoice.gl = self._invoice_gl(invoice, receivable=False)
            if invoice.status not in (PAID, VOID):
                open_ap[invoice.party] += invoice.balance
            self._ap_rows(invoice)
        setup = self.start - timedelta(days=30)
        for number, row in sorted(self.clients.items()):
            jobs = [j.start for j in self.jobs.values() if j.client == number and j.start]
            day = min([*jobs, self.today]) - timedelta(days=3)
            self.rows["reccln"].append(
                {**self.stamp(min(day, self.today), OFFICE_USERS[1]), **row,
                 "endbal": open_ar[number]}
            )  # fmt: skip
        for number, job in sorted(self.jobs.items()):
            street, city, state, zipcode = job.address
            self.rows["actrec"].append(
                {
                    **self.stamp(min(job.start or self.today, self.today), OFFICE_USERS[1]),
                    "recnum": number,
                    "jobnme": job.name,
                    "shtnme": job.name[:30].rstrip(),
                    "clnnum": job.client,
                    "status": job.status,
                    "slstax": job.district,
                    "lgract": self.mapping.default_income_account,
                    "cntrct": job.contract,
                    "endbal": open_job[number],
                    "addrs1": street[:50],
                    "ctynme": city[:50],
                    "state_": state[:2],
                    "zipcde": zipcode[:10],
                    "sttdte": job.start,
                    "cmpdte": job.end,
                    "inactv": 1 if job.status == JOB_CLOSED else 0,
                }
            )
        for number, row in sorted(self.vendors.items()):
            self.rows["actpay"].append(
                {**self.stamp(setup, OFFICE_USERS[2]), **row, "endbal": open_ap[number]}
            )

    def _amounts(self, invoice: _Invoice) -> dict[str, Any]:
        settled = invoice.settled
        return {
            "invttl": invoice.total,
            "slstax": invoice.tax,
            "amtpad": sum((p.amount for p in invoice.payments), ZERO),
            "ttlpad": settled,
            "invbal": invoice.total - settled,
            "invnet": invoice.total - settled,
            "status": invoice.status,
            "invtyp": invoice.invtyp,
            "invnum": invoice.number,
            "invdte": invoice.day,
            "duedte": invoice.day + timedelta(days=self.mapping.due_days),
            "dscrpt": invoice.description,
            "refnum": invoice.refnum,
            "pchord": invoice.pchord,
            "usrdf1": invoice.usrdf1,
            "lgrrec": _Ref("lgrtrn", invoice.gl.guid) if invoice.gl else 0,
        }

    def _ar_rows(self, invoice: _Invoice) -> None:
        year, period = self.period(invoice.day)
        stamp = self.stamp(invoice.day, invoice.user)
        self.rows["acrinv"].append(
            {
                **stamp,
                "_idnum": invoice.guid,
                **self._amounts(invoice),
                "jobnum": invoice.job,
                "phsnum": 0,
                "taxdst": invoice.district,
                "subttl": invoice.taxable + invoice.nontax,
                "taxabl": invoice.taxable,
                "nontax": invoice.nontax,
                "actper": period,
                "postyr": year,
                "vodrec": 0,
            }
        )
        parent = {"_idref": invoice.guid, "recnum": _Ref("acrinv", invoice.guid)}
        for linnum, line in enumerate(invoice.lines, start=1):
            self.rows["arivln"].append(
                {**self.stamp(invoice.day, invoice.user), **parent, "linnum": linnum,
                 "dscrpt": line.description, "linqty": line.quantity, "linprc": line.price,
                 "extprc": line.amount, "lgract": line.account, "entdte": None, "usrnme": ""}
            )  # fmt: skip
        for t in invoice.taxes:
            self.rows["artxdt"].append(
                {**self.stamp(invoice.day, invoice.user), **parent, "taxent": t.entity,
                 "sbjtax": t.subject, "taxrte": t.rate, "taxamt": t.tax, "entdte": None,
                 "usrnme": ""}
            )  # fmt: skip
        for p in invoice.payments:
            year, period = self.period(p.day)
            self.rows["acrpmt"].append(
                {**self.stamp(p.day, invoice.user), **parent, "chknum": p.chknum,
                 "chkdte": p.day, "amount": p.amount, "aplcrd": p.credit, "actper": period,
                 "postyr": year, "lgrrec": _Ref("lgrtrn", p.gl.guid) if p.gl else 0,
                 "jobnum": invoice.job, "invdte": invoice.day}
            )  # fmt: skip

    def _ap_rows(self, invoice: _Invoice) -> None:
        year, period = self.period(invoice.day)
        stamp = self.stamp(invoice.day, invoice.user)
        self.rows["acpinv"].append(
            {
                **stamp,
                "_idnum": invoice.guid,
                **self._amounts(invoice),
                "vndnum": invoice.party,
                "jobnum": invoice.job,
                "phsnum": None,
                "subttl": invoice.total - invoice.tax,
                "actper": period,
                "postyr": year,
                "vodrec": "",
            }
        )
        parent = {"_idref": invoice.guid, "recnum": _Ref("acpinv", invoice.guid)}
        for linnum, line in enumerate(invoice.lines, start=1):
            self.rows["apivln"].append(
                {**self.stamp(invoice.day, invoice.user), **parent, "linnum": linnum,
                 "prtdsc": line.description, "linqty": line.quantity, "linprc": line.price,
                 "extttl": line.amount, "actnum": line.account, "entdte": None, "usrnme": ""}
            )  # fmt: skip
        for p in invoice.payments:
            pyear, pperiod = self.period(p.day)
            self.rows["acppmt"].append(
                {**self.stamp(p.day, invoice.user), **parent, "chknum": p.chknum,
                 "chkdte": p.day, "amount": p.amount, "aplcrd": p.credit, "actper": pperiod,
                 "postyr": pyear, "lgrrec": _Ref("lgrtrn", p.gl.guid) if p.gl else 0,
                 "vndnum": invoice.party, "jobnum": invoice.job, "invdte": invoice.day}
            )  # fmt: skip
        # The job cost distribution of direct expense lines (4-2): one row per job, cost code
        # and cost type, adding up to those lines; voided with the invoice.
        costed: dict[tuple[int, Decimal, int], Decimal] = defaultdict(lambda: ZERO)
        for line in invoice.lines:
            account = self.accounts.chart[line.account]
            if line.job is not None and account.acttyp == DIRECT_EXPENSE:
                costed[(line.job, line.cost_code, account.csttyp or MATERIAL)] += line.amount
        vendor = self.vendors[invoice.party]["shtnme"]
        for (job, code, cost_type), amount in sorted(costed.items()):
            self.rows["jobcst"].append(
                {
                    **self.stamp(invoice.day, invoice.user),
                    "jobnum": job,
                    "phsnum": 0,
                    "trnnum": invoice.number,
                    "dscrpt": f"{vendor} {invoice.number}"[:50],
                    "trndte": invoice.day,
                    "actprd": period,
                    "postyr": year,
                    "srcnum": SRC_AP,
                    "status": COST_VOID if invoice.void else COST_OPEN,
                    "bllsts": BILLING_OPEN,
                    "cstcde": code,
                    "csttyp": cost_type,
                    "vndnum": invoice.party,
                    "empnum": None,
                    "payrec": None,
                    "paytyp": 0,
                    "csthrs": ZERO,
                    "cstamt": amount,
                    "grswge": ZERO,
                    "lgrrec": _Ref("lgrtrn", invoice.gl.guid) if invoice.gl else 0,
                }
            )

    def _cost_codes(self) -> None:
        known = set(sandbox_cost_codes(self.mapping))
        for code, name in OFFICE_COST_CODES.items():
            if code not in known:
                self.rows["cstcde"].append(
                    {**self.stamp(self.start - timedelta(days=30), OFFICE_USERS[2]),
                     "recnum": code, "cdenme": name, "inactv": ""}
                )  # fmt: skip


def _gl_lines(postings: Iterable[tuple[int, Decimal]]) -> list[tuple[int, Decimal, Decimal]]:
    """(account, debit, credit) lines: debits first, by account, one per account and side;
    both columns >= 0 (a negative debit is a credit)."""
    grouped: dict[tuple[bool, int], Decimal] = defaultdict(lambda: ZERO)
    for account, amount in postings:
        if amount != ZERO:
            grouped[(amount < ZERO, account)] += abs(amount)
    return [
        (account, ZERO if credit else amount, amount if credit else ZERO)
        for (credit, account), amount in sorted(grouped.items())
    ]


def _cost_code(mapping: Mapping, kinds: Sequence[str], fallback: Decimal) -> Decimal:
    for kind in kinds:
        if kind in mapping.cost_codes:
            return Decimal(mapping.cost_codes[kind][0]).quantize(Decimal("0.001"))
    try:
        return Decimal(mapping.cost_code_for(kinds[0])[0]).quantize(Decimal("0.001"))
    except MappingError:
        return fallback


def _pick(
    chart: dict[int, Account],
    acttyp: int,
    prefer: int | None,
    csttyp: int | None = None,
    *,
    avoid: Iterable[int | None] = (),
) -> int:
    """``prefer`` when the chart holds it as that kind of account, else the first that is;
    never an account in ``avoid`` (one the mapping gives another role)."""
    taken = set(avoid)

    def fits(number: int) -> bool:
        account = chart[number]
        return (
            number not in taken
            and account.acttyp == acttyp
            and (csttyp is None or account.csttyp == csttyp)
        )

    if prefer is not None and prefer in chart and fits(prefer):
        return prefer
    for number in chart:
        if fits(number):
            return number
    raise SageConfigError(
        f"expected the sandbox chart of accounts to hold an account of type {acttyp}"
        + (f" with cost type {csttyp}" if csttyp is not None else "")
        + "; the mapping gave every such account another type"
    )


def _accounts(mapping: Mapping) -> _Accounts:
    chart = sandbox_accounts(mapping)
    inventory = mapping.inventory_account
    ar = mapping.ar_control_account
    ap = mapping.ap_control_account
    if ap is None:
        ap = _pick(chart, CURRENT_LIABILITY, 2000)
    roles = (ar, ap, inventory, mapping.freight_account, mapping.purchase_tax_account)
    return _Accounts(
        cash=_pick(chart, CASH, 1000),
        ar=ar,
        ap=ap,
        accrued_payroll=_pick(chart, CURRENT_LIABILITY, 2100, avoid=roles),
        sales_tax=_pick(chart, CURRENT_LIABILITY, 2200, avoid=roles),
        material=_pick(chart, DIRECT_EXPENSE, mapping.direct_expense_account or 5000, MATERIAL),
        labor=_pick(chart, DIRECT_EXPENSE, 5100, LABOR),
        equipment=_pick(chart, DIRECT_EXPENSE, 5200, EQUIPMENT),
        subcontract=_pick(chart, DIRECT_EXPENSE, 5300, SUBCONTRACT),
        inventory=inventory
        if inventory is not None
        else _pick(chart, CURRENT_ASSET, 1200, avoid=roles),
        overhead=_pick(chart, OVERHEAD, 7000),
        admin=_pick(chart, ADMINISTRATIVE, 8000),
        chart=chart,
    )


# -- writing ---------------------------------------------------------------------------------


def _resolve(table: str, rows: list[dict[str, Any]], numbers: dict[str, dict[Any, int]]) -> None:
    for column in _REF_COLUMNS.get(table, ()):
        for row in rows:
            value = row.get(column)
            if isinstance(value, _Ref):
                row[column] = numbers[value.table][value.guid]


def _insert(connection: Connection, name: str, rows: list[dict[str, Any]]) -> None:
    """One executemany of rows as a window fills them: every NOT NULL column given (0 or ''),
    every row with the same columns."""
    if not rows:
        return
    table = TABLES[name]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(k for k in row if not k.startswith("_") or k in table.c))
    zeros = window_zeros(table)
    filled = []
    for row in rows:
        values = {k: row.get(k) for k in columns}
        for k, zero in zeros.items():
            if values.get(k) is None:
                values[k] = zero
        filled.append({**zeros, **values})
    connection.execute(table.insert(), filled)


def _read_back(connection: Connection, name: str) -> dict[Any, int]:
    table = TABLES[name]
    return {
        guid: int(recnum)
        for guid, recnum in connection.execute(select(table.c._idnum, table.c.recnum))
    }


def _period_balances(
    connection: Connection, plan: _Planner, first_year: int, last_year: int
) -> list[dict[str, Any]]:
    """``lgrbal``: every account, every period 1-12 of each fiscal year the history touches;
    ``balnce`` = the period's debits - credits on the account (void transactions excluded)."""
    net: dict[tuple[int, int, int], Decimal] = defaultdict(lambda: ZERO)
    status = {row["_idnum"]: (row["status"], row["postyr"], row["actprd"])
              for row in plan.rows["lgrtrn"]}  # fmt: skip
    for line in plan.rows["lgtnln"]:
        gl_status, year, period = status[line["_idref"]]
        if gl_status != GL_VOID:
            net[(line["lgract"], year, period)] += line["dbtamt"] - line["crdamt"]
    accounts = connection.execute(select(lgract.c.recnum, lgract.c._idnum)).all()
    when = datetime.combine(plan.start - timedelta(days=30), time(9))
    rows = []
    for recnum, guid in sorted(accounts):
        for year in range(first_year, last_year + 1):
            for period in range(1, 13):
                rows.append(
                    {
                        "_idnum": uuid.uuid4(),
                        "_idref": guid,
                        "lgract": int(recnum),
                        "postyr": year,
                        "actprd": period,
                        "balnce": net.get((int(recnum), year, period), ZERO),
                        "budget": ZERO,
                        "insdte": when,
                        "insusr": OFFICE_USERS[2],
                    }
                )
    return rows


def _write(connection: Connection, plan: _Planner) -> dict[str, int]:
    written: dict[str, int] = {}
    numbers: dict[str, dict[Any, int]] = {}
    if plan.employee_updates:
        statement = (
            update(employ)
            .where(employ.c.recnum == bindparam("b_recnum"))
            .values({name: bindparam(f"b_{name}") for name in (
                "payrt1", "payrt2", "payrt3", "salary", "dtehre", "dteina", "status", "taxste",
                "upddte", "updusr")})
        )  # fmt: skip
        connection.execute(statement, plan.employee_updates)
    for name in _WRITE_ORDER:
        rows = plan.rows.get(name, [])
        _resolve(name, rows, numbers)
        _insert(connection, name, rows)
        written[name] = len(rows)
        if name in _READ_BACK:
            numbers[name] = _read_back(connection, name)
        if name == "lgrtrn":  # lgrrec names the transaction itself (as the sql sink does)
            connection.execute(update(lgrtrn).where(lgrtrn.c.lgrrec == 0)
                               .values(lgrrec=lgrtrn.c.recnum))  # fmt: skip
    first_year = plan.period(plan.start)[0]
    last_year = plan.period(plan.today)[0]
    balances = _period_balances(connection, plan, first_year, last_year)
    _insert(connection, "lgrbal", balances)
    written["lgrbal"] = len(balances)
    return {name: count for name, count in written.items() if count}


def init_brownfield(
    url: str,
    mapping: Mapping,
    *,
    history: BrownfieldHistory | None = None,
    today: date,
    seed: int = DEFAULT_SEED,
    company_name: str = "recon brownfield company",
    reset: bool = False,
) -> Brownfield:
    """Create a sandbox (``init_sandbox``) and write a company's history into it.

    ``url`` is a SQLite or PostgreSQL sandbox URL. The history covers the ``history.months``
    periods before ``today``'s, plus this week's daily payroll and any payment up to yesterday;
    ``history`` also carries the ServiceTrade customers and invoices the office keyed in by
    hand. Same ``mapping``, ``history``, ``today`` and ``seed``: same rows (row GUIDs aside).
    A sandbox that holds data is refused (SandboxExistsError) unless ``reset``; hand-keyed
    records that contradict each other raise ValueError before anything is written.
    """
    history = history or BrownfieldHistory()
    plan = _Planner(mapping, history, today, seed)
    plan.build()  # everything planned before the database is touched
    set_up = datetime.combine(plan.start - timedelta(days=60), time(9), tzinfo=UTC)
    seeded = init_sandbox(url, mapping, company_name=company_name, reset=reset, now=set_up)
    engine = create_sage_engine(url, app_name="recon-brownfield")
    try:
        action = "writing the brownfield company's history"
        with (
            translating(action, SageWriteError),
            engine.execution_options(**{WRITE_OPTION: True}).begin() as connection,
        ):
            rows = _write(connection, plan)
            invoices = _read_back(connection, "acrinv")
    finally:
        engine.dispose()
    return Brownfield(
        rows=rows,
        seeded=seeded,
        current_period=period_text(*plan.period(today)),
        locked_through=period_text(*plan.period(plan.locked_through)),
        history_from=period_text(*plan.period(plan.start)),
        clients=dict(plan.hand_clients),
        jobs=dict(plan.hand_jobs),
        invoices={n: invoices[i.guid] for n, i in sorted(plan.hand_invoices.items())},
    )
