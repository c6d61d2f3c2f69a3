"""Report: the month-end close pack a controller signs off (`recon report --period YYYY-MM`).

Do Sage's subledgers, its GL and what ServiceTrade and PartsLedger say agree for the month, to
the cent, and if not, which documents explain the difference? The pack holds the tie-outs and
the aging (application/closing.py), what blocks close, the exceptions, every change recon made
in Sage in the period with who approved it, and where the figures came from.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import orjson

from application.closing import PairedTieOuts, aging, tie_outs
from application.context import Context
from application.reconcile import reconcile
from application.times import utc_text
from domain.money import ZERO, to_str
from domain.posting import CONFIRMED, FAILED, PROPOSED
from domain.source import SERVICETRADE, Invoice

#: What blocks close, in the order the pack lists it.
BLOCKING_KINDS = (
    "tie_out",
    "open_finding",
    "waiting_for_approval",
    "failed_posting",
    "failed_writeback",
    "quarantine",
)


def _in_period(row: dict[str, Any], period: str) -> bool:
    return row.get("period") in (period, None)


def build_pack(
    ctx: Context,
    period: str,
    *,
    adopting: bool = True,
    provenance: dict[str, Any] | None = None,
    wall: float | None = None,
) -> dict[str, Any]:
    """The close pack for ``period`` as a plain dict (the JSON contract in docs/close-pack.md).

    ``provenance`` adds what only the caller knows (recon's version, the config's digest,
    where the store and Sage are, their passwords masked)."""
    read_at = utc_text(time.time() if wall is None else wall)
    position = ctx.store.max_position()
    # The tie-outs that pair documents key by key are summed in the reconcile's own pass.
    paired = PairedTieOuts(ctx)
    findings = reconcile(ctx, period=period, adopting=adopting, observers=paired.observers())
    ties = tie_outs(ctx, period, paired)
    ages = aging(ctx, period)
    model = ctx.read_model
    everything = model.postings()
    in_period = [row for row in everything if _in_period(row, period)]
    waiting = [row for row in in_period if row["state"] == str(PROPOSED)]
    failed = [row for row in in_period if row["state"] == str(FAILED)]
    changed = [
        row for row in everything if row["state"] == str(CONFIRMED) and row.get("period") == period
    ]
    quarantined = model.quarantined()
    failed_back = _failed_writebacks(ctx, period)

    blocking: list[dict[str, Any]] = []
    for tie in ties:
        if not tie["ties"]:
            blocking.append(
                {
                    "kind": "tie_out",
                    "module": None,
                    "key": tie["name"],
                    "amount": tie["difference"],
                    "detail": f"{tie['title']} does not tie",
                }
            )
    for f in findings:
        blocking.append(
            {
                "kind": "open_finding",
                "module": str(f.module),
                "key": f.key,
                "amount": None if f.difference is None else to_str(f.difference),
                "detail": str(f.kind),
            }
        )
    for row in waiting:
        reasons = "; ".join(orjson.loads(row["reasons"] or "[]")) or "waits for a person"
        blocking.append(
            {
                "kind": "waiting_for_approval",
                "module": row["module"],
                "key": row["key"],
                "amount": row["amount"],
                "detail": f"{row['action']}: {reasons}",
            }
        )
    for row in failed:
        blocking.append(
            {
                "kind": "failed_posting",
                "module": row["module"],
                "key": row["key"],
                "amount": row["amount"],
                "detail": row["note"] or "failed",
            }
        )
    for row in failed_back:
        blocking.append(
            {
                "kind": "failed_writeback",
                "module": "ar_invoices",
                "key": row["invoice"],
                "amount": row["amount"],
                "detail": row["detail"],
            }
        )
    for row in quarantined:
        blocking.append(
            {
                "kind": "quarantine",
                "module": None,
                "key": f"{row['system']}/{row['kind']}/{row['source_id']}",
                "amount": None,
                "detail": str(row["rejection"]),
            }
        )

    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for f in findings:
        by_module[str(f.module)][str(f.kind)] += 1
    return {
        "period": period,
        "ready": not blocking,
        "generated_at": read_at,
        "close_status": {
            "current_period": ctx.periods.current,
            "locked_through": ctx.periods.locked_through,
            "blocking_count": len(blocking),
        },
        "blocking": blocking,
        "tieouts": ties,
        "aging": ages,
        "exceptions": {
            "findings": [_finding(f) for f in findings],
            "findings_by_module": {m: dict(c) for m, c in sorted(by_module.items())},
            "resolutions": [
                {
                    "module": r["module"],
                    "key": r["key"],
                    "decision": r["decision"],
                    "by": r["by"],
                    "why": r["why"],
                    "at": r["decided_at"],
                }
                for r in model.resolutions()
            ],
            "quarantine": [
                {
                    "system": r["system"],
                    "kind": r["kind"],
                    "source_id": r["source_id"],
                    "reason": r["rejection"],
                }
                for r in quarantined
            ],
            "unmapped": [
                {"module": str(f.module), "key": f.key, "problem": _detail(f.actual)}
                for f in findings
                if str(f.kind) == "unmapped"
            ],
            "postings_waiting": [
                {
                    "id": r["id"],
                    "module": r["module"],
                    "key": r["key"],
                    "action": r["action"],
                    "amount": r["amount"],
                    "reasons": orjson.loads(r["reasons"] or "[]"),
                }
                for r in waiting
            ],
            "postings_failed": [
                {
                    "id": r["id"],
                    "module": r["module"],
                    "key": r["key"],
                    "action": r["action"],
                    "amount": r["amount"],
                    "note": r["note"],
                }
                for r in failed
            ],
            "writebacks_failed": [
                {"invoice": r["invoice"], "detail": r["detail"]} for r in failed_back
            ],
        },
        "postings": [_posting(row) for row in changed],
        "activity": _activity(changed),
        "provenance": {
            "event_position": position,
            "sage_read_at": read_at,
            **(provenance or {}),
        },
    }


def _detail(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("problem") or value)
    return "" if value is None else str(value)


def _finding(f: Any) -> dict[str, Any]:
    actual = f.actual if isinstance(f.actual, dict) else {}
    expected = f.expected if isinstance(f.expected, dict) else {}
    document = next(
        (
            str(side[column])
            for side in (actual, expected)
            for column in ("invnum", "jobnum", "recnum", "trnnum", "clnnum", "vndnum")
            if side.get(column) not in (None, "")
        ),
        f.key,
    )
    return {
        "module": str(f.module),
        "kind": str(f.kind),
        "key": f.key,
        "document": document,
        "amount": None if f.difference is None else to_str(f.difference),
        "detail": _detail(f.actual) if str(f.kind) == "unmapped" else str(f.kind),
    }


def _posting(row: dict[str, Any]) -> dict[str, Any]:
    written = orjson.loads(row["written"] or "[]")
    document = ", ".join(str(ref) for ref in written) if written else row["key"]
    return {
        "id": row["id"],
        "module": row["module"],
        "key": row["key"],
        "document": document,
        "action": row["action"],
        "amount": row["amount"],
        "reason": row["reason"],
        "state": row["state"],
        "approved_by": row["decided_by"],
        "approved_why": row["decided_why"],
        "approved_at": row["decided_at"],
        "automatic": bool(row["automatic"]),
        "proposed_at": row["proposed_at"],
        "confirmed_at": row["confirmed_at"],
    }


def _activity(changed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Postings confirmed per day (UTC), with the amounts they wrote."""
    days: dict[str, tuple[int, Decimal]] = {}
    for row in changed:
        day = (row["confirmed_at"] or row["proposed_at"])[:10]
        if not day:
            continue
        count, amount = days.get(day, (0, ZERO))
        days[day] = (count + 1, amount + Decimal(row["amount"] or "0"))
    return [
        {"date": day, "postings": count, "amount": to_str(amount)}
        for day, (count, amount) in sorted(days.items())
    ]


def _failed_writebacks(ctx: Context, period: str) -> list[dict[str, Any]]:
    """ServiceTrade invoices of the period recon marked failed there: handed to accounting,
    but not posted, with the reason ServiceTrade was told."""
    problems = ctx.read_model.problems("ar_invoices")
    failed = []
    for invoice in ctx.read_model.snapshots(SERVICETRADE, "invoice", Invoice):
        if invoice.status != "failed" or invoice.transaction_date[:7] != period:
            continue
        reason = next((why for key, why in problems.items() if key.endswith(invoice.id)), "")
        failed.append(
            {
                "invoice": invoice.number or invoice.id,
                "amount": None,
                "detail": reason or "marked failed in ServiceTrade",
            }
        )
    return failed
