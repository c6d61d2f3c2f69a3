"""The close pack's figures after recon demo, and how a clerk's hand edits in Sage move them."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from decimal import Decimal
from typing import Any

import pytest

from application.closing import aging, tie_outs
from application.context import Context
from cli.bootstrap import context
from cli.config import load_config
from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow

PERIOD = "2026-10"  # the demo's month (its simulator starts 2026-10-01)


@contextmanager
def opened(recon: Recon) -> Iterator[Context]:
    with context(load_config(recon.config)) as ctx:
        yield ctx


def figures(recon: Recon) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    with opened(recon) as ctx:
        return {t["name"]: t for t in tie_outs(ctx, PERIOD)}, aging(ctx, PERIOD)


def parts(tie: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in tie["parts"]}


@contextmanager
def sage(recon: Recon) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        yield db
        db.commit()


def copy_row(db: sqlite3.Connection, table: str, where: str, **values: object) -> None:
    """A row keyed in by hand: a copy of an existing row with ``values`` (Sage gives an
    IDENTITY recnum itself, so a header's recnum is left out)."""
    cursor = db.execute(f"SELECT * FROM {table} WHERE {where} LIMIT 1")
    names = [d[0] for d in cursor.description]
    row = {**dict(zip(names, cursor.fetchone(), strict=True)), "_idnum": uuid.uuid4().hex}
    row.update(values)
    if table == "lgrtrn":
        row.pop("recnum")
    db.execute(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
        tuple(row.values()),
    )


def test_the_demo_month_ties_and_aging_matches_open_balances(recon: Recon) -> None:
    ties, aged = figures(recon)
    assert list(ties) == [
        "ar_billed", "ar_gl", "ap_billed", "ap_gl", "sales_tax", "job_cost", "payroll_hours",
        "inventory_relief",
    ]  # fmt: skip
    assert {name: t["ties"] for name, t in ties.items()} == dict.fromkeys(ties, True)
    assert all(t["items"] == [] and t["difference"] == "0.00" for t in ties.values())
    assert Decimal(ties["ar_billed"]["left"]) > 0 and Decimal(ties["payroll_hours"]["left"]) > 0
    assert aged["as_of"] == "2026-10-31"
    assert aged["ar"]["total"] == parts(ties["ar_gl"])["balance"]["left"]
    assert aged["ap"]["total"] == parts(ties["ap_gl"])["balance"]["left"]
    with sage(recon) as db:
        open_ar = db.execute("SELECT SUM(invbal) FROM acrinv WHERE status NOT IN (4, 5)")
        assert Decimal(str(open_ar.fetchone()[0])).quantize(Decimal("0.01")) == Decimal(
            aged["ar"]["total"]
        )
    assert sum(Decimal(r["total"]) for r in aged["ar"]["rows"]) == Decimal(aged["ar"]["total"])


def test_a_journal_entry_on_the_ar_control_account_shows_in_ar_gl(recon: Recon) -> None:
    with sage(recon) as db:
        copy_row(db, "lgrtrn", "srcnum = 3", trnnum="JE-1001", dscrpt="Reclass by hand",
                 usrdf1="", srcnum=3, status=1, actprd=10, postyr=2026)  # fmt: skip
        recnum = db.execute("SELECT recnum, _idnum FROM lgrtrn WHERE trnnum = 'JE-1001'").fetchone()
        for linnum, account, debit, credit in ((1, 1200, "25.40", "0"), (2, 4000, "0", "25.40")):
            copy_row(db, "lgtnln", "1 = 1", recnum=recnum[0], _idref=recnum[1], linnum=linnum,
                     lgract=account, dbtamt=debit, crdamt=credit)  # fmt: skip
    ties, aged = figures(recon)
    ar_gl = ties["ar_gl"]
    assert not ar_gl["ties"]
    assert parts(ar_gl)["activity"]["difference"] == "25.40"
    assert parts(ar_gl)["balance"]["difference"] == "25.40"
    assert {(i["key"], i["document"], i["difference"]) for i in ar_gl["items"]} == {
        (f"lgrtrn:{recnum[0]}", "JE-1001", "25.40")
    }
    others = {name for name, t in ties.items() if not t["ties"]}
    assert others == {"ar_gl"}  # income is no tie-out; the subledger did not move
    assert aged["ar"]["total"] == parts(ar_gl)["balance"]["left"]


def test_a_deleted_job_cost_row_shows_in_job_cost_for_its_job(recon: Recon) -> None:
    with sage(recon) as db:
        recnum, job, amount = db.execute(
            "SELECT recnum, jobnum, cstamt FROM jobcst WHERE srcnum = 3 ORDER BY recnum LIMIT 1"
        ).fetchone()
        db.execute("DELETE FROM jobcst WHERE recnum = ?", (recnum,))
    amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    ties, _ = figures(recon)
    job_cost = ties["job_cost"]
    assert not job_cost["ties"] and Decimal(job_cost["difference"]) == -amount
    assert [(i["key"], Decimal(i["difference"])) for i in job_cost["items"]] == [
        (f"job:{job}", -amount)
    ]
    assert {name for name, t in ties.items() if not t["ties"]} == {"job_cost"}


def test_a_payment_keyed_by_hand_moves_open_ar_and_the_aging(recon: Recon) -> None:
    before, aged_before = figures(recon)
    paid = Decimal("100.00")
    with sage(recon) as db:
        recnum, idnum, job = db.execute(
            "SELECT recnum, _idnum, jobnum FROM acrinv WHERE invttl > 200 ORDER BY recnum LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE acrinv SET invbal = invbal - 100, invnet = invnet - 100, "
            "amtpad = amtpad + 100, ttlpad = ttlpad + 100 WHERE recnum = ?",
            (recnum,),
        )
        # 3-3-1 Cash receipts would also post Dr cash / Cr AR control (lgrtrn source 10,
        # acrpmt.lgrrec naming it); this receipt is keyed without its ledger entry, so the
        # control account keeps the old balance and the tie-out shows the gap.
        db.execute(
            "INSERT INTO acrpmt (_idnum, _idref, recnum, chknum, chkdte, amount, dsctkn, aplcrd, "
            "actper, postyr, lgrrec, jobnum, usrnme) "
            "VALUES (?, ?, ?, 'CHK-5501', '2026-10-20', '100.00', 0, 0, 10, 2026, 0, ?, '')",
            (uuid.uuid4().hex, idnum, recnum, job),
        )
    ties, aged = figures(recon)
    balance_before = Decimal(parts(before["ar_gl"])["balance"]["left"])
    balance = parts(ties["ar_gl"])["balance"]
    assert Decimal(balance["left"]) == balance_before - paid
    assert Decimal(balance["difference"]) == paid
    assert Decimal(aged["ar"]["total"]) == Decimal(aged_before["ar"]["total"]) - paid
    assert aged["ar"]["total"] == balance["left"]
    assert {i["document"] for i in ties["ar_gl"]["items"]} == {"CHK-5501"}
    assert {name for name, t in ties.items() if not t["ties"]} == {"ar_gl"}


def test_a_tax_line_changed_by_hand_shows_in_sales_tax(recon: Recon) -> None:
    with sage(recon) as db:
        invoice, entity, usrdf1, invnum = db.execute(
            "SELECT t.recnum, t.taxent, i.usrdf1, i.invnum FROM artxdt t "
            "JOIN acrinv i ON i.recnum = t.recnum WHERE t.taxamt > 0 ORDER BY t.recnum LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE artxdt SET taxamt = taxamt + 1.37 WHERE recnum = ? AND taxent = ?",
            (invoice, entity),
        )
    ties, _ = figures(recon)
    tax = ties["sales_tax"]
    assert not tax["ties"] and tax["difference"] == "-1.37"
    assert [(i["key"], i["document"], i["difference"]) for i in tax["items"]] == [
        (usrdf1, invnum, "-1.37")
    ]
    # The invoice itself now differs from what ServiceTrade billed, in its tax.
    billed = ties["ar_billed"]
    assert not billed["ties"]
    assert [i["key"] for i in billed["items"]] == [usrdf1]
