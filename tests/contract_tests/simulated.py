"""How the contracts open the source feeds on a running simulator, as cli/bootstrap.py:sources
opens the embedded ones (with smaller pages, so every listing spans several)."""

from __future__ import annotations

import simulator
from adapters.partsledger.client import build_client as build_partsledger_client
from adapters.partsledger.feed import PartsLedgerFeed
from adapters.servicetrade.client import build_client as build_servicetrade_client
from adapters.servicetrade.feed import ServiceTradeFeed

ST_PAGE_LIMITS = {"company": 8, "invoice": 30}
PL_PAGE_LIMIT = 4


def servicetrade_feed(running: simulator.RunningSimulator) -> ServiceTradeFeed:
    """The feed over a new client; close ``feed.client`` when done."""
    client = build_servicetrade_client(
        running.base_url,
        client_id=simulator.DEFAULT_CLIENT_ID,
        client_secret=simulator.DEFAULT_CLIENT_SECRET,
        timeout=5.0,
        page_limits=ST_PAGE_LIMITS,
    )
    return ServiceTradeFeed(client, simulator.TIMEZONE)


def partsledger_feed(running: simulator.RunningSimulator) -> PartsLedgerFeed:
    """The feed over a new client; close ``feed.client`` when done."""
    client = build_partsledger_client(
        running.partsledger_url,
        client_id=simulator.DEFAULT_PL_CLIENT_ID,
        client_secret=simulator.DEFAULT_PL_CLIENT_SECRET,
        timeout=5.0,
        page_limit=PL_PAGE_LIMIT,
    )
    return PartsLedgerFeed(client)
