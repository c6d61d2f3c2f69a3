"""For AR, what ServiceTrade billed is the truth: Sage holds totalPrice and taxTotal, or why not."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

import pytest

from simulator.model import ENTITY_TYPES
from simulator.persist import load_world
from simulator.render import Renderer
from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow


def sage_invoices(recon: Recon) -> dict[str, dict[str, Any]]:
    """Active 3-2 invoices in the sandbox by link key: total, tax, entity taxes, GL lines."""
    with sqlite3.connect(recon.workdir / "sage.db") as db:
        money = "printf('%.2f', {})".format
        found: dict[str, dict[str, Any]] = {}
        query = (
            f"select usrdf1, recnum, lgrrec, {money('invttl')}, {money('slstax')} "
            "from acrinv where status <> 5"
        )
        for key, recnum, lgrrec, total, tax in db.execute(query):
            entities = db.execute(
                f"select {money('taxamt')} from artxdt where recnum = ?", (recnum,)
            ).fetchall()
            gl = db.execute(
                f"select {money('dbtamt')}, {money('crdamt')} from lgtnln where recnum = ?",
                (lgrrec,),
            ).fetchall()
            found[key] = {
                "total": Decimal(total),
                "tax": Decimal(tax),
                "entities": [Decimal(t) for (t,) in entities],
                "debits": sum((Decimal(d) for d, _ in gl), Decimal(0)),
                "credits": sum((Decimal(c) for _, c in gl), Decimal(0)),
            }
    return found


def test_every_demo_invoice_in_sage_is_what_servicetrade_billed(recon: Recon) -> None:
    world = load_world(recon.workdir / "simulator.json")
    renderer = Renderer(world, "http://sim/api")
    billed = {
        f"ST-INV-{invoice.id}": renderer.render("invoice", invoice)
        for invoice in world.invoices.values()
    }
    held = sage_invoices(recon)

    assert len(held) >= 60
    for key, sage in held.items():
        wire = billed[key]
        assert wire["type"] == "invoice"
        assert sage["total"] == wire["totalPrice"], key
        assert sage["tax"] == wire["taxTotal"], key
        assert sum(sage["entities"], Decimal(0)) == sage["tax"], key
        assert sage["debits"] == sage["credits"], key
    assert any(sage["total"] < 0 for sage in held.values())  # credits are posted too


def test_status_ties_ar_out_and_shows_what_was_not_posted_and_why(recon: Recon) -> None:
    data = recon.json("status")

    tie = data["tie_outs"]["ar_invoices"]
    assert tie["ties"], tie["differences"]
    assert tie["expected"] == tie["sage"] == tie["servicetrade"]["posted_by_rule"]
    assert {"invoice", "partial", "credit", "vendorbill", "external"} <= set(tie["by_type"])
    skipped = data["skipped_invoices"]
    assert {row["type"] for row in skipped} == {"vendorbill", "external"}
    assert all(row["reason"].startswith("not posted to Sage: type ") for row in skipped)
    assert len(skipped) == tie["servicetrade"]["skipped"]["count"]

    text = recon.run("status", "--config", str(recon.config)).stdout
    assert "AR = ServiceTrade invoices handed to accounting" in text
    assert "not posted to Sage: type 'vendorbill'" in text


def test_servicetrade_was_told_why_an_invoice_was_not_posted(recon: Recon) -> None:
    world = load_world(recon.workdir / "simulator.json")
    skipped = {i.id for i in world.invoices.values() if i.type in ("vendorbill", "external")}
    comments = [
        c
        for c in world.comments.values()
        if c.entity_type == ENTITY_TYPES["invoice"] and c.entity_id in skipped
    ]

    assert comments
    assert all(c.content.startswith("recon: not posted to Sage: type ") for c in comments)
    assert all(world.invoices[c.entity_id].status == "processed" for c in comments)
