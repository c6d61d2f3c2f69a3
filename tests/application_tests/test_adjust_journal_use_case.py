"""Parts used from stock whose cost changed after their period was locked: the journal
transaction and its job cost row are adjusted in the open period after approval, never
voided."""

from __future__ import annotations

from decimal import Decimal

from application.approve import approve, postings
from application.context import Context
from application.ingest import ingest
from application.post import apply
from application.reconcile import reconcile
from domain.documents import JOB_COST, JOURNAL, Document
from domain.policy import ADJUSTS_LOCKED, Periods
from domain.reconcile import Finding, net_by_account
from tests.fakes import FakeSage, FakeSink, ListFeed, memory_context
from tests.projections_tests.test_costs import MAPPING, item, sources

KEY = "ST-JI-3"
COST_KEY = "JC-3-JI3-5001-200.000-1"


def feed_all(ctx: Context, *feeds: ListFeed) -> None:
    for feed in feeds:
        ingest(ctx, feed, kinds=tuple(feed.records))


def under(sage: FakeSage, module: str, key: str) -> dict[str, Document]:
    return {d.key: d for d in sage.read_key(module, key)}


def ours(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.module in (JOURNAL, JOB_COST)]


def test_a_locked_period_journal_and_its_job_cost_are_adjusted_in_the_current_period() -> None:
    sage = FakeSage()
    ctx = memory_context(MAPPING, sage=sage, sink=FakeSink(sage))
    st, pl = sources()
    feed_all(ctx, st, pl)
    apply(ctx, reconcile(ctx))
    before = (under(sage, JOURNAL, KEY)[KEY].tables, under(sage, JOB_COST, COST_KEY)[COST_KEY])
    assert before[0]["lgrtrn"][0]["actprd"] == "10"

    ctx.periods = Periods(current="2026-11", locked_through="2026-10")
    st.records["jobitem"][2] = item(3, "part", "Capacitor", "3", "15.00", updated=200)
    feed_all(ctx, st)
    apply(ctx, reconcile(ctx))

    rows = [r for r in postings(ctx) if r["module"] in (JOURNAL, JOB_COST)]
    assert sorted((r["module"], r["key"], r["action"]) for r in rows) == [
        (JOB_COST, COST_KEY, "create"),
        (JOURNAL, KEY, "create"),
    ]
    assert all(r["waits_because"] == [ADJUSTS_LOCKED] for r in rows)
    assert all(r["period"] == "2026-11" for r in rows)
    approve(ctx, [r["id"] for r in rows], "ana", "capacitors repriced in October")
    apply(ctx, reconcile(ctx))

    journal = under(sage, JOURNAL, KEY)
    assert sorted(journal) == [KEY, f"{KEY}~A1"]
    adjusting = journal[f"{KEY}~A1"]
    assert adjusting.period == "2026-11" and adjusting.header["trnnum"] == "JI3-A1"
    assert net_by_account([adjusting]) == {1300: Decimal("-7.50"), 5000: Decimal("7.50")}
    costs = under(sage, JOB_COST, COST_KEY)
    assert sorted(costs) == [COST_KEY, f"{COST_KEY}~A1"]
    assert costs[f"{COST_KEY}~A1"].header["cstamt"] == "7.50"
    assert (journal[KEY].tables, costs[COST_KEY]) == before  # the locked period unchanged
    assert ours(reconcile(ctx)) == []
    assert not any(d.is_void for d in sage.documents if d.module in (JOURNAL, JOB_COST))
    ctx.read_model.engine.dispose()
