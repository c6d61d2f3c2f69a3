"""What Sage should hold, a module at a time as a stream sorted by key (``expected_document``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Engine, and_, select

from domain.documents import Document, collector_paused
from domain.reconcile import position
from projections.tables import among, expected_document

#: Documents read per query: the keys of a chunk are bound as parameters.
CHUNK = 1_000


def expected_index(
    engine: Engine, module: str, period: str | None
) -> tuple[list[str], dict[str, str]]:
    """The keys of the documents of a module (and period) Sage should hold, by key, and the
    keys recon could not build a document for, with why."""
    query = select(expected_document.c.key, expected_document.c.problem).where(_of(module, period))
    keys: list[str] = []
    problems: dict[str, str] = {}
    with engine.connect() as conn:
        for key, problem in conn.execute(query):
            if problem is not None:
                problems[key] = problem
            else:
                keys.append(key)
    return keys, problems


def expected_stream(
    engine: Engine,
    module: str,
    keys: list[str],
    order: Callable[[str], Any] = position,
) -> Iterator[Document]:
    """The documents under ``keys``, one at a time, sorted by ``order`` of their keys, read
    in chunks (a key whose row went since is passed over)."""
    ordered = sorted(keys, key=order)
    with engine.connect() as conn:
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            query = select(
                expected_document.c.key, expected_document.c.period, expected_document.c.body
            ).where(
                expected_document.c.module == module,
                among(conn, expected_document.c.key, chunk),
                expected_document.c.body.is_not(None),
            )
            found: dict[str, Document] = {}
            with collector_paused():
                for key, period, body in conn.execute(query):
                    tables = orjson.loads(body)
                    found[key] = Document(
                        module, key, {t: tuple(rows) for t, rows in tables.items()}, period
                    )
            for key in chunk:
                document = found.get(key)
                if document is not None:
                    yield document


def expected_digests(
    engine: Engine,
    module: str,
    period: str | None,
    order: Callable[[str], Any] = position,
) -> Iterator[tuple[str, str | None]]:
    """(key, ``match_digest``) of the documents ``expected_stream`` gives for a module (and
    period), in its order: one narrow query, no document read."""
    query = select(expected_document.c.key, expected_document.c.match_digest).where(
        _of(module, period), expected_document.c.body.is_not(None)
    )
    with engine.connect() as conn:
        found = [(str(key), digest) for key, digest in conn.execute(query)]
    found.sort(key=lambda entry: order(entry[0]))
    return iter(found)


def _of(module: str, period: str | None) -> ColumnElement[bool]:
    """A module's documents, of ``period`` (and those bound to none) when given."""
    selected = expected_document.c.module == module
    if period is None:
        return selected
    in_period = (expected_document.c.period == period) | expected_document.c.period.is_(None)
    return and_(selected, in_period)
