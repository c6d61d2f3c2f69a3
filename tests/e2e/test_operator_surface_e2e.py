"""The operator's surface over a demo's books: files private to their owner, a demo that never
overwrites a workdir unasked, tables with Sage's numbers and units, no progress noise off a
terminal."""

from __future__ import annotations

import sqlite3
import stat
import tomllib
from pathlib import Path

import pytest
import tomli_w

from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow


def modes(root: Path) -> dict[str, int]:
    """Permission bits of ``root`` and everything under it, by path."""
    found = {str(root): stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path)] = stat.S_IMODE(path.stat().st_mode)
    return found


def assert_private(root: Path) -> None:
    for path, mode in modes(root).items():
        expected = 0o700 if Path(path).is_dir() else 0o600
        assert mode == expected, (path, oct(mode))


def test_the_demo_keeps_its_files_private_and_never_overwrites_a_workdir_unasked(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "demo"
    recon = Recon(workdir)
    recon.run("demo", "--workdir", str(workdir))
    assert_private(workdir)

    refused = recon.run("demo", "--workdir", str(workdir), check=2)
    [line] = refused.stderr.splitlines()
    assert "is not empty" in line and "--force" in line

    edited = tomllib.loads(recon.config.read_text())
    edited["user"] = "controller"
    recon.config.write_text(tomli_w.dumps(edited))
    again = recon.run("demo", "--workdir", str(workdir), "--force")
    assert "recon.toml.bak" in again.stderr
    assert tomllib.loads((workdir / "recon.toml.bak").read_text())["user"] == "controller"
    assert tomllib.loads(recon.config.read_text())["user"] == "recon"
    assert_private(workdir)
    # The demo's own recon.toml, unedited, is simply written again.
    recon.run("demo", "--workdir", str(workdir), "--force")
    assert not (workdir / "recon.toml.bak.1").exists()


def test_batches_and_the_close_pack_are_private(recon: Recon) -> None:
    data = tomllib.loads(recon.config.read_text())
    drop = recon.workdir / "sage-drop"
    data["sage"].update(sink="files", drop_folder=str(drop))
    recon.config.write_text(tomli_w.dumps(data))
    with sqlite3.connect(recon.workdir / "sage.db") as sage:
        sage.execute("DELETE FROM jobcst WHERE rowid = (SELECT max(rowid) FROM jobcst)")
    recon.run("reconcile", "--apply", "--config", str(recon.config), check=1)
    assert any(path.is_file() for path in drop.rglob("*")), "no batch was written"
    pack = recon.workdir / "pack"
    recon.run("report", "--period", "2026-10", "--out", str(pack), "--config",
              str(recon.config), check=None)  # fmt: skip
    assert_private(drop)
    assert_private(pack)
    assert stat.S_IMODE(recon.config.stat().st_mode) == 0o600


def test_text_output_is_tables_with_sage_numbers_and_units(recon: Recon) -> None:
    with sqlite3.connect(recon.workdir / "sage.db") as sage:
        sage.execute("UPDATE acrinv SET invttl = invttl + 10 WHERE recnum = 1")
        invoice = sage.execute("SELECT invnum FROM acrinv WHERE recnum = 1").fetchone()[0]
        sage.execute("UPDATE dlypyr SET payhrs = payhrs + 1.5 WHERE rowid = 1")

    found = recon.run("reconcile", "--config", str(recon.config), check=1)
    lines = found.stdout.splitlines()
    assert lines[0].split() == ["Module", "Finding", "Sage", "document", "Difference", "Key"]
    [ar] = [line for line in lines if line.startswith("ar_invoices")]
    assert f"invoice {invoice}" in ar and "10.00" in ar
    [payroll] = [line for line in lines if line.startswith("daily_payroll")]
    assert "1.50 h" in payroll and "employee " in payroll
    assert lines[-1].startswith("2 findings: ")
    assert found.stderr == ""

    status = recon.run("status", "--config", str(recon.config)).stdout
    assert "{'" not in status and "'}" not in status  # no Python dict anywhere
    [modules] = [line for line in status.splitlines() if line.startswith("daily_payroll")][:1]
    assert modules.rstrip().split()[-2] == "h"  # payroll totals are hours
    assert "postings: " in status and "confirmed" in status
    assert "\x1b[" not in status  # not a terminal: no colour codes

    postings = recon.run("postings", "--state", "confirmed", "--config", str(recon.config))
    header = postings.stdout.splitlines()[0].split()
    assert header[:4] == ["ID", "State", "Module", "Action"] and "Amount" in header
    payroll_rows = [line for line in postings.stdout.splitlines() if " daily_payroll " in line]
    assert payroll_rows and all(" h " in line for line in payroll_rows)


def test_off_a_terminal_long_work_shows_no_progress(recon: Recon) -> None:
    ingested = recon.run("ingest", "--config", str(recon.config))
    assert ingested.stderr == ""
    assert ingested.stdout.splitlines()[0].split() == ["Kind", "Fetched", "Appended",
                                                       "Quarantined", "Stale"]  # fmt: skip
    replayed = recon.run("replay", "--config", str(recon.config))
    assert replayed.stderr == ""
    assert replayed.stdout.startswith("replayed ")
