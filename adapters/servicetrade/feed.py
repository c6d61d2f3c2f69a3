"""ServiceTrade as recon's source feed: the API client plus the tolerant reader."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from adapters.servicetrade.client import ServiceTradeClient, build_client
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

    def set_invoice_status(self, invoice_id: str, status: str, comment: str | None = None) -> None:
        self.client.set_invoice_status(invoice_id, status, comment)


@contextmanager
def open_feed(settings: FeedSettings) -> Iterator[ServiceTradeFeed]:
    """The feed for the configuration: the real API, or the embedded simulator on loopback.

    ``base_url = "embedded"`` runs the simulator in this process on a free loopback port with
    the configured seed, continuing from its state file, and talks to it over HTTP like any
    ServiceTrade account.
    """
    with ExitStack() as stack:
        base_url = settings.base_url
        client_id = client_secret = username = password = None
        if base_url == EMBEDDED:
            from adapters.simulator import (
                DEFAULT_CLIENT_ID,
                DEFAULT_CLIENT_SECRET,
                run_simulator,
            )

            sim = settings.simulator
            running = stack.enter_context(
                run_simulator(
                    sim.seed,
                    start=date.fromisoformat(sim.start_date),
                    scale=sim.scale,
                    state_file=Path(sim.state_file) if sim.state_file else None,
                )
            )
            base_url = running.base_url
            client_id, client_secret = DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
        elif settings.auth == "oauth2":
            client_id, client_secret = settings.client_id, settings.client_secret
        else:
            username, password = settings.username, settings.password
        client = stack.enter_context(
            build_client(
                base_url,
                username=username,
                password=password,
                client_id=client_id,
                client_secret=client_secret,
                timeout=settings.timeout_seconds,
            )
        )
        yield ServiceTradeFeed(client, settings.timezone)
