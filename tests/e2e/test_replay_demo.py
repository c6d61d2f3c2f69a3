"""A replay of the books ``recon demo`` leaves (postings, confirmations, every kind of
source record) leaves the rows their catch-ups left."""

from __future__ import annotations

import pytest

from cli.bootstrap import context
from cli.config import load_config
from tests.e2e.conftest import Recon
from tests.projections_tests.test_replay import in_order, replayed, tables

pytestmark = pytest.mark.slow


def test_a_replay_of_the_demo_books_leaves_the_rows_their_catch_ups_left(recon: Recon) -> None:
    with context(load_config(recon.config)) as ctx:
        as_recorded = tables(ctx)
        assert as_recorded["expected_document"] and as_recorded["posting"]
        assert replayed(ctx) == as_recorded
        for page_size in (7, 1000):
            assert replayed(ctx) == in_order(ctx, page_size)
