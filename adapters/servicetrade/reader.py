"""Tolerant reader: ServiceTrade wire records into `domain.source` snapshots.

Reads only the fields recon needs; extra fields are ignored and optional ones may be missing.
Anything unusable raises `domain.source.PayloadError` naming the field, what was expected and
what came: so does a value Sage cannot hold (`domain.bounds`: amounts, quantities, numbers,
ids, text, dates) and an ``updated`` stamp, when present, outside 2000 to 2099
(docs/hostile-input.md). Amounts must arrive exact: Decimal (JSON parsed with
``parse_float=Decimal``), int or a numeric string; floats and booleans are refused.

Defaults for optional fields (the real API's guarantees are not documented):
company/location/user ``status`` "active"; company ``customer``/``vendor`` false; location
``taxable`` true; job ``type`` "unknown"; invoice ``type`` "invoice"; item ``taxable`` false;
invoice ``location``/``job`` "" when absent; ``items`` empty when absent; invoice
``totalPrice``/``taxTotal`` None when absent (what ServiceTrade billed; the builder then
computes the tax), ``partial`` false; job item ``user``
"" when absent (the technician), ``source`` "stock" when absent or null (labor carries none),
``serviceLine``/``description``/``libItem.code`` ""; clock event ``job`` "" when absent,
``activity`` "onsite".
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pendulum

from adapters.http import wire
from adapters.http.wire import (
    MAX_ID,
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
    ClockEvent,
    Company,
    Invoice,
    InvoiceItem,
    Job,
    JobItem,
    Location,
    PayloadError,
    Snapshot,
    User,
)

KINDS = ("company", "location", "user", "job", "invoice", "jobitem", "clockevent")
#: Job item sources recon distinguishes: taken from stock, or bought from a vendor for the job.
JOB_ITEM_SOURCES = ("stock", "vendor")
CLOCK_EVENT_TYPES = ("clockin", "clockout")
#: Unix seconds accepted for dates: 1970-01-01 up to 9999-12-31.
_MAX_TIMESTAMP = 253_402_300_799


def source_id_of(raw: object) -> str | None:
    """The record's id as text when the payload has a usable one (also for malformed ones)."""
    return wire.source_id_of(raw, "id")


def updated_of(raw: object) -> int | None:
    """The record's `updated` time (unix s) for cursors; None when absent, not an integer or
    outside ``domain.bounds.FIRST_STAMP`` to ``LAST_STAMP`` (``read_record`` quarantines those)."""
    if not isinstance(raw, Mapping):
        return None
    return stamp_value(raw.get("updated"))


def read_record(kind: str, raw: object, *, tz: str) -> Snapshot:
    """The snapshot of one wire record of `kind`; `tz` is the account's IANA time zone.

    Raises PayloadError for an unusable record, ValueError for an unknown time zone (a
    configuration fault, not the payload's).
    """
    _check_zone(tz)
    if kind not in KINDS:
        raise PayloadError(f"unknown source kind {kind!r}; expected one of {list(KINDS)}")
    if not isinstance(raw, Mapping):
        raise PayloadError(f"{kind}: expected a JSON object, got {kind_of(raw)}")
    length = bounds.JOB_ITEM_ID_LENGTH if kind == "jobitem" else bounds.SOURCE_ID_LENGTH
    record = _Fields(kind, raw, id_length=length)
    updated = raw.get("updated")
    if updated is not None and stamp_value(updated) is None:
        raise PayloadError(
            f"{record.where('updated')}: expected {stamp_expected()}, got {kind_of(updated)}"
        )
    if kind == "company":
        return _company(record)
    if kind == "location":
        return _location(record)
    if kind == "user":
        return _user(record)
    if kind == "job":
        return _job(record)
    if kind == "jobitem":
        return _job_item(record, tz)
    if kind == "clockevent":
        return _clock_event(record)
    return _invoice(record, tz)


def _is_digits(text: str) -> bool:
    """ASCII digits only, and few enough to be a number we care about."""
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


@functools.cache
def _check_zone(tz: str) -> str:
    try:
        pendulum.timezone(tz)
    except Exception as exc:  # pendulum raises its own InvalidTimezone
        raise ValueError(f"tz must be an IANA time zone name, got {tz!r}") from exc
    return tz


