"""Adopted Sage records (``sage_link``), and how adoptions and taken numbers renumber masters.

The ``links`` projection keeps one row per adoption. The numbering projections (receivables
for clients and jobs, costs for vendors) apply the same events to their ``sage_number`` rows
with ``renumber``, at the event's place in the log: an adopted record takes its Sage number,
and a record whose number the office turns out to use gets a new one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select

from domain.adoption import Adoption, TakenNumbers
from domain.documents import CLIENTS, JOBS, VENDORS
from domain.ports import StoredEvent
from projections.tables import among, sage_link, sage_number, sage_taken, source_state, upsert

LINKED = f"{Adoption.__module__}:Adoption.Linked"
NOTED = f"{TakenNumbers.__module__}:TakenNumbers.Noted"
TOPICS = frozenset({LINKED, NOTED})
#: The ``sage_number`` kind of each adopted master module.
NUMBER_KIND = {CLIENTS: "client", JOBS: "job", VENDORS: "vendor"}


class LinksProjection:
    """One row per adopted Sage record: module, recon's key, the source record, the Sage
    table, record number and key, the basis of the link, who made it and where in the log."""

    name = "links"

    def fingerprint(self) -> str:
        return "links-1"

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(sage_link))

    def apply(self, conn: Connection, events: Sequence[StoredEvent]) -> None:
        rows = [
            {
                "module": s["module"],
                "source_key": s["source_key"],
                "source_kind": s["source_kind"],
                "source_id": s["source_id"],
                "sage_table": s["sage_table"],
                "sage_ref": int(s["sage_ref"]),
                "sage_key": s["sage_key"],
                "basis": s["basis"],
                "by": s["by"],
                "position": e.position,
            }
            for e in events
            if e.topic == LINKED
            for s in (e.state,)
        ]
        upsert(conn, sage_link, rows)


def number_kind(event: StoredEvent) -> str | None:
    """The ``sage_number`` kind an adoption or taken-numbers event renumbers, if any."""
    if event.topic == LINKED:
        return NUMBER_KIND.get(event.state["module"])
    if event.topic == NOTED:
        found = event.state.get("kind")
        return None if found is None else str(found)
    return None


def renumber(conn: Connection, event: StoredEvent) -> bool:
    """Apply an adoption or taken-numbers event to ``sage_number`` / ``sage_taken``; True
    when a record's number changed (its documents and their dependents must be derived
    again)."""
    kind = number_kind(event)
    if kind is None:
        return False
    if event.topic == LINKED:
        source_id = str(event.state["source_id"])
        number = int(event.state["sage_ref"])
        held = conn.execute(
            select(sage_number.c.number).where(
                sage_number.c.kind == kind, sage_number.c.source_id == source_id
            )
        ).scalar()
        if held is not None and int(held) == number:
            return False
        conn.execute(
            delete(sage_number).where(
                sage_number.c.kind == kind,
                (sage_number.c.number == number) | (sage_number.c.source_id == source_id),
            )
        )
        conn.execute(sage_number.insert().values(kind=kind, source_id=source_id, number=number))
        conn.execute(
            delete(sage_taken).where(sage_taken.c.kind == kind, sage_taken.c.number == number)
        )
        return True
    numbers = sorted({int(n) for n in event.state.get("numbers", [])})
    conn.execute(delete(sage_taken).where(sage_taken.c.kind == kind))
    if numbers:
        conn.execute(sage_taken.insert(), [{"kind": kind, "number": n} for n in numbers])
    gone = 0
    for start in range(0, len(numbers), 500):
        gone += conn.execute(
            delete(sage_number).where(
                sage_number.c.kind == kind,
                among(conn, sage_number.c.number, numbers[start : start + 500]),
            )
        ).rowcount
    return gone > 0


def taken(conn: Connection, kind: str) -> set[int]:
    """The numbers of a kind recon never gives out."""
    query = select(sage_taken.c.number).where(sage_taken.c.kind == kind)
    return {int(n) for (n,) in conn.execute(query)}


def next_free(conn: Connection, kind: str, start: int) -> int:
    """Where a kind's numbering goes on: after the highest number given (or at ``start``)."""
    highest = conn.execute(
        select(func.max(sage_number.c.number)).where(sage_number.c.kind == kind)
    ).scalar()
    return start if highest is None else int(highest) + 1


def records_before(
    conn: Connection, system: str, kinds: Collection[str], position: int
) -> list[str]:
    """The ids of a system's records of these kinds first recorded at or before a position."""
    query = (
        select(source_state.c.record_id)
        .where(
            source_state.c.system == system,
            source_state.c.kind.in_(list(kinds)),
            source_state.c.first_position <= position,
        )
        .order_by(source_state.c.first_position)
    )
    return [str(r) for (r,) in conn.execute(query)]


def links(conn: Connection, module: str | None = None) -> list[dict[str, Any]]:
    """Adoptions (of a module), in the order they were recorded."""
    query = select(sage_link).order_by(sage_link.c.position)
    if module is not None:
        query = query.where(sage_link.c.module == module)
    return [dict(row._mapping) for row in conn.execute(query)]


def link_counts(conn: Connection) -> dict[str, int]:
    query = select(sage_link.c.module, func.count()).group_by(sage_link.c.module)
    return {str(module): int(n) for module, n in conn.execute(query)}
