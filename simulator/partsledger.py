"""The PartsLedger API of the simulated world, under /partsledger/api: wire shapes and routes.

Shapes follow the SoftLedger SDK ServiceTrade publishes (`_id` integers, money and quantities
as decimal strings, capitalised foreign keys such as `VendorId`), with cursor paging
``{hasNextPage, cursor, data}``. Bills, warehouse types and trucks are our choices.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import unquote

from simulator.exchange import HttpError, Request, Response, form_body, json_response
from simulator.model import (
    PL_PAGE_LIMIT,
    PL_RESOURCES,
    Address,
    PlItem,
    PlVendor,
    PlWarehouse,
    PurchaseOrder,
    Record,
    ShipmentReceipt,
    VendorBill,
    World,
)
from simulator.raw import MARK, splice
from simulator.render import apply_corruption
from simulator.state import SimState

CENT = Decimal("0.01")
#: Path prefix of the PartsLedger API on the simulator.
BASE_PATH = "/partsledger/api"
KIND_OF_PATH = {path: kind for kind, path in PL_RESOURCES.items()}


def _money(value: Decimal) -> str:
    return format(value.quantize(CENT, rounding=ROUND_HALF_UP), "f")


def _quantity(value: Decimal) -> str:
    return format(value.normalize() if value == value.to_integral_value() else value, "f")


def iso_time(moment: int) -> str:
    """Unix seconds as SoftLedger writes timestamps: ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_time(text: str) -> int:
    """`updatedAfter`: ISO 8601 (with a zone; none means UTC) or Unix seconds."""
    raw = text.strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 12:
        return int(raw)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HttpError(
            400, f"updatedAfter must be an ISO 8601 time or Unix seconds, got {text!r}"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "line1": address.street,
        "line2": "",
        "city": address.city,
        "state": address.state,
        "zip": address.postal_code,
        "country": "US",
    }


