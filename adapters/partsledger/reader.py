"""Tolerant reader: PartsLedger wire records into `domain.source` snapshots.

Reads only the fields recon needs; extra fields are ignored and optional ones may be missing.
Anything unusable raises `domain.source.PayloadError` naming the field, what was expected and
what came: so does a value Sage cannot hold (`domain.bounds`: amounts, quantities, numbers,
ids, text, dates) and an ``updatedAt``, when present, outside 2000 to 2099
(docs/hostile-input.md). PartsLedger sends money and quantities as decimal strings; ints and
exact Decimals (JSON parsed with ``parse_float=Decimal``) are accepted too, floats and booleans
refused. Ids are ``_id`` integers (digit strings accepted). Business dates are ``YYYY-MM-DD`` (a
full ISO time is cut to its date as written); ``updatedAt`` is an ISO 8601 time.

Defaults for optional fields: vendor ``inactive``/``is1099`` false, ``terms``/``phone``/address
""; warehouse a truck only when ``type`` is "truck" (or it has a ``technician``); purchase order
``WarehouseId`` ""; line ``quantityReceived`` 0, ``ItemId``/``JobId`` ""; receipt line
``PurchaseOrderId`` "" (or the nested ``POLineItem.PurchaseOrderId``); bill ``dueDate`` the bill
date, ``tax``/``freight`` 0, ``PurchaseOrderId``/``purchaseOrderNumber`` "". A list of lines may be
named ``lines`` instead of ``POLineItems``/``ShipmentReceiptLines``/``BillLineItems``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from adapters.http import wire
from adapters.http.wire import (
    Fields,
    business_date,
    check_bound,
    id_value,
    kind_of,
    stamp_expected,
    stamp_value,
    string_value,
)
from domain import bounds
from domain.money import ZERO, cents
from domain.source import (
    Address,
    BillLine,
    Item,
    PayloadError,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLine,
    ShipmentReceipt,
    Snapshot,
    Vendor,
    VendorBill,
    Warehouse,
)

KINDS = ("vendor", "item", "warehouse", "purchase_order", "receipt", "bill")
ITEM_TYPES = ("inventory", "direct", "consumable")


def source_id_of(raw: object) -> str | None:
    """The record's `_id` as text when the payload has a usable one (also for malformed ones)."""
    return wire.source_id_of(raw, "_id")


def updated_of(raw: object) -> int | None:
    """The record's `updatedAt` as Unix seconds (for cursors); None when absent, unusable or
    outside ``domain.bounds.FIRST_STAMP`` to ``LAST_STAMP`` (``read_record`` quarantines those)."""
    if not isinstance(raw, Mapping):
        return None
    return _stamp(raw.get("updatedAt"))


