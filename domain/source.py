"""Snapshots of source records (ServiceTrade, PartsLedger) as the ledger records them.

A snapshot holds only the fields recon needs, already validated and normalised. Its payload
form (``to_payload``) is plain JSON: ids and text as str, amounts and quantities as decimal
strings, business dates as ISO ``YYYY-MM-DD``. Projections read payloads, never wire formats.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

SERVICETRADE = "servicetrade"
PARTSLEDGER = "partsledger"

#: Invoice statuses after which ServiceTrade has handed the invoice to accounting.
ACCOUNTABLE_INVOICE_STATUSES = frozenset(
    {"pending_accounting", "processed", "failed", "sent", "paid"}
)


class PayloadError(ValueError):
    """A source payload that cannot become a snapshot; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Address:
    street: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""


@dataclass(frozen=True, slots=True)
class Company:
    kind: ClassVar[str] = "company"
    id: str
    name: str
    status: str  # active | inactive | pending
    customer: bool
    vendor: bool
    phone: str = ""
    address: Address = field(default_factory=Address)
    ref_number: str = ""


@dataclass(frozen=True, slots=True)
class Location:
    kind: ClassVar[str] = "location"
    id: str
    name: str
    company_id: str
    status: str
    taxable: bool
    tax_group: str = ""  # ServiceTrade sales tax group name; "" when the location has none
    phone: str = ""
    address: Address = field(default_factory=Address)
    ref_number: str = ""


@dataclass(frozen=True, slots=True)
class User:
    kind: ClassVar[str] = "user"
    id: str
    name: str
    status: str
    is_tech: bool
    email: str = ""


@dataclass(frozen=True, slots=True)
class Job:
    kind: ClassVar[str] = "job"
    id: str
    number: str
    name: str
    status: str
    job_type: str
    customer_id: str
    location_id: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceItem:
    id: str
    description: str
    quantity: Decimal
    price: Decimal
    taxable: bool
    item_type: str  # libItem type, lowercase: part, material, labor, fee, ...
    service_line: str = ""


@dataclass(frozen=True, slots=True)
class Invoice:
    kind: ClassVar[str] = "invoice"
    id: str
    number: str
    status: str
    invoice_type: str  # invoice | vendorbill | external
    transaction_date: str  # ISO date, in the account's local time zone
    customer_id: str
    location_id: str
    job_id: str
    items: tuple[InvoiceItem, ...]


Snapshot = Company | Location | User | Job | Invoice

SNAPSHOT_TYPES: dict[
    str, type[Company] | type[Location] | type[User] | type[Job] | type[Invoice]
] = {cls.kind: cls for cls in (Company, Location, User, Job, Invoice)}


def to_payload(snapshot: Snapshot) -> dict[str, Any]:
    """The plain-JSON form recorded in the ledger (decimals as strings)."""
    data = asdict(snapshot)
    if isinstance(snapshot, Invoice):
        data["items"] = [
            {**item, "quantity": str(item["quantity"]), "price": str(item["price"])}
            for item in data["items"]
        ]
    return data


def from_payload(kind: str, payload: dict[str, Any]) -> Snapshot:
    """Rebuild a snapshot from its recorded payload."""
    data = dict(payload)
    if "address" in data:
        data["address"] = Address(**data["address"])
    if kind == Invoice.kind:
        data["items"] = tuple(
            InvoiceItem(
                **{**item, "quantity": Decimal(item["quantity"]), "price": Decimal(item["price"])}
            )
            for item in data["items"]
        )
    try:
        return SNAPSHOT_TYPES[kind](**data)
    except KeyError as exc:
        raise PayloadError(f"unknown source kind {kind!r}") from exc
