"""PartsLedger as recon's source feed: the API client plus the tolerant reader."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from adapters.partsledger.client import PartsLedgerClient
from adapters.partsledger.errors import NotFoundError
from adapters.partsledger.reader import read_record, source_id_of, updated_of
from domain.source import PARTSLEDGER, SOURCE_KINDS, Snapshot

#: The kinds the feed serves, in dependency order.
KINDS = SOURCE_KINDS[PARTSLEDGER]


class PartsLedgerSettings(Protocol):
    """The [partsledger] settings the feed needs (see cli.config.PartsLedgerSettings)."""

    @property
    def base_url(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def client_secret(self) -> str: ...
    @property
    def timeout_seconds(self) -> int: ...


class PartsLedgerFeed:
    """Pages of raw PartsLedger records and their snapshots (the SourceFeed port)."""

    system = PARTSLEDGER
    kinds = KINDS

    def __init__(self, client: PartsLedgerClient) -> None:
        self.client = client

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]:
        return self.client.iter_pages(kind, updated_after)

    def read(self, kind: str, raw: dict[str, Any]) -> Snapshot:
        return read_record(kind, raw)

    def source_id_of(self, raw: dict[str, Any]) -> str | None:
        return source_id_of(raw)

    def updated_of(self, raw: dict[str, Any]) -> int | None:
        return updated_of(raw)

    def fetch(self, kind: str, source_id: str) -> dict[str, Any] | None:
        try:
            return self.client.get(kind, source_id)
        except NotFoundError:
            return None
