"""`recon sync` as an operator runs it: a process beside Sage, ServiceTrade's webhooks through
the embedded relay, SIGTERM, and what reaches Sage without any poll."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import simulator
from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture
def world(recon: Recon) -> Iterator[simulator.RunningSimulator]:
    """The demo's world served on its own (as `recon sim serve` would), recon.toml pointed at
    it, polling set so far apart that after the first cycle only webhooks bring changes."""
    with simulator.run_simulator(state_file=recon.workdir / "simulator.json") as sim:
        text = recon.config.read_text()
        text = text.replace('base_url = "embedded"', 'base_url = "__URL__"', 2)
        st, pl = sim.base_url, sim.partsledger_url
        text = text.replace('base_url = "__URL__"', f'base_url = "{st}"\nclient_id = '
                            f'"{simulator.DEFAULT_CLIENT_ID}"\nclient_secret = '
                            f'"{simulator.DEFAULT_CLIENT_SECRET}"', 1)  # fmt: skip
        text = text.replace('base_url = "__URL__"', f'base_url = "{pl}"\nclient_id = '
                            f'"{simulator.DEFAULT_PL_CLIENT_ID}"\nclient_secret = '
                            f'"{simulator.DEFAULT_PL_CLIENT_SECRET}"', 1)  # fmt: skip
        text = text.replace("poll_interval_seconds = 60", "poll_interval_seconds = 3600")
        recon.config.write_text(text)
        yield sim


class Agent:
    """`recon sync` running in a subprocess; its log lines gathered in a file."""

    def __init__(self, recon: Recon, *args: str) -> None:
        self.log = recon.workdir / "sync.log"
        self.out = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "sync", "--config", str(recon.config), *args],
            stdout=self.out,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def stop(self) -> tuple[int, float]:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.out.close()
        return code, time.monotonic() - started


@pytest.fixture
def agent(recon: Recon, world: simulator.RunningSimulator) -> Iterator[Agent]:
    running = Agent(recon)
    wait_for(
        lambda: world.summary()["webhooks"]["registered"] and polled(running),
        60,
        "the agent registers its webhook and polls once",
    )
    yield running
    if running.process.poll() is None:
        running.stop()


def polled(agent: Agent) -> bool:
    return any("polled servicetrade" in line for line in agent.lines())


def sage_rows(recon: Recon, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(recon.workdir / "sage.db") as conn:
        return conn.execute(query).fetchall()


def record(recon: Recon, kind: str, source_id: str) -> tuple[int, bool] | None:
    with sqlite3.connect(recon.workdir / "recon.db") as conn:
        row = conn.execute(
            "select version, deleted from source_state where kind = ? and source_id = ?",
            (kind, source_id),
        ).fetchone()
    return None if row is None else (int(row[0]), bool(row[1]))


def test_sigterm_ends_the_agent_with_0_within_10_seconds(agent: Agent) -> None:
    code, took = agent.stop()
    assert code == 0, agent.lines()
    assert took < 10
    assert any("stopping: signal SIGTERM" in line for line in agent.lines())


def test_webhooks_alone_bring_a_day_of_work_into_sage(
    recon: Recon, world: simulator.RunningSimulator, agent: Agent
) -> None:
    before = sage_rows(recon, "select count(*) from acrinv")[0][0]
    world.advance(1)

    def settled() -> bool:
        world.wait_for_deliveries(timeout=5)
        return recon.run("reconcile", "--config", str(recon.config), check=None).returncode == 0

    wait_for(settled, 60, "Sage holds the day's work (polling is an hour away)")
    assert sage_rows(recon, "select count(*) from acrinv")[0][0] > before
    cycles = [line for line in agent.lines() if " cycle: " in line]
    assert sum("polled" in line for line in cycles) == 1  # the first cycle's poll only
    code, _ = agent.stop()
    assert code == 0


def test_duplicated_and_reordered_deliveries_record_one_event(
    recon: Recon, world: simulator.RunningSimulator, agent: Agent
) -> None:
    company = next(
        c for c in world.state.world.companies.values() if c.customer and c.status == "active"
    )
    held = record(recon, "company", str(company.id))
    assert held is not None
    world.webhook_faults(duplicate=1.0, reorder=0.5)
    world.mutate("company", company.id, {"name": company.name + " Holdings"})
    assert world.wait_for_deliveries(timeout=20)
    wait_for(
        lambda: (record(recon, "company", str(company.id)) or (0, False))[0] == held[0] + 1,
        30,
        "the name change is recorded",
    )
    time.sleep(2)  # the duplicates have arrived: nothing more is recorded
    assert record(recon, "company", str(company.id)) == (held[0] + 1, False)
    assert world.webhook_stats()["duplicated"] >= 1

    def proposed() -> list[dict[str, Any]]:
        return [p for p in recon.json("postings")["postings"] if p["module"] == "clients"]

    # The renamed client is an update, which waits for a person under the default policy:
    # one posting, however many times the webhook came.
    assert len(wait_for(proposed, 30, "the rename is proposed for Sage")) == 1


def test_a_deletion_arrives_by_webhook_and_is_recorded(
    recon: Recon, world: simulator.RunningSimulator, agent: Agent
) -> None:
    item = next(iter(sorted(world.state.world.job_items)))
    assert record(recon, "jobitem", str(item)) == (1, False)
    world.delete("jobitem", item)
    wait_for(
        lambda: (record(recon, "jobitem", str(item)) or (0, False))[1],
        30,
        "the deletion is recorded",
    )
    assert record(recon, "jobitem", str(item)) == (2, True)
    # Projected by the module's rule: the line recon wrote for it is no longer expected, and
    # waits for a person (recon resolve KEY --void) rather than being voided silently.
    _, result = recon.reconcile()
    gone = [f for f in result["findings"] if f["key"].endswith(str(item))]
    assert [f["kind"] for f in gone] == ["unexpected_in_sage"]


def test_once_runs_one_cycle_and_exits_0(recon: Recon, world: simulator.RunningSimulator) -> None:
    started = time.monotonic()
    result = recon.run("sync", "--once", "--config", str(recon.config), "--log-format", "json")
    assert time.monotonic() - started < 60
    events = [line for line in result.stderr.splitlines() if line.startswith("{")]
    assert any('"event": "cycle"' in line for line in events), result.stderr
