"""A Sage database restored from an older backup: recon replay posts exactly what is missing."""

from __future__ import annotations

import shutil
import sqlite3
import tomllib
from contextlib import closing
from datetime import date

import pytest

from simulator import run_simulator
from tests.e2e.conftest import Recon
from tests.e2e.test_hand_edits import active_duplicates

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
    assert code == 1 and result["remaining"] == []
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        posted_week = db.execute("SELECT COUNT(*) FROM acrinv").fetchone()[0]
    with closing(sqlite3.connect(backup)) as db:
        in_backup = db.execute("SELECT COUNT(*) FROM acrinv").fetchone()[0]
    assert posted_week > in_backup

    # Sage is restored from the backup: the week's documents are gone.
    shutil.copy(backup, recon.workdir / "sage.db")
    replayed = recon.run("replay", "--apply", "--json", "--config", str(recon.config), check=1)
    assert '"remaining": []' in replayed.stdout
    code, result = recon.reconcile()
    assert (code, result["findings"]) == (0, [])
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        assert active_duplicates(db) == []
        assert db.execute("SELECT COUNT(*) FROM acrinv").fetchone()[0] >= posted_week
