"""Shared fixtures: event stores on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from adapters.store import MEMORY

POSTGRES_ENV = "RECON_TEST_POSTGRES_URL"


def _reset_postgres(url: str) -> None:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def postgres_server() -> str:
    """The test PostgreSQL URL (CI starts one and sets it; elsewhere the test skips)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set; .ci/run starts PostgreSQL and sets it")
        pytest.skip(f"{POSTGRES_ENV} not set")
    return url


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of the caller's own on the test server (created as the test role,
    dropped at the end), so a Sage sandbox never meets the event store tests' database."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(postgres_server()).set(drivername="postgresql")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conninfo = server.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> str:
    """The test PostgreSQL database, wiped clean (CI starts one; elsewhere the test skips)."""
    url = postgres_server()
    _reset_postgres(url)
    return url


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty event store: in memory, a SQLite file, or the test PostgreSQL database wiped
    clean."""
    if request.param == "memory":
        return MEMORY
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'recon.db'}"
    return str(request.getfixturevalue("postgres_url"))
