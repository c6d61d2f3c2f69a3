"""The ports recon's core owns: what it needs from a source feed, Sage, and a posting sink."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from domain.documents import Document
from domain.source import Snapshot


class SourceFeed(Protocol):
    """Pages of raw records of one kind changed at or after a time (Unix seconds)."""

    system: str

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]: ...

    def read(self, kind: str, raw: dict[str, Any]) -> Snapshot:
        """The snapshot of a raw record; raises domain.source.PayloadError when invalid."""

    def source_id_of(self, raw: dict[str, Any]) -> str | None: ...

    def updated_of(self, raw: dict[str, Any]) -> int | None: ...


class InvoiceStatusWriter(Protocol):
    """Tells the source system an invoice reached the books (or why it could not)."""

    def set_invoice_status(
        self, invoice_id: str, status: str, comment: str | None = None
    ) -> None: ...


class SageReader(Protocol):
    def read(self, module: str, period: str | None) -> list[Document]: ...

    def read_key(self, module: str, key: str) -> list[Document]: ...


class PostingSink(Protocol):
    """Writes corrections to Sage; each call is one transaction, returning what it wrote (the
    record number, or the row GUID for tables without one)."""

    name: str

    def create(self, document: Document) -> int | str: ...

    def replace(self, document: Document, old_ref: int | str) -> int | str: ...

    def update(self, document: Document) -> int | str: ...

    def void(self, module: str, ref: int | str) -> None: ...


class BatchSink(Protocol):
    """Writes corrections as import batches that Sage takes in later (the periodic file sync):
    postings are staged during a run and written as one batch at its end."""

    name: str

    def stage(
        self,
        posting_id: str,
        action: str,
        module: str,
        document: Document | None,
        refs: list[int | str],
        *,
        key: str,
    ) -> None: ...

    def flush(self) -> str | None:
        """Write the staged postings as one batch; returns its id (None when nothing staged)."""

    def written(self, posting_id: str) -> str | None:
        """The batch (pending or imported) that carries a posting, if any."""