class PlRenderer:
    """PartsLedger wire objects of one world's records."""

    def __init__(self, world: World) -> None:
        self.world = world

    def render(self, kind: str, record: Record) -> dict[str, Any]:
        if isinstance(record, PlVendor):
            data = self._vendor(record)
        elif isinstance(record, PlItem):
            data = self._item(record)
        elif isinstance(record, PlWarehouse):
            data = self._warehouse(record)
        elif isinstance(record, PurchaseOrder):
            data = self._purchase_order(record)
        elif isinstance(record, ShipmentReceipt):
            data = self._receipt(record)
        elif isinstance(record, VendorBill):
            data = self._bill(record)
        else:
            raise TypeError(f"not a PartsLedger record: {type(record).__name__}")
        operations = self.world.corruptions.get((kind, record.id))
        return apply_corruption(data, operations) if operations else data

    def _stub(self, table: Mapping[int, Any], record_id: int) -> dict[str, Any] | None:
        record = table.get(record_id)
        return None if record is None else {"_id": record.id, "name": record.name}

    def _vendor(self, vendor: PlVendor) -> dict[str, Any]:
        return {
            "_id": vendor.id,
            "name": vendor.name,
            "email": vendor.email,
            "phone": vendor.phone,
            "terms": vendor.terms,
            "defaultDaysDue": vendor.days_due,
            "is1099": vendor.is_1099,
            "currency": "USD",
            "inactive": vendor.inactive,
            "Address": _address(vendor.address),
            "createdAt": iso_time(vendor.created),
            "updatedAt": iso_time(vendor.updated),
        }

    def _item(self, item: PlItem) -> dict[str, Any]:
        return {
            "_id": item.id,
            "number": item.number,
            "name": item.name,
            "sku": item.sku,
            "description": item.name,
            "type": item.type,
            "purchasePrice": _money(item.purchase_price),
            "salePrice": _money(item.sale_price),
            "VendorId": item.vendor_id,
            "inactive": item.inactive,
            "createdAt": iso_time(item.created),
            "updatedAt": iso_time(item.updated),
        }

    def _warehouse(self, warehouse: PlWarehouse) -> dict[str, Any]:
        technician = self.world.users.get(warehouse.technician_id or 0)
        return {
            "_id": warehouse.id,
            "name": warehouse.name,
            "description": warehouse.description,
            "type": warehouse.type,
            "technician": (
                None if technician is None else {"id": technician.id, "name": technician.name}
            ),
            "inactive": warehouse.inactive,
            "Address": _address(warehouse.address),
            "createdAt": iso_time(warehouse.created),
            "updatedAt": iso_time(warehouse.updated),
        }

    def _purchase_order(self, po: PurchaseOrder) -> dict[str, Any]:
        total = sum(
            (
                (line.quantity * line.unit_cost).quantize(CENT, rounding=ROUND_HALF_UP)
                for line in po.lines
            ),
            Decimal("0.00"),
        )
        return {
            "_id": po.id,
            "number": po.number,
            "description": po.description,
            "issueDate": po.issue_date,
            "deliveryDate": po.delivery_date,
            "status": po.status,
            "amount": _money(total),
            "currency": "USD",
            "VendorId": po.vendor_id,
            "Vendor": self._stub(self.world.pl_vendors, po.vendor_id),
            "WarehouseId": po.warehouse_id,
            "Warehouse": self._stub(self.world.pl_warehouses, po.warehouse_id),
            "POLineItems": [
                {
                    "_id": line.id,
                    "idx": index,
                    "description": line.description,
                    "quantity": _quantity(line.quantity),
                    "quantityReceived": _quantity(line.quantity_received),
                    "amount": _money(line.unit_cost),
                    "taxAmount": "0.00",
                    "ItemId": line.item_id,
                    "JobId": line.job_id,
                }
                for index, line in enumerate(po.lines)
            ],
            "createdAt": iso_time(po.created),
            "updatedAt": iso_time(po.updated),
        }

    def _receipt(self, receipt: ShipmentReceipt) -> dict[str, Any]:
        return {
            "_id": receipt.id,
            "number": receipt.number,
            "dateReceived": receipt.date_received,
            "VendorId": receipt.vendor_id,
            "Vendor": self._stub(self.world.pl_vendors, receipt.vendor_id),
            "ShipmentReceiptLines": [
                {
                    "_id": line.id,
                    "quantityReceived": _quantity(line.quantity_received),
                    "amount": _money(line.amount),
                    "status": "received",
                    "WarehouseId": line.warehouse_id,
                    "PurchaseOrderId": line.po_id,
                    "POLineItemId": line.po_line_id,
                    "ItemId": line.item_id,
                }
                for line in receipt.lines
            ],
            "createdAt": iso_time(receipt.created),
            "updatedAt": iso_time(receipt.updated),
        }

    def _bill(self, bill: VendorBill) -> dict[str, Any]:
        subtotal = sum((line.amount for line in bill.lines), Decimal("0.00"))
        return {
            "_id": bill.id,
            "number": bill.number,
            "VendorId": bill.vendor_id,
            "Vendor": self._stub(self.world.pl_vendors, bill.vendor_id),
            "PurchaseOrderId": bill.po_id,
            "purchaseOrderNumber": bill.po_number,
            "billDate": bill.bill_date,
            "dueDate": bill.due_date,
            "status": bill.status,
            "currency": "USD",
            "subtotal": _money(subtotal),
            "tax": _money(bill.tax),
            "freight": _money(bill.freight),
            "amount": _money(subtotal + bill.tax + bill.freight),
            "BillLineItems": [
                {
                    "_id": line.id,
                    "description": line.description,
                    "quantity": _quantity(line.quantity),
                    "unitCost": _money(line.unit_cost),
                    "amount": _money(line.amount),
                    "ItemId": line.item_id,
                    "POLineItemId": line.po_line_id,
                    "JobId": line.job_id,
                }
                for line in bill.lines
            ],
            "createdAt": iso_time(bill.created),
            "updatedAt": iso_time(bill.updated),
        }


def _error(
    status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    return json_response(status, {"error": code, "message": message}, headers)


_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
          429: "rate_limited"}  # fmt: skip


