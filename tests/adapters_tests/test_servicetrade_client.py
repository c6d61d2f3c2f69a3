"""The ServiceTrade client against the simulator over loopback (and MockTransport for edges)."""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, cast

import httpx
import pytest

from adapters.servicetrade import (
    AuthError,
    BadRequestError,
    NotFoundError,
    OAuth2ClientCredentials,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
    ServiceTradeClient,
    ServiceTradeTransportError,
    build_client,
)
from simulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    RunningSimulator,
    run_simulator,
)
from simulator.state import SESSION_CAP

SESSION: dict[str, Any] = {"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}
OAUTH: dict[str, Any] = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with run_simulator(seed=7) as running:
        yield running


class Sleeps(list[float]):
    """An injectable sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(
    sim: RunningSimulator, credentials: dict[str, Any], **options: Any
) -> ServiceTradeClient:
    options.setdefault("sleep", Sleeps())
    options.setdefault("rng", random.Random(1))
    return build_client(sim.base_url, timeout=5.0, **credentials, **options)


def all_ids(client: ServiceTradeClient, kind: str, updated_after: int | None = None) -> list[int]:
    return [record["id"] for page in client.iter_pages(kind, updated_after) for record in page]


# --- auth ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("credentials", [SESSION, OAUTH], ids=["session", "oauth2"])
def test_reads_every_record_with_either_auth_mode(
    sim: RunningSimulator, credentials: dict[str, Any]
) -> None:
    with client_for(sim, credentials) as client:
        for kind in ("company", "location", "user", "invoice"):
            assert sorted(all_ids(client, kind)) == sorted(sim.state.world.table(kind))


def test_session_client_logs_in_again_after_its_session_is_evicted(
    sim: RunningSimulator,
) -> None:
    with client_for(sim, SESSION) as client:
        assert client.get("company", sim.state.world.account_id)["vendor"] is True
        for _ in range(SESSION_CAP):  # other integrations sharing the user push ours out
            httpx.post(sim.base_url + "/auth", json=SESSION).raise_for_status()
        assert client.get("company", sim.state.world.account_id)["vendor"] is True
        summary = sim.summary()
        assert summary["liveSessions"] == SESSION_CAP
        assert summary["authStats"]["logins"] == SESSION_CAP + 2
        assert summary["authStats"]["unauthorized"] == 1


def test_closing_a_session_client_logs_out(sim: RunningSimulator) -> None:
    with client_for(sim, SESSION) as client:
        client.get("user", sim.state.world.api_user_id)
        assert sim.summary()["liveSessions"] == 1
    assert sim.summary()["liveSessions"] == 0


def test_wrong_password_is_an_auth_error(sim: RunningSimulator) -> None:
    with (
        client_for(sim, {**SESSION, "password": "nope"}) as client,
        pytest.raises(AuthError) as caught,
    ):
        client.get("company", sim.state.world.account_id)
    assert caught.value.status_code == 403
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)


def test_wrong_client_secret_is_an_auth_error(sim: RunningSimulator) -> None:
    with (
        client_for(sim, {**OAUTH, "client_secret": "nope"}) as client,
        pytest.raises(AuthError, match="invalid_grant"),
    ):
        client.get("company", sim.state.world.account_id)


def test_oauth_client_renews_an_expired_token_before_using_it() -> None:
    with run_simulator(seed=7, token_ttl=1) as sim, client_for(sim, OAUTH) as client:
        account = sim.state.world.account_id
        client.get("company", account)
        token = cast(OAuth2ClientCredentials, client._http.auth).access_token
        assert token is not None
        claims = token.split(".")[1]
        exp = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["exp"]
        time.sleep(max(0.0, exp - time.time()) + 0.05)
        assert client.get("company", account)["id"] == account
        stats = sim.summary()["authStats"]
        assert stats["grant:client_credentials"] == 1
        assert stats["grant:refresh_token"] == 1
        assert "unauthorized" not in stats  # renewed ahead of use, not after a 401


def test_oauth_client_recovers_from_a_revoked_token_and_refresh_token(
    sim: RunningSimulator,
) -> None:
    with client_for(sim, OAUTH) as client:
        account = sim.state.world.account_id
        client.get("company", account)
        sim.expire_auth(tokens=True)  # access token dies: 401, refresh, retry
        assert client.get("company", account)["id"] == account
        assert sim.summary()["authStats"]["grant:refresh_token"] == 1
        sim.expire_auth(tokens=True)
        with sim.state.lock:
            sim.state.sessions.refresh.clear()  # refresh refused too: client credentials again
        assert client.get("company", account)["id"] == account
        stats = sim.summary()["authStats"]
        assert stats["grant:client_credentials"] == 2
        assert stats["grant_refused"] == 1
        assert stats["unauthorized"] == 2


# --- paging -------------------------------------------------------------------------------------


def test_pages_through_small_pages_completely(sim: RunningSimulator) -> None:
    limits = {"invoice": 7, "job": 9, "location": 4}
    with client_for(sim, SESSION, page_limits=limits) as client:
        pages = list(client.iter_pages("invoice"))
        assert len(pages) == -(-len(sim.state.world.invoices) // 7)
        assert sorted(r["id"] for page in pages for r in page) == sorted(sim.state.world.invoices)
        assert sorted(all_ids(client, "location")) == sorted(sim.state.world.locations)


def test_pages_job_items_and_clock_events(sim: RunningSimulator) -> None:
    world = sim.state.world
    with client_for(sim, OAUTH, page_limits={"jobitem": 50, "clockevent": 60}) as client:
        assert sorted(all_ids(client, "jobitem")) == sorted(world.job_items)
        pages = list(client.iter_pages("clockevent"))
        assert len(pages) == -(-len(world.clock_events) // 60)
        assert sorted(r["id"] for page in pages for r in page) == sorted(world.clock_events)
        event_id = next(iter(world.clock_events))
        assert client.get("clockevent", event_id)["id"] == event_id


def test_job_pages_include_canceled_jobs(sim: RunningSimulator) -> None:
    jobs = sim.state.world.jobs
    assert any(job.status == "canceled" for job in jobs.values())
    with client_for(sim, OAUTH, page_limits={"job": 16}) as client:
        assert sorted(all_ids(client, "job")) == sorted(jobs)


def test_updated_after_is_inclusive_and_sees_new_activity(sim: RunningSimulator) -> None:
    world = sim.state.world
    with client_for(sim, SESSION, page_limits={"invoice": 5, "job": 5}) as client:
        pivot = sorted(world.invoices.values(), key=lambda i: (i.updated, i.id))[40]
        expected = {i.id for i in world.invoices.values() if i.updated >= pivot.updated}
        assert set(all_ids(client, "invoice", pivot.updated)) == expected
        cursor = world.clock
        sim.advance(2)
        changed = {job.id for job in world.jobs.values() if job.updated >= cursor}
        assert changed
        assert set(all_ids(client, "job", cursor)) == changed


# --- retries ------------------------------------------------------------------------------------


def test_retries_rate_limits_honouring_retry_after(sim: RunningSimulator) -> None:
    sleeps = Sleeps()
    with client_for(sim, SESSION, sleep=sleeps) as client:
        client.get("user", sim.state.world.api_user_id)
        sim.inject({"rate_limit": {"count": 2, "retry_after": 4}})
        assert sorted(all_ids(client, "company")) == sorted(sim.state.world.companies)
    assert sleeps == [4.0, 4.0]


def test_retries_server_errors_with_exponential_backoff(sim: RunningSimulator) -> None:
    sleeps = Sleeps()
    with client_for(sim, OAUTH, sleep=sleeps, backoff_base=1.0) as client:
        sim.inject({"server_error": {"count": 3, "status": 503}})
        assert client.get("company", sim.state.world.account_id)["vendor"] is True
    assert len(sleeps) == 3
    for attempt, seconds in enumerate(sleeps, start=1):
        assert 2 ** (attempt - 1) / 2 <= seconds <= 2 ** (attempt - 1)


def test_gives_up_on_rate_limits_after_max_attempts(sim: RunningSimulator) -> None:
    sleeps = Sleeps()
    with client_for(sim, SESSION, sleep=sleeps, max_attempts=3) as client:
        sim.inject({"rate_limit": {"count": 10, "retry_after": 1}})
        with pytest.raises(RateLimitedError) as caught:
            client.get("company", sim.state.world.account_id)
    assert caught.value.retry_after == 1.0
    assert sleeps == [1.0, 1.0]
    assert sim.summary()["pendingFaults"] == [{"kind": "rate_limit", "remaining": 7}]


def test_gives_up_on_server_errors_after_max_attempts(sim: RunningSimulator) -> None:
    with client_for(sim, OAUTH, max_attempts=4) as client:
        sim.inject({"server_error": {"count": 10, "status": 500}})
        with pytest.raises(ServerError) as caught:
            list(client.iter_pages("company"))
    assert caught.value.status_code == 500
    assert sim.summary()["pendingFaults"] == [{"kind": "server_error", "remaining": 6}]


def test_read_timeouts_are_retried(sim: RunningSimulator) -> None:
    with build_client(
        sim.base_url, **SESSION, timeout=0.2, sleep=Sleeps(), rng=random.Random(2)
    ) as client:
        client.get("user", sim.state.world.api_user_id)
        sim.inject({"slow": {"count": 1, "seconds": 1.0}})
        assert client.get("user", sim.state.world.api_user_id)["name"] == "Recon Integration"


def test_dropped_connections_are_retried(sim: RunningSimulator) -> None:
    with client_for(sim, SESSION) as client:
        sim.inject({"drop": {"count": 2}})
        assert client.get("user", sim.state.world.api_user_id)["isTech"] is False


def test_unknown_ids_are_not_found(sim: RunningSimulator) -> None:
    with client_for(sim, SESSION) as client, pytest.raises(NotFoundError):
        client.get("invoice", "2400000000000000")


# --- invoice write-back -------------------------------------------------------------------------


def test_set_invoice_status_processed_round_trip(sim: RunningSimulator) -> None:
    world = sim.state.world
    pending = next(i for i in world.invoices.values() if i.status == "pending_accounting")
    before = pending.updated
    with client_for(sim, OAUTH) as client:
        result = client.set_invoice_status(str(pending.id), "processed")
        assert result["status"] == "processed"
        fetched = client.get("invoice", str(pending.id))
        assert fetched["status"] == "processed"
        assert fetched["updated"] > before
        assert pending.id in set(all_ids(client, "invoice", before + 1))


def test_set_invoice_status_failed_adds_the_reason_once(sim: RunningSimulator) -> None:
    world = sim.state.world
    pending = next(i for i in world.invoices.values() if i.status == "pending_accounting")
    reason = "Sage: customer C1234 is not a receivable client"
    with client_for(sim, SESSION) as client:
        client.set_invoice_status(pending.id, "failed", reason)
        client.set_invoice_status(pending.id, "failed", reason)  # a retry after a lost answer
        assert [c["content"] for c in client.comments("invoice", pending.id)] == [reason]


def test_set_invoice_status_refused_for_an_unapproved_invoice(sim: RunningSimulator) -> None:
    draft = next(i for i in sim.state.world.invoices.values() if i.status == "internal_review")
    with client_for(sim, SESSION) as client, pytest.raises(BadRequestError) as caught:
        client.set_invoice_status(draft.id, "processed")
    assert "internal_review" in str(caught.value)
    assert caught.value.status_code == 400


# --- narrow cases over MockTransport ------------------------------------------------------------


def mock_client(
    handler: Callable[[httpx.Request], httpx.Response], **options: Any
) -> ServiceTradeClient:
    http = httpx.Client(base_url="https://st.test/api/", transport=httpx.MockTransport(handler))
    options.setdefault("sleep", Sleeps())
    options.setdefault("rng", random.Random(3))
    return ServiceTradeClient(http, owns_http=True, **options)


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 10, 5, 12, 0, 0, tzinfo=UTC)
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            later = format_datetime(now.replace(second=30), usegmt=True)
            return httpx.Response(429, headers={"Retry-After": later}, json={"messages": {}})
        return httpx.Response(200, json={"data": {"id": 1}})

    sleeps = Sleeps()
    with mock_client(handler, sleep=sleeps, clock=now.timestamp) as client:
        assert client.get("job", 1) == {"id": 1}
    assert sleeps == [30.0]


def test_a_retry_after_beyond_the_patience_limit_is_raised_at_once() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "3600"})

    sleeps = Sleeps()
    with (
        mock_client(handler, sleep=sleeps, max_retry_wait=60) as client,
        pytest.raises(RateLimitedError) as caught,
    ):
        client.get("job", 1)
    assert caught.value.retry_after == 3600
    assert sleeps == []


def test_timeouts_become_transport_errors_chained_to_httpx() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    sleeps = Sleeps()
    with (
        mock_client(handler, sleep=sleeps, max_attempts=3) as client,
        pytest.raises(ServiceTradeTransportError) as caught,
    ):
        client.get("job", 1)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert "within the timeout" in str(caught.value)
    assert len(sleeps) == 2


def test_a_post_is_not_retried_when_the_server_may_have_acted() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500, json={"messages": {"error": ["boom"]}})

    with mock_client(handler) as client, pytest.raises(ServerError, match="boom"):
        client.add_comment("invoice", 5, "hello")
    assert len(calls) == 1


def test_a_post_is_retried_when_the_connection_was_never_made() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"data": {"id": 9, "content": "hello"}})

    with mock_client(handler) as client:
        assert client.add_comment("invoice", 5, "hello")["id"] == 9
    assert len(calls) == 2


def test_a_body_that_is_not_the_envelope_is_a_format_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>maintenance</html>")

    with mock_client(handler) as client, pytest.raises(ResponseFormatError, match="JSON"):
        client.get("job", 1)


def test_paging_without_total_pages_stops_at_a_short_page() -> None:
    pages = {1: [{"id": 1}, {"id": 2}], 2: [{"id": 3}, "junk"], 3: [{"id": 5}]}

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(200, json={"data": {"companies": pages.get(page, [])}})

    with mock_client(handler, page_limits={"company": 2}) as client:
        seen = [record for page in client.iter_pages("company") for record in page]
    assert seen == [{"id": 1}, {"id": 2}, {"id": 3}, {"_malformed_entry": "junk"}, {"id": 5}]


def test_build_client_needs_exactly_one_credential_set() -> None:
    with pytest.raises(ValueError, match="either"):
        build_client("https://st.test/api")
    with pytest.raises(ValueError, match="either"):
        build_client("https://st.test/api", **SESSION, **OAUTH)
