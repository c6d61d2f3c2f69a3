"""A posting process killed at any step, then run again: every document exactly once."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from cli.bootstrap import CRASH_POINTS, FAULT_ENV, FAULT_EXIT
from tests.e2e.conftest import Recon
from tests.e2e.test_hand_edits import active_duplicates, approve_all

pytestmark = pytest.mark.slow


def break_books(recon: Recon) -> tuple[str, str]:
    """Delete one invoice (a create to post) and change another's total (a void and re-entry)."""
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db, db:
        gone_ref, gone_key = db.execute(
            "SELECT recnum, usrdf1 FROM acrinv ORDER BY recnum LIMIT 1"
        ).fetchone()
        for table in ("arivln", "artxdt", "acrinv"):
            db.execute(f"DELETE FROM {table} WHERE recnum = ?", (gone_ref,))
        edited_key = db.execute(
            "SELECT usrdf1 FROM acrinv ORDER BY recnum DESC LIMIT 1"
        ).fetchone()[0]
        db.execute("UPDATE acrinv SET invttl = invttl - 1 WHERE usrdf1 = ?", (edited_key,))
    return gone_key, edited_key


#: The posting use case's own steps are crashed in tests/application_tests with fakes; here,
#: one of them and every step inside the sql sink's transaction, on a real sandbox.
END_TO_END_STEPS = ("after_write", *(p for p in CRASH_POINTS if p.startswith("sink_")))


@pytest.mark.parametrize("step", END_TO_END_STEPS)
def test_a_crash_at_any_step_then_a_rerun_posts_every_document_once(
    recon: Recon, step: str
) -> None:
    gone_key, edited_key = break_books(recon)
    # The creation posts unattended and the process dies writing it; the re-entry of the
    # edited invoice waits for a person, who approves it; the process dies writing that.
    for _ in range(2):
        crashed = recon.run(
            "reconcile", "--apply", "--config", str(recon.config), env={FAULT_ENV: step}, check=None
        )
        assert crashed.returncode == FAULT_EXIT, crashed.stderr
        approve_all(recon, "the total was typed over")

    code, rerun = recon.reconcile("--apply")
    written_before_the_crash = step in ("after_write", "sink_after_write")
    assert code == (0 if written_before_the_crash else 1), rerun
    assert rerun["applied"]["failed"] == [], rerun["applied"]
    assert rerun["remaining"] == []
    code, result = recon.reconcile()
    assert (code, result["findings"]) == (0, [])
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        assert active_duplicates(db) == []
        for key in (gone_key, edited_key):
            active = db.execute(
                "SELECT COUNT(*) FROM acrinv WHERE usrdf1 = ? AND status <> 5", (key,)
            ).fetchone()[0]
            assert active == 1, key
    postings = recon.json("status")["postings"]
    assert postings.get("proposed", 0) == postings.get("submitted", 0) == 0
