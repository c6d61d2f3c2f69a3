"""Time in minutes, a world run live at a pace, and deleted records."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator import DEFAULT_PASSWORD, DEFAULT_USERNAME, RunningSimulator, run_simulator
from simulator.delivery import DeliveryPolicy
from simulator.model import LIVE_ID_BASE, World
from simulator.persist import load_world, save_world, world_to_data
from simulator.scenario import advance, advance_minutes, generate, local_time
from tests.simulator_tests.receiver import Receiver

FAST = DeliveryPolicy(timeout=0.3, retry_waits=(0.05, 0.1), batch_window=0.05)
LOGIN = {"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}


def body(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


def data(world: World) -> dict[str, Any]:
    """Everything a state file holds: records, clock, counters and the generator's state."""
    return world_to_data(world)


def total(*counts: dict[str, int]) -> dict[str, int]:
    summed: Counter[str] = Counter()
    for each in counts:
        summed.update(each)
    return dict(sorted(summed.items()))


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with run_simulator(seed=7, days=4, webhook_policy=FAST) as running:
        yield running


@pytest.fixture
def api(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url + "/", timeout=10) as client:
        assert client.post("auth", json=LOGIN).status_code == 200
        yield client


# --- minutes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "steps",
    [
        [5] * 576,  # every step ends on a moment the day's actions may fall on
        [37] * 77 + [31],
        [1] * 600 + [2280],
    ],
    ids=["5-minute", "37-minute", "uneven"],
)
def test_minutes_to_midnight_make_the_same_world_as_days(steps: list[int]) -> None:
    by_days, by_minutes = generate(7, days=4), generate(7, days=4)
    assert by_minutes.clock == local_time(by_minutes, by_minutes.today, 0)
    assert sum(steps) == 2 * 1440  # two whole days (no DST change on October 5 and 6)
    days_counts = advance(by_days, 2)
    minutes_counts = total(*(advance_minutes(by_minutes, step) for step in steps))
    assert by_minutes.plan is None
    assert minutes_counts == days_counts
    assert data(by_minutes) == data(by_days)
    assert advance(by_minutes, 1) == advance(by_days, 1)  # and they go on alike
    assert data(by_minutes) == data(by_days)


def test_a_day_of_1440_minutes_is_a_day() -> None:
    by_days, by_minutes = generate(3, days=6), generate(3, days=6)
    assert advance_minutes(by_minutes, 1440) == advance(by_days, 1)
    assert data(by_minutes) == data(by_days)


def test_days_finish_the_day_in_progress_first() -> None:
    whole, split = generate(7, days=4), generate(7, days=4)
    start = split.clock
    partly = advance_minutes(split, 600)
    assert split.clock == start + 600 * 60
    assert split.plan is not None and split.today == whole.today
    rest = advance(split, 1)
    assert total(partly, rest) == advance(whole, 1)
    assert data(split) == data(whole)


def test_what_happens_in_minutes_happens_in_time_order() -> None:
    world = generate(7, days=4)
    day_start = world.clock
    advance_minutes(world, 9 * 60)
    morning_jobs = {job.id for job in world.jobs.values() if job.created >= day_start}
    assert all(world.jobs[job_id].created <= world.clock for job_id in morning_jobs)
    advance_minutes(world, 9 * 60)
    later = {job.id for job in world.jobs.values() if job.created >= day_start} - morning_jobs
    assert later and all(world.jobs[job_id].created > day_start + 9 * 3600 for job_id in later)


def test_advance_by_minutes_over_http(sim: RunningSimulator) -> None:
    clock = sim.state.world.clock
    control = sim.control_url
    answer = httpx.post(f"{control}/advance", json={"minutes": 90})
    assert answer.status_code == 200
    assert body(answer)["data"]["minutes"] == 90
    assert body(answer)["data"]["clock"] == clock + 90 * 60
    assert body(httpx.get(f"{control}/state"))["data"]["dayInProgress"] is True
    for bad in ({"days": 1, "minutes": 5}, {"minutes": -1}, {"minutes": "5"}, {"weeks": 1},
                {"days": 1.5}):  # fmt: skip
        refused = httpx.post(f"{control}/advance", json=bad)
        assert refused.status_code == 400, bad
    assert sim.advance_minutes(30) is not None
    assert sim.state.world.clock == clock + 120 * 60


