"""`recon report` as a controller runs it at close: the pack's files, its exit codes, and a
hand edit in Sage that blocks close and is named."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow

PERIOD = "2026-10"


def report(recon: Recon, out: Path, *args: str, check: int | None = None) -> tuple[int, dict]:
    result = recon.run(
        "report", "--config", str(recon.config), "--period", PERIOD, "--out", str(out),
        "--json", *args, check=check,
    )  # fmt: skip
    return result.returncode, json.loads(result.stdout)


def test_the_demo_month_closes_and_the_pack_is_written(recon: Recon, tmp_path: Path) -> None:
    out = tmp_path / "close"
    code, pack = report(recon, out)
    assert code == (0 if pack["ready"] else 1)
    assert pack["ready"], pack["blocking"]
    names = {p.name for p in out.iterdir()}
    assert {f"close-{PERIOD}.html", f"close-{PERIOD}.xlsx", f"close-{PERIOD}.json"} <= names
    assert any(name.endswith("-tieouts.csv") for name in names)
    assert json.loads((out / f"close-{PERIOD}.json").read_text()) == pack
    assert all(tie["ties"] for tie in pack["tieouts"])
    assert pack["postings"], "the demo's postings are the period's audit trail"
    assert pack["provenance"]["config_digest"].startswith("sha256:")
    assert "password" not in json.dumps(pack["provenance"]).lower()

    text = recon.run("report", "--config", str(recon.config), "--period", PERIOD, "--out",
                     str(out)).stdout  # fmt: skip
    assert f"close {PERIOD}: ready to close" in text


def test_an_invoice_edited_in_sage_blocks_close_and_is_named(recon: Recon, tmp_path: Path) -> None:
    with sqlite3.connect(recon.workdir / "sage.db") as conn:
        recnum, key = conn.execute(
            "select recnum, usrdf1 from acrinv where usrdf1 like 'ST-INV-%' and status != 5 "
            "and actper = 10 order by recnum limit 1"
        ).fetchone()
        conn.execute("update acrinv set invttl = invttl + 10 where recnum = ?", (recnum,))
    code, pack = report(recon, tmp_path / "close")
    assert code == 1 and not pack["ready"]
    named = {(b["kind"], b["module"], b["key"]) for b in pack["blocking"]}
    assert ("open_finding", "ar_invoices", key) in named
    ar_billed = next(t for t in pack["tieouts"] if t["name"] == "ar_billed")
    assert not ar_billed["ties"] and ar_billed["difference"] == "10.00"
    assert [i["key"] for i in ar_billed["items"]] == [key]


def test_a_bad_period_is_a_usage_error_and_a_missing_sage_could_not_run(
    recon: Recon, tmp_path: Path
) -> None:
    bad = recon.run("report", "--config", str(recon.config), "--period", "2026-13", check=None)
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
    text = recon.config.read_text().replace(str(recon.workdir / "sage.db"),
                                            str(tmp_path / "gone" / "sage.db"))  # fmt: skip
    recon.config.write_text(text)
    gone = recon.run("report", "--config", str(recon.config), "--period", PERIOD, "--out",
                     str(tmp_path / "close"), check=None)  # fmt: skip
    assert gone.returncode == 3, (gone.stdout, gone.stderr)
    assert len(gone.stderr.strip().splitlines()) == 1
