"""The catch-up loop: reads the log a page at a time and applies each projection exactly once.

SQLite's recorder has no subscriptions, so projections pull. Each page of events is applied to
every projection that has not seen it, and each projection's tracking row is advanced in the
same transaction as its rows: a crash loses the whole page or nothing, never half of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Connection, Engine, inspect, select, text, update

from domain.ports import EventLog, StoredEvent
from projections.tables import expected_document, metadata, tracking

PAGE_SIZE = 1000


class Projection(Protocol):
    """A projection: its name, a fingerprint of what shapes its rows, and how to apply events."""

    name: str

    def fingerprint(self) -> str: ...

    def reset(self, conn: Connection) -> None:
        """Delete every row this projection owns (before a rebuild)."""

    def apply(self, conn: Connection, events: Sequence[StoredEvent]) -> None:
        """Apply a page of events, in log order, inside the caller's transaction."""


class ConcurrentCatchUp(Exception):
    """Another process advanced a projection while this one was applying the same page."""


def create_tables(engine: Engine) -> None:
    """Make the projections' tables, and add the columns a database made by an earlier
    recon lacks (their projections' fingerprints changed with them: they are rebuilt)."""
    metadata.create_all(engine)
    held = {column["name"] for column in inspect(engine).get_columns(expected_document.name)}
    added = [column for column in expected_document.columns if column.name not in held]
    with engine.begin() as conn:
        for column in added:
            kind = column.type.compile(dialect=engine.dialect)
            conn.execute(
                text(f"ALTER TABLE {expected_document.name} ADD COLUMN {column.name} {kind}")
            )


def positions(conn: Connection, projections: Sequence[Projection]) -> dict[str, int]:
    """Each projection's position, resetting those whose fingerprint changed (to rebuild)."""
    rows = {r.name: r for r in conn.execute(select(tracking))}
    result: dict[str, int] = {}
    for projection in projections:
        row = rows.get(projection.name)
        fingerprint = projection.fingerprint()
        if row is None:  # a projection new to this database owns no rows yet
            projection.reset(conn)
            conn.execute(
                tracking.insert().values(name=projection.name, position=0, fingerprint=fingerprint)
            )
            result[projection.name] = 0
        elif row.fingerprint != fingerprint:
            projection.reset(conn)
            conn.execute(
                update(tracking)
                .where(tracking.c.name == projection.name)
                .values(position=0, fingerprint=fingerprint)
            )
            result[projection.name] = 0
        else:
            result[projection.name] = row.position
    return result


def rebuild(engine: Engine, projections: Sequence[Projection]) -> None:
    """Forget every projection's rows and position; the next catch-up replays the whole log."""
    with engine.begin() as conn:
        for projection in projections:
            projection.reset(conn)
            conn.execute(
                update(tracking).where(tracking.c.name == projection.name).values(position=0)
            )


def catch_up(
    log: EventLog, engine: Engine, projections: Sequence[Projection], page_size: int = PAGE_SIZE
) -> int:
    """Apply every event not yet applied; returns how many events were read."""
    with engine.begin() as conn:
        at = positions(conn, projections)
    read = 0
    while True:
        start = min(at.values())
        page = log.read(start, page_size)
        if not page:
            return read
        read += len(page)
        last = page[-1].position
        with engine.begin() as conn:
            # Another process may be catching up the same log: write to the tracking rows
            # first (SQLite's write lock, PostgreSQL's row locks), so the positions read next
            # are the last committed, and only what they leave undone is applied.
            conn.execute(update(tracking).values(position=tracking.c.position))
            now = {r.name: r.position for r in conn.execute(select(tracking))}
            at = {p.name: now.get(p.name, 0) for p in projections}
            if min(at.values()) < start:  # rebuilt meanwhile: read again from there
                continue
            for projection in projections:
                done = at[projection.name]
                todo = page if done == start else [e for e in page if e.position > done]
                if not todo:
                    continue
                projection.apply(conn, todo)
                advanced = conn.execute(
                    update(tracking)
                    .where(tracking.c.name == projection.name, tracking.c.position == done)
                    .values(position=last)
                ).rowcount
                if advanced != 1:
                    raise ConcurrentCatchUp(
                        f"projection {projection.name} moved past {done} while this run applied "
                        "the same events; run again"
                    )
        for projection in projections:
            at[projection.name] = max(at[projection.name], last)
