"""Adopt, don't duplicate: on a brownfield company, what the office keyed in ahead of recon is
linked, never entered a second time, and the office's own masters keep their numbers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow


def test_the_first_run_adopts_every_invoice_keyed_in_ahead_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "brownfield"
    recon = Recon(workdir)
    demo = json.loads(
        recon.run("demo", "--brownfield", "--workdir", str(workdir), "--json", check=None).stdout
    )
    hand_keyed = demo["brownfield"]["hand_keyed_invoices"]
    assert hand_keyed > 0

    code, result = recon.reconcile()

    assert code in (0, 1)
    assert result["adopted"]["ar_invoices"] == hand_keyed
    assert result["adopted"]["clients"] >= demo["brownfield"]["hand_keyed_customers"]
    assert not [f for f in result["findings"] if f["kind"] == "ambiguous_match"]
    assert not [f for f in result["findings"] if f["kind"] == "missing_in_sage"]
    with sqlite3.connect(workdir / "sage.db") as db:
        active, numbers = db.execute(
            "select count(*), count(distinct invnum) from acrinv where status <> 5"
        ).fetchone()
        office_clients = db.execute(
            "select count(*) from reccln where coalesce(usrdf1, '') not like 'ST-CO-%'"
        ).fetchone()[0]
    assert active == numbers  # 0 duplicates
    # recon created none of the office's clients again, and adopted ones stay unlinked in Sage
    status = recon.json("status")
    assert status["adopted"] == result["adopted"]
    assert office_clients >= result["adopted"]["clients"]
