"""The source systems recon reads, opened together: ServiceTrade and PartsLedger.

When either base URL is "embedded", one simulator runs in this process (a single world serving
both APIs on one loopback port), configured from the ServiceTrade settings' `simulator` table,
and the embedded feed(s) talk to it over HTTP with the simulator's default credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.partsledger.client import PartsLedgerClient
from adapters.partsledger.client import build_client as build_partsledger_client
from adapters.partsledger.errors import PartsLedgerError
from adapters.partsledger.feed import PartsLedgerFeed, PartsLedgerSettings
from adapters.servicetrade.client import ServiceTradeClient
from adapters.servicetrade.client import build_client as build_servicetrade_client
from adapters.servicetrade.errors import ServiceTradeError
from adapters.servicetrade.feed import EMBEDDED, FeedSettings, ServiceTradeFeed

if TYPE_CHECKING:
    from adapters.simulator import RunningSimulator

#: What a source system's outage raises, for callers that treat both alike.
SOURCE_ERRORS = (ServiceTradeError, PartsLedgerError)


@dataclass(frozen=True)
class Sources:
    """The open feeds; `simulator` is the embedded simulator when one runs (else None)."""

    servicetrade: ServiceTradeFeed
    partsledger: PartsLedgerFeed
    simulator: RunningSimulator | None = None

    @property
    def feeds(self) -> tuple[ServiceTradeFeed, PartsLedgerFeed]:
        """In ingest order: ServiceTrade first, since PartsLedger purchases refer to its jobs."""
        return self.servicetrade, self.partsledger


@contextmanager
def open_sources(
    servicetrade_settings: FeedSettings, partsledger_settings: PartsLedgerSettings
) -> Iterator[Sources]:
    """Both feeds for the configuration, closed (and any simulator stopped) on the way out."""
    st, pl = servicetrade_settings, partsledger_settings
    with ExitStack() as stack:
        running: RunningSimulator | None = None
        if EMBEDDED in (st.base_url, pl.base_url):
            from adapters.simulator import run_simulator

            sim = st.simulator
            running = stack.enter_context(
                run_simulator(
                    sim.seed,
                    start=date.fromisoformat(sim.start_date),
                    scale=sim.scale,
                    state_file=Path(sim.state_file) if sim.state_file else None,
                )
            )
        servicetrade = stack.enter_context(_servicetrade_client(st, running))
        partsledger = stack.enter_context(_partsledger_client(pl, running))
        yield Sources(
            servicetrade=ServiceTradeFeed(servicetrade, st.timezone),
            partsledger=PartsLedgerFeed(partsledger),
            simulator=running,
        )


def _servicetrade_client(
    settings: FeedSettings, running: RunningSimulator | None
) -> ServiceTradeClient:
    if settings.base_url == EMBEDDED and running is not None:
        from adapters.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

        return build_servicetrade_client(
            running.base_url,
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            timeout=settings.timeout_seconds,
        )
    if settings.auth == "oauth2":
        return build_servicetrade_client(
            settings.base_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            timeout=settings.timeout_seconds,
        )
    return build_servicetrade_client(
        settings.base_url,
        username=settings.username,
        password=settings.password,
        timeout=settings.timeout_seconds,
    )


def _partsledger_client(
    settings: PartsLedgerSettings, running: RunningSimulator | None
) -> PartsLedgerClient:
    if settings.base_url == EMBEDDED and running is not None:
        from adapters.simulator import DEFAULT_PL_CLIENT_ID, DEFAULT_PL_CLIENT_SECRET

        return build_partsledger_client(
            running.partsledger_url,
            client_id=DEFAULT_PL_CLIENT_ID,
            client_secret=DEFAULT_PL_CLIENT_SECRET,
            timeout=settings.timeout_seconds,
        )
    return build_partsledger_client(
        settings.base_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        timeout=settings.timeout_seconds,
    )
