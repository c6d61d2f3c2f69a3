"""After recon demo, hand edits to the Sage sandbox are found, corrected or resolved."""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from typing import Any

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


def keyed_by_hand(db: sqlite3.Connection, table: str, idnum: str, **values: object) -> int:
    """A row keyed in by hand, as a Sage window enters it: the columns of the table's first
    row, with ``values`` (Sage gives the recnum); the recnum it got."""
    cursor = db.execute(f"SELECT * FROM {table} ORDER BY recnum LIMIT 1")
    names = [d[0] for d in cursor.description]
    row = {**dict(zip(names, cursor.fetchone(), strict=True)), **values, "_idnum": idnum}
    row.pop("recnum")
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))
    return int(db.execute(f"SELECT recnum FROM {table} WHERE _idnum = ?", (idnum,)).fetchone()[0])


#: An invoice the office keys in by hand: no link key, a number of its own.
BY_HAND = {
    "usrdf1": "",
    "invtyp": 2,
    "status": 1,
    "taxabl": 0,
    "slstax": 0,
    "lgrrec": 0,
    "vodrec": 0,
    "actper": 10,
    "postyr": 2026,
}


def approve_all(recon: Recon, why: str = "checked against Sage") -> list[dict[str, Any]]:
    """What waits for a person, approved as a user would (recon approve --all)."""
    waiting = recon.json("postings")["postings"]
    recon.run("approve", "--all", "--by", "tester", "--why", why, "--config", str(recon.config))
    assert recon.json("postings")["postings"] == []
    return list(waiting)


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
        stray_ref = keyed_by_hand(
            db,
            "acrinv",
            "0f0e0d0c0b0a09080706050403020100",
            **BY_HAND,
            invnum="HAND-1",
            invdte="2026-10-20",
            jobnum=5001,
            dscrpt="Entered by hand",
            **dict.fromkeys(("subttl", "nontax", "invttl", "invbal", "invnet"), 250),
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

    # The creations post unattended; the void and re-entry of the edited invoice waits.
    code, result = recon.reconcile("--apply")
    assert code == 1
    assert sorted((f["kind"], f["key"]) for f in result["remaining"]) == [
        ("amount_differs", edited_key),
        ("unexpected_in_sage", stray_key),
    ]
    assert result["applied"]["left_for_people"] == [stray_key]
    assert result["applied"]["waiting_for_approval"] == [f"ar_invoices {edited_key} (replace)"]
    again = recon.run("reconcile", "--apply", "--config", str(recon.config), check=1).stdout
    assert "1 postings wait for approval: recon postings --state proposed" in again
    [waiting] = approve_all(recon, "the total was typed over in Sage")
    assert (waiting["key"], waiting["action"], waiting["sage_refs"]) == (
        edited_key,
        "replace",
        [edited_ref],
    )
    assert waiting["waits_because"] == ["replace needs a person", "edited in Sage"]
    assert waiting["amount"] == f"{total:.2f}"

    applied = recon.run("reconcile", "--apply", "--config", str(recon.config), check=1).stdout
    assert "postings wait for approval" not in applied
    code, result = recon.reconcile()
    assert [(f["kind"], f["key"]) for f in result["findings"]] == [
        ("unexpected_in_sage", stray_key)
    ]
    [approved] = [
        p
        for p in recon.json("postings", "--state", "confirmed")["postings"]
        if p["key"] == edited_key
    ][-1:]
    assert (approved["action"], approved["decided_by"]) == ("replace", "tester")

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
        assert [(status, vodrec or None) for status, vodrec in statuses] == [
            (5, None),  # no record voided by it (0 where the column is NOT NULL)
            (1, edited_ref),
        ]
        assert db.execute(
            "SELECT status FROM acrinv WHERE recnum = ?", (stray_ref,)
        ).fetchone() == (5,)


def test_accepting_a_stray_document_stops_reporting_it(recon: Recon) -> None:
    with closing(sage(recon)) as db, db:
        ref = keyed_by_hand(
            db,
            "acrinv",
            "00000000000000000000000000000001",
            **BY_HAND,
            invnum="DEP-1",
            invdte="2026-10-02",
            dscrpt="Deposit",
            **dict.fromkeys(("subttl", "nontax", "invttl", "invbal", "invnet"), 500),
        )
    stray = f"SAGE-acrinv-{ref}"
    code, result = recon.reconcile("--period", "2026-10")
    assert code == 1 and [f["key"] for f in result["findings"]] == [stray]
    recon.run(
        "resolve",
        stray,
        "--accept",
        "--why",
        "deposit invoice",
        "--config",
        str(recon.config),
    )
    assert recon.reconcile()[0] == 0
    denied = recon.run(
        "resolve",
        stray,
        "--accept",
        "--why",
        "again",
        "--config",
        str(recon.config),
        check=2,
    )
    assert "already settled by a person" in denied.stderr


def test_pairing_digests_first_finds_what_reading_everything_finds(
    recon: Recon, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.sage.reader import SageReader
    from application.reconcile import reconcile
    from cli.bootstrap import context
    from cli.config import load_config

    with closing(sage(recon)) as db, db:
        refs = [r for (r,) in db.execute("SELECT recnum FROM acrinv ORDER BY recnum LIMIT 6")]
        db.execute("UPDATE acrinv SET invttl = invttl + 1 WHERE recnum = ?", (refs[0],))
        db.execute("DELETE FROM arivln WHERE recnum = ? AND linnum = 1", (refs[1],))
        db.execute("UPDATE artxdt SET taxamt = taxamt + 0.01 WHERE recnum = ?", (refs[2],))
        db.execute("UPDATE acrinv SET status = 5 WHERE recnum = ?", (refs[3],))
        db.execute("UPDATE acrinv SET status = 4, invbal = 0 WHERE recnum = ?", (refs[4],))
        gl = db.execute("SELECT lgrrec FROM acrinv WHERE recnum = ?", (refs[5],)).fetchone()[0]
        db.execute("UPDATE lgtnln SET dscrpt = 'retyped' WHERE recnum = ?", (gl,))
        keyed_by_hand(
            db, "acrinv", "1f1e1d1c1b1a19181716151413121110", **BY_HAND, invnum="HAND-2",
            invdte="2026-10-21", jobnum=5001, dscrpt="Entered by hand",
            **dict.fromkeys(("subttl", "nontax", "invttl", "invbal", "invnet"), 90),
        )  # fmt: skip
        first = db.execute("SELECT * FROM acpinv ORDER BY recnum LIMIT 1").fetchone()
        assert first is not None
        db.execute("UPDATE acpinv SET invttl = invttl - 3 WHERE recnum = ?", (first[0],))
        db.execute(
            "UPDATE reccln SET clnnme = 'Renamed by hand' WHERE recnum = (SELECT MIN(recnum) FROM reccln)"
        )
        db.execute(
            "UPDATE actpay SET vndnme = 'Renamed by hand' WHERE recnum = (SELECT MIN(recnum) FROM actpay)"
        )
        db.execute(
            "UPDATE actrec SET jobnme = 'Renamed by hand' WHERE recnum = (SELECT MIN(recnum) FROM actrec)"
        )
        db.execute("DELETE FROM jobcst WHERE recnum = (SELECT MIN(recnum) FROM jobcst)")
        db.execute(
            "UPDATE jobcst SET cstamt = cstamt + 5 WHERE recnum = (SELECT MAX(recnum) FROM jobcst)"
        )
        journal = db.execute("SELECT MIN(recnum) FROM lgrtrn WHERE srcnum = 3").fetchone()[0]
        db.execute(
            "UPDATE lgtnln SET dbtamt = dbtamt + 1 WHERE recnum = ? AND linnum = 1", (journal,)
        )

    def findings() -> list[tuple[str, str, str]]:
        with context(load_config(recon.config)) as ctx:
            return sorted((str(f.module), str(f.kind), f.key) for f in reconcile(ctx))

    paired_first = findings()
    monkeypatch.setattr(SageReader, "digests", lambda *_args, **_kwargs: None)
    read_whole = findings()

    assert paired_first == read_whole
    assert {module for module, _k, _key in paired_first} >= {
        "ar_invoices", "clients", "vendors", "jobs", "job_cost", "journal"
    }  # fmt: skip
