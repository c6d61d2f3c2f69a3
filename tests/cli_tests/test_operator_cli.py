"""The operator's surface: a simulator other machines can reach needs its control token; the
missing-config hint names the configurations nearby; tables show units; progress only on a
terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from cli.common import missing_config
from cli.progress import Meter, MeteredLog, MeteredSink, metered_feeds
from cli.tables import Table, figure, hours, money, sage_document
from domain.ports import Imported, StoredEvent, Written

# --- the simulator's control API -------------------------------------------------------------


class Served:
    def __init__(self, process: subprocess.Popen[str], root: str, token: str | None) -> None:
        self.process, self.root, self.token = process, root, token


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> Served:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "sim", "serve", "--port", "0", "--quiet", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None and process.stderr is not None
        root, deadline = "", time.monotonic() + 60
        while not root and time.monotonic() < deadline:
            line = process.stdout.readline()
            if "listening on" in line:
                root = line.split("listening on", 1)[1].strip()
        assert root, "the simulator did not say where it listens"
        token = None
        if "--allow-remote" in args and "--control-token" not in args:
            said = process.stderr.readline()
            assert said.startswith("recon: control API token"), said
            token = said.rsplit(": ", 1)[1].strip()
        return Served(process, root, token)

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_a_simulator_on_a_non_loopback_host_is_refused_without_allow_remote() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli", "sim", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "--allow-remote" in line and "control API" in line


def test_with_allow_remote_the_control_api_needs_the_generated_token(serve: Any) -> None:
    sim = serve("--allow-remote")
    assert sim.token and len(sim.token) >= 16
    assert httpx.get(f"{sim.root}/_sim/state").status_code == 401
    wrong = httpx.get(f"{sim.root}/_sim/state", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    bearer = {"Authorization": f"Bearer {sim.token}"}
    assert httpx.get(f"{sim.root}/_sim/state", headers=bearer).status_code == 200
    header = {"X-Sim-Control-Token": sim.token}
    assert httpx.get(f"{sim.root}/_sim/state", headers=header).status_code == 200
    # The APIs themselves keep their own authentication, unchanged.
    assert httpx.get(f"{sim.root}/api/company").status_code == 401


def test_a_given_control_token_is_required_and_never_printed(serve: Any) -> None:
    token = "given-control-token-0123456789"
    sim = serve("--control-token", token)
    assert httpx.get(f"{sim.root}/_sim/state").status_code == 401
    answer = httpx.get(f"{sim.root}/_sim/state", headers={"X-Sim-Control-Token": token})
    assert answer.status_code == 200


def test_on_loopback_the_control_api_needs_no_token(serve: Any) -> None:
    sim = serve()
    assert httpx.get(f"{sim.root}/_sim/state").status_code == 200


# --- the missing-config hint -----------------------------------------------------------------


def test_without_a_config_the_hint_names_the_configs_one_level_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECON_CONFIG", raising=False)
    (tmp_path / "recon-demo").mkdir()
    (tmp_path / "recon-demo" / "recon.toml").write_text("")
    said = missing_config(Path("recon.toml"), tmp_path)
    assert "no such configuration file recon.toml" in said
    assert "run with --config recon-demo/recon.toml" in said
    (tmp_path / "recon-demo" / "recon.toml").unlink()
    assert "run recon demo to make one" in missing_config(Path("recon.toml"), tmp_path)


def test_the_command_says_where_the_config_is(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "recon.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if k != "RECON_CONFIG"}
    result = subprocess.run(
        [sys.executable, "-m", "cli", "status"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.endswith("run with --config site/recon.toml")
    folder = subprocess.run(
        [sys.executable, "-m", "cli", "status", "--config", "site"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert folder.returncode == 2 and "run with --config site/recon.toml" in folder.stderr


# --- tables ----------------------------------------------------------------------------------


def test_figures_show_their_unit() -> None:
    assert money("1234.5") == "1,234.50"
    assert money("-76.58") == "-76.58"
    assert hours("12.5") == "12.50 h"
    assert figure("daily_payroll", "356.75") == "356.75 h"
    assert figure("ar_invoices", "66854.23") == "66,854.23"
    assert figure("ar_invoices", None) == ""


def test_sage_documents_are_named_by_the_number_the_sage_window_shows() -> None:
    assert sage_document("ar_invoices", {"invnum": "INV-10013"}) == "invoice INV-10013"
    assert sage_document("clients", {"recnum": "1002"}) == "client 1002"
    assert sage_document("jobs", {"recnum": "5001"}) == "job 5001"
    assert sage_document("ap_invoices", {"invnum": "C-1", "vndnum": "2006"}) == (
        "vendor 2006 invoice C-1"
    )
    assert sage_document("daily_payroll", {"empnum": "106", "paydte": "2026-10-02"}) == (
        "employee 106 2026-10-02"
    )
    assert sage_document("journal", {}) == ""


def test_a_table_off_a_terminal_is_plain_aligned_and_never_cuts_a_figure() -> None:
    out = io.StringIO()
    table = Table("Module", "Total", "Why", right=("Total",))
    table.add("ar_invoices", money("1234567.8"), "x" * 300)
    table.add("daily_payroll", hours("3.5"), "[bold]not markup[/bold]")
    table.print(Console(file=out, width=100_000, no_color=True, markup=False))
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["Module", "Total", "Why"]
    assert "\x1b[" not in out.getvalue()
    assert "1,234,567.80" in lines[2] and "x" * 300 in lines[2]
    assert "[bold]not markup[/bold]" in lines[3]
    assert lines[2].index("1,234,567.80") + len("1,234,567.80") == lines[3].index("3.50 h") + len(
        "3.50 h"
    )  # right-aligned
    assert all(line == line.rstrip() for line in lines)


# --- progress --------------------------------------------------------------------------------


class Feed:
    system = "servicetrade"

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]:
        yield [{"id": 1}, {"id": 2}]
        yield [{"id": 3}]

    def __str__(self) -> str:
        return "servicetrade"


def terminal() -> tuple[Meter, io.StringIO]:
    out = io.StringIO()
    return Meter(Console(file=out, force_terminal=True, width=100)), out


def test_progress_is_shown_on_a_terminal() -> None:
    meter, out = terminal()
    [feed] = metered_feeds([Feed()], meter)
    pages = list(feed.pages("job", None))  # type: ignore[attr-defined]
    assert sum(map(len, pages)) == 3
    assert "servicetrade/job records" in out.getvalue()
    assert str(feed) == "servicetrade"


def test_a_first_sync_shows_only_first_fetches() -> None:
    meter, out = terminal()
    [feed] = metered_feeds([Feed()], meter, first_only=True)
    assert len(list(feed.pages("job", 1_700_000_000))) == 2  # type: ignore[attr-defined]
    assert out.getvalue() == ""


def test_off_a_terminal_nothing_is_shown_and_nothing_wrapped() -> None:
    out = io.StringIO()
    meter = Meter(Console(file=out))
    feeds = [Feed()]
    assert metered_feeds(feeds, meter)[0] is feeds[0]
    with meter.task("events replayed", total=10) as advance:
        advance(5)
    assert out.getvalue() == ""


class Log:
    def __init__(self, n: int) -> None:
        self.events = [StoredEvent(i, "x", 1, "t", {}) for i in range(1, n + 1)]

    def read(self, after: int, limit: int) -> list[StoredEvent]:
        return [e for e in self.events if e.position > after][:limit]

    def max_position(self) -> int:
        return len(self.events)


def test_a_replay_counts_events_to_the_end_of_the_log() -> None:
    seen: list[int] = []
    log = MeteredLog(Log(25), lambda n=1, total=None: seen.append(n))
    position = 0
    while page := log.read(position, 10):
        position = page[-1].position
    assert sum(seen) == 25 == log.max_position()


class Sink:
    name = "sql"

    def __init__(self) -> None:
        self.staged: list[str] = []

    def stage(self, posting_id: str, *args: Any, key: str | None = None) -> None:
        self.staged.append(posting_id)

    def flush(self, needed: Any = None) -> Iterator[Written]:
        for posting_id in self.staged:
            yield Written(posting_id)

    def written(self, posting_id: str) -> str | None:
        return None

    def imported(self, posting_id: str) -> Imported | None:
        return None


def test_posting_counts_writes_against_what_was_staged() -> None:
    meter, out = terminal()
    sink = MeteredSink(Sink(), meter)  # type: ignore[arg-type]
    for n in range(3):
        sink.stage(f"p{n}", "create", "clients", None)
    assert [w.posting_id for w in sink.flush()] == ["p0", "p1", "p2"]
    assert "postings written to Sage" in out.getvalue()


# --- the relay's webhook URL -----------------------------------------------------------------


def test_the_relay_never_prints_its_webhook_secret_unless_asked(tmp_path: Path) -> None:
    secret = "relay-hook-secret-" + "x" * 30

    def announced(*extra: str) -> str:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "relay", "serve", "--store",
             f"sqlite:///{tmp_path / 'relay.db'}", "--hook-port", "0", "--agent-port", "0",
             "--agent-token", "site=agent-token-0123456789", "--hook-secret", secret, "--quiet",
             *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            lines = []
            for line in process.stdout:
                lines.append(line)
                if line.lstrip().startswith("agents:"):
                    break
            return "".join(lines)
        finally:
            process.terminate()
            process.communicate(timeout=30)

    hidden = announced()
    assert secret not in hidden and "/hooks/***" in hidden and "--show-hook-url" in hidden
    assert f"/hooks/{secret}" in announced("--show-hook-url")
