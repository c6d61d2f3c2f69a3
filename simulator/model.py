"""The simulated world (a ServiceTrade account and its PartsLedger books): plain mutable records,
rendered to wire shapes elsewhere."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

#: ServiceTrade ids on real accounts sit near 2.5e15; ours count up from here.
ID_BASE = 2_500_000_000_000_000
#: Job items, clock events (and the Premium Labor library item) count up from here, on their own
#: counter, so adding them left every other record's id as it was. Ids stay unique across kinds.
USAGE_ID_BASE = ID_BASE + 500_000_000_000
#: PartsLedger `_id`s are small integers (SoftLedger-style), one counter for all its records.
PL_ID_BASE = 1000
#: Webhook registrations, and the short-lived records of live activity (entered by mistake and
#: deleted again), count up from here on counters of their own: neither moves another id.
WEBHOOK_ID_BASE = ID_BASE + 700_000_000_000
LIVE_ID_BASE = ID_BASE + 800_000_000_000

#: Every entity kind the simulator serves, with its list key.
LIST_KEYS = {
    "company": "companies",
    "location": "locations",
    "user": "users",
    "job": "jobs",
    "invoice": "invoices",
    "comment": "comments",
    "jobitem": "jobItems",
    "clockevent": "events",
}
#: URL path of a kind where it is not the kind's name.
RESOURCE_PATHS = {"clockevent": "clock"}

#: Page size (default, maximum) per kind. Job, invoice and location follow the API docs; the
#: others are not documented, so 100/1000 is our choice.
PAGE_LIMITS = {
    "job": (2000, 2000),
    "invoice": (2000, 2000),
    "location": (10, 5000),
    "company": (100, 1000),
    "user": (100, 1000),
    "comment": (100, 1000),
    "jobitem": (100, 1000),
    "clockevent": (100, 1000),
}

#: PartsLedger resources: kind -> path under /partsledger/api (our names).
PL_RESOURCES = {
    "vendor": "vendors",
    "item": "items",
    "warehouse": "warehouses",
    "purchase_order": "purchase-orders",
    "receipt": "shipment-receipts",
    "bill": "bills",
}
PL_PAGE_LIMIT = 1000  # default and maximum, as SoftLedger's list endpoints
PO_STATUSES = ("created", "issued", "partiallyFulfilled", "fulfilled", "voided")
BILL_STATUSES = ("open", "paid", "voided")
ITEM_TYPES = ("inventory", "direct", "consumable")

#: Entity type integers (comments, webhooks), reference §8. Job, user, company and location are
#: ServiceTrade's; jobitem 23 is one client's guess; invoice 30 and clockevent 31 are ours (their
#: real numbers are not public).
ENTITY_TYPES = {
    "job": 3,
    "user": 4,
    "company": 5,
    "location": 11,
    "jobitem": 23,
    "invoice": 30,
    "clockevent": 31,
}
#: The kinds whose changes become webhook entity events (PartsLedger's never do; comments are
#: not a webhook entity).
WEBHOOK_KINDS = ("company", "location", "user", "job", "invoice", "jobitem", "clockevent")
WEBHOOK_ACTIONS = ("created", "updated", "deleted")

INVOICE_STATUSES = (
    "ok",
    "internal_review",
    "pending_accounting",
    "processed",
    "paid",
    "sent",
    "failed",
    "void",
)
INVOICE_TYPES = ("invoice", "vendorbill", "external")
JOB_STATUSES = (
    "new",
    "canceled",
    "bidding",
    "scheduled",
    "completed",
    "pending_invoice",
    "sending_invoice",
    "closed",
)


@dataclass
class Address:
    street: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class TaxGroup:
    id: int
    name: str
    rate: Decimal  # fraction, e.g. 0.0725


@dataclass(frozen=True)
class ServiceLine:
    id: int
    name: str
    abbr: str


@dataclass(frozen=True)
class LibItem:
    id: int
    name: str
    code: str
    type: str  # lowercase API spelling: labor, part, material, fee, ...
    price: Decimal
    cost: Decimal
    taxable: bool


@dataclass
class Company:
    id: int
    name: str
    status: str
    ref_number: str
    phone: str
    address: Address
    customer: bool
    vendor: bool
    created: int
    updated: int


@dataclass
class Location:
    id: int
    name: str
    ref_number: str
    phone: str
    email: str
    status: str
    taxable: bool
    address: Address
    company_id: int
    tax_group_id: int | None
    created: int
    updated: int


@dataclass
class User:
    id: int
    first_name: str
    last_name: str
    email: str
    status: str
    is_tech: bool
    is_helper: bool
    company_id: int
    created: int
    updated: int
    #: Technicians only: the hourly cost labor job items carry, and the service line they
    #: mostly work (dispatch prefers them for it). Not on the wire.
    hourly_cost: Decimal | None = None
    trade: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Job:
    id: int
    number: int
    name: str
    type: str
    status: str
    description: str
    customer_id: int
    location_id: int
    vendor_id: int
    scheduled_date: int | None
    completed_on: int | None
    created: int
    updated: int
    service_line_id: int = 0


@dataclass
class InvoiceItem:
    id: int
    description: str
    quantity: Decimal
    price: Decimal
    cost: Decimal
    taxable: bool
    lib_item_id: int
    service_line_id: int


@dataclass
class Invoice:
    id: int
    invoice_number: str
    name: str
    status: str
    type: str
    transaction_date: int
    partial: bool
    customer_id: int
    location_id: int
    vendor_id: int
    job_id: int | None
    items: list[InvoiceItem]
    created: int
    updated: int
    approve_at: int | None = None  # internal: when the office moves it on (scenario only)


@dataclass
class Comment:
    id: int
    entity_type: int
    entity_id: int
    content: str
    author_id: int
    created: int
    updated: int


@dataclass
class JobItem:
    """A cost on a job: a technician's labor of one labor type on one day, or a part used."""

    id: int
    job_id: int
    lib_item_id: int
    service_line_id: int
    quantity: Decimal
    cost: Decimal  # unit cost: the technician's hourly cost, or the part's unit cost
    used_on: int
    user_id: int  # the technician who worked or used it
    description: str
    source: str  # "" for labor, "stock" or "vendor" for parts
    created: int
    updated: int
    vendor_id: int | None = None  # PartsLedger vendor of a direct purchase
    po_number: str = ""
    po_line_id: int | None = None
    warehouse_id: int | None = None  # PartsLedger warehouse (truck) stock came from


