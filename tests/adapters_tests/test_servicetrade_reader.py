"""The tolerant reader: wire records become snapshots or a PayloadError, nothing else."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.servicetrade import read_record, source_id_of, updated_of
from domain.source import (
    ClockEvent,
    Company,
    Invoice,
    InvoiceItem,
    Job,
    JobItem,
    Location,
    PayloadError,
    User,
    from_payload,
    to_payload,
)
from simulator import jsonio
from simulator.model import World
from simulator.render import Renderer
from simulator.scenario import CORRUPTIBLE_KINDS, advance, corrupt, generate
from tests.fakes import json_paths

TZ = "America/New_York"
KINDS = ("company", "location", "user", "job", "invoice", "jobitem", "clockevent")
SNAPSHOTS = (Company, Location, User, Job, Invoice, JobItem, ClockEvent)


def wire_records(world: World, kind: str) -> list[dict[str, Any]]:
    """Records exactly as a client sees them: rendered, written, parsed with Decimal."""
    renderer = Renderer(world, "http://sim/api")
    text = jsonio.dumps([renderer.render(kind, record) for record in world.table(kind).values()])
    records: list[dict[str, Any]] = jsonio.loads(text)
    return records


@pytest.fixture(scope="module")
def world() -> World:
    world = generate(7)
    advance(world, 4)
    return world


INVOICE: dict[str, Any] = {
    "id": 2500000000000122,
    "uri": "https://api.servicetrade.com/api/invoice/2500000000000122",
    "invoiceNumber": "INV-10234",
    "status": "pending_accounting",
    "type": "invoice",
    "transactionDate": 1790910000,  # 2026-10-02 02:20 UTC: still Oct 1 in New York
    "customer": {"id": 2500000000000110, "name": "Piedmont Animal Hospital"},
    "location": {"id": 2500000000000111, "name": "North Campus"},
    "job": {"id": 2500000000000118, "number": 10002},
    "totalPrice": Decimal("723.53"),
    "items": [
        {
            "id": 2500000000000123,
            "description": "Regular Labor",
            "quantity": Decimal("3.75"),
            "price": Decimal("125.00"),
            "taxable": False,
            "libItem": {"id": 1, "name": "Regular Labor", "type": "labor"},
            "serviceLine": {"id": 2, "name": "HVAC", "abbr": "HVAC"},
        },
        {
            "id": 2500000000000124,
            "quantity": 3,
            "price": "79.00",
            "taxable": True,
            "libItem": {
                "id": 3,
                "name": "Fire Extinguisher 10lb ABC",
                "type": "General Conditions",
            },
        },
    ],
}


JOB_ITEM: dict[str, Any] = {
    "id": 2500500000000004,
    "name": "Overtime Labor",
    "description": "Overtime Labor",
    "quantity": Decimal("1.25"),
    "cost": Decimal("34.00"),
    "usedOn": 1790910000,  # 2026-10-02 03:00 UTC: still Oct 1 in New York
    "libItem": {"id": 11, "name": "Overtime Labor", "code": "LAB-OT", "type": "labor"},
    "serviceLine": {"id": 6, "name": "HVAC", "abbr": "HVAC"},
    "job": {"id": 2500000000000118, "number": 10002},
    "user": {"id": 2500000000000044, "name": "Andre Lowery"},
    "source": None,
    "created": 1790949600,
    "updated": 1790949600,
}
CLOCK_EVENT: dict[str, Any] = {
    "id": 2500500000000002,
    "user": {"id": 2500000000000044, "name": "Andre Lowery"},
    "job": {"id": 2500000000000118, "number": 10002},
    "appointment": None,
    "activity": "onsite",
    "eventType": "clockin",
    "eventTime": 1790936100,
    "source": "mobile",
    "created": 1790936100,
    "updated": 1790936100,
}


# --- every simulator record parses --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_simulator_record_parses(world: World, kind: str) -> None:
    records = wire_records(world, kind)
    assert records
    for raw in records:
        snapshot = read_record(kind, raw, tz=TZ)
        assert snapshot.kind == kind
        assert snapshot.id == str(raw["id"])
        assert from_payload(kind, to_payload(snapshot)) == snapshot


def test_simulator_invoices_read_with_exact_amounts(world: World) -> None:
    for raw in wire_records(world, "invoice"):
        invoice = read_record("invoice", raw, tz=TZ)
        assert isinstance(invoice, Invoice)
        assert invoice.customer_id == str(raw["customer"]["id"])
        assert len(invoice.items) == len(raw["items"])
        for item, wire_item in zip(invoice.items, raw["items"], strict=True):
            assert item.price == Decimal(str(wire_item["price"]))
            assert item.item_type in {"labor", "part", "material", "fee", "inspection"}
            assert item.service_line in {"HVAC", "Plumbing", "Refrigeration", "Fire Protection"}


@pytest.mark.parametrize("kind", CORRUPTIBLE_KINDS)
def test_corrupted_simulator_records_are_rejected_with_their_id(kind: str) -> None:
    world = generate(7)
    ids = corrupt(world, kind, 5)
    by_id = {raw["id"]: raw for raw in wire_records(world, kind)}
    for record_id in ids:
        with pytest.raises(PayloadError):
            read_record(kind, by_id[record_id], tz=TZ)
        assert source_id_of(by_id[record_id]) == str(record_id)


# --- the mapping --------------------------------------------------------------------------------


def test_an_invoice_maps_to_its_snapshot() -> None:
    invoice = read_record("invoice", INVOICE, tz=TZ)
    assert invoice == Invoice(
        id="2500000000000122",
        number="INV-10234",
        status="pending_accounting",
        invoice_type="invoice",
        transaction_date="2026-10-01",
        customer_id="2500000000000110",
        location_id="2500000000000111",
        job_id="2500000000000118",
        items=(
            InvoiceItem(
                id="2500000000000123",
                description="Regular Labor",
                quantity=Decimal("3.75"),
                price=Decimal("125.00"),
                taxable=False,
                item_type="labor",
                service_line="HVAC",
            ),
            InvoiceItem(
                id="2500000000000124",
                description="Fire Extinguisher 10lb ABC",
                quantity=Decimal(3),
                price=Decimal("79.00"),
                taxable=True,
                item_type="general_conditions",
                service_line="",
            ),
        ),
        total_price=Decimal("723.53"),  # what ServiceTrade billed; no taxTotal sent: None
    )


def test_a_labor_job_item_maps_to_its_snapshot() -> None:
    assert read_record("jobitem", JOB_ITEM, tz=TZ) == JobItem(
        id="2500500000000004",
        job_id="2500000000000118",
        item_type="labor",
        name="Overtime Labor",
        code="LAB-OT",
        quantity=Decimal("1.25"),
        cost=Decimal("34.00"),
        used_on="2026-10-01",
        technician_id="2500000000000044",
        source="stock",
        service_line="HVAC",
        description="Overtime Labor",
    )


def test_a_part_bought_for_the_job_has_the_vendor_source() -> None:
    raw = {
        **JOB_ITEM,
        "libItem": {"id": 19, "name": "Programmable Thermostat", "code": "PRT-TSTAT",
                    "type": "Part"},
        "source": {"type": "vendor", "vendor": {"id": 1007, "name": "Dogwood"},
                   "poNumber": "PO-4003"},
    }  # fmt: skip
    item = read_record("jobitem", raw, tz=TZ)
    assert isinstance(item, JobItem)
    assert (item.source, item.item_type, item.code) == ("vendor", "part", "PRT-TSTAT")
    stock = read_record("jobitem", {**raw, "source": {"type": "stock"}}, tz=TZ)
    assert isinstance(stock, JobItem) and stock.source == "stock"


def test_a_clock_event_maps_to_its_snapshot() -> None:
    assert read_record("clockevent", CLOCK_EVENT, tz=TZ) == ClockEvent(
        id="2500500000000002",
        user_id="2500000000000044",
        job_id="2500000000000118",
        event_type="clockin",
        activity="onsite",
        event_time=1790936100,
    )
    bare = {"id": 3, "user": 4, "eventType": "CLOCKOUT", "eventTime": "1790936100"}
    event = read_record("clockevent", bare, tz=TZ)
    assert isinstance(event, ClockEvent)
    assert (event.job_id, event.event_type, event.activity) == ("", "clockout", "onsite")


def test_the_transaction_date_is_the_local_date_in_the_given_zone() -> None:
    invoice = read_record("invoice", INVOICE, tz="UTC")
    assert isinstance(invoice, Invoice)
    assert invoice.transaction_date == "2026-10-02"


def test_optional_fields_may_be_missing() -> None:
    company = read_record("company", {"id": 5, "name": "Oakwood Medical Plaza"}, tz=TZ)
    assert company == Company(
        id="5", name="Oakwood Medical Plaza", status="active", customer=False, vendor=False
    )
    location = read_record(
        "location", {"id": "7", "name": "Main", "companyId": 5, "taxGroup": None}, tz=TZ
    )
    assert isinstance(location, Location)
    assert (location.company_id, location.taxable, location.tax_group) == ("5", True, "")
    user = read_record("user", {"id": 9, "firstName": "Pam", "lastName": "Whitley"}, tz=TZ)
    assert isinstance(user, User) and user.name == "Pam Whitley"


def test_extra_fields_are_ignored() -> None:
    raw = {**INVOICE, "balance": Decimal("5.00"), "tags": [{"name": "x"}], "notes": None}
    assert read_record("invoice", raw, tz=TZ) == read_record("invoice", INVOICE, tz=TZ)


# --- rejections ---------------------------------------------------------------------------------


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
        ("invoice", without(INVOICE, "id"), r"invoice\.id: missing"),
        ("invoice", replaced(INVOICE, True, "id"), r"expected an integer id, got boolean"),
        ("company", {"id": 1}, r"company 1: name: missing"),
        ("company", {"id": 1, "name": "  "}, r"expected a non-empty string"),
        ("invoice", replaced(INVOICE, "abc", "items", 0, "quantity"), r"quantity.*'abc'"),
        ("invoice", replaced(INVOICE, 12.5, "items", 0, "price"), r"price.*float.*parse_float"),
        ("invoice", replaced(INVOICE, True, "items", 0, "price"), r"price.*boolean"),
        ("invoice", without(INVOICE, "items", 0, "quantity"), r"quantity: missing"),
        ("invoice", without(INVOICE, "customer"), r"customer: missing"),
        ("invoice", replaced(INVOICE, {"name": "x"}, "customer"), r"customer\.id: missing"),
        ("invoice", replaced(INVOICE, "yesterday", "transactionDate"), r"Unix seconds"),
        ("invoice", replaced(INVOICE, {"a": 1}, "items"), r"items: expected a list"),
        ("invoice", replaced(INVOICE, ["x"], "items"), r"items\]?\[0\]: expected an item"),
        ("invoice", without(INVOICE, "status"), r"status: missing"),
        ("job", {"id": 1, "number": "N/A", "status": "scheduled"}, r"job number"),
        ("location", {"id": 1, "name": "Main"}, r"company: missing"),
        ("location", {"id": 1, "name": "Main", "companyId": 2, "taxable": "yes"}, r"true or false"),
        ("user", {"id": 1, "isTech": True}, r"name: missing"),
        ("jobitem", without(JOB_ITEM, "job"), r"job: missing"),
        ("jobitem", without(JOB_ITEM, "cost"), r"cost: missing"),
        ("jobitem", replaced(JOB_ITEM, "today", "usedOn"), r"usedOn: expected Unix seconds"),
        ("jobitem", replaced(JOB_ITEM, {"type": "truck"}, "source"), r"source: expected one of"),
        ("jobitem", without(replaced(JOB_ITEM, {}, "libItem"), "name"), r"libItem\.name: missing"),
        ("clockevent", without(CLOCK_EVENT, "user"), r"user: missing"),
        ("clockevent", replaced(CLOCK_EVENT, "lunch", "eventType"), r"clockin.*'lunch'"),
        ("clockevent", replaced(CLOCK_EVENT, "noon", "eventTime"), r"eventTime"),
        ("widget", {"id": 1}, r"unknown source kind 'widget'"),
        ("company", ["not", "an", "object"], r"expected a JSON object, got list"),
    ],
)
def test_invalid_payloads_are_rejected_with_a_reason(kind: str, raw: Any, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        read_record(kind, raw, tz=TZ)


def test_source_id_of_finds_the_id_when_there_is_one() -> None:
    assert source_id_of({"id": 2500000000000001, "name": None}) == "2500000000000001"
    assert source_id_of({"id": " 77 "}) == "77"
    assert source_id_of({"name": "no id"}) is None
    assert source_id_of({"id": True}) is None
    assert source_id_of(["id", 1]) is None


def test_updated_of_reads_the_cursor_time() -> None:
    assert updated_of({"id": 1, "updated": 1790910000}) == 1790910000
    assert updated_of({"id": 1, "updated": "1790910000"}) is None
    assert updated_of({"id": 1, "updated": True}) is None
    assert updated_of("junk") is None


def test_an_unknown_time_zone_is_a_configuration_error_not_a_payload_error() -> None:
    with pytest.raises(ValueError, match="IANA") as caught:
        read_record("invoice", INVOICE, tz="Mars/Olympus_Mons")
    assert not isinstance(caught.value, PayloadError)


# --- property: parse or raise PayloadError ------------------------------------------------------

FIELD_NAMES = (
    "id", "name", "status", "customer", "vendor", "location", "company", "companyId", "job",
    "number", "type", "items", "quantity", "price", "taxable", "libItem", "serviceLine",
    "transactionDate", "invoiceNumber", "address", "taxGroup", "isTech", "firstName", "lastName",
    "email", "phoneNumber", "refNumber", "description", "cost", "usedOn", "user", "source",
    "eventType", "eventTime", "activity",
)  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["12.50", "abc", "1e999999", "-0", "2500000000000001", " 3 ", "NaN"])
)
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
        snapshot = read_record(kind, raw, tz=TZ)
    except PayloadError:
        return
    assert isinstance(snapshot, SNAPSHOTS)
    assert from_payload(kind, to_payload(snapshot)) == snapshot


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), raw=records | json_values)
def test_arbitrary_json_parses_or_raises_payload_error(kind: str, raw: Any) -> None:
    assert_parses_or_rejects(kind, raw)


INVOICE_PATHS = json_paths(INVOICE)
USAGE_PATHS = [("jobitem", path) for path in json_paths(JOB_ITEM)] + [
    ("clockevent", path) for path in json_paths(CLOCK_EVENT)
]


@settings(max_examples=300)
@given(path=st.sampled_from(INVOICE_PATHS), value=json_values, drop=st.booleans())
def test_a_valid_invoice_with_any_one_field_broken_parses_or_raises(
    path: tuple[Any, ...], value: Any, drop: bool
) -> None:
    raw = without(INVOICE, *path) if drop else replaced(INVOICE, value, *path)
    assert_parses_or_rejects("invoice", raw)


@settings(max_examples=200)
@given(target=st.sampled_from(USAGE_PATHS), value=json_values, drop=st.booleans())
def test_a_valid_job_item_or_clock_event_with_any_one_field_broken_parses_or_raises(
    target: tuple[str, tuple[Any, ...]], value: Any, drop: bool
) -> None:
    kind, path = target
    valid = JOB_ITEM if kind == "jobitem" else CLOCK_EVENT
    raw = without(valid, *path) if drop else replaced(valid, value, *path)
    assert_parses_or_rejects(kind, raw)
