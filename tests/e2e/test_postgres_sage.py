"""The whole job on the PostgreSQL-hosted Sage sandbox, which enforces IDENTITY and NOT NULL as
SQL Server does: only sage.url changes, and it ends at 0 findings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.config import write_config
from cli.demo import embedded_config
from tests.conftest import postgres_database
from tests.e2e.conftest import Recon

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def sage_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the Sage sandbox, dropped at the end."""
    with postgres_database("recon_sage_e2e") as url:
        yield url


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
