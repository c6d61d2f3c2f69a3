"""Save and load a simulated world as JSON, so a simulator can continue where it stopped."""

from __future__ import annotations

import os
import random
from dataclasses import asdict, fields
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from simulator import jsonio
from simulator.costs import setup_costing
from simulator.model import (
    Address,
    BillLine,
    ClockEvent,
    Comment,
    Company,
    Invoice,
    InvoiceItem,
    Job,
    JobItem,
    LibItem,
    Location,
    PlItem,
    PlVendor,
    PlWarehouse,
    PoLine,
    PurchaseOrder,
    ReceiptLine,
    ServiceLine,
    ShipmentReceipt,
    TaxGroup,
    User,
    VendorBill,
    Webhook,
    WebhookFilter,
    World,
)
from simulator.scenario import settle_day

#: 2 added job items, clock events and PartsLedger; a format-1 file still loads (it gets
#: PartsLedger's master data and technicians' rates, and no purchasing history). 3 added
#: webhook registrations (a format-2 file loads with none).
FORMAT_VERSION = 3
_READABLE_FORMATS = (1, 2, 3)

_COUNTERS = ("next_id", "next_job_number", "next_invoice_number", "account_id", "api_user_id",
             "malformed_rounds", "next_usage_id", "pl_next_id", "next_po_number",
             "next_receipt_number", "replenishments", "bills_entered", "next_webhook_id",
             "next_live_id")  # fmt: skip
_TABLES: dict[str, type[Any]] = {
    "tax_groups": TaxGroup,
    "service_lines": ServiceLine,
    "lib_items": LibItem,
    "companies": Company,
    "locations": Location,
    "users": User,
    "jobs": Job,
    "invoices": Invoice,
    "comments": Comment,
    "job_items": JobItem,
    "clock_events": ClockEvent,
    "pl_vendors": PlVendor,
    "pl_items": PlItem,
    "pl_warehouses": PlWarehouse,
    "purchase_orders": PurchaseOrder,
    "receipts": ShipmentReceipt,
    "bills": VendorBill,
}
#: Records with a list of lines: the list's field and the line type.
_LINES: dict[type[Any], tuple[str, type[Any]]] = {
    Invoice: ("items", InvoiceItem),
    PurchaseOrder: ("lines", PoLine),
    ShipmentReceipt: ("lines", ReceiptLine),
    VendorBill: ("lines", BillLine),
}
_DECIMAL_FIELDS = {"rate", "price", "cost", "quantity", "hourly_cost", "unit_cost",
                   "quantity_received", "amount", "tax", "freight", "purchase_price",
                   "sale_price"}  # fmt: skip


class StateFileError(ValueError):
    """A simulator state file that cannot be read back."""


def world_to_data(world: World) -> dict[str, Any]:
    """The world as JSON data. A day in progress is saved as it will be at the day's end (the
    plan of a day is not data), so a reload continues with the next day."""
    world = settle_day(world)
    version, internal, gauss = world.rng.getstate()
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "seed": world.seed,
        "timezone": world.timezone,
        "start": world.start,
        "scale": world.scale,
        "clock": world.clock,
        "today": world.today.isoformat(),
        "rng": [version, list(internal), None if gauss is None else repr(gauss)],
        "counters": {name: getattr(world, name) for name in _COUNTERS},
        "corruptions": [
            [kind, record_id, [[op, list(path), value] for op, path, value in operations]]
            for (kind, record_id), operations in world.corruptions.items()
        ],
    }
    for name in _TABLES:
        data[name] = [asdict(record) for record in getattr(world, name).values()]
    data["webhooks"] = [asdict(webhook) for webhook in world.webhooks.values()]
    return data


def _decimals(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: Decimal(str(value)) if key in _DECIMAL_FIELDS and value is not None else value
        for key, value in values.items()
    }


def _record(cls: type[Any], values: dict[str, Any]) -> Any:
    known = {f.name for f in fields(cls)}
    values = _decimals({key: value for key, value in values.items() if key in known})
    if values.get("address") is not None:
        values["address"] = Address(**values["address"])
    if cls in _LINES:
        name, line_cls = _LINES[cls]
        values[name] = [line_cls(**_decimals(line)) for line in values[name]]
    return cls(**values)


def _webhook(values: dict[str, Any]) -> Webhook:
    events = values["entity_events"]
    return Webhook(
        id=values["id"],
        hook_url=values["hook_url"],
        enabled=values["enabled"],
        confirmed=values["confirmed"],
        include_changesets=values["include_changesets"],
        entity_events=None
        if events is None
        else [WebhookFilter(entry["entity_type"], list(entry["actions"])) for entry in events],
    )


def world_from_data(data: dict[str, Any]) -> World:
    if data.get("format") not in _READABLE_FORMATS:
        raise StateFileError(
            f"expected simulator state format {FORMAT_VERSION}, got {data.get('format')!r}"
        )
    try:
        rng = random.Random()
        version, internal, gauss = data["rng"]
        rng.setstate((version, tuple(internal), None if gauss is None else float(gauss)))
        world = World(
            seed=data["seed"],
            timezone=data["timezone"],
            start=data["start"],
            scale=data["scale"],
            clock=data["clock"],
            today=date.fromisoformat(data["today"]),
            rng=rng,
        )
        for name, value in data["counters"].items():
            if name in _COUNTERS:
                setattr(world, name, value)
        for name, cls in _TABLES.items():
            table = getattr(world, name)
            for values in data.get(name, []) if data["format"] == 1 else data[name]:
                record = _record(cls, values)
                table[record.id] = record
        for values in data.get("webhooks", []):
            webhook = _webhook(values)
            world.webhooks[webhook.id] = webhook
        for kind, record_id, operations in data["corruptions"]:
            world.corruptions[(kind, record_id)] = [
                (op, tuple(path), value) for op, path, value in operations
            ]
        if data["format"] == 1:
            setup_costing(world)
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"simulator state is incomplete or damaged: {exc!r}") from exc
    return world


def save_world(world: World, path: Path) -> None:
    """Write the world atomically (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(jsonio.dumps(world_to_data(world)), encoding="utf-8")
    os.replace(temporary, path)


def load_world(path: Path) -> World:
    try:
        data = jsonio.loads(path.read_bytes())
    except ValueError as exc:
        raise StateFileError(f"{path}: expected simulator state JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise StateFileError(f"{path}: expected a JSON object")
    try:
        return world_from_data(data)
    except StateFileError as exc:
        raise StateFileError(f"{path}: {exc}") from exc
