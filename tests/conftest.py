"""Shared fixtures: event stores on SQLite and PostgreSQL, a fake source feed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.source import PayloadError, Snapshot, from_payload

POSTGRES_ENV = "RECON_TEST_POSTGRES_URL"


def _reset_postgres(url: str) -> None:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture
def postgres_url() -> str:
    """The test PostgreSQL database, wiped clean (CI starts one; elsewhere the test skips)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set; .ci/run starts PostgreSQL and sets it")
        pytest.skip(f"{POSTGRES_ENV} not set")
    _reset_postgres(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty event store: a SQLite file, or the test PostgreSQL database wiped clean."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'recon.db'}"
    return str(request.getfixturevalue("postgres_url"))


class ListFeed:
    """A working fake source feed: records in payload form, paged, filtered by 'updated'."""

    system = "servicetrade"

    def __init__(self, records: dict[str, list[dict[str, Any]]], page_size: int = 2) -> None:
        self.records = records
        self.page_size = page_size
        self.requests: list[tuple[str, int | None]] = []

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]:
        self.requests.append((kind, updated_after))
        rows = [
            r
            for r in self.records.get(kind, [])
            if updated_after is None or r.get("updated", 0) >= updated_after
        ]
        for start in range(0, len(rows), self.page_size):
            yield rows[start : start + self.page_size]

    def read(self, kind: str, raw: dict[str, Any]) -> Snapshot:
        data = {k: v for k, v in raw.items() if k != "updated"}
        if not data.get("id"):
            raise PayloadError(f"{kind}: id is missing")
        try:
            return from_payload(kind, data)
        except (TypeError, KeyError, ArithmeticError) as exc:
            raise PayloadError(f"{kind} {data.get('id')}: {exc}") from exc

    def source_id_of(self, raw: dict[str, Any]) -> str | None:
        value = raw.get("id")
        return str(value) if value else None

    def updated_of(self, raw: dict[str, Any]) -> int | None:
        value = raw.get("updated")
        return value if isinstance(value, int) else None
