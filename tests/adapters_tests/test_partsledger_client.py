"""The PartsLedger client and feed against the simulator over loopback (MockTransport for the
edges), and both feeds opened together on one embedded simulator."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from adapters.partsledger import (
    AuthError,
    NotFoundError,
    PartsLedgerClient,
    PartsLedgerTransportError,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
    build_client,
)
from adapters.partsledger.errors import PartsLedgerError
from domain.source import PARTSLEDGER, SOURCE_KINDS
from simulator import (
    DEFAULT_PL_CLIENT_ID,
    DEFAULT_PL_CLIENT_SECRET,
    RunningSimulator,
    run_simulator,
)

KINDS = SOURCE_KINDS[PARTSLEDGER]
TABLES = {"vendor": "pl_vendors", "item": "pl_items", "warehouse": "pl_warehouses",
          "purchase_order": "purchase_orders", "receipt": "receipts", "bill": "bills"}  # fmt: skip


class Sleeps(list[float]):
    """An injectable sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with run_simulator(seed=7) as running:
        yield running


def client_for(sim: RunningSimulator, **options: Any) -> PartsLedgerClient:
    options.setdefault("sleep", Sleeps())
    options.setdefault("rng", random.Random(1))
    options.setdefault("client_id", DEFAULT_PL_CLIENT_ID)
    options.setdefault("client_secret", DEFAULT_PL_CLIENT_SECRET)
    return build_client(sim.partsledger_url, timeout=5.0, **options)


def ids(client: PartsLedgerClient, kind: str, updated_after: int | None = None) -> list[int]:
    return [record["_id"] for page in client.iter_pages(kind, updated_after) for record in page]


# --- paging -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_pages_through_every_record_with_the_cursor(sim: RunningSimulator, kind: str) -> None:
    with client_for(sim, page_limit=5) as client:
        pages = list(client.iter_pages(kind))
        found = [record["_id"] for page in pages for record in page]
    table = getattr(sim.state.world, TABLES[kind])
    assert sorted(found) == sorted(table)
    assert len(pages) == -(-len(table) // 5)


def test_updated_after_is_inclusive_unix_seconds(sim: RunningSimulator) -> None:
    bills = sorted(sim.state.world.bills.values(), key=lambda b: (b.updated, b.id))
    pivot = bills[-3].updated
    with client_for(sim, page_limit=2) as client:
        assert ids(client, "bill", pivot) == [b.id for b in bills if b.updated >= pivot]
        assert ids(client, "bill", sim.state.world.clock + 1) == []


def test_a_record_and_an_unknown_one(sim: RunningSimulator) -> None:
    bill_id = next(iter(sim.state.world.bills))
    with client_for(sim) as client:
        assert client.get("bill", bill_id)["_id"] == bill_id
        with pytest.raises(NotFoundError) as caught:
            client.get("bill", 99)
        assert caught.value.status_code == 404
        with pytest.raises(ValueError, match="unknown PartsLedger kind"):
            client.get("widget", 1)


# --- retries ------------------------------------------------------------------------------------


def test_retries_rate_limits_server_errors_and_dropped_connections(sim: RunningSimulator) -> None:
    sleeps = Sleeps()
    sim.inject({"system": "partsledger", "rate_limit": {"count": 1, "retry_after": 7}})
    sim.inject({"system": "partsledger", "server_error": {"count": 2, "status": 503}})
    sim.inject({"system": "partsledger", "drop": {"count": 1}})
    with client_for(sim, sleep=sleeps) as client:
        assert sorted(ids(client, "vendor")) == sorted(sim.state.world.pl_vendors)
    assert len(sleeps) == 4
    assert sleeps[0] == 7.0  # Retry-After honoured
    assert all(0.5 <= wait <= 8.0 for wait in sleeps[1:])  # backoff with jitter


def test_gives_up_after_max_attempts_with_the_cause_chained(sim: RunningSimulator) -> None:
    sim.inject({"system": "partsledger", "server_error": {"count": 10, "status": 502}})
    with client_for(sim, max_attempts=3) as client, pytest.raises(ServerError) as caught:
        ids(client, "bill")
    assert caught.value.status_code == 502
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)
    assert isinstance(caught.value, PartsLedgerError)


