"""Wire shapes: how the simulated records look in ServiceTrade API responses."""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from simulator.model import (
    Address,
    ClockEvent,
    Comment,
    Company,
    Invoice,
    InvoiceItem,
    Job,
    JobItem,
    Location,
    Record,
    User,
    World,
)

CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _address(address: Address) -> dict[str, Any]:
    return {
        "street": address.street,
        "city": address.city,
        "state": address.state,
        "postalCode": address.postal_code,
    }


class Renderer:
    """Renders records of one world with object `uri`s under `base_uri` (".../api")."""

    def __init__(self, world: World, base_uri: str) -> None:
        self.world = world
        self.base_uri = base_uri.rstrip("/")

    def uri(self, kind: str, record_id: int) -> str:
        return f"{self.base_uri}/{kind}/{record_id}"

    def company_stub(self, company_id: int) -> dict[str, Any]:
        company = self.world.companies[company_id]
        return {
            "id": company.id,
            "uri": self.uri("company", company.id),
            "name": company.name,
            "status": company.status,
        }

    def location_stub(self, location_id: int) -> dict[str, Any]:
        location = self.world.locations[location_id]
        return {
            "id": location.id,
            "uri": self.uri("location", location.id),
            "name": location.name,
            "status": location.status,
        }

    def user_stub(self, user_id: int) -> dict[str, Any]:
        user = self.world.users[user_id]
        return {
            "id": user.id,
            "uri": self.uri("user", user.id),
            "name": user.name,
            "status": user.status,
        }

    def render(self, kind: str, record: Record) -> dict[str, Any]:
        """The wire object for `record`, with any persistent corruption applied."""
        if isinstance(record, Company):
            data = self._company(record)
        elif isinstance(record, Location):
            data = self._location(record)
        elif isinstance(record, User):
            data = self._user(record)
        elif isinstance(record, Job):
            data = self._job(record)
        elif isinstance(record, Invoice):
            data = self._invoice(record)
        elif isinstance(record, JobItem):
            data = self._job_item(record)
        elif isinstance(record, ClockEvent):
            data = self._clock_event(record)
        elif isinstance(record, Comment):
            data = self._comment(record)
        else:
            raise TypeError(f"not a ServiceTrade record: {type(record).__name__}")
        operations = self.world.corruptions.get((kind, record.id))
        if operations:
            data = apply_corruption(data, operations)
        return data

    def _company(self, company: Company) -> dict[str, Any]:
        return {
            "id": company.id,
            "uri": self.uri("company", company.id),
            "name": company.name,
            "status": company.status,
            "refNumber": company.ref_number,
            "phoneNumber": company.phone,
            "address": _address(company.address),
            "customer": company.customer,
            "vendor": company.vendor,
            "created": company.created,
            "updated": company.updated,
        }

    def _location(self, location: Location) -> dict[str, Any]:
        group = self.world.tax_groups.get(location.tax_group_id or 0)
        return {
            "id": location.id,
            "uri": self.uri("location", location.id),
            "name": location.name,
            "refNumber": location.ref_number,
            "phoneNumber": location.phone,
            "email": location.email,
            "status": location.status,
            "taxable": location.taxable,
            "address": _address(location.address),
            "company": self.company_stub(location.company_id),
            "taxGroup": None if group is None else {"id": group.id, "name": group.name},
            "created": location.created,
            "updated": location.updated,
        }

    def _user(self, user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "uri": self.uri("user", user.id),
            "name": user.name,
            "firstName": user.first_name,
            "lastName": user.last_name,
            "email": user.email,
            "status": user.status,
            "isTech": user.is_tech,
            "isHelper": user.is_helper,
            "company": self.company_stub(user.company_id),
            "created": user.created,
            "updated": user.updated,
        }

    def _job(self, job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "uri": self.uri("job", job.id),
            "number": job.number,
            "name": job.name,
            "type": job.type,
            "status": job.status,
            "description": job.description,
            "customer": self.company_stub(job.customer_id),
            "location": self.location_stub(job.location_id),
            "vendor": self.company_stub(job.vendor_id),
            "scheduledDate": job.scheduled_date,
            "completedOn": job.completed_on,
            "created": job.created,
            "updated": job.updated,
        }

    def _item(self, item: InvoiceItem) -> dict[str, Any]:
        lib = self.world.lib_items[item.lib_item_id]
        line = self.world.service_lines[item.service_line_id]
        return {
            "id": item.id,
            "uri": f"{self.base_uri}/invoiceitem/{item.id}",
            "description": item.description,
            "quantity": item.quantity,
            "price": _cents(item.price),
            "cost": _cents(item.cost),
            "taxable": item.taxable,
            "libItem": {"id": lib.id, "name": lib.name, "code": lib.code, "type": lib.type},
            "serviceLine": {"id": line.id, "name": line.name, "abbr": line.abbr},
        }

    def _invoice(self, invoice: Invoice) -> dict[str, Any]:
        subtotal, tax = invoice_totals(self.world, invoice)
        job: dict[str, Any] | None = None
        if invoice.job_id is not None:
            job_record = self.world.jobs[invoice.job_id]
            job = {
                "id": job_record.id,
                "uri": self.uri("job", job_record.id),
                "number": job_record.number,
            }
        return {
            "id": invoice.id,
            "uri": self.uri("invoice", invoice.id),
            "invoiceNumber": invoice.invoice_number,
            "name": invoice.name,
            "status": invoice.status,
            "type": invoice.type,
            "transactionDate": invoice.transaction_date,
            "partial": invoice.partial,
            "customer": self.company_stub(invoice.customer_id),
            "vendor": self.company_stub(invoice.vendor_id),
            "location": self.location_stub(invoice.location_id),
            "job": job,
            "subtotal": subtotal,
            "taxTotal": tax,
            "totalPrice": subtotal + tax,
            "items": [self._item(item) for item in invoice.items],
            "created": invoice.created,
            "updated": invoice.updated,
        }

    def job_stub(self, job_id: int) -> dict[str, Any]:
        job = self.world.jobs[job_id]
        return {"id": job.id, "uri": self.uri("job", job.id), "number": job.number}

    def _job_item(self, item: JobItem) -> dict[str, Any]:
        lib = self.world.lib_items[item.lib_item_id]
        line = self.world.service_lines[item.service_line_id]
        source: dict[str, Any] | None = None
        if item.source == "stock":
            source = {"type": "stock"}
            warehouse = self.world.pl_warehouses.get(item.warehouse_id or 0)
            if warehouse is not None:
                source["warehouse"] = {"id": warehouse.id, "name": warehouse.name}
        elif item.source == "vendor":
            vendor = self.world.pl_vendors.get(item.vendor_id or 0)
            source = {
                "type": "vendor",
                "vendor": None if vendor is None else {"id": vendor.id, "name": vendor.name},
                "poNumber": item.po_number,
                "poLineItemId": item.po_line_id,
            }
        return {
            "id": item.id,
            "uri": self.uri("jobitem", item.id),
            "name": lib.name,
            "description": item.description,
            "quantity": item.quantity,
            "cost": _cents(item.cost),
            "usedOn": item.used_on,
            "libItem": {"id": lib.id, "name": lib.name, "code": lib.code, "type": lib.type},
            "serviceLine": {"id": line.id, "name": line.name, "abbr": line.abbr},
            "job": self.job_stub(item.job_id),
            "user": self.user_stub(item.user_id),
            "source": source,
            "created": item.created,
            "updated": item.updated,
        }

    def _clock_event(self, event: ClockEvent) -> dict[str, Any]:
        return {
            "id": event.id,
            "uri": self.uri("clock", event.id),
            "user": self.user_stub(event.user_id),
            "job": self.job_stub(event.job_id),
            "appointment": None,
            "activity": event.activity,
            "eventType": event.event_type,
            "eventTime": event.event_time,
            "source": event.source,
            "created": event.created,
            "updated": event.updated,
        }

    def _comment(self, comment: Comment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "uri": self.uri("comment", comment.id),
            "entityType": comment.entity_type,
            "entityId": comment.entity_id,
            "content": comment.content,
            "author": self.user_stub(comment.author_id),
            "created": comment.created,
            "updated": comment.updated,
        }


def invoice_totals(world: World, invoice: Invoice) -> tuple[Decimal, Decimal]:
    """(subtotal, tax) to the cent: lines rounded, tax on taxable lines at the location's group."""
    location = world.locations[invoice.location_id]
    group = world.tax_groups.get(location.tax_group_id or 0)
    rate = group.rate if group is not None else Decimal(0)
    lines = [(_cents(item.quantity * item.price), item.taxable) for item in invoice.items]
    subtotal = sum((amount for amount, _ in lines), Decimal("0.00"))
    taxable = sum((amount for amount, is_taxable in lines if is_taxable), Decimal("0.00"))
    return _cents(subtotal), _cents(taxable * rate)


def apply_corruption(
    data: dict[str, Any], operations: list[tuple[str, tuple[str | int, ...], Any]]
) -> dict[str, Any]:
    result = copy.deepcopy(data)
    for operation, path, value in operations:
        parent: Any = result
        try:
            for step in path[:-1]:
                parent = parent[step]
            if operation == "set":
                parent[path[-1]] = value
            elif isinstance(parent, dict):
                parent.pop(path[-1], None)
        except (KeyError, IndexError, TypeError):
            continue  # the path no longer exists (e.g. the item was removed)
    return result
