"""The PartsLedger reader: wire records become snapshots or a PayloadError, nothing else."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.partsledger import read_record, source_id_of, updated_of
from domain.source import (
    BillLine,
    Item,
    PayloadError,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLine,
    ShipmentReceipt,
    Vendor,
    VendorBill,
    Warehouse,
    from_payload,
    to_payload,
)
from simulator import jsonio
from simulator.model import World
from simulator.partsledger import PlRenderer
from simulator.scenario import PL_CORRUPTIBLE_KINDS, advance, corrupt, generate
from tests.fakes import json_paths

KINDS = ("vendor", "item", "warehouse", "purchase_order", "receipt", "bill")
SNAPSHOTS = (Vendor, Item, Warehouse, PurchaseOrder, ShipmentReceipt, VendorBill)


def wire_records(world: World, kind: str) -> list[dict[str, Any]]:
    """Records exactly as a client sees them: rendered, written, parsed with Decimal."""
    renderer = PlRenderer(world)
    text = jsonio.dumps([renderer.render(kind, record) for record in world.table(kind).values()])
    records: list[dict[str, Any]] = jsonio.loads(text)
    return records


@pytest.fixture(scope="module")
def world() -> World:
    world = generate(7)
    advance(world, 3)
    return world


BILL: dict[str, Any] = {
    "_id": 1080,
    "number": "CCS-126715",
    "VendorId": 1001,
    "Vendor": {"_id": 1001, "name": "Capital City HVAC Supply"},
    "PurchaseOrderId": 1065,
    "purchaseOrderNumber": "PO-4007",
    "billDate": "2026-10-08",
    "dueDate": "2026-11-07",
    "status": "open",
    "subtotal": "176.16",
    "tax": "12.77",
    "freight": "0.00",
    "amount": "188.93",
    "BillLineItems": [
        {
            "_id": 1079,
            "description": "Run Capacitor 45/5 MFD",
            "quantity": "12",
            "unitCost": "14.68",
            "amount": "176.16",
            "ItemId": 1010,
            "POLineItemId": 1066,
            "JobId": None,
        }
    ],
    "createdAt": "2026-10-08T20:30:00.000Z",
    "updatedAt": "2026-10-08T20:30:00.000Z",
}
PURCHASE_ORDER: dict[str, Any] = {
    "_id": 1045,
    "number": "PO-4003",
    "issueDate": "2026-10-04",
    "status": "fulfilled",
    "amount": "144.24",
    "VendorId": 1007,
    "WarehouseId": 1035,
    "POLineItems": [
        {
            "_id": 1046,
            "description": "Programmable Thermostat",
            "quantity": "2",
            "quantityReceived": "2",
            "amount": "72.12",
            "ItemId": 1013,
            "JobId": 2500000000000126,
        }
    ],
    "updatedAt": "2026-10-04T10:57:00.000Z",
}


# --- every simulator record parses --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_simulator_record_parses(world: World, kind: str) -> None:
    records = wire_records(world, kind)
    assert records
    for raw in records:
        snapshot = read_record(kind, raw)
        assert snapshot.kind == kind
        assert snapshot.id == str(raw["_id"]) == source_id_of(raw)
        assert from_payload(kind, to_payload(snapshot)) == snapshot
        assert updated_of(raw) == world.table(kind)[raw["_id"]].updated


def test_simulator_bills_read_with_exact_amounts(world: World) -> None:
    for raw in wire_records(world, "bill"):
        bill = read_record("bill", raw)
        assert isinstance(bill, VendorBill)
        total = sum((line.amount for line in bill.lines), Decimal(0)) + bill.tax + bill.freight
        assert total == Decimal(raw["amount"])


@pytest.mark.parametrize("kind", PL_CORRUPTIBLE_KINDS)
def test_corrupted_simulator_records_are_rejected_with_their_id(kind: str) -> None:
    world = generate(7)
    ids = corrupt(world, kind, 4)
    by_id = {raw["_id"]: raw for raw in wire_records(world, kind)}
    for record_id in ids:
        with pytest.raises(PayloadError):
            read_record(kind, by_id[record_id])
        assert source_id_of(by_id[record_id]) == str(record_id)


# --- the mapping --------------------------------------------------------------------------------


def test_a_bill_maps_to_its_snapshot() -> None:
    assert read_record("bill", BILL) == VendorBill(
        id="1080",
        number="CCS-126715",
        vendor_id="1001",
        po_id="1065",
        po_number="PO-4007",
        bill_date="2026-10-08",
        due_date="2026-11-07",
        status="open",
        tax=Decimal("12.77"),
        freight=Decimal("0.00"),
        lines=(
            BillLine(
                id="1079",
                description="Run Capacitor 45/5 MFD",
                quantity=Decimal(12),
                unit_cost=Decimal("14.68"),
                amount=Decimal("176.16"),
                item_id="1010",
                po_line_id="1066",
                job_id="",
            ),
        ),
    )


def test_a_purchase_order_line_carries_its_job_and_unit_cost() -> None:
    assert read_record("purchase_order", PURCHASE_ORDER) == PurchaseOrder(
        id="1045",
        number="PO-4003",
        vendor_id="1007",
        warehouse_id="1035",
        issue_date="2026-10-04",
        status="fulfilled",
        lines=(
            PurchaseOrderLine(
                id="1046",
                item_id="1013",
                description="Programmable Thermostat",
                quantity=Decimal(2),
                quantity_received=Decimal(2),
                unit_cost=Decimal("72.12"),
                job_id="2500000000000126",
            ),
        ),
    )


def test_optional_fields_and_alternative_spellings() -> None:
    vendor = read_record("vendor", {"_id": 5, "name": "Dogwood Controls"})
    assert vendor == Vendor(id="5", name="Dogwood Controls", inactive=False)
    bill = read_record(
        "bill",
        {"_id": "9", "number": 77, "Vendor": {"_id": 5}, "billDate": "2026-10-08T00:00:00Z",
         "status": "OPEN", "lines": []},
    )  # fmt: skip
    assert isinstance(bill, VendorBill)
    assert (bill.vendor_id, bill.due_date, bill.status, bill.tax) == ("5", "2026-10-08", "open", 0)
    receipt = read_record(
        "receipt",
        {"_id": 3, "VendorId": 5, "dateReceived": "2026-10-09", "ShipmentReceiptLines": [
            {"_id": 4, "POLineItemId": 6, "POLineItem": {"PurchaseOrderId": 7},
             "quantityReceived": "1.5", "amount": "3.00"}]},
    )  # fmt: skip
    assert receipt == ShipmentReceipt(
        id="3",
        vendor_id="5",
        date_received="2026-10-09",
        lines=(ReceiptLine("4", "7", "6", Decimal("1.5"), Decimal("3.00")),),
    )
    truck = read_record("warehouse", {"_id": 8, "name": "Truck 01", "technician": {"id": 1}})
    assert truck == Warehouse(id="8", name="Truck 01", is_truck=True)


def without(raw: dict[str, Any], *path: str | int) -> dict[str, Any]:
    result = copy.deepcopy(raw)
    parent: Any = result
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return result


def replaced(raw: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    result = copy.deepcopy(raw)
    parent: Any = result
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return result


@pytest.mark.parametrize(
    ("kind", "raw", "reason"),
    [
        ("bill", without(BILL, "_id"), r"bill\._id: missing"),
        ("bill", without(without(BILL, "VendorId"), "Vendor"), r"VendorId: missing"),
        ("bill", replaced(BILL, 12.77, "tax"), r"tax: expected an exact decimal string, got float"),
        ("bill", replaced(BILL, "abc", "tax"), r"tax: expected a decimal amount"),
        ("bill", replaced(BILL, "someday", "billDate"), r"billDate: expected a date"),
        ("bill", replaced(BILL, "1,234", "BillLineItems", 0, "amount"), r"\[0\] 1079: amount"),
        ("bill", replaced(BILL, {"x": 1}, "BillLineItems"), r"expected a list"),
        ("purchase_order", without(PURCHASE_ORDER, "number"), r"number: missing"),
        ("purchase_order", replaced(PURCHASE_ORDER, "abc", "POLineItems", 0, "quantity"),
         r"quantity"),
        ("purchase_order", replaced(PURCHASE_ORDER, "tomorrow", "issueDate"), r"issueDate"),
        ("item", {"_id": 1, "number": "X", "name": "X", "type": "gadget", "purchasePrice": "1"},
         r"type: expected one of"),
        ("item", {"_id": 1, "number": "X", "name": "X", "type": "direct"}, r"purchasePrice"),
        ("vendor", {"_id": 1, "name": "V", "is1099": "sometimes"}, r"is1099: expected true"),
        ("warehouse", {"_id": 1}, r"name: missing"),
        ("receipt", {"_id": 1, "VendorId": 2, "dateReceived": "2026-10-01",
                     "ShipmentReceiptLines": [{"_id": 3, "quantityReceived": "1", "amount": "1"}]},
         r"POLineItemId: missing"),
        ("widget", {"_id": 1}, r"unknown PartsLedger kind"),
        ("vendor", ["not", "an", "object"], r"expected a JSON object, got list"),
    ],
)  # fmt: skip
def test_invalid_payloads_are_rejected_with_a_reason(kind: str, raw: Any, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        read_record(kind, raw)


def test_source_id_and_updated_of() -> None:
    assert source_id_of({"_id": 1080}) == "1080"
    assert source_id_of({"_id": True}) is None
    assert source_id_of("junk") is None
    assert updated_of({"updatedAt": "2026-10-08T20:30:00.000Z"}) == 1791491400
    assert updated_of({"updatedAt": "2026-10-08T16:30:00-04:00"}) == 1791491400
    assert updated_of({"updatedAt": 1791491400}) == 1791491400
    assert updated_of({"updatedAt": "yesterday"}) is None
    assert updated_of({"updatedAt": True}) is None
    assert updated_of({}) is None


# --- property: parse or raise PayloadError ------------------------------------------------------

FIELD_NAMES = (
    "_id", "id", "name", "number", "type", "status", "VendorId", "Vendor", "WarehouseId",
    "PurchaseOrderId", "purchaseOrderNumber", "POLineItemId", "POLineItem", "ItemId", "JobId",
    "issueDate", "billDate", "dueDate", "dateReceived", "quantity", "quantityReceived", "amount",
    "unitCost", "tax", "freight", "purchasePrice", "inactive", "is1099", "terms", "phone",
    "Address", "technician", "POLineItems", "ShipmentReceiptLines", "BillLineItems", "lines",
    "updatedAt", "description",
)  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        ["12.50", "abc", "1e999999", "-0", "2026-10-08", "2026-02-30", "0000-01-01", " 3 ",
         "NaN", "inventory", "truck", "2026-10-08T20:30:00.000Z"]
    )
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), children, max_size=6)
    ),
    max_leaves=20,
)
records = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | st.text(max_size=4), json_values, max_size=12
)


def assert_parses_or_rejects(kind: str, raw: Any) -> None:
    try:
        snapshot = read_record(kind, raw)
    except PayloadError:
        return
    assert isinstance(snapshot, SNAPSHOTS)
    assert from_payload(kind, to_payload(snapshot)) == snapshot


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), raw=records | json_values)
def test_arbitrary_json_parses_or_raises_payload_error(kind: str, raw: Any) -> None:
    assert_parses_or_rejects(kind, raw)
    source_id_of(raw)
    updated_of(raw)


TARGETS = [("bill", path) for path in json_paths(BILL)] + [
    ("purchase_order", path) for path in json_paths(PURCHASE_ORDER)
]


@settings(max_examples=300)
@given(target=st.sampled_from(TARGETS), value=json_values, drop=st.booleans())
def test_a_valid_record_with_any_one_field_broken_parses_or_raises(
    target: tuple[str, tuple[Any, ...]], value: Any, drop: bool
) -> None:
    kind, path = target
    valid = BILL if kind == "bill" else PURCHASE_ORDER
    raw = without(valid, *path) if drop else replaced(valid, value, *path)
    assert_parses_or_rejects(kind, raw)
