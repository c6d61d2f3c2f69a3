"""A paid invoice, or one in a locked period, that differs from what is expected is settled by
a credit memo in the current period after a person approves it; its own rows never change."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from decimal import Decimal
from typing import Any

import pytest

from adapters.sage.schema import acrpmt, window_zeros
from tests.e2e.conftest import Recon
from tests.e2e.test_hand_edits import approve_all

pytestmark = pytest.mark.slow

CURRENT = "2026-11"


def set_periods(recon: Recon, **periods: str) -> None:
    """Sage's current period and locks, as the office sets them in recon.toml."""
    text = recon.config.read_text()
    lines = "".join(f'{name} = "{value}"\n' for name, value in periods.items())
    recon.config.write_text(text.replace("[sage]\n", f"[sage]\n{lines}", 1))


def invoice_row(db: sqlite3.Connection, recnum: int) -> dict[str, Any]:
    cursor = db.execute("SELECT * FROM acrinv WHERE recnum = ?", (recnum,))
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def _plain(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else value


def pay_in_full(db: sqlite3.Connection, recnum: int) -> None:
    """A cash receipt (3-3-1) for the whole invoice: an acrpmt row, and the invoice's paid
    and balance columns as Sage keeps them (status 4 once fully paid)."""
    total, job, period, year, date = db.execute(
        "SELECT invttl, jobnum, actper, postyr, invdte FROM acrinv WHERE recnum = ?", (recnum,)
    ).fetchone()
    idref = db.execute("SELECT _idnum FROM acrinv WHERE recnum = ?", (recnum,)).fetchone()[0]
    row = {
        **{name: _plain(value) for name, value in window_zeros(acrpmt).items()},
        "recnum": recnum,
        "_idnum": "00112233445566778899aabbccddeeff",
        "_idref": idref,
        "chknum": "CHK-501",
        "chkdte": date,
        "amount": total,
        "actper": period,
        "postyr": year,
        "jobnum": job,
        "invdte": date,
    }
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    db.execute(f"INSERT INTO acrpmt ({columns}) VALUES ({marks})", tuple(row.values()))
    db.execute(
        "UPDATE acrinv SET amtpad = invttl, ttlpad = invttl, invbal = 0, invnet = 0, status = 4"
        " WHERE recnum = ?",
        (recnum,),
    )


def first_invoice(db: sqlite3.Connection) -> tuple[int, str, str]:
    recnum, key, invnum = db.execute(
        "SELECT recnum, usrdf1, invnum FROM acrinv WHERE status <> 5 ORDER BY recnum LIMIT 1"
    ).fetchone()
    return int(recnum), str(key), str(invnum)


def adjusted(recon: Recon, recnum: int, key: str, invnum: str) -> dict[str, Any]:
    """The credit memo recon entered for the invoice, checked against Sage's own rows."""
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        memos = db.execute(
            "SELECT recnum, invnum, refnum, invttl, actper, postyr, status, lgrrec, usrdf1"
            " FROM acrinv WHERE usrdf1 LIKE ?",
            (f"{key}~A%",),
        ).fetchall()
        assert len(memos) == 1
        ref, number, refnum, total, period, year, status, gl, usrdf1 = memos[0]
        assert (usrdf1, refnum, number) == (f"{key}~A1", invnum, f"{invnum}-A1")
        assert (f"{year}-{period:02d}", status) == (CURRENT, 1)
        debits, credits, source = db.execute(
            "SELECT SUM(l.dbtamt), SUM(l.crdamt), t.srcnum FROM lgtnln l"
            " JOIN lgrtrn t ON t.recnum = l.recnum WHERE t.recnum = ?",
            (gl,),
        ).fetchone()
        assert round(debits, 2) == round(credits, 2) and source == 5
        return {"recnum": ref, "invttl": total}


def test_a_paid_invoice_edited_in_sage_is_corrected_by_a_credit_not_a_void(
    recon: Recon,
) -> None:
    set_periods(recon, current_period=CURRENT)
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db, db:
        recnum, key, invnum = first_invoice(db)
        pay_in_full(db, recnum)
        db.execute("UPDATE acrinv SET invttl = invttl + 12.34 WHERE recnum = ?", (recnum,))
        before = invoice_row(db, recnum)

    code, result = recon.reconcile("--apply")
    assert code == 1
    assert result["applied"]["waiting_for_approval"] == [f"ar_invoices {key} (create)"]
    [waiting] = approve_all(recon, "the customer paid what was billed")
    assert waiting["waits_because"] == ["adjusts a paid document"]
    assert waiting["amount"] == "-12.34" and waiting["period"] == CURRENT

    code, result = recon.reconcile("--apply")
    assert result["applied"]["confirmed"] == [f"ar_invoices {key} (create)"]

    memo = adjusted(recon, recnum, key, invnum)
    assert round(memo["invttl"], 2) == -12.34
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        assert invoice_row(db, recnum) == before
    code, result = recon.reconcile()
    assert result["findings"] == [] and code == 0


def test_a_correction_for_a_locked_period_lands_in_the_open_period(recon: Recon) -> None:
    set_periods(recon, current_period=CURRENT, locked_through="2026-10")
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db, db:
        recnum, key, invnum = first_invoice(db)
        db.execute("UPDATE acrinv SET invttl = invttl - 5.00 WHERE recnum = ?", (recnum,))
        before = invoice_row(db, recnum)
        locked = db.execute(
            "SELECT COUNT(*), SUM(invttl) FROM acrinv WHERE postyr = 2026 AND actper = 10"
        ).fetchone()

    code, result = recon.reconcile("--apply")
    [waiting] = approve_all(recon, "billed in October, corrected in November")
    assert waiting["waits_because"] == ["adjusts a locked period"]
    recon.reconcile("--apply")

    memo = adjusted(recon, recnum, key, invnum)
    assert round(memo["invttl"], 2) == 5.00
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        assert invoice_row(db, recnum) == before
        assert (
            db.execute(
                "SELECT COUNT(*), SUM(invttl) FROM acrinv WHERE postyr = 2026 AND actper = 10"
            ).fetchone()
            == locked
        )
    code, result = recon.reconcile()
    assert result["findings"] == [] and code == 0


def journal_rows(db: sqlite3.Connection, postyr: int, actprd: int) -> list[tuple[Any, ...]]:
    """The parts journals' GL lines and job cost rows of a period, as Sage holds them."""
    lines = db.execute(
        "SELECT t.recnum, t.trnnum, t.status, t.usrdf1, l.linnum, l.lgract, l.dbtamt, l.crdamt"
        " FROM lgrtrn t JOIN lgtnln l ON l.recnum = t.recnum"
        " WHERE t.srcnum = 3 AND t.postyr = ? AND t.actprd = ? ORDER BY t.recnum, l.linnum",
        (postyr, actprd),
    ).fetchall()
    costs = db.execute(
        "SELECT recnum, trnnum, jobnum, status, cstamt FROM jobcst"
        " WHERE srcnum = 3 AND postyr = ? AND actprd = ? ORDER BY recnum",
        (postyr, actprd),
    ).fetchall()
    return [*lines, *costs]


def test_a_journal_in_a_locked_period_is_adjusted_by_an_entry_in_the_open_period(
    recon: Recon,
) -> None:
    set_periods(recon, current_period=CURRENT, locked_through="2026-10")
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db, db:
        recnum, trnnum, key = db.execute(
            "SELECT recnum, trnnum, usrdf1 FROM lgrtrn WHERE usrdf1 LIKE 'ST-JI-%'"
            " AND postyr = 2026 AND actprd = 10 AND status = 1 ORDER BY recnum LIMIT 1"
        ).fetchone()
        # Someone typed 10.00 more on both sides of the entry, and on its job cost row.
        db.execute(
            "UPDATE lgtnln SET dbtamt = dbtamt + 10 WHERE recnum = ? AND dbtamt > 0", (recnum,)
        )
        db.execute(
            "UPDATE lgtnln SET crdamt = crdamt + 10 WHERE recnum = ? AND crdamt > 0", (recnum,)
        )
        [cost] = db.execute(
            "SELECT recnum FROM jobcst WHERE srcnum = 3 AND trnnum = ?", (trnnum,)
        ).fetchall()
        db.execute("UPDATE jobcst SET cstamt = cstamt + 10 WHERE recnum = ?", cost)
        locked = journal_rows(db, 2026, 10)

    code, result = recon.reconcile("--apply")
    waiting = approve_all(recon, "parts costed in October, corrected in November")
    assert sorted((w["module"], w["action"]) for w in waiting) == [
        ("job_cost", "create"),
        ("journal", "create"),
    ]
    assert all(w["waits_because"] == ["adjusts a locked period"] for w in waiting)
    code, result = recon.reconcile("--apply")
    assert len(result["applied"]["confirmed"]) == 2

    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        assert journal_rows(db, 2026, 10) == locked  # the locked period's rows unchanged
        [(gl, number, status, period, usrdf1)] = db.execute(
            "SELECT recnum, trnnum, status, actprd, usrdf1 FROM lgrtrn WHERE usrdf1 LIKE ?",
            (f"{key}~A%",),
        ).fetchall()
        assert (status, period, usrdf1) == (1, 11, f"{key}~A1") and number.endswith("-A1")
        lines = db.execute(
            "SELECT lgract, dbtamt, crdamt FROM lgtnln WHERE recnum = ? ORDER BY linnum", (gl,)
        ).fetchall()
        assert sorted((a, round(d, 2), round(c, 2)) for a, d, c in lines) == [
            (1300, 10.0, 0.0),
            (5000, 0.0, 10.0),
        ]
        [(amount, cost_period, text)] = db.execute(
            "SELECT cstamt, actprd, dscrpt FROM jobcst WHERE srcnum = 3 AND trnnum = ?",
            (number,),
        ).fetchall()
        assert (round(amount, 2), cost_period, text) == (-10.0, 11, f"Adjusts job cost {trnnum}")
    code, result = recon.reconcile()
    assert result["findings"] == [] and code == 0
