"""What the port contracts run against: a SQLite Sage sandbox, and one source simulator on
loopback shared by every simulator-backed contract (started only when one of them runs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

import simulator
from adapters.partsledger.feed import PartsLedgerFeed
from adapters.sage.engine import create_sage_engine
from adapters.sage.sandbox import init_sandbox
from adapters.servicetrade.feed import ServiceTradeFeed
from tests.adapters_tests.test_sage_costs import MAPPING
from tests.contract_tests import simulated


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Engine]:
    """An empty Sage sandbox for the mapping of tests/adapters_tests/test_sage_costs.py."""
    url = f"sqlite:///{tmp_path / 'sage.db'}"
    init_sandbox(url, MAPPING)
    engine = create_sage_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def running_simulator() -> Iterator[simulator.RunningSimulator]:
    with simulator.run_simulator(7) as running:
        yield running


@pytest.fixture(scope="session")
def servicetrade_feed(running_simulator: simulator.RunningSimulator) -> Iterator[ServiceTradeFeed]:
    feed = simulated.servicetrade_feed(running_simulator)
    with feed.client:
        yield feed


@pytest.fixture(scope="session")
def partsledger_feed(running_simulator: simulator.RunningSimulator) -> Iterator[PartsLedgerFeed]:
    feed = simulated.partsledger_feed(running_simulator)
    with feed.client:
        yield feed
