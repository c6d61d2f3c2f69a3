"""Approve and reject: a person decides about the postings that wait; and the postings, listed.

An approved posting is written by the next posting run (``recon reconcile --apply``); a
rejected one never is, and the same correction is not proposed again until what Sage should
hold changes. Postings are named by their id or any unambiguous start of it (``recon
postings`` shows the first eight characters).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import orjson

from application.context import Context
from domain.documents import HEADER_TABLE
from domain.posting import PROPOSED, STATES, DecisionError, Posting, TransitionError

#: How many characters of a posting's id `recon postings` shows, and the fewest it takes.
SHORT_ID = 8
MIN_ID = 4
_ID = re.compile(r"^[0-9a-f-]+$")
ALL = "all"


class ApprovalError(ValueError):
    """A decision recon cannot record: an unknown, ambiguous or settled posting; the message
    says which and why."""


def short_id(posting_id: str | UUID) -> str:
    return str(posting_id)[:SHORT_ID]


def find(ctx: Context, ids: Sequence[str]) -> list[Posting]:
    """The postings named by ids or starts of ids, each once, in the order given."""
    found: dict[UUID, Posting] = {}
    for text in ids:
        prefix = text.strip().lower()
        if len(prefix) < MIN_ID or not _ID.match(prefix):
            raise ApprovalError(
                f"{text!r}: expected a posting id as recon postings shows it "
                f"({SHORT_ID} characters, e.g. 3f2a9c1e)"
            )
        rows = ctx.read_model.postings_by_id_prefix(prefix)
        if not rows:
            raise ApprovalError(f"{text}: no posting has this id (recon postings --state all)")
        if len(rows) > 1:
            raise ApprovalError(f"{text}: more than one posting's id starts so; give more of it")
        posting_id = UUID(rows[0]["id"])
        entry = ctx.store.get(posting_id)
        if not isinstance(entry, Posting):
            raise ApprovalError(f"{text}: the read model names a posting the store lacks")
        found.setdefault(posting_id, entry)
    return list(found.values())


def approve(
    ctx: Context, ids: Sequence[str], by: str, why: str, *, every: bool = False
) -> list[dict[str, Any]]:
    """Approve the postings named (or, with ``every``, all that wait): all or none. Returns
    them as ``postings`` lists them."""
    entries = waiting(ctx) if every else find(ctx, ids)
    return _decide(ctx, entries, "approve", by, why)


def reject(ctx: Context, ids: Sequence[str], by: str, why: str) -> list[dict[str, Any]]:
    """Reject the postings named (waiting, or approved and not yet written): all or none."""
    return _decide(ctx, find(ctx, ids), "reject", by, why)


def waiting(ctx: Context) -> list[Posting]:
    entries = []
    for row in ctx.read_model.postings([PROPOSED]):
        entry = ctx.store.get(UUID(row["id"]))
        if isinstance(entry, Posting):
            entries.append(entry)
    return entries


def _decide(
    ctx: Context, entries: list[Posting], command: str, by: str, why: str
) -> list[dict[str, Any]]:
    for entry in entries:
        try:
            if command == "approve":
                entry.approve(by, why)
            else:
                entry.reject(by, why)
        except TransitionError as exc:
            what = "waiting for approval" if command == "approve" else "waiting to be written"
            raise ApprovalError(
                f"posting {short_id(entry.id)} ({entry.module} {entry.key}) is {exc.state}, "
                f"not {what}"
            ) from exc
        except DecisionError as exc:
            raise ApprovalError(f"{command}: say who (--by) and why (--why)") from exc
    if entries:
        ctx.store.save(*entries)  # every decision, or none
        ctx.catch_up()
    decided = {str(entry.id) for entry in entries}
    return [view(row) for row in ctx.read_model.postings() if row["id"] in decided]


def postings(ctx: Context, state: str = PROPOSED) -> list[dict[str, Any]]:
    """The postings in a state (``all``: every one), oldest first, as `recon postings`
    shows them."""
    if state != ALL and state not in STATES:
        raise ApprovalError(f"{state!r}: expected one of {', '.join((*STATES, ALL))}")
    rows = ctx.read_model.postings(() if state == ALL else (state,))
    return [view(row) for row in rows]


def view(row: dict[str, Any]) -> dict[str, Any]:
    """A posting row as JSON: the finding it settles, the Sage document it touches (table and
    record numbers), its amount and period, why it waits, and the decision about it."""
    return {
        "id": row["id"],
        "short_id": short_id(row["id"]),
        "module": row["module"],
        "key": row["key"],
        "action": row["action"],
        "state": row["state"],
        "finding": row["reason"],
        "waits_because": orjson.loads(row["reasons"]) if row["state"] == PROPOSED else [],
        "sage_table": HEADER_TABLE.get(row["module"]),
        "sage_refs": orjson.loads(row["sage_refs"]),
        "written": orjson.loads(row["written"]),
        "amount": row["amount"],
        "period": row["period"],
        "proposed_at": row["proposed_at"],
        "decided_by": row["decided_by"],
        "decided_why": row["decided_why"],
        "decided_at": row["decided_at"],
        "by_policy": bool(row["automatic"]),
        "note": row["note"],
    }