class _Fields(Fields):
    """ServiceTrade's record fields: `id`; amounts as JSON numbers (exact) or numeric strings."""

    float_advice = " (parse the JSON with parse_float=Decimal)"

    def ref(self, name: str, *, required: bool) -> str:
        """The id of a nested reference: a `{id, ...}` stub, or a bare id (compound shape)."""
        value = self.raw.get(name)
        if value is None:
            value = self.raw.get(f"{name}Id")
        if value is None:
            if required:
                raise PayloadError(
                    f"{self.where(name)}: missing (expected a {{id, ...}} reference)"
                )
            return ""
        if isinstance(value, Mapping):
            return id_value(value.get("id"), f"{self.where(name)}.id")
        return id_value(value, self.where(name))

    def nested_text(self, name: str, field: str) -> str:
        value = self.raw.get(name)
        if value is None:
            return ""
        if isinstance(value, str):
            return string_value(value, self.where(name))
        if not isinstance(value, Mapping):
            raise PayloadError(f"{self.where(name)}: expected an object, got {kind_of(value)}")
        inner = value.get(field)
        if inner is None:
            return ""
        if not isinstance(inner, str):
            raise PayloadError(
                f"{self.where(name)}.{field}: expected a string, got {kind_of(inner)}"
            )
        return string_value(inner, f"{self.where(name)}.{field}")

    def timestamp(self, name: str) -> int:
        value = self.raw.get(name)
        if isinstance(value, str) and _is_digits(value.strip()):
            value = int(value.strip())
        if (
            isinstance(value, Decimal)
            and value.is_finite()
            and abs(value) <= _MAX_TIMESTAMP
            and value == value.to_integral_value()
        ):
            value = int(value)
        if value is None:
            raise PayloadError(f"{self.where(name)}: missing (expected Unix seconds)")
        if isinstance(value, bool) or not isinstance(value, int):
            raise PayloadError(f"{self.where(name)}: expected Unix seconds, got {kind_of(value)}")
        if not 0 <= value <= _MAX_TIMESTAMP:
            raise PayloadError(f"{self.where(name)}: expected Unix seconds, got {value!r}")
        return value


def _address(record: _Fields) -> Address:
    value = record.raw.get("address")
    if isinstance(value, Mapping):
        nested = _Mapping(record, "address", value)
        return Address(
            street=nested.text("street"),
            city=nested.text("city"),
            state=nested.text("state"),
            postal_code=nested.text("postalCode"),
        )
    if value is not None and not isinstance(value, str):
        raise PayloadError(f"{record.where('address')}: expected an object, got {kind_of(value)}")
    # Write-side flat spelling, accepted on reads too.
    flat = "" if value is None else string_value(value, record.where("address"))
    return Address(
        street=record.text("addressStreet") or flat,
        city=record.text("addressCity"),
        state=record.text("addressState"),
        postal_code=record.text("addressPostalCode"),
    )


class _Mapping:
    """A nested object without an id (address), reporting errors under its parent."""

    def __init__(self, parent: _Fields, name: str, raw: Mapping[str, Any]) -> None:
        self.parent = parent
        self.name = name
        self.raw = raw

    def text(self, field: str) -> str:
        value = self.raw.get(field)
        if value is None:
            return ""
        return string_value(value, f"{self.parent.where(self.name)}.{field}")


def _company(record: _Fields) -> Company:
    return Company(
        id=record.id,
        name=record.text("name", required=True),
        status=record.text("status", default="active"),
        customer=record.flag("customer", default=False),
        vendor=record.flag("vendor", default=False),
        phone=record.text("phoneNumber"),
        address=_address(record),
        ref_number=record.text("refNumber"),
    )


def _location(record: _Fields) -> Location:
    return Location(
        id=record.id,
        name=record.text("name", required=True),
        company_id=record.ref("company", required=True),
        status=record.text("status", default="active"),
        taxable=record.flag("taxable", default=True),
        tax_group=record.nested_text("taxGroup", "name"),
        phone=record.text("phoneNumber"),
        address=_address(record),
        ref_number=record.text("refNumber"),
    )


def _user(record: _Fields) -> User:
    name = record.text("name")
    if not name:
        name = " ".join(
            part for part in (record.text("firstName"), record.text("lastName")) if part
        )
    if not name:
        raise PayloadError(f"{record.where('name')}: missing (expected name or firstName/lastName)")
    return User(
        id=record.id,
        name=name,
        status=record.text("status", default="active"),
        is_tech=record.flag("isTech", default=False),
        email=record.text("email"),
    )


def _job(record: _Fields) -> Job:
    number = record.raw.get("number")
    if isinstance(number, str) and _is_digits(number.strip()):
        number = int(number.strip())
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < MAX_ID:
        raise PayloadError(
            f"{record.where('number')}: expected a job number (integer), got {kind_of(number)}"
        )
    return Job(
        id=record.id,
        number=str(number),
        name=record.text("name"),
        status=record.text("status", required=True),
        job_type=record.text("type", default="unknown"),
        customer_id=record.ref("customer", required=True),
        location_id=record.ref("location", required=True),
        description=record.text("description"),
    )


def _item_type(raw: object, where: str) -> str:
    if not isinstance(raw, str):
        return ""
    return string_value(raw, where).lower().replace(" ", "_")


