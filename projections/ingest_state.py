"""Where each kind's ingest stands: its ``updatedAfter`` cursor, what the current run saw, and
the newest ``updated`` stamp fetched of each record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from projections.tables import among, ingest_cursor, ingest_seen, ingest_stamp, upsert

_CHUNK = 500


def cursor(conn: Connection, system: str, kind: str) -> int | None:
    """The ``updated`` stamp every record up to which a completed run has recorded."""
    return conn.execute(
        select(ingest_cursor.c.updated_after).where(
            ingest_cursor.c.system == system, ingest_cursor.c.kind == kind
        )
    ).scalar()


def advance(conn: Connection, system: str, kind: str, value: int) -> None:
    """Move a kind's cursor after a run that recorded every page, counting the run."""
    runs = conn.execute(
        select(ingest_cursor.c.completed_runs).where(
            ingest_cursor.c.system == system, ingest_cursor.c.kind == kind
        )
    ).scalar()
    upsert(
        conn,
        ingest_cursor,
        [
            {
                "system": system,
                "kind": kind,
                "updated_after": value,
                "completed_runs": (runs or 0) + 1,
            }
        ],
    )


def forget_seen(conn: Connection, system: str, kind: str) -> None:
    conn.execute(
        delete(ingest_seen).where(ingest_seen.c.system == system, ingest_seen.c.kind == kind)
    )


def seen_again(
    conn: Connection, system: str, kind: str, stamps: list[tuple[str, int | None]]
) -> list[int | None]:
    """The first ``updated`` stamps of the records in ``stamps`` this run fetched before
    (on an earlier page, or earlier on this one); the others are remembered as first seen."""
    before = seen_before(conn, system, kind, (source_id for source_id, _ in stamps))
    first: dict[str, int | None] = {}
    again: list[int | None] = []
    for source_id, updated in stamps:
        if source_id in before:
            again.append(before[source_id])
        elif source_id in first:
            again.append(first[source_id])
        else:
            first[source_id] = updated
    if first:
        conn.execute(
            ingest_seen.insert(),
            [
                {"system": system, "kind": kind, "source_id": i, "first_updated": u}
                for i, u in first.items()
            ],
        )
    return again


def seen_before(
    conn: Connection, system: str, kind: str, source_ids: Iterable[str]
) -> dict[str, int | None]:
    """The first ``updated`` stamp this run fetched of each of these records it fetched
    before (on an earlier page); records it has not fetched yet are left out."""
    ids = list(dict.fromkeys(source_ids))
    found: dict[str, int | None] = {}
    for start in range(0, len(ids), _CHUNK):
        query = select(ingest_seen.c.source_id, ingest_seen.c.first_updated).where(
            ingest_seen.c.system == system,
            ingest_seen.c.kind == kind,
            among(conn, ingest_seen.c.source_id, ids[start : start + _CHUNK]),
        )
        found.update((i, u) for i, u in conn.execute(query))
    return found


def stamps(conn: Connection, system: str, kind: str, source_ids: Iterable[str]) -> dict[str, int]:
    """The newest ``updated`` stamp fetched of each of these records (those with one)."""
    ids = list(dict.fromkeys(source_ids))
    found: dict[str, int] = {}
    for start in range(0, len(ids), _CHUNK):
        query = select(ingest_stamp.c.source_id, ingest_stamp.c.updated).where(
            ingest_stamp.c.system == system,
            ingest_stamp.c.kind == kind,
            among(conn, ingest_stamp.c.source_id, ids[start : start + _CHUNK]),
        )
        found.update((i, int(u)) for i, u in conn.execute(query))
    return found


def raise_stamps(conn: Connection, system: str, kind: str, newest: Mapping[str, int]) -> None:
    """Remember these stamps, each only where it is newer than the one held."""
    if not newest:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(ingest_stamp)
    statement = statement.on_conflict_do_update(
        index_elements=["system", "kind", "source_id"],
        set_={
            "updated": case(
                (statement.excluded.updated > ingest_stamp.c.updated, statement.excluded.updated),
                else_=ingest_stamp.c.updated,
            )
        },
    )
    rows = [
        {"system": system, "kind": kind, "source_id": i, "updated": u} for i, u in newest.items()
    ]
    conn.execute(statement, rows)


def cursors(conn: Connection) -> list[dict[str, object]]:
    query = select(ingest_cursor).order_by(ingest_cursor.c.system, ingest_cursor.c.kind)
    return [dict(r) for r in conn.execute(query).mappings()]
