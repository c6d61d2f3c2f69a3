"""A Sage database restored from an older backup: recon replay posts exactly what is missing."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tomllib
from contextlib import closing
from datetime import date

import pytest

from simulator import run_simulator
from tests.e2e.conftest import Recon
from tests.e2e.test_hand_edits import active_duplicates, approve_all

pytestmark = pytest.mark.slow


def test_replay_after_a_restore_posts_only_what_the_backup_lacks(recon: Recon) -> None:
    backup = recon.workdir / "sage-backup.db"
    shutil.copy(recon.workdir / "sage.db", backup)

    # A week of work happens after the backup, and recon posts it.
    sim = tomllib.loads(recon.config.read_text())["servicetrade"]["simulator"]
    with run_simulator(
        sim["seed"], start=date.fromisoformat(sim["start_date"]), state_file=sim["state_file"]
    ) as running:
        added = running.advance(7)
    assert sum(added.values()) > 0
    recon.run("ingest", "--config", str(recon.config))
    code, result = recon.reconcile("--apply")
    assert code == 1
    # New records post unattended; documents already posted and changed upstream wait.
    waiting = result["applied"]["waiting_for_approval"]
    assert {f["key"] for f in result["remaining"]} == {label.split()[1] for label in waiting}
    if waiting:
        approve_all(recon, "changed in ServiceTrade this week")
        code, result = recon.reconcile("--apply")
        assert result["remaining"] == []
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        posted_week = db.execute("SELECT COUNT(*) FROM acrinv").fetchone()[0]
    with closing(sqlite3.connect(backup)) as db:
        in_backup = db.execute("SELECT COUNT(*) FROM acrinv").fetchone()[0]
    assert posted_week > in_backup

    # Sage is restored from the backup: the week's documents are gone.
    shutil.copy(backup, recon.workdir / "sage.db")
    replayed = json.loads(
        recon.run("replay", "--apply", "--json", "--config", str(recon.config), check=1).stdout
    )
    # What the backup lacks is re-entered unattended; what it holds in an older form waits.
    applied = replayed["applied"]
    assert applied["confirmed"] and all(p.endswith("(create)") for p in applied["confirmed"])
    assert not any(p.endswith("(create)") for p in applied["waiting_for_approval"])
    assert {f["key"] for f in replayed["remaining"]} == {
        label.split()[1] for label in applied["waiting_for_approval"]
    }
    if applied["waiting_for_approval"]:
        approve_all(recon, "the backup predates these changes")
        recon.reconcile("--apply")
    code, result = recon.reconcile()
    assert (code, result["findings"]) == (0, [])
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        assert active_duplicates(db) == []
        assert db.execute("SELECT COUNT(*) FROM acrinv").fetchone()[0] >= posted_week
