"""The whole job on the PostgreSQL-hosted Sage sandbox, which enforces IDENTITY and NOT NULL as
SQL Server does: only sage.url changes, and it ends at 0 findings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from cli.config import write_config
from cli.demo import embedded_config
from tests.conftest import POSTGRES_ENV
from tests.e2e.conftest import Recon

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def sage_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the Sage sandbox on the test server (created as the
    test role, dropped at the end), so it never meets the event store tests' database."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set; .ci/run starts PostgreSQL and sets it")
        pytest.skip(f"{POSTGRES_ENV} not set")
    import psycopg

    server = make_url(url).set(drivername="postgresql")
    name = f"recon_sage_e2e_{uuid.uuid4().hex[:12]}"
    conninfo = server.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_whole_job_runs_on_a_postgresql_hosted_sage_sandbox(
    tmp_path: Path, sage_database: str
) -> None:
    data = embedded_config(tmp_path)
    data["sage"]["url"] = sage_database
    write_config(tmp_path / "recon.toml", data)
    recon = Recon(tmp_path)

    made = recon.run("sandbox", "init", "--sage", sage_database, "--config", str(recon.config))
    assert "Sage sandbox ready at postgresql://" in made.stdout
    assert sum(recon.json("ingest")["appended"].values()) > 300
    code, applied = recon.reconcile("--apply")
    assert applied["remaining"] == [], applied["remaining"]
    assert code == 1  # there was something to post
    assert applied["applied"]["confirmed"] and not applied["applied"]["failed"]

    code, final = recon.reconcile()

    assert (code, final["findings"]) == (0, [])
