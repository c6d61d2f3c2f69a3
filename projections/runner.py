"""The catch-up loop: reads the log a page at a time and applies each projection exactly once.

SQLite's recorder has no subscriptions, so projections pull. Each page of events is applied to
every projection that has not seen it, and each projection's tracking row is advanced in the
same transaction as its rows: a crash loses the whole page or nothing, never half of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from sqlalchemy import Connection, Engine, select, update

from domain.ports import EventLog, StoredEvent
from projections.tables import metadata, tracking

PAGE_SIZE = 1000
#: Events a replay's first pass reads at once (pages of 5,000 raised a rebuild's peak RSS
#: past 100 MB and saved little: the first pass is a third of a rebuild).
REPLAY_PAGE_SIZE = 1000
#: The fingerprint a derived projection carries while a replay rebuilds it: another run's
#: catch-up joins the replay rather than resetting it, and one cut short is resumed.
REPLAYING = "replaying:"


class Projection(Protocol):
    """A projection: its name, a fingerprint of what shapes its rows, and how to apply events."""

    name: str

    def fingerprint(self) -> str: ...

    def reset(self, conn: Connection) -> None:
        """Delete every row this projection owns (before a rebuild)."""

    def apply(self, conn: Connection, events: Sequence[StoredEvent]) -> None:
        """Apply a page of events, in log order, inside the caller's transaction."""


@runtime_checkable
class Derived(Protocol):
    """A projection whose rows are documents derived from source records' latest state.

    A replay applies ``numbering()`` to the log in order (what depends on the order of
    events: the Sage numbers handed out), then ``derive_all`` derives every record's
    documents once, from its final state.
    """

    name: str

    def fingerprint(self) -> str: ...

    def reset(self, conn: Connection) -> None: ...

    def apply(self, conn: Connection, events: Sequence[StoredEvent]) -> None: ...

    def numbering(self) -> Projection: ...

    def derive_all(self, conn: Connection) -> None: ...


class _Replaying:
    """A derived projection's numbering pass, under its name and the replay's fingerprint."""

    def __init__(self, projection: Derived) -> None:
        self.name = projection.name
        self._fingerprint = REPLAYING + projection.fingerprint()
        self._numbering = projection.numbering()

    def fingerprint(self) -> str:
        return self._fingerprint

    def reset(self, conn: Connection) -> None:
        self._numbering.reset(conn)

    def apply(self, conn: Connection, events: Sequence[StoredEvent]) -> None:
        self._numbering.apply(conn, events)


class ConcurrentCatchUp(Exception):
    """Another process advanced a projection while this one was applying the same page."""


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)


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
        elif row.fingerprint in (fingerprint, REPLAYING + fingerprint):
            result[projection.name] = row.position  # caught up so far, or being replayed
        else:
            projection.reset(conn)
            conn.execute(
                update(tracking)
                .where(tracking.c.name == projection.name)
                .values(position=0, fingerprint=fingerprint)
            )
            result[projection.name] = 0
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
    log: EventLog,
    engine: Engine,
    projections: Sequence[Projection],
    page_size: int | None = None,
) -> int:
    """Apply every event not yet applied; returns how many events were read.

    When a derived projection starts from the beginning of a log that holds events (a
    rebuild, a new mapping), every projection is replayed (``replay``) instead.
    """
    with engine.begin() as conn:
        at = positions(conn, projections)
        replaying = _replaying(conn, projections)
    fresh = any(at[p.name] == 0 and isinstance(p, Derived) for p in projections)
    if replaying or (fresh and log.read(0, 1)):
        return replay(log, engine, projections, page_size or REPLAY_PAGE_SIZE)
    return _apply(log, engine, projections, at, page_size or PAGE_SIZE)


def _replaying(conn: Connection, projections: Sequence[Projection]) -> bool:
    """Whether another run is replaying a derived projection (its fingerprint says so)."""
    marks = {REPLAYING + p.fingerprint() for p in projections if isinstance(p, Derived)}
    return any(
        fingerprint in marks for (fingerprint,) in conn.execute(select(tracking.c.fingerprint))
    )


def catch_up_in_order(
    log: EventLog, engine: Engine, projections: Sequence[Projection], page_size: int = PAGE_SIZE
) -> int:
    """Apply every event not yet applied, page by page, each projection event by event even
    from the start of the log (what ``replay`` must leave the same rows as)."""
    with engine.begin() as conn:
        at = positions(conn, projections)
    return _apply(log, engine, projections, at, page_size)


def replay(
    log: EventLog,
    engine: Engine,
    projections: Sequence[Projection],
    page_size: int = REPLAY_PAGE_SIZE,
) -> int:
    """Rebuild every projection from the whole log; returns how many events were read.

    The log is read once, a page at a time, applying every projection in log order, except
    that the derived projections only hand out numbers there (as a catch-up of the same
    pages hands them out). Then each derives every record's documents once, from the
    record's final state, in the order records were first recorded: a record changed many
    times is derived once, not once per change. The rows are those a catch-up leaves
    (tests/projections_tests/test_replay.py compares them).
    """
    with engine.begin() as conn:
        # Under the tracking rows' write lock: a replay another run began is joined (its
        # pages are applied by whichever run gets to them first), not begun again.
        conn.execute(update(tracking).values(position=tracking.c.position))
        at = positions(conn, projections)  # every projection has its tracking row
        held = {
            name: fp for name, fp in conn.execute(select(tracking.c.name, tracking.c.fingerprint))
        }
        derived = [p for p in projections if isinstance(p, Derived)]
        if _replaying(conn, projections):
            # joined: a derived projection rebuilt since (a rebuild resets positions, not
            # fingerprints) is replayed too; one caught up as usual is applied as usual
            replayed = {p.name for p in derived if held[p.name] == REPLAYING + p.fingerprint()}
            begun: list[Projection] = [
                p for p in derived if p.name not in replayed and at[p.name] == 0
            ]
        else:
            replayed, begun = set(), list(projections)
            at = {p.name: 0 for p in projections}
        for projection in begun:
            projection.reset(conn)
            mark = isinstance(projection, Derived)
            fingerprint = (REPLAYING if mark else "") + projection.fingerprint()
            conn.execute(
                update(tracking)
                .where(tracking.c.name == projection.name)
                .values(position=0, fingerprint=fingerprint)
            )
            if mark:
                replayed.add(projection.name)
    marked = [
        _Replaying(p) if isinstance(p, Derived) and p.name in replayed else p for p in projections
    ]
    read = _apply(log, engine, marked, at, page_size)
    for replaying in derived:
        if replaying.name not in replayed:
            continue
        with engine.begin() as conn:
            marker = REPLAYING + replaying.fingerprint()
            claimed = conn.execute(
                update(tracking)
                .where(tracking.c.name == replaying.name, tracking.c.fingerprint == marker)
                .values(fingerprint=replaying.fingerprint())
            ).rowcount
            if claimed == 1:  # else another run joined in derives it (or has derived it)
                replaying.derive_all(conn)
    # What was recorded while the documents were derived is applied as any catch-up does.
    with engine.begin() as conn:
        at = positions(conn, projections)
    return read + _apply(log, engine, projections, at, PAGE_SIZE)


def _apply(
    log: EventLog,
    engine: Engine,
    projections: Sequence[Projection],
    at: dict[str, int],
    page_size: int,
) -> int:
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