def _invoice_item(parent: _Fields, index: int, raw: object) -> InvoiceItem:
    where = f"{parent.where('items')}[{index}]"
    if not isinstance(raw, Mapping):
        raise PayloadError(f"{where}: expected an item object, got {kind_of(raw)}")
    item = _Fields("item", raw, where)
    lib = raw.get("libItem")
    if lib is not None and not isinstance(lib, Mapping):
        raise PayloadError(f"{where}.libItem: expected an object, got {kind_of(lib)}")
    description = item.text("description")
    if not description and lib is not None:
        description = _Mapping(item, "libItem", lib).text("name")
    quantity = item.amount("quantity", bound=bounds.QUANTITY)
    price = item.amount("price", bound=bounds.PRICE)
    check_bound(cents(quantity * price), bounds.MONEY, f"{where} quantity * price")
    return InvoiceItem(
        id=item.id,
        description=description,
        quantity=quantity,
        price=price,
        taxable=item.flag("taxable", default=False),
        item_type=_item_type(lib.get("type"), f"{where}.libItem.type") if lib is not None else "",
        service_line=item.nested_text("serviceLine", "name"),
    )


def _local_date(record: _Fields, name: str, tz: str) -> str:
    timestamp = record.timestamp(name)
    try:
        day = pendulum.from_timestamp(timestamp, tz=tz).date()
    except (OverflowError, ValueError, OSError) as exc:
        raise PayloadError(
            f"{record.where(name)}: cannot place {timestamp} in {tz}: {exc}"
        ) from exc
    return business_date(day, record.where(name))


def _job_item_source(record: _Fields) -> str:
    value = record.raw.get("source")
    if isinstance(value, Mapping):
        value = value.get("type")
        if value is None:
            raise PayloadError(
                f"{record.where('source')}.type: missing (expected one of {list(JOB_ITEM_SOURCES)})"
            )
    if value is None:
        return "stock"
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in JOB_ITEM_SOURCES:
        raise PayloadError(
            f"{record.where('source')}: expected one of {list(JOB_ITEM_SOURCES)}, got "
            f"{kind_of(value)}"
        )
    return text


def _job_item(record: _Fields, tz: str) -> JobItem:
    lib = record.raw.get("libItem")
    if lib is not None and not isinstance(lib, Mapping):
        raise PayloadError(f"{record.where('libItem')}: expected an object, got {kind_of(lib)}")
    library = _Mapping(record, "libItem", lib or {})
    name = library.text("name") or record.text("name")
    if not name:
        raise PayloadError(f"{record.where('libItem')}.name: missing (expected the item's name)")
    item_type = _item_type(library.raw.get("type"), f"{record.where('libItem')}.type")
    quantity = record.amount("quantity", bound=bounds.QUANTITY)
    # A labor item's cost is the technician's hourly rate, Sage's dlypyr.payrte.
    cost = record.amount("cost", bound=bounds.PAY_RATE if item_type == "labor" else bounds.PRICE)
    check_bound(cents(quantity * cost), bounds.MONEY, record.where("quantity * cost"))
    return JobItem(
        id=record.id,
        job_id=record.ref("job", required=True),
        item_type=item_type,
        name=name,
        code=library.text("code"),
        quantity=quantity,
        cost=cost,
        used_on=_local_date(record, "usedOn", tz),
        technician_id=record.ref("user", required=False),
        source=_job_item_source(record),
        service_line=record.nested_text("serviceLine", "name"),
        description=record.text("description"),
    )


def _clock_event(record: _Fields) -> ClockEvent:
    event_type = record.text("eventType", required=True).lower()
    if event_type not in CLOCK_EVENT_TYPES:
        raise PayloadError(
            f"{record.where('eventType')}: expected one of {list(CLOCK_EVENT_TYPES)}, got "
            f"{event_type!r}"
        )
    return ClockEvent(
        id=record.id,
        user_id=record.ref("user", required=True),
        job_id=record.ref("job", required=False),
        event_type=event_type,
        activity=record.text("activity", default="onsite").lower() or "onsite",
        event_time=record.timestamp("eventTime"),
    )


def _invoice(record: _Fields, tz: str) -> Invoice:
    items_raw = record.raw.get("items")
    if items_raw is None:
        items_raw = []
    if not isinstance(items_raw, list):
        raise PayloadError(f"{record.where('items')}: expected a list, got {kind_of(items_raw)}")
    items = tuple(_invoice_item(record, index, raw) for index, raw in enumerate(items_raw))
    transaction_date = _local_date(record, "transactionDate", tz)
    lines = sum((cents(item.quantity * item.price) for item in items), ZERO)
    check_bound(lines, bounds.MONEY, record.where("items (their total)"))
    total_price = _optional_amount(record, "totalPrice")
    tax_total = _optional_amount(record, "taxTotal")
    if total_price is None and tax_total is not None:
        check_bound(lines + tax_total, bounds.MONEY, record.where("items and taxTotal"))
    return Invoice(
        id=record.id,
        number=record.number("invoiceNumber"),
        status=record.text("status", required=True),
        invoice_type=record.text("type", default="invoice"),
        transaction_date=transaction_date,
        customer_id=record.ref("customer", required=True),
        location_id=record.ref("location", required=False),
        job_id=record.ref("job", required=False),
        items=items,
        total_price=total_price,
        tax_total=tax_total,
        partial=record.flag("partial", default=False),
    )


def _optional_amount(record: _Fields, name: str) -> Decimal | None:
    """An exact amount when the record has one; None when absent or null (never a float)."""
    if record.raw.get(name) is None:
        return None
    return record.amount(name)
