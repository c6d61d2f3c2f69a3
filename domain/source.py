"""Snapshots of source records (ServiceTrade, PartsLedger) as the ledger records them.

A snapshot holds only the fields recon needs, already validated and normalised. Its payload
form (``to_payload``) is plain JSON: ids and text as str, amounts and quantities as decimal
strings, business dates as ISO ``YYYY-MM-DD``. Projections read payloads, never wire formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar


class System(StrEnum):
    """The source systems recon records from."""

    SERVICETRADE = "servicetrade"
    PARTSLEDGER = "partsledger"


SERVICETRADE: str = System.SERVICETRADE
PARTSLEDGER: str = System.PARTSLEDGER

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
    #: What ServiceTrade billed, to the cent (``totalPrice``, ``taxTotal``); None when the
    #: source did not say (payloads recorded before recon read them, sources without them).
    total_price: Decimal | None = None
    tax_total: Decimal | None = None
    partial: bool = False  # a partial (progress) invoice of its job


@dataclass(frozen=True, slots=True)
class JobItem:
    """A ServiceTrade job item: labor by a technician, or a part used on a job, with its cost."""

    kind: ClassVar[str] = "jobitem"
    id: str
    job_id: str
    item_type: str  # libItem type, lowercase: labor, part, material, ...
    name: str  # libItem name, e.g. "Overtime Labor" (labor items map to pay types by name)
    code: str  # libItem code
    quantity: Decimal  # hours, for labor
    cost: Decimal  # unit cost (labor: the technician's hourly cost)
    used_on: str  # ISO date, in the account's time zone
    technician_id: str = ""  # the user who worked or used it
    source: str = "stock"  # stock | vendor (a PartsLedger direct purchase, costed by the bill)
    service_line: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class ClockEvent:
    """A technician's clock-in or clock-out on a job."""

    kind: ClassVar[str] = "clockevent"
    id: str
    user_id: str
    job_id: str
    event_type: str  # clockin | clockout
    activity: str  # onsite | enroute | offsite | onbreak
    event_time: int  # Unix seconds


@dataclass(frozen=True, slots=True)
class Vendor:
    """A PartsLedger vendor."""

    kind: ClassVar[str] = "vendor"
    id: str
    name: str
    inactive: bool
    is_1099: bool = False
    terms: str = ""
    phone: str = ""
    address: Address = field(default_factory=Address)


@dataclass(frozen=True, slots=True)
class Item:
    """A PartsLedger item: stock (inventory), direct (bought for a job) or consumable."""

    kind: ClassVar[str] = "item"
    id: str
    number: str
    name: str
    item_type: str  # inventory | direct | consumable
    purchase_price: Decimal


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A PartsLedger warehouse: a facility or a technician's truck."""

    kind: ClassVar[str] = "warehouse"
    id: str
    name: str
    is_truck: bool


@dataclass(frozen=True, slots=True)
class PurchaseOrderLine:
    id: str
    item_id: str
    description: str
    quantity: Decimal
    quantity_received: Decimal
    unit_cost: Decimal
    job_id: str = ""  # the ServiceTrade job a direct purchase is for; "" for stock


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    kind: ClassVar[str] = "purchase_order"
    id: str
    number: str
    vendor_id: str
    warehouse_id: str
    issue_date: str  # ISO date
    status: str  # created | issued | partiallyFulfilled | fulfilled | voided
    lines: tuple[PurchaseOrderLine, ...]


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    id: str
    po_id: str
    po_line_id: str
    quantity_received: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ShipmentReceipt:
    kind: ClassVar[str] = "receipt"
    id: str
    vendor_id: str
    date_received: str  # ISO date
    lines: tuple[ReceiptLine, ...]


@dataclass(frozen=True, slots=True)
class BillLine:
    id: str
    description: str
    quantity: Decimal
    unit_cost: Decimal
    amount: Decimal  # extended, to the cent, as the vendor billed it
    item_id: str = ""
    po_line_id: str = ""
    job_id: str = ""  # the ServiceTrade job of a direct purchase; "" for stock


@dataclass(frozen=True, slots=True)
class VendorBill:
    """A vendor's invoice for a purchase order (PartsLedger's AP bill)."""

    kind: ClassVar[str] = "bill"
    id: str
    number: str  # the vendor's invoice number
    vendor_id: str
    po_id: str
    po_number: str
    bill_date: str  # ISO date
    due_date: str  # ISO date
    status: str  # open | paid | voided
    tax: Decimal
    freight: Decimal
    lines: tuple[BillLine, ...]


