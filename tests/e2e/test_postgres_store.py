"""The same recon command on a PostgreSQL event store: only the URL changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.config import write_config
from cli.demo import embedded_config
from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow


@pytest.mark.postgres
def test_the_whole_job_runs_on_a_postgresql_store(tmp_path: Path, postgres_url: str) -> None:
    data = embedded_config(tmp_path)
    data["store"]["url"] = postgres_url
    write_config(tmp_path / "recon.toml", data)
    recon = Recon(tmp_path)
    recon.run("sandbox", "init", "--sage", data["sage"]["url"], "--config", str(recon.config))
    first = recon.json("ingest")
    assert sum(first["appended"].values()) > 300
    code, result = recon.reconcile("--apply")
    assert code == 1 and result["remaining"] == []
    assert recon.reconcile()[0] == 0
    written = result["written_back"]["processed"]
    assert sum(recon.json("ingest")["appended"].values()) == written  # invoices now processed
    assert sum(recon.json("ingest")["appended"].values()) == 0
    replayed = recon.run("replay", "--config", str(recon.config))
    assert "Sage holds exactly what it should." in replayed.stdout
