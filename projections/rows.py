"""The rows of ``expected_document`` (what Sage should hold): writing them and reading them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, select

from domain.documents import Document, collector_paused, digest_of, match_digest
from projections.tables import expected_document, upsert


def document_row(document: Document, kind: str, source_id: str) -> dict[str, Any]:
    """A document as its projection row; ``amount`` (for status totals) is left empty on void
    documents, which Sage keeps but which no longer count."""
    body = document.canonical()
    amount = None if document.is_void else document.amount
    return {
        "module": document.module,
        "key": document.key,
        "period": document.period,
        "digest": digest_of(body),
        "match_digest": match_digest(document.module, document.tables),
        "amount": None if amount is None else str(amount),
        "body": body.decode(),
        "problem": None,
        "source_kind": kind,
        "source_id": source_id,
    }


def problem_row(module: str, key: str, kind: str, source_id: str, problem: str) -> dict[str, Any]:
    """A key recon cannot build a document for, with the reason (an ``unmapped`` finding)."""
    return {
        "module": module,
        "key": key,
        "period": None,
        "digest": None,
        "match_digest": None,
        "amount": None,
        "body": None,
        "problem": problem,
        "source_kind": kind,
        "source_id": source_id,
    }


def replace_documents(
    conn: Connection, dropped: Iterable[tuple[str, str]], rows: Iterable[dict[str, Any]]
) -> None:
    """Remove every row the dropped source records produced, then write the new rows: two
    statements for a whole page, whatever its size."""
    gone = [{"kind": kind, "id": source_id} for kind, source_id in sorted(dropped)]
    if gone:
        conn.execute(
            delete(expected_document).where(
                expected_document.c.source_kind == bindparam("kind"),
                expected_document.c.source_id == bindparam("id"),
            ),
            gone,
        )
    upsert(conn, expected_document, list(rows))


def expected_documents(
    conn: Connection, module: str, period: str | None = None
) -> tuple[list[Document], dict[str, str]]:
    """Expected documents of a module (and period), plus keys recon could not map, with why."""
    query = select(
        expected_document.c.key,
        expected_document.c.period,
        expected_document.c.body,
        expected_document.c.problem,
    ).where(expected_document.c.module == module)
    if period is not None:
        query = query.where(
            (expected_document.c.period == period) | expected_document.c.period.is_(None)
        )
    documents: list[Document] = []
    problems: dict[str, str] = {}
    with collector_paused():
        for key, doc_period, body, problem in conn.execute(query):
            if body is None:
                problems[key] = problem
                continue
            tables = orjson.loads(body)
            documents.append(
                Document(module, key, {t: tuple(rows) for t, rows in tables.items()}, doc_period)
            )
    return documents, problems


def expected_document_for(conn: Connection, module: str, key: str) -> Document | None:
    """The document Sage should hold under a key (None: none, or recon cannot map it)."""
    row = conn.execute(
        select(expected_document.c.body, expected_document.c.period).where(
            expected_document.c.module == module, expected_document.c.key == key
        )
    ).first()
    if row is None or row.body is None:
        return None
    tables = orjson.loads(row.body)
    return Document(module, key, {t: tuple(r) for t, r in tables.items()}, row.period)


def problems_of(conn: Connection, module: str) -> dict[str, str]:
    """Keys of a module recon cannot build a document for, with why."""
    query = select(expected_document.c.key, expected_document.c.problem).where(
        expected_document.c.module == module, expected_document.c.problem.is_not(None)
    )
    return {key: problem for key, problem in conn.execute(query)}
