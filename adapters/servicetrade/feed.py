"""ServiceTrade as recon's source feed: the API client plus the tolerant reader.

`adapters.sources.open_sources` opens it (with PartsLedger's) for a configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from adapters.servicetrade.client import ServiceTradeClient
from adapters.servicetrade.reader import read_record, source_id_of, updated_of
from domain.source import SERVICETRADE, Snapshot

EMBEDDED = "embedded"


class FeedSettings(Protocol):
    """The [servicetrade] settings the feed needs (see cli.config.ServiceTradeSettings)."""

    @property
    def base_url(self) -> str: ...
    @property
    def auth(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def client_secret(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def timeout_seconds(self) -> int: ...
    @property
    def simulator(self) -> Any: ...


class ServiceTradeFeed:
    """Pages of raw ServiceTrade records, read into snapshots in the account's time zone."""

    system = SERVICETRADE

    def __init__(self, client: ServiceTradeClient, timezone: str) -> None:
        self.client = client
        self.timezone = timezone

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]:
        return self.client.iter_pages(kind, updated_after)

    def read(self, kind: str, raw: dict[str, Any]) -> Snapshot:
        return read_record(kind, raw, tz=self.timezone)

    def source_id_of(self, raw: dict[str, Any]) -> str | None:
        return source_id_of(raw)

    def updated_of(self, raw: dict[str, Any]) -> int | None:
        return updated_of(raw)

    def fetch(self, kind: str, source_id: str) -> dict[str, Any] | None:
        return self.client.fetch(kind, source_id)

    def webhooks(self) -> list[dict[str, Any]]:
        return self.client.webhooks()

    def create_webhook(self, hook_url: str, kinds: Sequence[str]) -> dict[str, Any]:
        return self.client.create_webhook(hook_url, kinds)

    def delete_webhook(self, webhook_id: str) -> None:
        self.client.delete_webhook(webhook_id)

    def set_invoice_status(self, invoice_id: str, status: str, comment: str | None = None) -> None:
        self.client.set_invoice_status(invoice_id, status, comment)
