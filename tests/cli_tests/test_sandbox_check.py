"""`recon sandbox check`, run as a site's IT person runs it: a subprocess, its output, its exit."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def _recon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh sandbox made by `recon sandbox init` (shared: the check never writes)."""
    path = tmp_path_factory.mktemp("check") / "sage.db"
    made = _recon("sandbox", "init", "--sage", f"sqlite:///{path}")
    assert made.returncode == 0, made.stderr
    return path


def test_a_fresh_sandbox_passes_and_the_check_says_why(sandbox: Path) -> None:
    before = sandbox.read_bytes()
    result = _recon("sandbox", "check", "--sage", f"sqlite:///{sandbox}")
    assert result.returncode == 0, (result.stdout, result.stderr)
    out = result.stdout
    assert out.startswith(f"recon sandbox check: sqlite:///{sandbox} (SQLite)")
    for title in ("IDENTITY columns", "Required columns", "Triggers", "Foreign keys"):
        assert f"\n{title}" in out
    assert "acrinv.recnum is IDENTITY: recon leaves it out" in " ".join(out.split())
    assert "Nothing blocks recon's writes" in out
    assert sandbox.read_bytes() == before


def test_json_is_the_same_check_for_machines(sandbox: Path) -> None:
    result = _recon("sandbox", "check", "--sage", f"sqlite:///{sandbox}", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["blocking"] == []
    assert data["dialect"] == "sqlite" and data["app_name"] == "recon"
    statuses = {item["status"] for item in data["items"]}
    assert statuses <= {"ok", "check"}
    identity = [
        i for i in data["items"] if i["topic"] == "identity" and i["subject"] == "acrinv.recnum"
    ]
    assert identity and identity[0]["status"] == "ok"


def test_what_blocks_recons_writes_is_named_and_exits_1(sandbox: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(sandbox.read_bytes())
    with sqlite3.connect(broken) as connection:
        connection.execute("DROP TABLE artxdt")
        connection.execute("ALTER TABLE actpay DROP COLUMN fedidn")
    connection.close()

    result = _recon("sandbox", "check", "--sage", f"sqlite:///{broken}")
    assert result.returncode == 1, (result.stdout, result.stderr)
    summary = result.stdout.split("item(s) block recon's writes")[1]
    assert "artxdt" in summary and "actpay lacks columns recon reads and writes: fedidn" in summary

    data = json.loads(_recon("sandbox", "check", "--sage", f"sqlite:///{broken}", "--json").stdout)
    assert data["ok"] is False and len(data["blocking"]) == 2


def test_a_url_that_cannot_work_exits_2_without_its_password() -> None:
    result = _recon("sandbox", "check", "--sage", "mysql://recon:s3cret@host/sage")
    assert result.returncode == 2
    assert "expected a database URL" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr


def test_a_missing_option_is_a_usage_error() -> None:
    assert _recon("sandbox", "check").returncode == 2


def test_a_database_that_cannot_be_reached_exits_3_without_its_password(tmp_path: Path) -> None:
    missing = _recon("sandbox", "check", "--sage", f"sqlite:///{tmp_path / 'none.db'}")
    assert missing.returncode == 3 and "found no file" in missing.stderr
    assert not (tmp_path / "none.db").exists()

    refused = _recon("sandbox", "check", "--sage", "postgresql://recon:s3cret@127.0.0.1:1/sage")
    assert refused.returncode == 3, refused.stderr
    assert "s3cret" not in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
