"""Corrective postings and resolutions as rows: what is open, what was settled and by whom."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select

from domain.ports import StoredEvent
from domain.posting import OPEN_STATES, Posting, Resolution
from projections.tables import posting, resolution, upsert

_P = f"{Posting.__module__}:Posting"
_R = f"{Resolution.__module__}:Resolution"
PROPOSED = f"{_P}.Proposed"
SUBMITTED = f"{_P}.Submitted"
CONFIRMED = f"{_P}.Confirmed"
FAILED = f"{_P}.Failed"
OPENED = f"{_R}.Opened"
ACCEPTED = f"{_R}.Accepted"
VOID_REQUESTED = f"{_R}.VoidRequested"
TOPICS = frozenset({PROPOSED, SUBMITTED, CONFIRMED, FAILED, OPENED, ACCEPTED, VOID_REQUESTED})


class PostingsProjection:
    name = "postings"

    def fingerprint(self) -> str:
        return "postings-1"

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(posting))
        conn.execute(delete(resolution))

    def apply(self, conn: Connection, events: Sequence[StoredEvent]) -> None:
        mine = [e for e in events if e.topic in TOPICS]
        if not mine:
            return
        postings: dict[str, dict[str, Any]] = {}
        resolutions: dict[str, dict[str, Any]] = {}
        for table, store in ((posting, postings), (resolution, resolutions)):
            ids = {e.originator_id for e in mine}
            for found in conn.execute(select(table).where(table.c.id.in_(ids))).mappings():
                store[found["id"]] = dict(found)
        for e in mine:
            s = e.state
            if e.topic == PROPOSED:
                postings[e.originator_id] = {
                    "id": e.originator_id,
                    "module": s["module"],
                    "key": s["key"],
                    "action": s["action"],
                    "state": "proposed",
                    "sink": "",
                    "reason": s["reason"],
                    "note": "",
                    "written": "[]",
                    "proposed_position": e.position,
                    "last_position": e.position,
                }
            elif e.topic in (SUBMITTED, CONFIRMED, FAILED):
                row = postings[e.originator_id]
                row["last_position"] = e.position
                if e.topic == SUBMITTED:
                    row.update(
                        state="submitted",
                        sink=s["sink"],
                        written=orjson.dumps(s["written"]).decode(),
                        note=s["note"],
                    )
                elif e.topic == CONFIRMED:
                    row["state"] = "confirmed"
                else:
                    row.update(state="failed", note=s["reason"])
            elif e.topic == OPENED:
                resolutions[e.originator_id] = {
                    "id": e.originator_id,
                    "key": s["key"],
                    "module": s["module"],
                    "decision": "",
                    "by": "",
                    "why": "",
                    "position": e.position,
                }
            else:
                resolutions[e.originator_id].update(
                    decision="accept" if e.topic == ACCEPTED else "void",
                    by=s["by"],
                    why=s["why"],
                    position=e.position,
                )
        upsert(conn, posting, list(postings.values()))
        upsert(conn, resolution, list(resolutions.values()))


def open_postings(conn: Connection) -> list[dict[str, Any]]:
    query = (
        select(posting)
        .where(posting.c.state.in_(OPEN_STATES))
        .order_by(posting.c.proposed_position)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def settled_keys(conn: Connection) -> set[str]:
    """Keys a person has settled: accepted (keep it) or voided (recon posted the void; a
    master record stays in Sage, inactive, and is no longer reported)."""
    query = select(resolution.c.key).where(resolution.c.decision.in_(("accept", "void")))
    return set(conn.execute(query).scalars())
