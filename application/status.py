"""Status: what the store holds, what Sage should hold, the postings, and the tie-outs."""

from __future__ import annotations

import time
from typing import Any

from application.adopt import ours
from application.context import Context
from application.times import unix_of
from domain.documents import AP_INVOICES, AR_INVOICES, DAILY_PAYROLL, JOB_COST
from domain.payroll import settled
from domain.scope import in_scope
from domain.source import PARTSLEDGER, SERVICETRADE, Invoice, Job, JobItem, User, VendorBill
from domain.tieouts import SageSide, Sources, active, ar_tie_out, skipped_invoices, tie_outs


def status(ctx: Context) -> dict[str, Any]:
    """Counts per source kind and module, totals, postings, cursors, the invoices handed to
    accounting that recon does not post (with why); the tie-outs when the command reads
    Sage."""
    result = {"events": ctx.store.max_position(), **ctx.read_model.counts()}
    result["adopted"] = ctx.read_model.link_counts()  # Sage records linked, per module
    invoices = ctx.read_model.snapshots(SERVICETRADE, "invoice", Invoice)
    result["skipped_invoices"] = skipped_invoices(invoices)
    sync = sync_status(ctx)
    if sync is not None:
        result["sync"] = sync
    if ctx.reader is not None:
        result["tie_outs"] = tie_out(ctx)
    return result


#: An agent that has not written its state for this long is not running (it writes each
#: cycle, at least every few seconds).
STALE_SECONDS = 30.0


def sync_status(ctx: Context, now: float | None = None) -> dict[str, Any] | None:
    """The sync agent as it last described itself: running or not, its last cycle, the
    relay, the health of each part, and per source kind how far behind it may be
    (``lag_seconds``: since the kind was last known complete, by a poll or, with the relay
    connected and nothing pending, by the last cycle). None when no agent ever ran."""
    states = ctx.read_model.sync_state()
    agent = states.get("agent")
    if agent is None:
        return None
    now = time.time() if now is None else now
    updated = unix_of(agent.get("updated")) or 0.0
    running = bool(agent.get("running")) and now - updated < STALE_SECONDS
    relay = states.get("relay")
    pushed = (
        running
        and relay is not None
        and relay.get("state") == "connected"
        and not agent.get("pending_notices")
    )
    kinds: dict[str, Any] = {}
    for subject, state in sorted(states.items()):
        if not subject.startswith("kind:"):
            continue
        polled = unix_of(state.get("polled_at"))
        since_poll = None if polled is None else round(now - polled)
        lag = since_poll
        if pushed and subject.startswith("kind:servicetrade/"):
            lag = round(now - updated) if lag is None else min(lag, round(now - updated))
        kinds[subject[len("kind:") :]] = {**state, "since_poll_seconds": since_poll,
                                         "lag_seconds": lag}  # fmt: skip
    return {
        "running": running,
        **{k: v for k, v in agent.items() if k != "running"},
        "seconds_since_update": round(now - updated),
        "relay": relay,
        "kinds": kinds,
    }


def tie_out(ctx: Context) -> dict[str, Any]:
    """Job cost, payroll hours, payables and receivables in Sage against their sources."""
    model = ctx.read_model
    sources = Sources(
        jobs=model.snapshots(SERVICETRADE, "job", Job),
        users=model.snapshots(SERVICETRADE, "user", User),
        items=model.snapshots(SERVICETRADE, "jobitem", JobItem),
        bills=model.snapshots(PARTSLEDGER, "bill", VendorBill),
        numbers=model.sage_numbers(),
    )
    sage = ctx.sage()

    scope = ours(ctx)

    def held(module: str) -> list[Any]:
        return active(sage.read(module, None), in_scope(module, ctx.mapping, scope))

    daily = held(DAILY_PAYROLL)
    # The timecard lines recon's own labor became; the rest are the office's payroll.
    expected_labor, _ = model.expected(DAILY_PAYROLL, None)
    timecards = settled(expected_labor, daily, sage.timecards(None)).values()
    result = tie_outs(
        sources,
        SageSide(held(JOB_COST), daily, held(AP_INVOICES), list(timecards)),
        ctx.mapping,
    )
    expected, problems = model.expected(AR_INVOICES, None)
    result["ar_invoices"] = ar_tie_out(
        model.snapshots(SERVICETRADE, "invoice", Invoice), expected, problems, held(AR_INVOICES)
    )
    return result


def quarantine(ctx: Context) -> list[dict[str, Any]]:
    """Payloads that failed validation, oldest first, with the reason and the raw payload."""
    return ctx.read_model.quarantined()