Snapshot = (
    Company
    | Location
    | User
    | Job
    | Invoice
    | JobItem
    | ClockEvent
    | Vendor
    | Item
    | Warehouse
    | PurchaseOrder
    | ShipmentReceipt
    | VendorBill
)

SNAPSHOT_TYPES: dict[str, Any] = {
    cls.kind: cls
    for cls in (
        Company, Location, User, Job, Invoice, JobItem, ClockEvent,
        Vendor, Item, Warehouse, PurchaseOrder, ShipmentReceipt, VendorBill,
    )
}  # fmt: skip
#: The kinds each system records, in dependency order.
SOURCE_KINDS = {
    SERVICETRADE: ("company", "location", "user", "job", "invoice", "jobitem", "clockevent"),
    PARTSLEDGER: ("vendor", "item", "warehouse", "purchase_order", "receipt", "bill"),
}
#: Nested line types, for the payload round trip.
_LINE_TYPES: dict[str, tuple[type[Any], str]] = {
    "invoice": (InvoiceItem, "items"),
    "purchase_order": (PurchaseOrderLine, "lines"),
    "receipt": (ReceiptLine, "lines"),
    "bill": (BillLine, "lines"),
}


def _decimals(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.type in ("Decimal", Decimal))


def _optional_decimals(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.type == "Decimal | None")


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _field_names(cls: type[Any]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _plain(value: Any) -> Any:
    # Field by field rather than dataclasses.asdict, whose deep copies cost more than the
    # rest of recording an invoice.
    if isinstance(value, str | bool | int) or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return _plain_fields(value)


def _plain_fields(value: Any) -> dict[str, Any]:
    # Most fields are exactly str, bool, int, None or Decimal: those are converted here
    # without a call each (an invoice has about thirty); anything else goes through _plain.
    result: dict[str, Any] = {}
    for name in _field_names(type(value)):
        field_value = getattr(value, name)
        kind = type(field_value)
        if kind is str or kind is bool or kind is int or field_value is None:
            result[name] = field_value
        elif kind is Decimal:
            result[name] = str(field_value)
        else:
            result[name] = _plain(field_value)
    return result


def to_payload(snapshot: Snapshot) -> dict[str, Any]:
    """The plain-JSON form recorded in the ledger (decimals as strings)."""
    result: dict[str, Any] = _plain(snapshot)
    return result


@dataclass(frozen=True, slots=True)
class _Shape:
    """How a kind's payload becomes its snapshot: worked out once per kind, not per payload."""

    cls: type[Any]
    decimals: tuple[str, ...]
    optional_decimals: tuple[str, ...]
    has_address: bool
    lines: tuple[type[Any], str, tuple[str, ...]] | None


_SHAPES: dict[str, _Shape] = {}


def _shape(kind: str) -> _Shape:
    found = _SHAPES.get(kind)
    if found is None:
        try:
            cls = SNAPSHOT_TYPES[kind]
        except KeyError as exc:
            raise PayloadError(f"unknown source kind {kind!r}") from exc
        lines = None
        if kind in _LINE_TYPES:
            line_cls, key = _LINE_TYPES[kind]
            lines = (line_cls, key, _decimals(line_cls))
        found = _SHAPES[kind] = _Shape(
            cls, _decimals(cls), _optional_decimals(cls), "address" in _field_names(cls), lines
        )
    return found


def from_payload(kind: str, payload: dict[str, Any]) -> Snapshot:
    """Rebuild a snapshot from its recorded payload."""
    shape = _shape(kind)
    data = dict(payload)
    if shape.has_address and "address" in data:
        data["address"] = Address(**data["address"])
    for name in shape.decimals:
        data[name] = Decimal(data[name])
    for name in shape.optional_decimals:
        # Absent from payloads recorded before the field existed: the dataclass default holds.
        if data.get(name) is not None:
            data[name] = Decimal(data[name])
    if shape.lines is not None:
        line_cls, key, decimal_fields = shape.lines
        items = []
        for line in data[key]:
            values = dict(line)
            for f in decimal_fields:
                values[f] = Decimal(line[f])
            items.append(line_cls(**values))
        data[key] = tuple(items)
    result: Snapshot = shape.cls(**data)
    return result
