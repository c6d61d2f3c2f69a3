"""Webhooks as the reference describes them (§7): registration, the message shape, batching,
three attempts within five seconds, and the delivery faults the control API adds."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator import DEFAULT_PASSWORD, DEFAULT_USERNAME, RunningSimulator, run_simulator
from simulator.delivery import DeliveryPolicy, Knobs, Outbox
from simulator.model import ENTITY_TYPES
from tests.simulator_tests.receiver import Receiver

#: Short times so failures and retries take milliseconds (the defaults are ServiceTrade's).
FAST = DeliveryPolicy(timeout=0.3, retry_waits=(0.05, 0.1), batch_window=0.05, hold_seconds=0.5)
LOGIN = {"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}


def body(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


def errors(response: httpx.Response) -> list[str]:
    messages: list[str] = body(response)["messages"]["error"]
    return messages


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with run_simulator(seed=7, days=4, webhook_policy=FAST) as running:
        yield running


@contextmanager
def logged_in(running: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.base_url + "/", timeout=10) as client:
        assert client.post("auth", json=LOGIN).status_code == 200
        yield client


@pytest.fixture
def api(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with logged_in(sim) as client:
        yield client


@pytest.fixture
def control(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.control_url + "/", timeout=10) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def register(api: httpx.Client, url: str, **fields: Any) -> dict[str, Any]:
    response = api.post("webhook", json={"hookUrl": url, **fields})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = body(response)["data"]
    return data


def a_pending_invoice(sim: RunningSimulator) -> int:
    invoice_id = next(iter(sim.state.world.invoices))
    sim.mutate("invoice", invoice_id, {"status": "pending_accounting"})
    return invoice_id


# --- registration -------------------------------------------------------------------------------


def test_registration_answers_the_webhook_and_lists_it(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    created = register(
        api,
        "https://relay.example/hooks/abc",
        entityEvents=[{"entityType": 30, "actions": ["created", "updated"]}],
        includeChangesets=True,
        enabled=True,
    )
    assert set(created) == {"id", "uri", "hookUrl", "enabled", "confirmed",
                            "includeChangesets", "entityEvents"}  # fmt: skip
    assert created["uri"] == f"{sim.base_url}/webhook/{created['id']}"
    assert created["hookUrl"] == "https://relay.example/hooks/abc"
    assert created["entityEvents"] == [{"entityType": 30, "actions": ["created", "updated"]}]
    assert created["confirmed"] is False  # and true right after, reachable or not
    listed = body(api.get("webhook"))["data"]["webhooks"]
    assert [hook["id"] for hook in listed] == [created["id"]]
    assert listed[0]["confirmed"] is True
    assert body(api.get(f"webhook/{created['id']}"))["data"]["hookUrl"] == created["hookUrl"]


def test_put_changes_what_it_may_and_delete_removes_it(api: httpx.Client) -> None:
    hook = register(api, "https://relay.example/a")
    assert hook["entityEvents"] is None and hook["enabled"] is True
    assert hook["includeChangesets"] is False
    changed = api.put(
        f"webhook/{hook['id']}",
        json={"enabled": False, "includeChangesets": True, "entityEvents": [
            {"entityType": 3, "actions": ["deleted"]}]},
    )  # fmt: skip
    assert changed.status_code == 200
    assert body(changed)["data"]["enabled"] is False
    assert body(changed)["data"]["entityEvents"] == [{"entityType": 3, "actions": ["deleted"]}]
    moved = api.put(f"webhook/{hook['id']}", json={"hookUrl": "https://elsewhere.example/"})
    assert moved.status_code == 400
    assert "delete" in errors(moved)[0]
    assert api.put(f"webhook/{hook['id']}", json={}).status_code == 400
    assert api.delete(f"webhook/{hook['id']}").status_code == 200
    assert api.get(f"webhook/{hook['id']}").status_code == 404
    assert api.delete(f"webhook/{hook['id']}").status_code == 404
    assert body(api.get("webhook"))["data"]["webhooks"] == []


def test_webhooks_need_authentication(sim: RunningSimulator) -> None:
    assert httpx.get(sim.base_url + "/webhook").status_code == 401
    anonymous = httpx.post(sim.base_url + "/webhook", json={"hookUrl": "https://x.example/"})
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"entityEvents": None}, "hookUrl is required"),
        ({"hookUrl": "ftp://relay.example/x"}, "hookUrl must be"),
        ({"hookUrl": "/relative"}, "hookUrl must be"),
        ({"hookUrl": "https://r.example/", "entityEvents": "all"}, "entityEvents must be"),
        (
            {
                "hookUrl": "https://r.example/",
                "entityEvents": [{"entityType": 99, "actions": ["created"]}],
            },
            "entityType must be one of",
        ),
        (
            {
                "hookUrl": "https://r.example/",
                "entityEvents": [{"entityType": 3, "actions": ["exploded"]}],
            },
            "actions must be",
        ),
        (
            {"hookUrl": "https://r.example/", "entityEvents": [{"entityType": 3, "actions": []}]},
            "actions must be",
        ),
        ({"hookUrl": "https://r.example/", "entityEvents": [{"entityType": 3}]}, "exactly one of"),
        (
            {
                "hookUrl": "https://r.example/",
                "entityEvents": [{"entityType": 3, "actions": ["created"], "events": ["deleted"]}],
            },
            "exactly one of",
        ),
        ({"hookUrl": "https://r.example/", "enabled": "yes"}, "enabled must be true or false"),
        ({"hookUrl": "https://r.example/", "secret": "s3cret"}, "unknown webhook fields"),
    ],
)
def test_a_bad_registration_gets_400_saying_what_is_wrong(
    api: httpx.Client, fields: dict[str, Any], complaint: str
) -> None:
    response = api.post("webhook", json=fields)
    assert response.status_code == 400
    assert complaint in errors(response)[0]
    assert body(api.get("webhook"))["data"]["webhooks"] == []


def test_the_other_spellings_of_actions_are_accepted(api: httpx.Client) -> None:
    hook = register(
        api,
        "https://relay.example/x",
        entityEvents=[
            {"entityType": 3, "events": ["created"]},
            {"entityType": 23, "eventType": "deleted"},
            {"entityType": 3, "actions": ["updated"]},
        ],
    )
    assert hook["entityEvents"] == [
        {"entityType": 3, "actions": ["created", "updated"]},
        {"entityType": 23, "actions": ["deleted"]},
    ]


def test_entity_type_numbers_are_in_one_table() -> None:
    assert ENTITY_TYPES == {"job": 3, "user": 4, "company": 5, "location": 11, "jobitem": 23,
                            "invoice": 30, "clockevent": 31}  # fmt: skip


# --- delivery -----------------------------------------------------------------------------------


def test_a_change_is_delivered_as_ids_only_with_a_changeset(
    api: httpx.Client, sim: RunningSimulator, receiver: Receiver
) -> None:
    invoice_id = a_pending_invoice(sim)
    register(api, receiver.url, includeChangesets=True)
    assert api.put(f"invoice/{invoice_id}", json={"status": "processed"}).status_code == 200
    assert sim.wait_for_deliveries(5)
    [message] = receiver.requests
    assert str(uuid.UUID(message["messageId"])) == message["messageId"]
    invoice = sim.state.world.invoices[invoice_id]
    assert message["timestamp"] == str(sim.state.world.clock)
    assert message["data"] == [
        {
            "action": "updated",
            "timestamp": invoice.updated,
            "userId": sim.state.world.api_user_id,
            "entity": {
                "type": "invoice",
                "id": invoice_id,
                "uri": f"{sim.base_url}/invoice/{invoice_id}",
            },
            "changeset": [
                {"field": "status", "oldValue": "pending_accounting", "newValue": "processed"}
            ],
        }
    ]
    assert receiver.headers[0]["Content-Type"] == "application/json"


def test_every_matching_webhook_gets_every_message_and_filters_hold(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    with Receiver() as everything, Receiver() as jobs_created:
        register(api, everything.url)
        register(api, jobs_created.url, entityEvents=[{"entityType": 3, "actions": ["created"]}])
        counts = sim.advance(1)
        assert sim.wait_for_deliveries(5)
    assert counts["jobs_created"] > 0
    every = everything.events()
    assert {event["entity"]["type"] for event in every} >= {"job", "invoice", "jobitem",
                                                           "clockevent"}  # fmt: skip
    assert all("changeset" not in event for event in every)
    created_jobs = [e for e in every if e["entity"]["type"] == "job" and e["action"] == "created"]
    assert jobs_created.events() == created_jobs
    assert len(created_jobs) == counts["jobs_created"]
    new_clock_events = [e for e in every if e["entity"]["type"] == "clockevent"]
    assert len(new_clock_events) == counts["clockevents_created"]
    assert all(e["entity"]["uri"].endswith(f"/api/clock/{e['entity']['id']}")
               for e in new_clock_events)  # fmt: skip
    technicians = {user.id for user in sim.state.world.users.values() if user.is_tech}
    assert {event["userId"] for event in new_clock_events} <= technicians
    assert {e["userId"] for e in every if e["entity"]["type"] == "invoice"} == {None}


def test_disabled_webhooks_get_nothing(api: httpx.Client, sim: RunningSimulator) -> None:
    with Receiver() as off:
        register(api, off.url, enabled=False)
        sim.advance(1)
        assert sim.wait_for_deliveries(5)
    assert off.requests == []
    assert sim.webhook_stats()["events"] > 0


def test_events_are_batched_into_messages_of_at_most_the_batch_size(receiver: Receiver) -> None:
    policy = DeliveryPolicy(batch_size=10, batch_window=0.5, retry_waits=(0.05, 0.05))
    with run_simulator(seed=7, days=4, webhook_policy=policy) as sim, logged_in(sim) as api:
        register(api, receiver.url)
        sim.advance(2)
        assert sim.wait_for_deliveries(5)
        stats = sim.webhook_stats()
        # Two changes in quick succession share a message (the window is half a second).
        first, second = list(sim.state.world.locations)[:2]
        sim.mutate("location", first, {"name": "Annex A"})
        sim.mutate("location", second, {"name": "Annex B"})
        assert sim.wait_for_deliveries(5)
    batch_sizes = [len(message["data"]) for message in receiver.requests]
    assert stats["events"] > 20
    assert sum(batch_sizes[:-1]) == stats["events"]
    assert all(size <= 10 for size in batch_sizes)
    assert len(batch_sizes) - 1 == -(-stats["events"] // 10)
    stamps = [event["timestamp"] for event in receiver.events()[: stats["events"]]]
    assert stamps == sorted(stamps)
    assert [e["entity"]["id"] for e in receiver.requests[-1]["data"]] == [first, second]


# --- delivery rules: five seconds, three attempts, 200-499 delivered ----------------------------


def test_the_defaults_are_servicetrades_rules() -> None:
    policy = DeliveryPolicy()
    assert (policy.timeout, policy.attempts) == (5.0, 3)


def test_a_5xx_is_tried_three_times_then_discarded(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    with Receiver(then=503) as failing:
        register(api, failing.url)
        sim.mutate("location", next(iter(sim.state.world.locations)), {"name": "Gone Wrong"})
        assert sim.wait_for_deliveries(5)
        time.sleep(0.2)  # nothing more comes
    assert len(failing.requests) == 3
    assert len({message["messageId"] for message in failing.requests}) == 1
    stats = sim.webhook_stats()
    assert (stats["sent"], stats["retried"], stats["discarded"], stats["delivered"]) == (3, 2, 1, 0)


def test_a_retry_that_succeeds_delivers_the_same_message(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    with Receiver([500]) as flaky:
        register(api, flaky.url)
        sim.mutate("location", next(iter(sim.state.world.locations)), {"name": "Second Try"})
        assert sim.wait_for_deliveries(5)
    assert [m["messageId"] for m in flaky.requests] == [flaky.requests[0]["messageId"]] * 2
    assert sim.webhook_stats()["delivered"] == 1


@pytest.mark.parametrize("status", [404, 410, 302, 200])
def test_any_status_from_200_to_499_counts_as_delivered(
    api: httpx.Client, sim: RunningSimulator, status: int
) -> None:
    with Receiver(then=status) as refusing:
        register(api, refusing.url)
        sim.mutate("location", next(iter(sim.state.world.locations)), {"name": "Refused"})
        assert sim.wait_for_deliveries(5)
        time.sleep(0.2)
    assert len(refusing.requests) == 1
    assert sim.webhook_stats()["delivered"] == 1
    assert sim.webhook_stats()["retried"] == 0


def test_a_receiver_slower_than_the_timeout_is_retried_then_dropped(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    with Receiver(delay=2.0) as slow:
        register(api, slow.url)
        started = time.monotonic()
        sim.mutate("location", next(iter(sim.state.world.locations)), {"name": "Slow Site"})
        assert sim.wait_for_deliveries(5)
        elapsed = time.monotonic() - started
    assert len(slow.requests) == 3
    assert elapsed < 1.5  # three 0.3 s timeouts and the waits, not three 2 s answers
    assert sim.webhook_stats()["discarded"] == 1


def test_an_unreachable_hook_never_slows_the_api_or_the_world() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts nothing: every POST hangs
    try:
        # The default policy: five seconds for each attempt on the hung hook.
        with run_simulator(seed=7, days=4) as slow_world, logged_in(slow_world) as client:
            register(client, f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
            register(client, f"http://127.0.0.1:{_free_port()}/hook")  # connection refused
            location = next(iter(slow_world.state.world.locations))
            started = time.monotonic()
            for day in range(3):
                slow_world.advance(1)
                assert client.get("job", params={"status": "all"}).status_code == 200
                slow_world.mutate("location", location, {"name": f"Site {day}"})
            assert time.monotonic() - started < 1.0
            assert slow_world.webhook_stats()["pending"] >= 1
    finally:
        listener.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- fault knobs --------------------------------------------------------------------------------


def test_loss_drops_messages_silently(api: httpx.Client, sim: RunningSimulator) -> None:
    with Receiver() as hook:
        register(api, hook.url)
        sim.webhook_faults(loss=1)
        sim.advance(1)
        assert sim.wait_for_deliveries(5)
    stats = sim.webhook_stats()
    assert hook.requests == []
    assert stats["lost"] == stats["messages"] > 0


def test_duplicates_arrive_twice_with_the_same_message_id(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    with Receiver() as hook:
        register(api, hook.url)
        sim.webhook_faults(duplicate=1.0)
        sim.mutate("location", next(iter(sim.state.world.locations)), {"name": "Twice"})
        assert sim.wait_for_deliveries(5)
    assert len(hook.requests) == 2
    assert hook.requests[0] == hook.requests[1]
    assert sim.webhook_stats()["duplicated"] == 1


def test_reorder_sends_a_message_after_a_later_one(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    first, second = list(sim.state.world.locations)[:2]
    with Receiver() as hook:
        register(api, hook.url)
        sim.webhook_faults(reorder=1)
        sim.mutate("location", first, {"name": "First"})
        sim.state.webhooks.flush()  # its own message, held back
        sim.mutate("location", second, {"name": "Second"})
        assert sim.wait_for_deliveries(5)
    assert [m["data"][0]["entity"]["id"] for m in hook.requests] == [second, first]
    assert sim.webhook_stats()["reordered"] == 1


def test_delay_and_injected_failures(api: httpx.Client, sim: RunningSimulator) -> None:
    location = next(iter(sim.state.world.locations))
    with Receiver() as hook:
        register(api, hook.url)
        sim.webhook_faults(delay_seconds=0.4)
        started = time.monotonic()
        sim.mutate("location", location, {"name": "Later"})
        assert sim.wait_for_deliveries(5)
        assert hook.arrived[0] - started >= 0.4
        sim.webhook_faults(delay_seconds=0, fail=1, fail_status=502)
        sim.mutate("location", location, {"name": "Never"})
        assert sim.wait_for_deliveries(5)
    assert len(hook.requests) == 1  # the failing attempts never reached it
    stats = sim.webhook_stats()
    assert (stats["failed"], stats["retried"], stats["discarded"]) == (3, 2, 1)


def test_knobs_over_http_with_stats_in_the_state(
    control: httpx.Client, sim: RunningSimulator
) -> None:
    answer = control.post("webhooks", json={"loss": 0.2, "duplicate": 0.1, "reorder": 0.2,
                                            "delaySeconds": 0.5, "failStatus": 500})  # fmt: skip
    assert answer.status_code == 200
    knobs = body(answer)["data"]["knobs"]
    assert knobs == {"loss": Decimal("0.2"), "duplicate": Decimal("0.1"),
                     "reorder": Decimal("0.2"), "delaySeconds": Decimal("0.5"), "fail": 0,
                     "failStatus": 500}  # fmt: skip
    assert body(control.get("webhooks"))["data"]["knobs"] == knobs
    state = body(control.get("state"))["data"]["webhooks"]
    assert state["knobs"] == knobs
    assert set(state["stats"]) >= {"events", "messages", "sent", "delivered", "retried",
                                   "discarded", "lost", "duplicated", "pending"}  # fmt: skip
    for bad in ({"loss": 2}, {"loss": "often"}, {"failStatus": 404}, {"delaySeconds": -1},
                {"jitter": 1}):  # fmt: skip
        assert control.post("webhooks", json=bad).status_code == 400
    assert body(control.delete("webhooks"))["data"]["knobs"]["loss"] == 0
    with pytest.raises(ValueError, match="loss"):
        sim.webhook_faults(loss=1.5)


def test_the_same_seed_draws_the_same_faults() -> None:
    def lost_pattern() -> list[int]:
        with (
            run_simulator(seed=7, days=4, webhook_policy=FAST) as running,
            logged_in(running) as client,
            Receiver() as hook,
        ):
            register(client, hook.url)
            running.webhook_faults(loss=0.5)
            pattern = []
            for index, location in enumerate(list(running.state.world.locations)[:12]):
                running.mutate("location", location, {"name": f"L{index}"})
                running.state.webhooks.flush()
                assert running.wait_for_deliveries(5)
                pattern.append(len(hook.requests))
            return pattern

    first = lost_pattern()
    assert first == lost_pattern()
    assert 0 < first[-1] < 12


# --- state --------------------------------------------------------------------------------------


def test_webhooks_are_kept_in_the_state_file_and_dropped_by_reset(tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    with run_simulator(seed=7, days=4, state_file=path) as sim, logged_in(sim) as api:
        hook = register(api, "https://relay.example/hooks/kept", includeChangesets=True)
    with run_simulator(seed=7, days=4, state_file=path) as sim, logged_in(sim) as api:
        [kept] = body(api.get("webhook"))["data"]["webhooks"]
        assert {k: v for k, v in kept.items() if k != "uri"} == {
            **{k: v for k, v in hook.items() if k != "uri"},
            "confirmed": True,
        }
        assert httpx.post(sim.control_url + "/reset", json={}).status_code == 200
        api.post("auth", json=LOGIN)
        assert body(api.get("webhook"))["data"]["webhooks"] == []


# --- the outbox alone (no threads, no sockets: the caller gives the time) -----------------------


def _entries(count: int) -> list[dict[str, Any]]:
    return [{"action": "updated", "entity": {"type": "job", "id": n}} for n in range(count)]


def test_the_outbox_waits_half_a_second_then_a_second_between_attempts() -> None:
    outbox = Outbox(7, DeliveryPolicy())
    outbox.add(1, "http://hook/", _entries(3), clock=1_000, now=0.0)
    assert outbox.ready(0.1) == []  # the batch window is open
    outbox.flush(0.2)
    [delivery] = outbox.ready(0.2)
    assert json.loads(delivery.body)["timestamp"] == "1000"
    outbox.finished(delivery, 500, 0.3, sent=True)
    assert outbox.ready(0.79) == [] and outbox.wakeup() == pytest.approx(0.8)
    [again] = outbox.ready(0.8)
    outbox.finished(again, None, 0.9, sent=True)  # a timeout
    assert outbox.ready(1.89) == []
    [last] = outbox.ready(1.9)
    outbox.finished(last, 503, 2.0, sent=True)
    assert outbox.pending() == 0 and outbox.ready(100.0) == []
    assert outbox.describe()["stats"]["discarded"] == 1


def test_the_outbox_sends_one_message_at_a_time_per_webhook() -> None:
    outbox = Outbox(7, DeliveryPolicy(batch_size=2))
    outbox.add(1, "http://one/", _entries(4), clock=1, now=0.0)  # two full batches at once
    outbox.add(2, "http://two/", _entries(2), clock=1, now=0.0)
    first = outbox.ready(0.0)
    assert sorted(d.webhook_id for d in first) == [1, 2]
    assert outbox.ready(0.0) == []  # webhook 1's second message waits for the first's answer
    outbox.finished(next(d for d in first if d.webhook_id == 1), 200, 0.1, sent=True)
    [second] = outbox.ready(0.1)
    assert second.webhook_id == 1 and second.events == 2


def test_a_held_message_goes_after_the_later_one_or_when_its_hold_ends() -> None:
    outbox = Outbox(7, DeliveryPolicy(hold_seconds=1.0))
    outbox.knobs = Knobs(reorder=Decimal(1))
    outbox.add(1, "http://hook/", _entries(1), clock=1, now=0.0)
    outbox.flush(0.0, force=True)
    assert outbox.ready(0.5) == [] and outbox.pending() == 1
    [alone] = outbox.ready(1.0)  # nothing came after it: sent when the hold ends
    outbox.finished(alone, 200, 1.0, sent=True)
    outbox.add(1, "http://hook/", _entries(1), clock=2, now=2.0)
    outbox.flush(2.0, force=True)  # held
    outbox.add(1, "http://hook/", _entries(2), clock=3, now=2.0)
    outbox.flush(2.0, force=True)  # not held: one is already
    [later] = outbox.ready(2.0)
    assert later.events == 2
    outbox.finished(later, 200, 2.1, sent=True)
    [earlier] = outbox.ready(2.1)
    assert earlier.events == 1


def test_a_deleted_webhook_gets_nothing_more() -> None:
    outbox = Outbox(7, DeliveryPolicy())
    outbox.add(1, "http://hook/", _entries(1), clock=1, now=0.0)
    outbox.flush(0.0, force=True)
    [delivery] = outbox.ready(0.0)
    outbox.add(1, "http://hook/", _entries(1), clock=2, now=0.0)
    outbox.flush(0.0, force=True)  # waits: the first is in flight
    outbox.forget(1)
    outbox.finished(delivery, 503, 0.1, sent=True)
    assert outbox.pending() == 0 and outbox.ready(10.0) == []
    assert outbox.describe()["stats"]["discarded"] == 2
    assert outbox.describe()["stats"]["retried"] == 0
