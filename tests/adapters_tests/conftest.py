"""Fixtures for the Sage adapter tests: a sandbox on each backend (SQLite, and PostgreSQL in a
database of the module's own)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

POSTGRES_ENV = "RECON_TEST_POSTGRES_URL"  # as tests/conftest.py
SANDBOX_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module")
def postgres_sandbox_url() -> Iterator[str]:
    """A PostgreSQL database of this test module's own (created, then dropped), so the
    sandbox never meets the event store tests' database; skipped without a test server."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set; .ci/run starts PostgreSQL and sets it")
        pytest.skip(f"{POSTGRES_ENV} not set")
    import psycopg

    admin = make_url(url).set(drivername="postgresql")
    name = f"recon_sage_{uuid.uuid4().hex[:12]}"
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=SANDBOX_BACKENDS)
def sandbox_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's Sage sandbox goes: a SQLite file, or this module's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sage.db'}"
    return str(request.getfixturevalue("postgres_sandbox_url"))
