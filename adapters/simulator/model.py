"""The simulated ServiceTrade account: plain mutable records, rendered to wire shapes elsewhere."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

#: ServiceTrade ids on real accounts sit near 2.5e15; ours count up from here.
ID_BASE = 2_500_000_000_000_000

#: Every entity kind the simulator serves, with its list key.
LIST_KEYS = {
    "company": "companies",
    "location": "locations",
    "user": "users",
    "job": "jobs",
    "invoice": "invoices",
    "comment": "comments",
}

#: Page size (default, maximum) per kind. Job, invoice and location follow the API docs; the
#: others are not documented, so 100/1000 is our choice.
PAGE_LIMITS = {
    "job": (2000, 2000),
    "invoice": (2000, 2000),
    "location": (10, 5000),
    "company": (100, 1000),
    "user": (100, 1000),
    "comment": (100, 1000),
}

#: Entity type integers (comments, webhooks). Invoice's real number is unknown; 30 is ours.
ENTITY_TYPES = {"job": 3, "user": 4, "company": 5, "location": 11, "invoice": 30}

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


Record = Company | Location | User | Job | Invoice | Comment


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
    #: Persistent wire corruption per (kind, id): operations applied after rendering.
    corruptions: dict[tuple[str, int], list[tuple[str, tuple[str | int, ...], Any]]] = field(
        default_factory=dict
    )
    malformed_rounds: int = 0

    def new_id(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value

    def table(self, kind: str) -> dict[int, Any]:
        tables: dict[str, dict[int, Any]] = {
            "company": self.companies,
            "location": self.locations,
            "user": self.users,
            "job": self.jobs,
            "invoice": self.invoices,
            "comment": self.comments,
        }
        return tables[kind]

    def tick(self) -> int:
        """Advance the clock one second for an API write and return the new now."""
        self.clock += 1
        return self.clock