def test_a_retry_after_too_long_is_not_waited_for(sim: RunningSimulator) -> None:
    sim.inject({"system": "partsledger", "rate_limit": {"count": 1, "retry_after": 900}})
    sleeps = Sleeps()
    with client_for(sim, sleep=sleeps) as client, pytest.raises(RateLimitedError) as caught:
        ids(client, "item")
    assert caught.value.retry_after == 900.0 and sleeps == []


# --- auth ---------------------------------------------------------------------------------------


def test_wrong_secret_is_an_auth_error(sim: RunningSimulator) -> None:
    with client_for(sim, client_secret="nope") as client, pytest.raises(AuthError) as caught:
        ids(client, "vendor")
    assert caught.value.status_code == 401
    assert "invalid_client" in str(caught.value)


def test_a_revoked_token_is_replaced_and_the_request_retried(sim: RunningSimulator) -> None:
    with client_for(sim) as client:
        assert ids(client, "warehouse")
        sim.expire_auth()
        assert ids(client, "warehouse")
    stats = sim.summary()["authStats"]
    assert stats["partsledger:grant"] == 2
    assert stats["partsledger:unauthorized"] == 1


@dataclass
class Clock:
    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def test_an_expiring_token_is_renewed_before_use() -> None:
    clock = Clock()
    with run_simulator(seed=7, token_ttl=600) as sim, client_for(sim, clock=clock) as client:
        assert ids(client, "vendor")
        clock.offset = 590.0  # within the last tenth of its life: renew first
        assert ids(client, "vendor")
        stats = sim.summary()["authStats"]
    assert stats["partsledger:grant"] == 2
    assert "partsledger:unauthorized" not in stats


# --- edges, with a mock transport ---------------------------------------------------------------


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> Any:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return handler(request)

    return build_client(
        "http://pl.test/api",
        client_id="a",
        client_secret="b",
        transport=httpx.MockTransport(route),
        sleep=Sleeps(),
        rng=random.Random(2),
        **options,
    )


def test_a_cursor_that_does_not_move_is_a_format_error() -> None:
    def stuck(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"hasNextPage": True, "cursor": "c1", "data": [{"_id": 1}]})

    with mock_client(stuck) as client, pytest.raises(ResponseFormatError, match="cursor"):
        list(client.iter_pages("vendor"))


def test_unusable_bodies_are_format_errors_and_odd_entries_passed_on() -> None:
    answers = iter(
        [
            httpx.Response(
                200, json={"hasNextPage": False, "cursor": None, "data": [1, {"_id": 2}]}
            ),
            httpx.Response(200, content=b"<html>"),
            httpx.Response(200, json={"hasNextPage": "no", "data": []}),
            httpx.Response(200, json=["a"]),
        ]
    )
    with mock_client(lambda request: next(answers)) as client:
        assert list(client.iter_pages("item")) == [[{"_malformed_entry": 1}, {"_id": 2}]]
        for _ in range(3):
            with pytest.raises(ResponseFormatError):
                list(client.iter_pages("item"))


def test_timeouts_are_retried_then_reported() -> None:
    calls: list[str] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        raise httpx.ReadTimeout("too slow", request=request)

    with (
        mock_client(slow, max_attempts=2) as client,
        pytest.raises(PartsLedgerTransportError) as caught,
    ):
        client.get("bill", 1)
    assert len(calls) == 2
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_updated_after_goes_out_as_iso_utc() -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("updatedAfter", ""))
        return httpx.Response(200, json={"hasNextPage": False, "cursor": None, "data": []})

    with mock_client(record) as client:
        assert list(client.iter_pages("bill", 1790910000)) == []
    assert seen == ["2026-10-02T03:00:00Z"]


# --- the feeds, opened together -----------------------------------------------------------------
