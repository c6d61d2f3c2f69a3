"""The simulator's PartsLedger API (same server, same world) and ServiceTrade's job items and
clock events, over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from simulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PL_CLIENT_ID,
    DEFAULT_PL_CLIENT_SECRET,
    RunningSimulator,
    run_simulator,
)
from simulator.partsledger import iso_time

PL_CREDENTIALS = {"client_id": DEFAULT_PL_CLIENT_ID, "client_secret": DEFAULT_PL_CLIENT_SECRET}
RESOURCES = ("vendors", "items", "warehouses", "purchase-orders", "shipment-receipts", "bills")


def body(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with run_simulator(seed=7) as running:
        yield running


def token(sim: RunningSimulator) -> str:
    response = httpx.post(f"{sim.partsledger_url}/auth/token", data=PL_CREDENTIALS)
    assert response.status_code == 200
    answer = body(response)
    assert answer["token_type"] == "Bearer" and answer["expires_in"] > 0
    return str(answer["access_token"])


@pytest.fixture
def pl(sim: RunningSimulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token(sim)}"}
    with httpx.Client(base_url=sim.partsledger_url + "/", headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def control(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.control_url + "/", timeout=10) as client:
        yield client


@pytest.fixture
def st(sim: RunningSimulator) -> Iterator[httpx.Client]:
    grant = httpx.post(
        f"{sim.base_url}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    ).json()
    headers = {"Authorization": f"Bearer {grant['access_token']}"}
    with httpx.Client(base_url=sim.base_url + "/", headers=headers, timeout=10) as client:
        yield client


def every_page(pl: httpx.Client, resource: str, **params: Any) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        answer = body(pl.get(resource, params={**params, **({"cursor": cursor} if cursor else {})}))
        pages.append(answer["data"])
        if not answer["hasNextPage"]:
            return pages
        cursor = answer["cursor"]


# --- auth ---------------------------------------------------------------------------------------


def test_token_exchange_and_bearer_auth(sim: RunningSimulator) -> None:
    url = sim.partsledger_url
    assert httpx.get(f"{url}/vendors").status_code == 401
    assert httpx.get(f"{url}/vendors", headers={"Authorization": "Bearer nope"}).status_code == 401
    refused = httpx.post(f"{url}/auth/token", json={**PL_CREDENTIALS, "client_secret": "x"})
    assert refused.status_code == 401 and body(refused)["error"] == "invalid_client"
    as_json = httpx.post(f"{url}/auth/token", json=PL_CREDENTIALS)
    assert as_json.status_code == 200
    bearer = {"Authorization": f"Bearer {as_json.json()['access_token']}"}
    assert httpx.get(f"{url}/vendors", headers=bearer).status_code == 200
    # ServiceTrade's tokens are not PartsLedger's, and the other way round
    assert httpx.get(f"{sim.base_url}/company", headers=bearer).status_code == 401
    sim.expire_auth()
    assert httpx.get(f"{url}/vendors", headers=bearer).status_code == 401
    stats = sim.summary()["authStats"]
    assert stats["partsledger:grant_refused"] == 1
    assert stats["partsledger:unauthorized"] == 3


# --- cursor paging ------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES)
def test_cursor_paging_returns_every_record_once_in_update_order(
    pl: httpx.Client, resource: str
) -> None:
    everything = body(pl.get(resource))
    assert everything["hasNextPage"] is False
    assert len(everything["data"]) <= 1000
    pages = every_page(pl, resource, limit=4)
    assert all(len(page) == 4 for page in pages[:-1]) and len(pages[-1]) <= 4
    records = [record for page in pages for record in page]
    assert records == everything["data"]
    assert len({record["_id"] for record in records}) == len(records)
    order = [(record["updatedAt"], record["_id"]) for record in records]
    assert order == sorted(order)


def test_updated_after_takes_iso_or_unix_seconds_inclusively(
    pl: httpx.Client, sim: RunningSimulator
) -> None:
    bills = sorted(sim.state.world.bills.values(), key=lambda b: (b.updated, b.id))
    pivot = bills[len(bills) // 2].updated
    expected = [bill.id for bill in bills if bill.updated >= pivot]
    for since in (iso_time(pivot), str(pivot), iso_time(pivot).replace(".000Z", "+00:00")):
        found = [r["_id"] for page in every_page(pl, "bills", updatedAfter=since) for r in page]
        assert found == expected


def test_paging_errors(pl: httpx.Client) -> None:
    assert pl.get("bills", params={"limit": 0}).status_code == 400
    assert pl.get("bills", params={"limit": "ten"}).status_code == 400
    bad_cursor = pl.get("bills", params={"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 400 and "cursor" in body(bad_cursor)["message"]
    assert pl.get("bills", params={"updatedAfter": "last week"}).status_code == 400
    assert body(pl.get("bills", params={"limit": 5000}))["hasNextPage"] is False
    assert pl.get("widgets").status_code == 404
    assert pl.get("bills/999999").status_code == 404
    assert pl.post("bills", json={}).status_code == 405


# --- shapes -------------------------------------------------------------------------------------


def test_money_and_quantities_are_decimal_strings_and_ids_integers(
    pl: httpx.Client, sim: RunningSimulator
) -> None:
    bill = body(pl.get("bills", params={"limit": 1}))["data"][0]
    assert isinstance(bill["_id"], int) and isinstance(bill["VendorId"], int)
    for name in ("subtotal", "tax", "freight", "amount"):
        assert isinstance(bill[name], str) and Decimal(bill[name]) >= 0
    line = bill["BillLineItems"][0]
    assert all(isinstance(line[name], str) for name in ("quantity", "unitCost", "amount"))
    assert Decimal(bill["amount"]) == Decimal(bill["subtotal"]) + Decimal(bill["tax"]) + Decimal(
        bill["freight"]
    )
    job_po = next(po for po in sim.state.world.purchase_orders.values() if po.lines[0].job_id)
    po = body(pl.get(f"purchase-orders/{job_po.id}"))
    assert po["POLineItems"][0]["JobId"] == job_po.lines[0].job_id
    assert po["POLineItems"][0]["JobId"] in sim.state.world.jobs
    trucks = [w for w in body(pl.get("warehouses"))["data"] if w["type"] == "truck"]
    assert trucks and all(w["technician"]["id"] in sim.state.world.users for w in trucks)


def test_list_filters(pl: httpx.Client) -> None:
    voided = body(pl.get("purchase-orders", params={"status": "voided"}))["data"]
    assert voided and {po["status"] for po in voided} == {"voided"}
    consumables = body(pl.get("items", params={"type": "consumable"}))["data"]
    assert consumables and {item["type"] for item in consumables} == {"consumable"}


# --- one world, shared control ------------------------------------------------------------------


def test_faults_reach_partsledger_and_can_be_aimed(
    pl: httpx.Client, st: httpx.Client, sim: RunningSimulator
) -> None:
    sim.inject({"rate_limit": {"count": 1, "retry_after": 2}})  # the next request to either
    limited = pl.get("vendors")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    sim.inject({"server_error": {"count": 1, "status": 502, "system": "partsledger"}})
    assert st.get("company").status_code == 200  # aimed at PartsLedger: ServiceTrade unharmed
    assert pl.get("vendors").status_code == 502
    assert pl.get("vendors").status_code == 200
    with pytest.raises(ValueError, match="system"):
        sim.inject({"drop": {"count": 1, "system": "quickbooks"}})


@pytest.mark.parametrize("kind", ["vendor", "bill", "purchase_order"])
def test_malformed_partsledger_records(
    pl: httpx.Client, control: httpx.Client, sim: RunningSimulator, kind: str
) -> None:
    answer = body(control.post("faults", json={"malformed": {"count": 2, "kind": kind}}))
    ids = answer["data"]["malformed"]["ids"]
    assert len(ids) == 2
    resource = {"vendor": "vendors", "bill": "bills", "purchase_order": "purchase-orders"}[kind]
    first = body(pl.get(f"{resource}/{ids[0]}"))
    assert first["_id"] == ids[0]
    assert {"kind": kind, "id": ids[0]} in sim.summary()["corrupted"]


def test_control_changes_a_partsledger_record_and_bumps_updated_at(
    pl: httpx.Client, control: httpx.Client, sim: RunningSimulator
) -> None:
    bill = next(b for b in sim.state.world.bills.values() if b.status == "open")
    before = body(pl.get(f"bills/{bill.id}"))
    changed = control.post(f"bill/{bill.id}", json={"status": "paid"})
    assert changed.status_code == 200 and body(changed)["data"]["status"] == "paid"
    after = body(pl.get(f"bills/{bill.id}"))
    assert after["status"] == "paid" and after["updatedAt"] > before["updatedAt"]
    assert control.post(f"bill/{bill.id}", json={"colour": "red"}).status_code == 400


def test_advance_adds_partsledger_activity_and_summary_counts_it(sim: RunningSimulator) -> None:
    before = sim.summary()["partsledger"]["counts"]
    happened = sim.advance(5)
    after = sim.summary()["partsledger"]["counts"]
    assert happened["bills_entered"] > 0
    assert after["bill"] > before["bill"] and after["receipt"] > before["receipt"]


def test_state_file_keeps_partsledger(tmp_path: Any) -> None:
    path = tmp_path / "state.json"
    with run_simulator(seed=3, state_file=path) as sim:
        sim.advance(2)
        bills = {bill.id: bill.status for bill in sim.state.world.bills.values()}
    with run_simulator(seed=3, state_file=path) as sim:
        assert {bill.id: bill.status for bill in sim.state.world.bills.values()} == bills


# --- ServiceTrade job items and clock events ----------------------------------------------------


def list_all(st: httpx.Client, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    first = body(st.get(path, params={**params, "page": 1}))["data"]
    records = list(first[key])
    for page in range(2, first["totalPages"] + 1):
        records += body(st.get(path, params={**params, "page": page}))["data"][key]
    return records


def test_job_items_and_clock_events_are_listed_and_filtered(
    st: httpx.Client, sim: RunningSimulator
) -> None:
    world = sim.state.world
    items = list_all(st, "jobitem", "jobItems", limit=50)
    assert len(items) == len(world.job_items)
    job_id = items[0]["job"]["id"]
    on_job = list_all(st, "jobitem", "jobItems", jobId=job_id)
    assert on_job and {item["job"]["id"] for item in on_job} == {job_id}
    labor = list_all(st, "jobitem", "jobItems", libItemType="labor")
    assert labor and {item["libItem"]["type"] for item in labor} == {"labor"}
    assert all(item["source"] is None for item in labor)
    pivot = sorted(item["usedOn"] for item in items)[len(items) // 2]
    later = list_all(st, "jobitem", "jobItems", usedOnAfter=pivot)
    assert later and all(item["usedOn"] >= pivot for item in later)
    events = list_all(st, "clock", "events")
    assert len(events) == len(world.clock_events)
    user_id = events[0]["user"]["id"]
    mine = list_all(st, "clock", "events", userId=user_id, startTime=pivot)
    assert all(e["user"]["id"] == user_id and e["eventTime"] >= pivot for e in mine)
    single = body(st.get(f"clock/{events[0]['id']}"))["data"]
    assert single["eventType"] in ("clockin", "clockout")
    assert st.get("jobitem", params={"usedOnAfter": "soon"}).status_code == 400