def test_records_dated_ahead_are_served_from_their_moment(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    world = sim.state.world
    ahead = None
    for _ in range(24 * 6):  # a day in ten-minute steps, until an invoice is written up ahead
        sim.advance_minutes(10)
        ahead = next((i for i in world.invoices.values() if i.created > world.clock), None)
        if ahead is not None:
            break
    assert ahead is not None
    assert api.get(f"invoice/{ahead.id}").status_code == 404
    listed = body(api.get("invoice", params={"limit": 2000}))["data"]["invoices"]
    assert ahead.id not in {invoice["id"] for invoice in listed}
    sim.advance_minutes((ahead.created - world.clock) // 60 + 1)
    assert api.get(f"invoice/{ahead.id}").status_code == 200


def test_nothing_is_announced_before_it_happens(api: httpx.Client, sim: RunningSimulator) -> None:
    with Receiver() as hook:
        api.post("webhook", json={"hookUrl": hook.url})
        for _ in range(24 * 6):
            sim.advance_minutes(10)
            assert sim.wait_for_deliveries(5)  # one message per step, stamped with its clock
    assert hook.requests
    for message in hook.requests:
        assert all(event["timestamp"] <= int(message["timestamp"]) for event in message["data"])
    created = {e["entity"]["id"] for e in hook.events() if e["action"] == "created"}
    world = sim.state.world
    assert created >= {i.id for i in world.invoices.values() if i.created > world.clock - 86_400}


def test_saving_mid_day_saves_the_day_as_it_ends(tmp_path: Path) -> None:
    mid_day, whole = generate(7, days=4), generate(7, days=4)
    advance_minutes(mid_day, 13 * 60)
    path = tmp_path / "sim.json"
    save_world(mid_day, path)
    assert mid_day.plan is not None  # the running world is left as it was
    loaded = load_world(path)
    advance(whole, 1)
    assert loaded.plan is None and loaded.today == whole.today
    assert data(loaded) == data(whole)
    assert advance(loaded, 1) == advance(whole, 1)


# --- pace ---------------------------------------------------------------------------------------


def test_a_paced_simulator_runs_its_clock() -> None:
    with run_simulator(seed=7, days=4, pace=600) as sim:  # ten simulated hours a second
        assert sim.state.world.live is True
        start = sim.state.world.clock
        time.sleep(0.6)
        moved = sim.state.world.clock - start
        summary = sim.summary()
    assert 60 * 60 <= moved <= 10 * 3600
    assert summary["pace"] == 600 and summary["paceError"] is None


def test_without_pace_the_clock_stands_still() -> None:
    with run_simulator(seed=7, days=4) as sim:
        clock = sim.state.world.clock
        time.sleep(0.3)
        assert sim.state.world.clock == clock
        assert sim.state.world.live is False
    with pytest.raises(ValueError, match="pace"), run_simulator(seed=7, days=4, pace=-1):
        pass


# --- deletions ----------------------------------------------------------------------------------


def test_deleting_a_job_item_announces_it_and_the_api_forgets_it(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    item_id = next(iter(sim.state.world.job_items))
    with Receiver() as hook:
        api.post("webhook", json={"hookUrl": hook.url})
        answer = httpx.delete(f"{sim.control_url}/jobitem/{item_id}")
        assert answer.status_code == 200
        assert sim.wait_for_deliveries(5)
    assert hook.events() == [
        {
            "action": "deleted",
            "timestamp": sim.state.world.clock,
            "userId": None,
            "entity": {
                "type": "jobitem",
                "id": item_id,
                "uri": f"{sim.base_url}/jobitem/{item_id}",
            },
        }
    ]
    assert api.get(f"jobitem/{item_id}").status_code == 404
    listed = body(api.get("jobitem", params={"limit": 1000}))["data"]["jobItems"]
    assert item_id not in {item["id"] for item in listed}
    assert httpx.delete(f"{sim.control_url}/jobitem/{item_id}").status_code == 404


def test_what_the_world_still_needs_is_not_deleted(sim: RunningSimulator) -> None:
    world = sim.state.world
    control = sim.control_url
    invoice = next(iter(world.invoices))
    used = next(job.location_id for job in world.jobs.values())
    scheduled = next(job.id for job in world.jobs.values() if job.status == "scheduled")
    refusals = {
        f"invoice/{invoice}": "voided, never deleted",
        f"location/{used}": "it has jobs",
        f"job/{scheduled}": "only a canceled job",
        f"user/{world.api_user_id}": "deactivated",
        f"company/{world.account_id}": "account",
        f"vendor/{next(iter(world.pl_vendors))}": "PartsLedger",
    }
    for path, reason in refusals.items():
        answer = httpx.delete(f"{control}/{path}")
        assert answer.status_code == 400, path
        assert reason in body(answer)["messages"]["error"][0]
    with pytest.raises(ValueError, match="never deleted"):
        sim.delete("invoice", invoice)
    with pytest.raises(KeyError):
        sim.delete("clockevent", 1)
    assert invoice in world.invoices and used in world.locations


def test_unused_locations_canceled_jobs_clock_events_and_comments_can_go(
    api: httpx.Client, sim: RunningSimulator
) -> None:
    world = sim.state.world
    with_jobs = {job.location_id for job in world.jobs.values()}
    unused = next(loc for loc in world.locations if loc not in with_jobs)
    canceled = next(job for job in world.jobs.values() if job.status == "scheduled")
    sim.mutate("job", canceled.id, {"status": "canceled"})
    event = next(iter(world.clock_events))
    comment = body(
        api.post("comment", json={"entityType": 11, "entityId": unused, "content": "closing"})
    )["data"]["id"]
    for kind, record_id in (("location", unused), ("job", canceled.id), ("clockevent", event)):
        sim.delete(kind, record_id)
        path = {"clockevent": "clock"}.get(kind, kind)
        assert api.get(f"{path}/{record_id}").status_code == 404
    assert comment not in world.comments  # a deleted record's comments go with it


def test_live_activity_enters_mistakes_and_deletes_them_leaving_the_rest_alone() -> None:
    live, quiet = generate(7, days=4), generate(7, days=4)
    live.live = True
    live_counts, quiet_counts = advance(live, 20), advance(quiet, 20)
    assert live_counts["jobitems_entered_twice"] == live_counts["jobitems_deleted"] > 0
    assert live_counts["clockevents_entered_twice"] == live_counts["clockevents_deleted"] > 0
    mistakes = {"jobitems_entered_twice", "jobitems_deleted", "clockevents_entered_twice",
                "clockevents_deleted"}  # fmt: skip
    assert {k: v for k, v in live_counts.items() if k not in mistakes} == quiet_counts
    live_data, quiet_data = data(live), data(quiet)
    assert live_data["counters"].pop("next_live_id") > quiet_data["counters"].pop("next_live_id")
    assert live_data == quiet_data


def test_live_mistakes_are_announced_created_then_deleted() -> None:
    # Seed 4 has both kinds of mistake in its first three days.
    wanted = [{"entityType": kind, "actions": ["created", "deleted"]} for kind in (23, 31)]
    with (
        run_simulator(seed=4, days=4, webhook_policy=FAST) as sim,
        httpx.Client(base_url=sim.base_url + "/", timeout=10) as client,
        Receiver() as hook,
    ):
        client.post("auth", json=LOGIN)
        client.post("webhook", json={"hookUrl": hook.url, "entityEvents": wanted})
        sim.state.world.live = True
        for _ in range(3 * 24 * 4):  # three days in quarter hours
            sim.advance_minutes(15)
        assert sim.wait_for_deliveries(5)
    mistakes = [e for e in hook.events() if e["entity"]["id"] >= LIVE_ID_BASE]
    actions: dict[int, list[str]] = {}
    for event in mistakes:
        actions.setdefault(event["entity"]["id"], []).append(event["action"])
    assert actions and all(seen == ["created", "deleted"] for seen in actions.values())
    assert {e["entity"]["type"] for e in mistakes} == {"jobitem", "clockevent"}
