"""Corrective postings and resolutions as rows: what waits, what was decided, by whom and when."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, exists, select

from domain.documents import Document
from domain.money import to_str
from domain.ports import StoredEvent
from domain.posting import CONFIRMED as STATE_CONFIRMED
from domain.posting import OPEN_STATES, REJECTED, VOID, Posting, Resolution
from projections.tables import among, posting, resolution, upsert

_P = f"{Posting.__module__}:Posting"
_R = f"{Resolution.__module__}:Resolution"
PROPOSED = f"{_P}.Proposed"
REFERRED = f"{_P}.Referred"
APPROVED = f"{_P}.Approved"
REJECTED_EVENT = f"{_P}.Rejected"
WITHDRAWN = f"{_P}.Withdrawn"
SUBMITTED = f"{_P}.Submitted"
CONFIRMED = f"{_P}.Confirmed"
FAILED = f"{_P}.Failed"
OPENED = f"{_R}.Opened"
ACCEPTED = f"{_R}.Accepted"
VOID_REQUESTED = f"{_R}.VoidRequested"
POSTING_TOPICS = frozenset(
    {PROPOSED, REFERRED, APPROVED, REJECTED_EVENT, WITHDRAWN, SUBMITTED, CONFIRMED, FAILED}
)
TOPICS = POSTING_TOPICS | {OPENED, ACCEPTED, VOID_REQUESTED}


def _when(state: dict[str, Any]) -> str:
    """The event's recorded-at time (UTC, from the event machinery) as ISO text."""
    stamp = state.get("timestamp")
    if isinstance(stamp, dict):
        return str(stamp.get("_data_", ""))
    return "" if stamp is None else str(stamp)


def _proposed(e: StoredEvent) -> dict[str, Any]:
    s = e.state
    document = None if s["document"] is None else Document.from_json(s["document"])
    amount = None if document is None else document.amount
    return {
        "id": e.originator_id,
        "module": s["module"],
        "key": s["key"],
        "action": s["action"],
        "state": "proposed",
        "sink": "",
        "reason": s["reason"],
        "note": "",
        "written": "[]",
        "sage_refs": orjson.dumps(s["sage_refs"]).decode(),
        "digest": None if document is None else document.digest(),
        "amount": None if amount is None else to_str(amount),
        "period": None if document is None else document.period,
        "reasons": "[]",
        "proposed_at": _when(s),
        "decided_by": "",
        "decided_why": "",
        "decided_at": "",
        "automatic": False,
        "confirmed_at": "",
        "proposed_position": e.position,
        "last_position": e.position,
    }


class PostingsProjection:
    name = "postings"

    def fingerprint(self) -> str:
        return "postings-3"

    def reset(self, conn: Connection) -> None:
        # Dropped and made again, not emptied: the tables' columns may have changed since
        # this database was made, and the rows are rebuilt from the log anyway.
        for table in (posting, resolution):
            table.drop(conn, checkfirst=True)
            table.create(conn)

    def apply(self, conn: Connection, events: Sequence[StoredEvent]) -> None:
        mine = [e for e in events if e.topic in TOPICS]
        if not mine:
            return
        postings: dict[str, dict[str, Any]] = {}
        resolutions: dict[str, dict[str, Any]] = {}
        for table, store in ((posting, postings), (resolution, resolutions)):
            ids = {e.originator_id for e in mine}
            for found in conn.execute(select(table).where(among(conn, table.c.id, ids))).mappings():
                store[found["id"]] = dict(found)
        for e in mine:
            s = e.state
            if e.topic == PROPOSED:
                postings[e.originator_id] = _proposed(e)
            elif e.topic in POSTING_TOPICS:
                row = postings[e.originator_id]
                row["last_position"] = e.position
                if e.topic == REFERRED:
                    row["reasons"] = orjson.dumps(s["reasons"]).decode()
                    if s["amount"] is not None:
                        row["amount"] = s["amount"]
                    if s["period"] is not None:
                        row["period"] = s["period"]
                elif e.topic in (APPROVED, REJECTED_EVENT):
                    row.update(
                        state="approved" if e.topic == APPROVED else "rejected",
                        decided_by=s["by"],
                        decided_why=s["why"],
                        decided_at=_when(s),
                        automatic=bool(s.get("automatic", False)),
                    )
                elif e.topic == WITHDRAWN:
                    row.update(state="withdrawn", note=s["why"])
                elif e.topic == SUBMITTED:
                    row.update(
                        state="submitted",
                        sink=s["sink"],
                        written=orjson.dumps(s["written"]).decode(),
                        note=s["note"],
                    )
                elif e.topic == CONFIRMED:
                    row.update(state="confirmed", confirmed_at=_when(s))
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
                    "decided_at": "",
                    "position": e.position,
                }
            else:
                resolutions[e.originator_id].update(
                    decision="accept" if e.topic == ACCEPTED else "void",
                    by=s["by"],
                    why=s["why"],
                    decided_at=_when(s),
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


def postings(conn: Connection, states: Collection[str] = ()) -> list[dict[str, Any]]:
    """Postings in the given states (every posting when none), oldest first."""
    query = select(posting).order_by(posting.c.proposed_position)
    if states:
        query = query.where(posting.c.state.in_(tuple(states)))
    return [dict(r) for r in conn.execute(query).mappings()]


def postings_by_id_prefix(conn: Connection, prefix: str) -> list[dict[str, Any]]:
    """Postings whose id starts with ``prefix`` (lower-case hex with its hyphens)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (
        select(posting)
        .where(posting.c.id.like(f"{escaped}%", escape="\\"))
        .order_by(posting.c.proposed_position)
        .limit(2)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def last_written(conn: Connection, module: str, key: str) -> str | None:
    """The digest of the document recon last wrote (and saw in Sage) under a key, if any."""
    query = (
        select(posting.c.digest)
        .where(
            posting.c.module == module,
            posting.c.key == key,
            posting.c.state == str(STATE_CONFIRMED),
            posting.c.digest.is_not(None),
        )
        .order_by(posting.c.last_position.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()


def rejected_corrections(conn: Connection) -> set[tuple[str, str, str, str | None, str]]:
    """What people rejected, as (module, key, action, document digest, Sage refs as JSON):
    the same correction is not proposed again until what Sage should hold changes."""
    query = select(
        posting.c.module, posting.c.key, posting.c.action, posting.c.digest, posting.c.sage_refs
    ).where(posting.c.state == str(REJECTED))
    return {(m, k, a, d, r) for m, k, a, d, r in conn.execute(query)}


def settled_keys(conn: Connection) -> set[str]:
    """Keys a person has settled: accepted (keep it), or voided once recon's void of it is
    confirmed (a master record stays in Sage, inactive, and is no longer reported). A void
    Sage refused settles nothing: the document stays reported."""
    accepted = select(resolution.c.key).where(resolution.c.decision == "accept")
    voided = select(resolution.c.key).where(
        resolution.c.decision == "void",
        exists().where(
            posting.c.key == resolution.c.key,
            posting.c.action == str(VOID),
            posting.c.state == str(STATE_CONFIRMED),
            posting.c.proposed_position > resolution.c.position,
        ),
    )
    return set(conn.execute(accepted).scalars()) | set(conn.execute(voided).scalars())


def resolutions(conn: Connection) -> list[dict[str, Any]]:
    """Every decision about a document recon did not expect, in the order they were made."""
    query = select(resolution).where(resolution.c.decision != "").order_by(resolution.c.position)
    return [dict(r) for r in conn.execute(query).mappings()]