@dataclass
class ClockEvent:
    id: int
    user_id: int
    job_id: int
    event_type: str  # clockin | clockout
    activity: str  # onsite
    event_time: int
    source: str  # mobile | ivr
    created: int
    updated: int


# --- PartsLedger ------------------------------------------------------------------------------


@dataclass
class PlVendor:
    id: int
    name: str
    email: str
    phone: str
    terms: str
    days_due: int
    is_1099: bool
    charges_tax: bool
    inactive: bool
    address: Address
    created: int
    updated: int
    invoice_prefix: str = ""  # how this vendor numbers its invoices


@dataclass
class PlItem:
    id: int
    number: str  # the ServiceTrade item code for items synced to ServiceTrade
    name: str
    sku: str
    type: str  # inventory | direct | consumable
    purchase_price: Decimal
    sale_price: Decimal
    vendor_id: int  # preferred vendor
    inactive: bool
    created: int
    updated: int


@dataclass
class PlWarehouse:
    id: int
    name: str
    description: str
    type: str  # facility | truck
    technician_id: int | None  # ServiceTrade user driving the truck
    inactive: bool
    address: Address | None
    created: int
    updated: int


@dataclass
class PoLine:
    id: int
    item_id: int
    description: str
    quantity: Decimal
    quantity_received: Decimal
    unit_cost: Decimal
    job_id: int | None  # the ServiceTrade job of a direct purchase


@dataclass
class PurchaseOrder:
    id: int
    number: str
    vendor_id: int
    warehouse_id: int
    status: str
    issue_date: str  # ISO date
    delivery_date: str
    description: str
    lines: list[PoLine]
    created: int
    updated: int
    # Internal (scenario only): when the next receipt, bill or void happens.
    receive_at: int | None = None
    bill_at: int | None = None
    void_at: int | None = None
    split_receipt: bool = False  # the first receipt comes one line short


@dataclass
class ReceiptLine:
    id: int
    po_id: int
    po_line_id: int
    item_id: int
    warehouse_id: int
    quantity_received: Decimal
    amount: Decimal  # extended value received


@dataclass
class ShipmentReceipt:
    id: int
    number: str
    vendor_id: int
    date_received: str  # ISO date
    lines: list[ReceiptLine]
    created: int
    updated: int


@dataclass
class BillLine:
    id: int
    description: str
    quantity: Decimal
    unit_cost: Decimal
    amount: Decimal
    item_id: int | None
    po_line_id: int | None
    job_id: int | None


@dataclass
class VendorBill:
    id: int
    number: str  # the vendor's invoice number
    vendor_id: int
    po_id: int
    po_number: str
    bill_date: str
    due_date: str
    status: str  # open | paid | voided
    tax: Decimal
    freight: Decimal
    lines: list[BillLine]
    created: int
    updated: int
    # Internal (scenario only): when it is paid, or voided and entered again correctly.
    pay_at: int | None = None
    void_at: int | None = None


# --- webhooks and the day in progress ---------------------------------------------------------


@dataclass
class WebhookFilter:
    """One `entityEvents` entry of a webhook: an entity type and the actions wanted for it."""

    entity_type: int
    actions: list[str]


@dataclass
class Webhook:
    """A webhook registration (reference §7.1). `entity_events` None: every event."""

    id: int
    hook_url: str
    enabled: bool
    confirmed: bool
    include_changesets: bool
    entity_events: list[WebhookFilter] | None

    def wants(self, kind: str, action: str) -> bool:
        if not self.enabled:
            return False
        if self.entity_events is None:
            return True
        entity_type = ENTITY_TYPES.get(kind)
        return any(
            wanted.entity_type == entity_type and action in wanted.actions
            for wanted in self.entity_events
        )


