"""Fixtures for the Sage adapter tests: a sandbox on each backend (SQLite, and PostgreSQL in a
database of the module's own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import postgres_database

SANDBOX_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module")
def postgres_sandbox_url() -> Iterator[str]:
    """A PostgreSQL database of this test module's own (created, then dropped), so the
    sandbox never meets the event store tests' database; skipped without a test server."""
    with postgres_database("recon_sage") as url:
        yield url


@pytest.fixture(params=SANDBOX_BACKENDS)
def sandbox_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's Sage sandbox goes: a SQLite file, or this module's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sage.db'}"
    return str(request.getfixturevalue("postgres_sandbox_url"))
