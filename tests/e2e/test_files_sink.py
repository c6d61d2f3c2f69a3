"""The periodic file sync: corrections go out as one import batch per run and are confirmed
only once Sage (here, the sandbox's simulated import) shows them."""

from __future__ import annotations

import json
import sqlite3
import tomllib
from contextlib import closing
from pathlib import Path

import pytest
import tomli_w

from tests.e2e.conftest import Recon
from tests.e2e.test_hand_edits import approve_all

pytestmark = pytest.mark.slow


def use_files_sink(recon: Recon) -> Path:
    data = tomllib.loads(recon.config.read_text())
    data["sage"]["sink"] = "files"
    recon.config.write_text(tomli_w.dumps(data))
    return Path(data["sage"]["drop_folder"])


def batches(drop: Path) -> list[Path]:
    return sorted(p for p in drop.glob("batch-*") if p.is_dir())


def test_batches_are_written_once_imported_and_then_confirmed(recon: Recon) -> None:
    drop = use_files_sink(recon)
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db, db:
        gone = db.execute(
            "SELECT recnum, usrdf1 FROM acpinv WHERE status = 1 ORDER BY recnum LIMIT 1"
        ).fetchone()
        db.execute("DELETE FROM apivln WHERE recnum = ?", (gone[0],))
        db.execute("DELETE FROM acpinv WHERE recnum = ?", (gone[0],))
        hours = db.execute("SELECT usrdf1 FROM dlypyr ORDER BY usrdf1 LIMIT 1").fetchone()[0]
        db.execute("UPDATE dlypyr SET payhrs = payhrs + 2 WHERE usrdf1 = ?", (hours,))
        invoice = db.execute(
            "SELECT usrdf1 FROM acrinv WHERE status = 1 ORDER BY recnum LIMIT 1"
        ).fetchone()[0]
        db.execute("UPDATE acrinv SET invttl = invttl + 1 WHERE usrdf1 = ?", (invoice,))

    # The missing bill goes out at once; the hours and the total edited in Sage wait for a
    # person, then go out in the next run's batch.
    code, result = recon.reconcile("--apply")
    assert code == 1
    assert len(result["applied"]["waiting_for_sage"]) == 1
    assert len(result["applied"]["waiting_for_approval"]) == 2
    assert len(result["remaining"]) == 3  # written to the drop folder, not yet in Sage
    [first] = batches(drop)
    manifest = json.loads((first / "manifest.json").read_text())
    assert [p["key"] for p in manifest["postings"]] == [gone[1]]
    assert sorted(p["key"] for p in approve_all(recon)) == sorted([hours, invoice])

    code, result = recon.reconcile("--apply")
    assert len(result["applied"]["waiting_for_sage"]) == 3
    [_, second] = batches(drop)
    manifest = json.loads((second / "manifest.json").read_text())
    assert sorted(p["key"] for p in manifest["postings"]) == sorted([hours, invoice])

    # Nothing imported yet: another run writes no further batch for the same corrections.
    code, result = recon.reconcile("--apply")
    assert len(batches(drop)) == 2
    assert result["applied"]["confirmed"] == []
    assert recon.json("status")["postings"]["submitted"] == 3

    recon.run("sandbox", "import", "--config", str(recon.config))
    assert batches(drop) == []
    code, result = recon.reconcile("--apply")
    assert (code, result["findings"]) == (0, [])
    status = recon.json("status")
    assert status["postings"].get("submitted", 0) == 0
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        assert db.execute(
            "SELECT COUNT(*) FROM acpinv WHERE usrdf1 = ? AND status = 1", (gone[1],)
        ).fetchone() == (1,)
        # the invoice was voided and re-entered by the import, as the window would
        assert [
            r[0]
            for r in db.execute(
                "SELECT status FROM acrinv WHERE usrdf1 = ? ORDER BY recnum", (invoice,)
            )
        ] == [5, 1]
