"""After recon demo, hand edits to the five cost modules are found and corrected, and the
tie-outs hold to the penny."""

from __future__ import annotations

import sqlite3
import uuid
from collections import Counter
from contextlib import closing
from typing import Any

import pytest

from adapters.sage.schema import IDENTITY_TABLES
from tests.e2e.conftest import Recon
from tests.e2e.test_hand_edits import approve_all

pytestmark = pytest.mark.slow

COST_MODULES = ("vendors", "ap_invoices", "journal", "job_cost", "daily_payroll")


def copy_row(
    db: sqlite3.Connection, table: str, where: str, args: tuple[Any, ...], **changes: Any
) -> None:
    """Insert a copy of one row with some columns changed (a hand-made duplicate or stray);
    Sage numbers the copy where its record number is IDENTITY, as the window would."""
    cursor = db.execute(f"SELECT * FROM {table} WHERE {where} LIMIT 1", args)
    names = [d[0] for d in cursor.description]
    row = dict(zip(names, cursor.fetchone(), strict=True))
    row.update(changes)
    if table in IDENTITY_TABLES:
        del row["recnum"]
    row["_idnum"] = (
        uuid.uuid4().hex
        if isinstance(row["_idnum"], str) and "-" not in row["_idnum"]
        else str(uuid.uuid4())
    )
    db.execute(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        tuple(row.values()),
    )


def findings(recon: Recon, *args: str) -> tuple[int, list[dict[str, Any]]]:
    code, result = recon.reconcile(*args)
    return code, result["findings"]


def test_the_demo_posts_every_module_and_the_tie_outs_hold(recon: Recon) -> None:
    status = recon.json("status")
    for module in COST_MODULES:
        assert status["modules"][module]["expected"] > 0, module
    for name in ("job_cost", "daily_payroll", "ap_invoices"):
        tie = status["tie_outs"][name]
        assert tie["ties"] and tie["differences"] == [] and tie["groups"] > 0, name
        assert tie["expected_total"] == tie["sage_total"]
    assert findings(recon) == (0, [])


def test_hand_edits_in_every_cost_module_are_found_and_corrected(recon: Recon) -> None:
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db, db:
        max_recnum = lambda table: db.execute(f"SELECT MAX(recnum) FROM {table}").fetchone()[0]  # noqa: E731
        # vendors: a deleted vendor, a renamed one, a stray in recon's range
        gone_vendor, renamed_vendor = [
            r[0] for r in db.execute("SELECT recnum FROM actpay ORDER BY recnum LIMIT 2")
        ]
        db.execute("DELETE FROM actpay WHERE recnum = ?", (gone_vendor,))
        db.execute(
            "UPDATE actpay SET vndnme = 'Renamed by hand' WHERE recnum = ?", (renamed_vendor,)
        )
        stray_vendor = max_recnum("actpay") + 50
        copy_row(db, "actpay", "recnum = ?", (renamed_vendor,), recnum=stray_vendor, vndnme="Stray")
        # payables: delete one, change a total, duplicate one
        ap = [
            r
            for r in db.execute(
                "SELECT recnum, usrdf1 FROM acpinv WHERE status = 1 ORDER BY recnum LIMIT 3"
            )
        ]
        db.execute("DELETE FROM apivln WHERE recnum = ?", (ap[0][0],))
        db.execute("DELETE FROM acpinv WHERE recnum = ?", (ap[0][0],))
        db.execute("UPDATE acpinv SET invttl = invttl + 5 WHERE recnum = ?", (ap[1][0],))
        copy_row(db, "acpinv", "recnum = ?", (ap[2][0],))
        # journal: delete one, change an amount, duplicate one
        je = [
            r
            for r in db.execute(
                "SELECT recnum, usrdf1 FROM lgrtrn WHERE srcnum = 3 AND status = 1 ORDER BY recnum LIMIT 3"
            )
        ]
        db.execute("DELETE FROM lgtnln WHERE recnum = ?", (je[0][0],))
        db.execute("DELETE FROM lgrtrn WHERE recnum = ?", (je[0][0],))
        db.execute(
            "UPDATE lgtnln SET dbtamt = dbtamt + 1 WHERE recnum = ? AND dbtamt > 0", (je[1][0],)
        )
        copy_row(db, "lgrtrn", "recnum = ?", (je[2][0],))
        # job cost: delete a row, change an amount, duplicate a row, add a stray
        jc = [
            r[0]
            for r in db.execute(
                "SELECT recnum FROM jobcst WHERE status = 1 ORDER BY recnum LIMIT 3"
            )
        ]
        db.execute("DELETE FROM jobcst WHERE recnum = ?", (jc[0],))
        db.execute("UPDATE jobcst SET cstamt = cstamt + 2.5 WHERE recnum = ?", (jc[1],))
        copy_row(db, "jobcst", "recnum = ?", (jc[2],))
        copy_row(
            db,
            "jobcst",
            "recnum = ?",
            (jc[2],),
            trnnum="JI999",
            cstamt=12,
        )
        # daily payroll: delete a line, change hours, duplicate a line
        dp = [r[0] for r in db.execute("SELECT usrdf1 FROM dlypyr ORDER BY usrdf1 LIMIT 3")]
        db.execute("DELETE FROM dlypyr WHERE usrdf1 = ?", (dp[0],))
        db.execute("UPDATE dlypyr SET payhrs = payhrs + 1 WHERE usrdf1 = ?", (dp[1],))
        copy_row(db, "dlypyr", "usrdf1 = ?", (dp[2],))

    code, found = findings(recon)
    assert code == 1
    kinds = Counter((f["module"], f["kind"]) for f in found)
    assert kinds == Counter(
        {
            ("vendors", "missing_in_sage"): 1,
            ("vendors", "field_differs"): 1,
            # the stray vendor is the office's (recon neither created nor adopted it): never
            # reported, and its number is never given out (application/adopt.py)
            ("ap_invoices", "missing_in_sage"): 1,
            ("ap_invoices", "amount_differs"): 1,
            ("ap_invoices", "duplicate_in_sage"): 1,
            ("journal", "missing_in_sage"): 1,
            ("journal", "amount_differs"): 1,
            ("journal", "duplicate_in_sage"): 1,
            ("job_cost", "missing_in_sage"): 1,
            ("job_cost", "amount_differs"): 1,
            ("job_cost", "duplicate_in_sage"): 1,
            ("job_cost", "unexpected_in_sage"): 1,
            ("daily_payroll", "missing_in_sage"): 1,
            ("daily_payroll", "amount_differs"): 1,
            ("daily_payroll", "duplicate_in_sage"): 1,
        }
    ), kinds
    hours = next(
        f for f in found if f["module"] == "daily_payroll" and f["kind"] == "amount_differs"
    )
    assert hours["difference"] == "1.00"

    code, result = recon.reconcile("--apply")
    assert result["applied"]["waiting_for_approval"], "corrections of edited documents wait"
    approve_all(recon, "hand edits checked")
    code, result = recon.reconcile("--apply")
    strays = sorted(f["key"] for f in result["remaining"])
    assert all(f["kind"] == "unexpected_in_sage" for f in result["remaining"])
    assert len(strays) == 1
    for key in strays:
        recon.run(
            "resolve", key, "--void", "--why", "entered by hand", "--config", str(recon.config)
        )
    assert findings(recon) == (0, [])
    status = recon.json("status")
    assert all(
        status["tie_outs"][name]["ties"] for name in ("job_cost", "daily_payroll", "ap_invoices")
    )
