"""A small ServiceTrade world in payload form, and helpers to read what the use cases did."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from application.approve import approve
from application.context import Context
from application.ingest import ingest
from domain.documents import AR_INVOICES, CLIENTS, JOBS
from projections.tables import posting
from tests.fakes import FakeSage, ListFeed
from tests.projections_tests.test_store_contract import MAPPING, company, invoice, location

__all__ = [
    "KEYS",
    "MAPPING",
    "approve_waiting",
    "held",
    "label",
    "postings",
    "source",
    "world",
]

#: What Sage should hold for ``source()``: the client, the job of its location, the invoice
#: handed to accounting (invoice 101 is still "ok": not handed off, never in Sage).
KEYS = {
    CLIENTS: ["ST-CO-1"],
    JOBS: ["JOB-5001"],
    AR_INVOICES: ["ST-INV-100"],
}


def source(*invoices: dict[str, Any]) -> ListFeed:
    """One customer at one site (Wake County), with invoices 100 (pending) and 101 ("ok")
    unless others are given."""
    return ListFeed(
        {
            "company": [company(1)],
            "location": [location(10, 1)],
            "invoice": list(invoices) or [invoice(100, 10, 1), invoice(101, 10, 1, status="ok")],
        }
    )


def world(ctx: Context, feed: ListFeed | None = None) -> ListFeed:
    """Record a source into the context's store; returns the feed for later changes."""
    feed = feed or source()
    report = ingest(ctx, feed)
    assert sum(report.rejected.values()) == 0
    return feed


def label(module: str, key: str, action: str) -> str:
    """How a post report names a posting."""
    return f"{module} {key} ({action})"


def postings(ctx: Context) -> list[dict[str, Any]]:
    """Every posting as the read model holds it, oldest first."""
    ctx.catch_up()
    with ctx.read_model.engine.connect() as conn:
        rows = conn.execute(select(posting).order_by(posting.c.proposed_position)).mappings()
        return [dict(r) for r in rows]


def held(sage: FakeSage) -> Counter[tuple[str, str, bool]]:
    """How many documents Sage holds per (module, key, void)."""
    return Counter((str(d.module), d.key, d.is_void) for d in sage.documents)


def approve_waiting(ctx: Context, by: str = "tester", why: str = "checked in Sage") -> list[str]:
    """A person approves every posting that waits (``recon approve --all``); their labels."""
    return [
        label(p["module"], p["key"], p["action"]) for p in approve(ctx, [], by, why, every=True)
    ]