def _stamp(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return stamp_value(value)
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return stamp_value(int(moment.timestamp()))
    except (ValueError, OverflowError, OSError):
        return None


def read_record(kind: str, raw: object) -> Snapshot:
    """The snapshot of one PartsLedger wire record of `kind`; PayloadError when unusable."""
    if kind not in KINDS:
        raise PayloadError(f"unknown PartsLedger kind {kind!r}; expected one of {list(KINDS)}")
    if not isinstance(raw, Mapping):
        raise PayloadError(f"{kind}: expected a JSON object, got {kind_of(raw)}")
    record = _Fields(kind, raw)
    updated = raw.get("updatedAt")
    if updated is not None and _stamp(updated) is None:
        raise PayloadError(
            f"{record.where('updatedAt')}: expected an ISO 8601 time or {stamp_expected()}, "
            f"got {kind_of(updated)}"
        )
    if kind == "vendor":
        return _vendor(record)
    if kind == "item":
        return _item(record)
    if kind == "warehouse":
        return _warehouse(record)
    if kind == "purchase_order":
        return _purchase_order(record)
    if kind == "receipt":
        return _receipt(record)
    return _bill(record)


class _Fields(Fields):
    """PartsLedger's record (or line) fields: `_id`; money and quantities as decimal strings."""

    id_key = "_id"
    amount_expected = "a decimal string"
    exact_expected = "an exact decimal string"

    def ref(self, name: str, *, required: bool, nested: str = "") -> str:
        """A foreign key (`VendorId`), or the `_id` of the nested object (`Vendor`)."""
        value = self.raw.get(name)
        if value is None and nested and isinstance(self.raw.get(nested), Mapping):
            value = self.raw[nested].get("_id")
        if value is None:
            if required:
                raise PayloadError(f"{self.where(name)}: missing (expected an integer id)")
            return ""
        return id_value(value, self.where(name))

    def day(self, name: str, *, default: str | None = None) -> str:
        """A business date as ISO ``YYYY-MM-DD``."""
        value = self.raw.get(name)
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise PayloadError(
                f"{self.where(name)}: expected a date as YYYY-MM-DD, got {kind_of(value)}"
            )
        text = value.strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
            elif len(text) <= 64:
                day = datetime.fromisoformat(text).date()
            else:
                raise ValueError(text)
        except ValueError as exc:
            raise PayloadError(
                f"{self.where(name)}: expected a date as YYYY-MM-DD, got {kind_of(text)}"
            ) from exc
        return business_date(day, self.where(name))

    def lines(self, name: str) -> list[tuple[int, Mapping[str, Any]]]:
        value = self.raw.get(name)
        if value is None:
            value = self.raw.get("lines")
        if value is None:
            return []
        if not isinstance(value, list):
            raise PayloadError(f"{self.where(name)}: expected a list, got {kind_of(value)}")
        found: list[tuple[int, Mapping[str, Any]]] = []
        for index, entry in enumerate(value):
            if not isinstance(entry, Mapping):
                raise PayloadError(
                    f"{self.where(name)}[{index}]: expected a line object, got {kind_of(entry)}"
                )
            found.append((index, entry))
        return found


def _address(record: _Fields) -> Address:
    value = record.raw.get("Address", record.raw.get("address"))
    if value is None:
        return Address()
    if not isinstance(value, Mapping):
        raise PayloadError(f"{record.where('Address')}: expected an object, got {kind_of(value)}")
    parts: dict[str, str] = {}
    for field, names in (
        ("street", ("line1", "street")),
        ("city", ("city",)),
        ("state", ("state",)),
        ("postal_code", ("zip", "postalCode")),
    ):
        found = next((value[name] for name in names if value.get(name) is not None), None)
        if found is None:
            parts[field] = ""
        else:
            parts[field] = string_value(found, f"{record.where('Address')}.{names[0]}")
    return Address(**parts)


def _vendor(record: _Fields) -> Vendor:
    return Vendor(
        id=record.id,
        name=record.text("name", required=True),
        inactive=record.flag("inactive", default=False),
        is_1099=record.flag("is1099", default=False),
        terms=record.text("terms"),
        phone=record.text("phone"),
        address=_address(record),
    )


def _item(record: _Fields) -> Item:
    item_type = record.text("type", required=True).lower()
    if item_type not in ITEM_TYPES:
        raise PayloadError(
            f"{record.where('type')}: expected one of {list(ITEM_TYPES)}, got {item_type!r}"
        )
    return Item(
        id=record.id,
        number=record.text("number", required=True),
        name=record.text("name", required=True),
        item_type=item_type,
        purchase_price=record.amount("purchasePrice", bound=bounds.PRICE),
    )


def _warehouse(record: _Fields) -> Warehouse:
    kind = record.text("type").lower()
    technician = record.raw.get("technician")
    return Warehouse(
        id=record.id,
        name=record.text("name", required=True),
        is_truck=kind == "truck" or (not kind and isinstance(technician, Mapping)),
    )


def _po_line(parent: _Fields, index: int, raw: Mapping[str, Any]) -> PurchaseOrderLine:
    line = _Fields("line", raw, f"{parent.where('POLineItems')}[{index}]")
    quantity = line.amount("quantity", bound=bounds.QUANTITY)
    unit_cost = line.amount("amount", bound=bounds.PRICE)
    check_bound(cents(quantity * unit_cost), bounds.MONEY, line.where("quantity * amount"))
    return PurchaseOrderLine(
        id=line.id,
        item_id=line.ref("ItemId", required=False, nested="Item"),
        description=line.text("description"),
        quantity=quantity,
        quantity_received=line.amount(
            "quantityReceived", default=Decimal(0), bound=bounds.QUANTITY
        ),
        unit_cost=unit_cost,
        job_id=line.ref("JobId", required=False),
    )


def _purchase_order(record: _Fields) -> PurchaseOrder:
    return PurchaseOrder(
        id=record.id,
        number=record.number("number", required=True),
        vendor_id=record.ref("VendorId", required=True, nested="Vendor"),
        warehouse_id=record.ref("WarehouseId", required=False, nested="Warehouse"),
        issue_date=record.day("issueDate"),
        status=record.text("status", required=True),
        lines=tuple(_po_line(record, i, raw) for i, raw in record.lines("POLineItems")),
    )


def _receipt_line(parent: _Fields, index: int, raw: Mapping[str, Any]) -> ReceiptLine:
    line = _Fields("line", raw, f"{parent.where('ShipmentReceiptLines')}[{index}]")
    return ReceiptLine(
        id=line.id,
        po_id=line.ref("PurchaseOrderId", required=False),
        po_line_id=line.ref("POLineItemId", required=True, nested="POLineItem"),
        quantity_received=line.amount("quantityReceived", bound=bounds.QUANTITY),
        amount=line.amount("amount"),
    )


def _receipt(record: _Fields) -> ShipmentReceipt:
    lines = []
    for index, raw in record.lines("ShipmentReceiptLines"):
        line = _receipt_line(record, index, raw)
        nested = raw.get("POLineItem")
        if not line.po_id and isinstance(nested, Mapping) and nested.get("PurchaseOrderId"):
            where = f"{record.where('ShipmentReceiptLines')}[{index}].POLineItem.PurchaseOrderId"
            po_id = id_value(nested["PurchaseOrderId"], where)
            line = ReceiptLine(line.id, po_id, line.po_line_id, line.quantity_received, line.amount)
        lines.append(line)
    return ShipmentReceipt(
        id=record.id,
        vendor_id=record.ref("VendorId", required=True, nested="Vendor"),
        date_received=record.day("dateReceived"),
        lines=tuple(lines),
    )


def _bill_line(parent: _Fields, index: int, raw: Mapping[str, Any]) -> BillLine:
    line = _Fields("line", raw, f"{parent.where('BillLineItems')}[{index}]")
    return BillLine(
        id=line.id,
        description=line.text("description"),
        quantity=line.amount("quantity", bound=bounds.QUANTITY),
        unit_cost=line.amount("unitCost", bound=bounds.PRICE),
        amount=line.amount("amount"),
        item_id=line.ref("ItemId", required=False),
        po_line_id=line.ref("POLineItemId", required=False),
        job_id=line.ref("JobId", required=False),
    )


def _bill(record: _Fields) -> VendorBill:
    bill_date = record.day("billDate")
    status = record.text("status", required=True).lower()
    tax = record.amount("tax", default=Decimal(0))
    freight = record.amount("freight", default=Decimal(0), bound=bounds.FREIGHT)
    lines = tuple(_bill_line(record, i, raw) for i, raw in record.lines("BillLineItems"))
    total = sum((cents(line.amount) for line in lines), ZERO) + cents(tax) + cents(freight)
    check_bound(total, bounds.MONEY, record.where("lines, tax and freight (the invoice total)"))
    return VendorBill(
        id=record.id,
        number=record.number("number", required=True),
        vendor_id=record.ref("VendorId", required=True, nested="Vendor"),
        po_id=record.ref("PurchaseOrderId", required=False),
        po_number=record.number("purchaseOrderNumber"),
        bill_date=bill_date,
        due_date=record.day("dueDate", default=bill_date),
        status=status,
        tax=tax,
        freight=freight,
        lines=lines,
    )