def encode_cursor(updated: int, record_id: int) -> str:
    return base64.urlsafe_b64encode(f"{updated}:{record_id}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        updated, record_id = raw.split(":")
        return int(updated), int(record_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise HttpError(400, f"cursor {text!r} is not one this API handed out") from exc


class PartsLedgerApi:
    """Routes for /partsledger/api/...; faults queued on the shared state apply here too."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    def handle(self, request: Request, path: str) -> Response:
        delay = 0.0
        fault = self.state.take_fault("partsledger")
        if fault is not None:
            if fault.kind == "rate_limit":
                return _error(
                    429,
                    "rate_limited",
                    f"Too many requests; retry after {fault.retry_after} s",
                    [("Retry-After", fault.retry_after)],
                )
            if fault.kind == "server_error":
                return _error(fault.status, "server_error", "Service temporarily unavailable")
            if fault.kind == "drop":
                return Response(0, drop=True)
            delay = fault.seconds
        try:
            response = self._route(request, path)
        except HttpError as exc:
            code = _CODES.get(exc.status, "error")
            response = _error(exc.status, code, "; ".join(exc.messages), exc.headers)
        response.delay = delay
        return response

    def _route(self, request: Request, path: str) -> Response:
        parts = [part for part in path.split("/") if part]
        if parts == ["auth", "token"]:
            if request.method != "POST":
                raise HttpError(405, f"{request.method} is not supported on /auth/token")
            return self._token(request)
        self._require_auth(request)
        if not parts or parts[0] not in KIND_OF_PATH or len(parts) > 2:
            raise HttpError(404, f"no such resource {'/'.join(parts)!r}")
        if request.method != "GET":
            raise HttpError(405, f"{request.method} is not supported on /{parts[0]}")
        kind = KIND_OF_PATH[parts[0]]
        if len(parts) == 1:
            return self._list(request, kind)
        text = parts[1]
        with self.state.lock:
            raw = self.state.raw.find(kind, unquote(text))
        if raw is not None:
            return Response(200, raw.wire(), [("Content-Type", "application/json")])
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise HttpError(404, f"no {kind} with _id {text!r}")
        with self.state.lock:
            world = self.state.world
            record = world.table(kind).get(int(text))
            if record is None or record.created > world.clock:  # not yet: see api._exists
                raise HttpError(404, f"{kind} {text} not found")
            return json_response(200, PlRenderer(self.state.world).render(kind, record))

    def _token(self, request: Request) -> Response:
        form = form_body(request)
        grant = form.get("grant_type", "client_credentials")
        self.state.count("partsledger:grant")
        if grant != "client_credentials":
            return _error(400, "unsupported_grant_type", "use grant_type=client_credentials")
        client_id = form.get("client_id", "")
        if not self.state.pl_client_ok(client_id, form.get("client_secret", "")):
            self.state.count("partsledger:grant_refused")
            return _error(401, "invalid_client", "unknown client_id or wrong client_secret")
        return json_response(200, self.state.issue_pl_token(client_id))

    def _require_auth(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            self.state.count("partsledger:unauthorized")
            raise HttpError(401, "Send Authorization: Bearer <token> from POST /auth/token")
        if not self.state.pl_bearer_ok(token.strip()):
            self.state.count("partsledger:unauthorized")
            raise HttpError(401, "Access token is expired or invalid")

    def _list(self, request: Request, kind: str) -> Response:
        query = request.query
        limit = _limit(query.get("limit"))
        after = query.get("updatedAfter")
        since = parse_time(after) if after else None
        cursor_text = query.get("cursor") or ""
        position = decode_cursor(cursor_text) if cursor_text else None
        filters = {
            name: query[name]
            for name in ("status", "type", "VendorId", "PurchaseOrderId")
            if query.get(name)
        }
        with self.state.lock:
            world = self.state.world
            records = sorted(
                (
                    record
                    for record in world.table(kind).values()
                    if record.created <= world.clock
                    and (since is None or record.updated >= since)
                    and (position is None or (record.updated, record.id) > position)
                    and _matches(record, filters)
                ),
                key=lambda record: (record.updated, record.id),
            )
            page = records[:limit]
            renderer = PlRenderer(world)
            data: list[Any] = [renderer.render(kind, record) for record in page]
            raw = self.state.raw.of(kind) if position is None else []
        cursor = encode_cursor(page[-1].updated, page[-1].id) if page else cursor_text or None
        body = {"hasNextPage": len(records) > limit, "cursor": cursor, "data": data}
        if raw:  # injected records: on the first page, whatever the query
            data.append(MARK)
            return Response(200, splice(json_response(200, body).body, raw), _JSON_HEADERS)
        return json_response(200, body)


_JSON_HEADERS = [("Content-Type", "application/json")]


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return PL_PAGE_LIMIT
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or int(raw) < 1:
        raise HttpError(400, f"limit must be a positive integer, got {raw!r}")
    return min(int(raw), PL_PAGE_LIMIT)


_FILTER_FIELDS = {"status": "status", "type": "type", "VendorId": "vendor_id",
                  "PurchaseOrderId": "po_id"}  # fmt: skip


def _matches(record: Any, filters: Mapping[str, str]) -> bool:
    for name, wanted in filters.items():
        attribute = _FILTER_FIELDS[name]
        if not hasattr(record, attribute):
            continue
        if str(getattr(record, attribute)) not in {part.strip() for part in wanted.split(",")}:
            return False
    return True


def summary(world: World) -> dict[str, Any]:
    counts = {kind: len(world.table(kind)) for kind in PL_RESOURCES}
    return {
        "counts": counts,
        "purchaseOrderStatuses": _tally(po.status for po in world.purchase_orders.values()),
        "billStatuses": _tally(bill.status for bill in world.bills.values()),
    }


def _tally(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))
