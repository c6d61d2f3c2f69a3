"""The latest state of every source record: what the ledger holds, and what is quarantined."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select

from domain.ports import StoredEvent
from domain.records import Known, SourceRecord
from domain.source import ACCOUNTABLE_INVOICE_STATUSES
from projections.tables import among, records, source_state, upsert

OBSERVED = f"{SourceRecord.__module__}:SourceRecord.Observed"
QUARANTINED = f"{SourceRecord.__module__}:SourceRecord.Quarantined"
CHANGED = f"{SourceRecord.__module__}:SourceRecord.Changed"
REJECTED = f"{SourceRecord.__module__}:SourceRecord.Rejected"
DELETED = f"{SourceRecord.__module__}:SourceRecord.Deleted"
TOPICS = frozenset({OBSERVED, QUARANTINED, CHANGED, REJECTED, DELETED})


def _links(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    if kind == "location":
        return {"company_id": payload.get("company_id"), "location_id": None, "job_id": None}
    if kind == "job":
        return {
            "company_id": payload.get("customer_id"),
            "location_id": payload.get("location_id"),
            "job_id": None,
        }
    if kind == "invoice":
        return {
            "company_id": payload.get("customer_id"),
            "location_id": payload.get("location_id"),
            "job_id": payload.get("job_id"),
        }
    return {"company_id": None, "location_id": None, "job_id": None}


def _accountable(kind: str, payload: dict[str, Any]) -> bool:
    return kind == "invoice" and payload.get("status") in ACCOUNTABLE_INVOICE_STATUSES


class SourcesProjection:
    """One row per source record: version, content hash, last valid payload, quarantine."""

    name = "sources"

    def fingerprint(self) -> str:
        return "sources-1"

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(source_state))

    def apply(self, conn: Connection, events: Sequence[StoredEvent]) -> None:
        mine = [e for e in events if e.topic in TOPICS]
        if not mine:
            return
        ids = {e.originator_id for e in mine if e.topic not in (OBSERVED, QUARANTINED)}
        rows: dict[str, dict[str, Any]] = {}
        if ids:
            query = select(source_state).where(among(conn, source_state.c.record_id, ids))
            rows = {found["record_id"]: found for found in records(conn, query)}
        for e in mine:
            s = e.state
            if e.topic in (OBSERVED, QUARANTINED):
                row: dict[str, Any] = {
                    "record_id": e.originator_id,
                    "system": s["system"],
                    "kind": s["kind"],
                    "source_id": s["source_id"],
                    "payload": None,
                    "rejection": None,
                    "raw": None,
                    "rejected_position": None,
                    "deleted": False,
                    "first_position": e.position,
                    "company_id": None,
                    "location_id": None,
                    "job_id": None,
                    "accountable": False,
                }
                rows[e.originator_id] = row
            else:
                row = rows[e.originator_id]
            row["version"] = e.originator_version
            row["content_hash"] = s.get("content_hash", "")
            row["last_position"] = e.position
            if e.topic in (OBSERVED, CHANGED):
                payload = s["payload"]
                row["payload"] = orjson.dumps(payload).decode()
                row["rejection"] = None
                row["raw"] = None
                row["rejected_position"] = None
                row["deleted"] = False
                row.update(_links(row["kind"], payload))
                row["accountable"] = row["accountable"] or _accountable(row["kind"], payload)
            elif e.topic in (QUARANTINED, REJECTED):
                row["rejection"] = s["reason"]
                row["raw"] = s["raw"]
                row["rejected_position"] = e.position
            else:
                row["deleted"] = True
        upsert(conn, source_state, list(rows.values()))


def known(conn: Connection, system: str, kind: str, source_ids: Iterable[str]) -> dict[str, Known]:
    """What the ledger holds for these source ids (for deciding what to append)."""
    wanted = list(source_ids)
    result: dict[str, Known] = {}
    for chunk_start in range(0, len(wanted), 500):
        chunk = wanted[chunk_start : chunk_start + 500]
        query = select(
            source_state.c.source_id, source_state.c.version, source_state.c.content_hash
        ).where(
            source_state.c.system == system,
            source_state.c.kind == kind,
            among(conn, source_state.c.source_id, chunk),
        )
        for source_id, version, digest in conn.execute(query):
            result[source_id] = Known(version, digest)
    return result


def quarantined(conn: Connection) -> list[dict[str, Any]]:
    """Records whose latest payload was rejected, oldest first."""
    query = (
        select(
            source_state.c.system,
            source_state.c.kind,
            source_state.c.source_id,
            source_state.c.rejection,
            source_state.c.raw,
            source_state.c.rejected_position,
            source_state.c.payload.is_not(None).label("has_valid"),
        )
        .where(source_state.c.rejection.is_not(None))
        .order_by(source_state.c.rejected_position)
    )
    return [dict(r) for r in conn.execute(query).mappings()]
