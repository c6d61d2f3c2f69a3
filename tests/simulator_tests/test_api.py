"""The simulator's HTTP API behaves like ServiceTrade's, as the reference describes it."""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from simulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    RunningSimulator,
    SimConfig,
    SimState,
    run_simulator,
)
from simulator.api import Request, SimulatorApi
from simulator.state import SESSION_CAP


def body(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


def errors(response: httpx.Response) -> list[str]:
    messages = body(response)["messages"]["error"]
    assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)
    return messages


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with run_simulator(seed=7) as running:
        yield running


@pytest.fixture
def api(sim: RunningSimulator) -> Iterator[httpx.Client]:
    """A client logged in with a session cookie."""
    with httpx.Client(base_url=sim.base_url + "/", timeout=10) as client:
        response = client.post(
            "auth", json={"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 200
        yield client


@pytest.fixture
def control(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.control_url + "/", timeout=10) as client:
        yield client


def list_all(api: httpx.Client, kind: str, key: str, **params: Any) -> list[dict[str, Any]]:
    first = body(api.get(kind, params={**params, "page": 1}))["data"]
    records = list(first[key])
    for page in range(2, first["totalPages"] + 1):
        records += body(api.get(kind, params={**params, "page": page}))["data"][key]
    return records


# --- auth ---------------------------------------------------------------------------------------


def test_requests_without_credentials_get_401_with_error_messages(sim: RunningSimulator) -> None:
    with httpx.Client(base_url=sim.base_url + "/") as client:
        response = client.get("invoice")
    assert response.status_code == 401
    assert errors(response)


def test_bad_credentials_get_403(sim: RunningSimulator) -> None:
    with httpx.Client(base_url=sim.base_url + "/") as client:
        response = client.post("auth", json={"username": "recon", "password": "wrong"})
    assert response.status_code == 403
    assert errors(response) == ["Invalid username or password"]


def test_login_returns_the_token_and_sets_the_session_cookie(sim: RunningSimulator) -> None:
    with httpx.Client(base_url=sim.base_url + "/") as client:
        response = client.post(
            "auth", json={"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}
        )
        data = body(response)["data"]
        assert data["authenticated"] is True
        assert response.cookies["PHPSESSID"] == data["authToken"]
        assert data["user"]["company"]["name"] == "Triangle Mechanical Services"
        assert body(client.get("auth"))["data"]["authToken"] == data["authToken"]
        assert client.delete("auth").status_code == 200
        assert client.get("job").status_code == 401


def test_the_oldest_session_is_evicted_silently_beyond_the_cap(sim: RunningSimulator) -> None:
    tokens = []
    for _ in range(SESSION_CAP + 1):
        response = httpx.post(
            sim.base_url + "/auth",
            json={"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD},
        )
        tokens.append(body(response)["data"]["authToken"])
    oldest = httpx.get(sim.base_url + "/job", headers={"Cookie": f"PHPSESSID={tokens[0]}"})
    newest = httpx.get(sim.base_url + "/job", headers={"Cookie": f"PHPSESSID={tokens[-1]}"})
    assert oldest.status_code == 401
    assert newest.status_code == 200


def test_oauth_client_credentials_issue_a_jwt_shaped_bearer_token(sim: RunningSimulator) -> None:
    response = httpx.post(
        sim.base_url + "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    )
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] >= 3600
    claims_part = token["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(claims_part + "=" * (-len(claims_part) % 4)))
    assert claims["exp"] >= time.time() + 3500
    authorized = httpx.get(
        sim.base_url + "/company", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert authorized.status_code == 200


def test_oauth_bad_client_gets_401_invalid_grant(sim: RunningSimulator) -> None:
    response = httpx.post(
        sim.base_url + "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "recon", "client_secret": "no"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_grant"


def test_refresh_tokens_rotate_and_cannot_be_reused(sim: RunningSimulator) -> None:
    url = sim.base_url + "/oauth2/token"
    first = httpx.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    ).json()
    refreshed = httpx.post(
        url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": DEFAULT_CLIENT_ID,
        },
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != first["refresh_token"]
    reused = httpx.post(
        url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    assert reused.json()["error"] == "invalid_grant"


def test_access_tokens_expire_after_the_configured_ttl() -> None:
    now = [1_000_000.0]
    state = SimState(SimConfig(token_ttl=60), clock=lambda: now[0])
    sim_api = SimulatorApi(state, "sim.test")
    token = state.issue_tokens(DEFAULT_CLIENT_ID)["access_token"]
    request = Request("GET", "/api/user", headers={"authorization": f"Bearer {token}"})
    assert sim_api.handle(request).status == 200
    now[0] += 61
    expired = sim_api.handle(request)
    assert expired.status == 401
    assert b"expired" in expired.body


# --- reads and paging ---------------------------------------------------------------------------


def test_list_pages_follow_limit_and_total_pages(api: httpx.Client, sim: RunningSimulator) -> None:
    total = len(sim.state.world.invoices)
    first = body(api.get("invoice", params={"limit": 10}))["data"]
    assert first["totalPages"] == math.ceil(total / 10)
    assert len(first["invoices"]) == 10
    records = list_all(api, "invoice", "invoices", limit=10)
    assert sorted(r["id"] for r in records) == sorted(sim.state.world.invoices)
    beyond = body(api.get("invoice", params={"limit": 10, "page": first["totalPages"] + 1}))
    assert beyond["data"]["invoices"] == []


def test_page_size_defaults_and_maxima(api: httpx.Client, sim: RunningSimulator) -> None:
    locations = body(api.get("location"))["data"]
    assert len(locations["locations"]) == 10
    assert locations["totalPages"] == math.ceil(len(sim.state.world.locations) / 10)
    companies = body(api.get("company", params={"limit": 999_999}))["data"]
    assert companies["totalPages"] == 1
    assert api.get("company", params={"page": 0}).status_code == 400
    assert api.get("company", params={"limit": "ten"}).status_code == 400


def test_lists_are_ordered_by_updated_then_id(api: httpx.Client) -> None:
    records = list_all(api, "invoice", "invoices", limit=25)
    keys = [(record["updated"], record["id"]) for record in records]
    assert keys == sorted(keys)


def test_updated_and_created_filters_are_inclusive(api: httpx.Client) -> None:
    records = list_all(api, "invoice", "invoices")
    pivot = records[len(records) // 2]
    after = list_all(api, "invoice", "invoices", updatedAfter=pivot["updated"])
    assert pivot["id"] in {r["id"] for r in after}
    assert all(r["updated"] >= pivot["updated"] for r in after)
    strictly = list_all(api, "invoice", "invoices", updatedAfter=pivot["updated"] + 1)
    assert pivot["id"] not in {r["id"] for r in strictly}
    before = list_all(api, "invoice", "invoices", updatedBefore=pivot["updated"])
    assert pivot["id"] in {r["id"] for r in before}
    created = list_all(
        api, "invoice", "invoices", createdAfter=pivot["created"], createdBefore=pivot["created"]
    )
    assert pivot["id"] in {r["id"] for r in created}
    assert api.get("invoice", params={"updatedAfter": "yesterday"}).status_code == 400


def test_jobs_default_to_scheduled_and_all_excludes_canceled(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    jobs = sim.state.world.jobs.values()
    default = list_all(api, "job", "jobs")
    assert {job["status"] for job in default} == {"scheduled"}
    assert len(default) == sum(job.status == "scheduled" for job in jobs)
    every = list_all(api, "job", "jobs", status="all")
    assert len(every) == sum(job.status != "canceled" for job in jobs)
    canceled = list_all(api, "job", "jobs", status="canceled")
    assert canceled and {job["status"] for job in canceled} == {"canceled"}
    closed = next(job for job in jobs if job.status == "closed")
    by_number = list_all(api, "job", "jobs", number=closed.number)
    assert [job["id"] for job in by_number] == [closed.id]


def test_invoice_status_and_type_filters(api: httpx.Client, sim: RunningSimulator) -> None:
    pending = list_all(api, "invoice", "invoices", status="pending_accounting")
    expected = [i for i in sim.state.world.invoices.values() if i.status == "pending_accounting"]
    assert len(pending) == len(expected) > 0
    bills = list_all(api, "invoice", "invoices", type="vendorbill")
    assert {invoice["type"] for invoice in bills} <= {"vendorbill"}
    some = expected[0]
    by_job = list_all(api, "invoice", "invoices", jobId=some.job_id)
    assert some.id in {invoice["id"] for invoice in by_job}


def test_single_records_and_unknown_ids(api: httpx.Client, sim: RunningSimulator) -> None:
    invoice_id = next(iter(sim.state.world.invoices))
    record = body(api.get(f"invoice/{invoice_id}"))["data"]
    assert record["id"] == invoice_id
    assert record["uri"].endswith(f"/api/invoice/{invoice_id}")
    missing = api.get("invoice/2400000000000000")
    assert missing.status_code == 404
    assert errors(missing)
    assert api.get("widget").status_code == 404


def test_money_is_written_exactly_and_reads_back_as_decimal(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    response = api.get("invoice", params={"limit": 1})
    assert b'"price":' in response.content
    invoice = body(response)["data"]["invoices"][0]
    for field in ("subtotal", "taxTotal", "totalPrice"):
        assert isinstance(invoice[field], Decimal)
        assert invoice[field].as_tuple().exponent == -2
    assert invoice["totalPrice"] == invoice["subtotal"] + invoice["taxTotal"]
    assert all(isinstance(item["price"], Decimal) for item in invoice["items"])
    assert isinstance(invoice["id"], int) and invoice["id"] > 2_000_000_000_000_000


# --- writes -------------------------------------------------------------------------------------


def test_invoice_status_moves_from_pending_accounting_only(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    world = sim.state.world
    pending = next(i for i in world.invoices.values() if i.status == "pending_accounting")
    before = pending.updated
    response = api.put(f"invoice/{pending.id}", json={"status": "processed"})
    assert response.status_code == 200
    assert body(response)["data"]["status"] == "processed"
    assert body(response)["data"]["updated"] > before
    again = api.put(f"invoice/{pending.id}", json={"status": "failed"})
    assert again.status_code == 400
    assert "processed" in errors(again)[0]
    ok = next(i for i in world.invoices.values() if i.status == "ok")
    assert api.put(f"invoice/{ok.id}", json={"status": "processed"}).status_code == 400
    assert api.put(f"invoice/{ok.id}", json={"total": 1}).status_code == 400
    assert api.put(f"invoice/{ok.id}", content=b"not json").status_code == 400


def test_comments_are_stored_and_listed(api: httpx.Client, sim: RunningSimulator) -> None:
    invoice_id = next(iter(sim.state.world.invoices))
    created = api.post(
        "comment",
        json={"entityType": 30, "entityId": invoice_id, "content": "Sage rejected: no district"},
    )
    assert created.status_code == 200
    listed = body(api.get("comment", params={"entityType": 30, "entityId": invoice_id}))
    assert [c["content"] for c in listed["data"]["comments"]] == ["Sage rejected: no district"]
    assert (
        api.post("comment", json={"entityType": "nope", "entityId": 1, "content": "x"}).status_code
        == 400
    )
    assert (
        api.post(
            "comment", json={"entityType": "invoice", "entityId": 1, "content": "x"}
        ).status_code
        == 404
    )


# --- faults and control -------------------------------------------------------------------------


def test_rate_limit_fault_answers_429_with_retry_after(
    api: httpx.Client, control: httpx.Client
) -> None:
    control.post("faults", json={"rate_limit": {"count": 2, "retry_after": 3}})
    for _ in range(2):
        limited = api.get("company")
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "3"
        assert errors(limited)
    assert api.get("company").status_code == 200


def test_server_error_fault_uses_the_given_status(api: httpx.Client, control: httpx.Client) -> None:
    control.post("faults", json={"server_error": {"count": 1, "status": 502}})
    failed = api.get("company")
    assert failed.status_code == 502
    assert errors(failed)
    assert api.get("company").status_code == 200


def test_slow_and_dropped_requests(api: httpx.Client, control: httpx.Client) -> None:
    control.post("faults", json={"slow": {"count": 1, "seconds": 0.3}})
    started = time.monotonic()
    assert api.get("user").status_code == 200
    assert time.monotonic() - started >= 0.3
    control.post("faults", json={"drop": {"count": 1}})
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("user")
    assert api.get("user").status_code == 200


def test_malformed_fault_corrupts_records_persistently(
    api: httpx.Client, control: httpx.Client
) -> None:
    result = body(control.post("faults", json={"malformed": {"count": 2, "kind": "invoice"}}))
    ids = result["data"]["malformed"]["ids"]
    assert len(ids) == 2
    first = body(api.get(f"invoice/{ids[0]}"))["data"]
    second = body(api.get(f"invoice/{ids[1]}"))["data"]
    assert first["items"][0]["quantity"] == "abc"
    assert "customer" not in second
    assert body(api.get(f"invoice/{ids[0]}"))["data"]["items"][0]["quantity"] == "abc"
    state = body(control.get("state"))["data"]
    assert {"kind": "invoice", "id": ids[0]} in state["corrupted"]
    assert control.post("faults", json={"malformed": {"kind": "widget"}}).status_code == 400
    assert control.post("faults", json={"meteor": {"count": 1}}).status_code == 400


def test_advance_and_reset(api: httpx.Client, control: httpx.Client) -> None:
    before = body(control.get("state"))["data"]
    advanced = body(control.post("advance", json={"days": 2}))["data"]
    assert advanced["clock"] > before["clock"]
    after = body(control.get("state"))["data"]
    assert after["counts"]["job"] >= before["counts"]["job"]
    newest = list_all(api, "job", "jobs", status="all", updatedAfter=before["clock"])
    assert newest
    assert control.post("advance", json={"days": -1}).status_code == 400
    reset = body(control.post("reset", json={}))["data"]
    assert reset["counts"] == before["counts"]
    assert reset["clock"] == before["clock"]


def test_control_can_change_a_record_for_a_test(
    api: httpx.Client, control: httpx.Client, sim: RunningSimulator
) -> None:
    invoice = next(iter(sim.state.world.invoices.values()))
    response = control.post(
        f"invoice/{invoice.id}",
        json={
            "status": "pending_accounting",
            "items": [{"code": "LAB-REG", "quantity": "2.5"}, {"code": "PRT-CAP455"}],
        },
    )
    assert response.status_code == 200
    record = body(api.get(f"invoice/{invoice.id}"))["data"]
    assert record["status"] == "pending_accounting"
    assert [item["quantity"] for item in record["items"]] == [Decimal("2.5"), 1]
    assert record["subtotal"] == Decimal("312.50") + Decimal("68.40")
    assert control.post(f"invoice/{invoice.id}", json={"colour": "red"}).status_code == 400