#: A planned action of the day: called with the moment it happens and the counts to add to.
Action = Callable[[int, Counter[str]], None]


@dataclass
class PlannedAction:
    moment: int
    order: int
    action: Action
    #: Live activity happens at its moment without moving the world's clock, so the rest of
    #: the day keeps the timestamps it would have without it.
    live: bool = False


@dataclass
class DayPlan:
    """The day in progress: its actions in time order and how many have happened."""

    day: date
    day_end: int  # unix seconds of the next local midnight
    actions: list[PlannedAction]
    done: int = 0


@dataclass(frozen=True)
class Deletion:
    """A deleted ServiceTrade record, kept until the change tracker has seen it."""

    kind: str
    id: int
    moment: int
    user_id: int | None


Record = (
    Company
    | Location
    | User
    | Job
    | Invoice
    | Comment
    | JobItem
    | ClockEvent
    | PlVendor
    | PlItem
    | PlWarehouse
    | PurchaseOrder
    | ShipmentReceipt
    | VendorBill
)


@dataclass
class World:
    """All simulated data plus the generator state that makes `advance` deterministic."""

    seed: int
    timezone: str
    start: int  # unix seconds of the scenario start (local midnight)
    scale: int
    clock: int  # the simulated now, unix seconds
    today: date  # the next local day `advance` will simulate
    rng: random.Random
    next_id: int = ID_BASE + 1
    next_job_number: int = 10001
    next_invoice_number: int = 10001
    account_id: int = 0
    api_user_id: int = 0
    tax_groups: dict[int, TaxGroup] = field(default_factory=dict)
    service_lines: dict[int, ServiceLine] = field(default_factory=dict)
    lib_items: dict[int, LibItem] = field(default_factory=dict)
    companies: dict[int, Company] = field(default_factory=dict)
    locations: dict[int, Location] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    jobs: dict[int, Job] = field(default_factory=dict)
    invoices: dict[int, Invoice] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    job_items: dict[int, JobItem] = field(default_factory=dict)
    clock_events: dict[int, ClockEvent] = field(default_factory=dict)
    pl_vendors: dict[int, PlVendor] = field(default_factory=dict)
    pl_items: dict[int, PlItem] = field(default_factory=dict)
    pl_warehouses: dict[int, PlWarehouse] = field(default_factory=dict)
    purchase_orders: dict[int, PurchaseOrder] = field(default_factory=dict)
    receipts: dict[int, ShipmentReceipt] = field(default_factory=dict)
    bills: dict[int, VendorBill] = field(default_factory=dict)
    next_usage_id: int = USAGE_ID_BASE + 1
    pl_next_id: int = PL_ID_BASE + 1
    next_po_number: int = 4001
    next_receipt_number: int = 1001
    replenishments: int = 0  # stock POs raised so far (picks which are voided or split)
    bills_entered: int = 0  # vendor bills entered so far (picks which differ or are voided)
    #: Persistent wire corruption per (kind, id): operations applied after rendering.
    corruptions: dict[tuple[str, int], list[tuple[str, tuple[str | int, ...], Any]]] = field(
        default_factory=dict
    )
    malformed_rounds: int = 0
    webhooks: dict[int, Webhook] = field(default_factory=dict)
    next_webhook_id: int = WEBHOOK_ID_BASE + 1
    next_live_id: int = LIVE_ID_BASE + 1
    #: Not saved: whether the day's plan includes live activity (a paced simulator's office
    #: deleting mistakes), the day in progress, and deletions the change tracker has not seen.
    live: bool = False
    plan: DayPlan | None = None
    deletions: list[Deletion] = field(default_factory=list)

    def new_id(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value

    def new_usage_id(self) -> int:
        value = self.next_usage_id
        self.next_usage_id += 1
        return value

    def new_webhook_id(self) -> int:
        value = self.next_webhook_id
        self.next_webhook_id += 1
        return value

    def new_live_id(self) -> int:
        value = self.next_live_id
        self.next_live_id += 1
        return value

    def new_pl_id(self) -> int:
        value = self.pl_next_id
        self.pl_next_id += 1
        return value

    def table(self, kind: str) -> dict[int, Any]:
        tables: dict[str, dict[int, Any]] = {
            "company": self.companies,
            "location": self.locations,
            "user": self.users,
            "job": self.jobs,
            "invoice": self.invoices,
            "comment": self.comments,
            "jobitem": self.job_items,
            "clockevent": self.clock_events,
            "vendor": self.pl_vendors,
            "item": self.pl_items,
            "warehouse": self.pl_warehouses,
            "purchase_order": self.purchase_orders,
            "receipt": self.receipts,
            "bill": self.bills,
        }
        return tables[kind]

    def tick(self) -> int:
        """Advance the clock one second for an API write and return the new now."""
        self.clock += 1
        return self.clock
