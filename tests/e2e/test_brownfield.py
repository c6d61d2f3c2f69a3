"""`recon sandbox init --brownfield` and `recon demo --brownfield`: Sage starts with history."""

from __future__ import annotations

import json
import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_sandbox_init_brownfield_makes_a_company_with_history_and_hand_keyed_invoices(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sage.db"
    recon = Recon(tmp_path)

    made = recon.run("sandbox", "init", "--brownfield", "--sage", f"sqlite:///{path}")

    assert "locked through 2026-08" in made.stdout
    assert 'current_period = "2026-10"' in made.stdout
    periods = _rows(path, "SELECT DISTINCT postyr, actper FROM acrinv ORDER BY postyr, actper")
    assert len(periods) >= 24  # two years of history, and the current period
    assert periods[0] == (2024, 10) and periods[-1] == (2026, 10)
    assert _rows(path, "SELECT count(*) FROM lgrbal")[0][0] > 0
    assert _rows(path, "SELECT count(*) FROM payrec")[0][0] > 0
    assert _rows(path, "SELECT count(*) FROM tmcdln")[0][0] > 0
    paid = _rows(path, "SELECT count(*) FROM acrinv WHERE status = 4")[0][0]
    assert paid > 100
    # The simulator's invoices the office keyed in by hand: ServiceTrade's numbers, no link key.
    keyed = _rows(path, "SELECT invnum, invttl, usrdf1 FROM acrinv WHERE invnum LIKE 'INV-%'")
    assert len(keyed) >= 5
    assert all(not link for _, _, link in keyed)

    refused = recon.run("sandbox", "init", "--brownfield", "--sage", f"sqlite:///{path}", check=2)
    assert "already holds data" in refused.stderr  # and is left as it was
    again = recon.run("sandbox", "init", "--brownfield", "--sage", f"sqlite:///{path}", "--reset")
    assert again.stdout == made.stdout  # same seed and month: the same company


def _demo(tmp_path: Path) -> tuple[Recon, dict[str, Any]]:
    workdir = tmp_path / "demo"
    recon = Recon(workdir)
    result = recon.run("demo", "--brownfield", "--workdir", str(workdir), "--json", check=None)
    assert result.returncode in (0, 1), result.stderr
    return recon, json.loads(result.stdout)


def test_demo_brownfield_runs_the_whole_job_and_writes_the_periods(tmp_path: Path) -> None:
    recon, summary = _demo(tmp_path)

    config = tomllib.loads(recon.config.read_text())
    assert config["sage"]["current_period"] == summary["brownfield"]["current_period"] == "2026-10"
    assert config["sage"]["locked_through"] == summary["brownfield"]["locked_through"] == "2026-08"
    assert summary["brownfield"]["hand_keyed_invoices"] > 0
    assert summary["first_findings"] > 0  # Sage holds what recon did not write
    assert summary["ingest"]["rejected"] == {} or sum(summary["ingest"]["rejected"].values()) == 0
    sage = Path(tomllib.loads(recon.config.read_text())["sage"]["url"].removeprefix("sqlite:///"))
    assert _rows(sage, "SELECT count(*) FROM lgrbal")[0][0] > 0  # the company, not an empty one
    code, _ = recon.reconcile()
    assert code in (0, 1)  # the config with its periods is accepted


def test_demo_brownfield_ends_at_zero_findings_after_approvals_and_leaves_the_office_alone(
    tmp_path: Path,
) -> None:
    recon, _ = _demo(tmp_path)
    sage = Path(tomllib.loads(recon.config.read_text())["sage"]["url"].removeprefix("sqlite:///"))
    office = (
        "SELECT count(*), coalesce(sum(invttl), 0) FROM acrinv "
        "WHERE coalesce(usrdf1, '') = '' AND status = 5"
    )
    voided_before = _rows(sage, office)
    office_payroll = _rows(sage, "SELECT count(*) FROM dlypyr WHERE coalesce(usrdf1, '') = ''")

    waiting = recon.json("postings")["postings"]
    assert waiting, "what touches the office's records waits for a person"
    assert all(p["action"] != "create" or p["waits_because"] for p in waiting)
    recon.run(
        "approve", "--all", "--by", "controller", "--why", "checked", "--config", str(recon.config)
    )
    recon.reconcile("--apply", check=None)

    code, result = recon.reconcile()
    assert (code, result["findings"]) == (0, [])
    assert _rows(sage, office) == voided_before  # no invoice of the office's was voided
    assert _rows(sage, "SELECT count(*) FROM dlypyr WHERE coalesce(usrdf1, '') = ''") == (
        office_payroll
    )
