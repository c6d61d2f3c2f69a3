"""After recon demo, hand edits to the Sage sandbox are found, corrected or resolved."""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing

import pytest

from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow


def sage(recon: Recon) -> sqlite3.Connection:
    return sqlite3.connect(recon.workdir / "sage.db")


def kinds(findings: list[dict[str, object]]) -> Counter[tuple[object, object, object]]:
    return Counter((f["module"], f["kind"], f["key"]) for f in findings)


def active_duplicates(db: sqlite3.Connection) -> list[tuple[object, ...]]:
    return db.execute(
        """
        SELECT 'acrinv', usrdf1, COUNT(*) FROM acrinv WHERE status <> 5 GROUP BY usrdf1 HAVING COUNT(*) > 1
        UNION ALL
        SELECT 'lgrtrn', usrdf1, COUNT(*) FROM lgrtrn WHERE status <> 3 GROUP BY usrdf1 HAVING COUNT(*) > 1
        UNION ALL
        SELECT 'reccln', usrdf1, COUNT(*) FROM reccln GROUP BY usrdf1 HAVING COUNT(*) > 1
        """
    ).fetchall()


def test_the_demo_leaves_books_that_reconcile(recon: Recon) -> None:
    code, result = recon.reconcile()
    assert (code, result["findings"]) == (0, [])
    status = recon.json("status")
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        invoices = db.execute("SELECT COUNT(*) FROM acrinv WHERE status <> 5").fetchone()[0]
    assert invoices > 0 and status["modules"]["ar_invoices"]["expected"] == invoices
    assert status["postings"] == {"confirmed": status["postings"]["confirmed"]}


def test_ingesting_again_without_upstream_change_appends_nothing(recon: Recon) -> None:
    before = recon.json("status")["events"]
    report = recon.json("ingest")
    assert sum(report["appended"].values()) == 0
    assert sum(report["fetched"].values()) > 0  # it did ask ServiceTrade
    assert recon.json("status")["events"] == before


def test_hand_edits_are_reported_corrected_and_resolved(recon: Recon) -> None:
    with closing(sage(recon)) as db, db:
        (gone_ref, gone_key), (edited_ref, edited_key, total) = (
            db.execute("SELECT recnum, usrdf1 FROM acrinv ORDER BY recnum LIMIT 1").fetchone(),
            db.execute(
                "SELECT recnum, usrdf1, invttl FROM acrinv ORDER BY recnum DESC LIMIT 1"
            ).fetchone(),
        )
        db.execute("DELETE FROM arivln WHERE recnum = ?", (gone_ref,))
        db.execute("DELETE FROM artxdt WHERE recnum = ?", (gone_ref,))
        db.execute("DELETE FROM acrinv WHERE recnum = ?", (gone_ref,))
        db.execute("UPDATE acrinv SET invttl = invttl + 12.34 WHERE recnum = ?", (edited_ref,))
        stray_ref = db.execute("SELECT MAX(recnum) + 100 FROM acrinv").fetchone()[0]
        db.execute(
            "INSERT INTO acrinv (_idnum, recnum, invnum, invdte, jobnum, dscrpt, invtyp, status,"
            " taxabl, nontax, slstax, invttl, invbal, actper, postyr)"
            " VALUES (?, ?, 'HAND-1', '2026-10-20', 5001, 'Entered by hand', 2, 1,"
            " 0, 250, 0, 250, 250, 10, 2026)",
            ("0f0e0d0c0b0a09080706050403020100", stray_ref),
        )
        client_key = db.execute("SELECT usrdf1 FROM reccln ORDER BY recnum LIMIT 1").fetchone()[0]
        db.execute("DELETE FROM reccln WHERE usrdf1 = ?", (client_key,))

    code, result = recon.reconcile()
    assert code == 1
    stray_key = f"SAGE-acrinv-{stray_ref}"
    assert kinds(result["findings"]) == Counter(
        {
            ("ar_invoices", "missing_in_sage", gone_key): 1,
            ("ar_invoices", "amount_differs", edited_key): 1,
            ("ar_invoices", "unexpected_in_sage", stray_key): 1,
            ("clients", "missing_in_sage", client_key): 1,
        }
    )
    edited = next(f for f in result["findings"] if f["kind"] == "amount_differs")
    assert edited["difference"] == "12.34"
    assert edited["expected"] == f"{total:.2f}"

    code, result = recon.reconcile("--apply")
    assert code == 1
    assert [(f["kind"], f["key"]) for f in result["remaining"]] == [
        ("unexpected_in_sage", stray_key)
    ]
    assert result["applied"]["left_for_people"] == [stray_key]

    recon.run(
        "resolve",
        stray_key,
        "--void",
        "--why",
        "entered twice by the office",
        "--by",
        "controller",
        "--config",
        str(recon.config),
    )
    code, result = recon.reconcile()
    assert (code, result["findings"]) == (0, [])

    with closing(sage(recon)) as db:
        assert active_duplicates(db) == []
        # the edited invoice was voided and re-entered, never changed in place
        statuses = db.execute(
            "SELECT status, vodrec FROM acrinv WHERE usrdf1 = ? ORDER BY recnum", (edited_key,)
        ).fetchall()
        assert statuses == [(5, None), (1, edited_ref)]
        assert db.execute(
            "SELECT status FROM acrinv WHERE recnum = ?", (stray_ref,)
        ).fetchone() == (5,)


def test_accepting_a_stray_document_stops_reporting_it(recon: Recon) -> None:
    with closing(sage(recon)) as db, db:
        db.execute(
            "INSERT INTO acrinv (_idnum, recnum, invnum, invdte, invtyp, status, invttl, actper, postyr)"
            " VALUES ('00000000000000000000000000000001', 999999, 'DEP-1', '2026-10-02', 2, 1, 500, 10, 2026)"
        )
    code, result = recon.reconcile("--period", "2026-10")
    assert code == 1 and [f["key"] for f in result["findings"]] == ["SAGE-acrinv-999999"]
    recon.run(
        "resolve",
        "SAGE-acrinv-999999",
        "--accept",
        "--why",
        "deposit invoice",
        "--config",
        str(recon.config),
    )
    assert recon.reconcile()[0] == 0
    denied = recon.run(
        "resolve",
        "SAGE-acrinv-999999",
        "--accept",
        "--why",
        "again",
        "--config",
        str(recon.config),
        check=2,
    )
    assert "already settled by a person" in denied.stderr
