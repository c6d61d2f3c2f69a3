"""The rows of ``expected_document``: a document, or why recon cannot say what Sage holds."""

from __future__ import annotations

from typing import Any

from domain.documents import Document, digest_of


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
