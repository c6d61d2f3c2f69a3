"""The rows of ``expected_document``: a document, or why recon cannot say what Sage holds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, delete

from domain.documents import Document, digest_of
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
