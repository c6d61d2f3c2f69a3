"""`recon postings`, `recon approve` and `recon reject` as a user runs them, over a store that
holds postings waiting for a person: the command tree in process (as test_cli.py runs it), and
the installed command in a subprocess once."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.store import Store
from cli.config import default_config, write_config
from cli.main import app
from domain.policy import POLICY
from domain.posting import VOID, Correction, Posting

runner = CliRunner()


class Recon:
    def __init__(self, workdir: Path) -> None:
        self.config = workdir / "recon.toml"

    def run(self, *args: str, code: int = 0) -> Output:
        result = runner.invoke(app, [*args, "--config", str(self.config)])
        assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        return Output(result.stdout, result.stderr)

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self.run(*args, "--json", code=code).stdout)

    def subprocess(self, *args: str) -> Output:
        result = subprocess.run(
            [sys.executable, "-m", "cli", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
        return Output(result.stdout, result.stderr)


@dataclass(frozen=True)
class Output:
    stdout: str
    stderr: str


def void(key: str, ref: int) -> Posting:
    return Posting.propose(
        Correction("ar_invoices", key, VOID, None, (ref,), f"duplicate_in_sage {key}")
    )


@pytest.fixture
def recon(tmp_path: Path) -> Recon:
    """Two voids wait for a person; one creation was posted by the policy."""
    write_config(tmp_path / "recon.toml", default_config(tmp_path))
    store = Store(f"sqlite:///{tmp_path / 'recon.db'}")
    first, second = void("ST-INV-100", 7), void("ST-INV-200", 9)
    first.refer(["void needs a person"], "104.75", "2026-10")
    second.refer(["void needs a person", "period locked"], "50.00", "2026-09")
    done = void("ST-INV-300", 11)
    done.approve(POLICY, "nothing for a person to decide", automatic=True)
    done.submit("sql", [11])
    done.confirm()
    store.save(first, second, done)
    store.close()
    return Recon(tmp_path)


def test_postings_lists_what_waits_with_its_finding_sage_document_and_amount(
    recon: Recon,
) -> None:
    listed = recon.json("postings")
    assert listed["state"] == "proposed"
    rows = listed["postings"]
    assert [(r["key"], r["state"], r["action"]) for r in rows] == [
        ("ST-INV-100", "proposed", "void"),
        ("ST-INV-200", "proposed", "void"),
    ]
    first = rows[0]
    assert first["finding"] == "duplicate_in_sage ST-INV-100"
    assert (first["sage_table"], first["sage_refs"]) == ("acrinv", [7])
    assert (first["amount"], first["period"]) == ("104.75", "2026-10")
    assert first["waits_because"] == ["void needs a person"]
    assert first["short_id"] == first["id"][:8] and first["proposed_at"]

    text = recon.run("postings").stdout
    lines = text.splitlines()
    assert lines[0].split() == ["ID", "State", "Module", "Action", "Sage", "document", "Sage",
                                "record", "Amount", "Period", "Key"]  # fmt: skip
    row = next(line for line in lines if line.startswith(first["short_id"]))
    assert row.split() == [first["short_id"], "proposed", "ar_invoices", "void", "acrinv", "7",
                           "104.75", "2026-10", "ST-INV-100"]  # fmt: skip
    assert "finding: duplicate_in_sage ST-INV-100" in text
    assert "waits: void needs a person; period locked" in text
    assert "2 postings (proposed)" in text and "recon approve ID" in text

    every = recon.json("postings", "--state", "all")["postings"]
    assert [r["state"] for r in every] == ["proposed", "proposed", "confirmed"]
    assert every[2]["decided_by"] == POLICY and every[2]["by_policy"] is True


def test_approve_and_reject_record_who_and_why(recon: Recon) -> None:
    first, second = recon.json("postings")["postings"]

    text = recon.run("approve", first["short_id"], "--by", "tester", "--why", "keyed twice").stdout
    assert "approved by tester: 1 postings" in text
    assert f"{first['short_id']}  ar_invoices ST-INV-100 (void)" in text
    assert "the next recon reconcile --apply posts them" in text

    rejected = recon.json("reject", second["id"], "--by", "tester", "--why", "a deposit")
    [row] = rejected["rejected"]
    assert (row["state"], row["decided_by"], row["decided_why"]) == (
        "rejected",
        "tester",
        "a deposit",
    )
    assert row["decided_at"]
    assert recon.run("postings").stdout.strip() == "nothing waits for approval"
    [approved] = recon.json("postings", "--state", "approved")["postings"]
    assert (approved["id"], approved["decided_by"], approved["by_policy"]) == (
        first["id"],
        "tester",
        False,
    )


def test_approve_all_approves_every_posting_that_waits(recon: Recon) -> None:
    result = recon.json("approve", "--all", "--by", "tester", "--why", "checked")
    assert [r["key"] for r in result["approved"]] == ["ST-INV-100", "ST-INV-200"]
    assert result["in_locked_periods"] == []  # no locks in this recon.toml
    assert recon.json("postings")["postings"] == []
    assert recon.run("approve", "--all", "--by", "t", "--why", "x").stdout.strip() == (
        "nothing waits for approval"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["approve", "--by", "t", "--why", "x"], "give posting ids, or --all"),
        (["approve", "deadbeef", "--all", "--by", "t", "--why", "x"], "give posting ids, or --all"),
        (["approve", "deadbeef", "--by", "t"], "say why"),
        (["reject", "--by", "t", "--why", "x"], "give the ids of the postings to reject"),
        (["postings", "--state", "waiting"], "expected one of proposed, approved"),
        (["approve", "00000000", "--by", "t", "--why", "x"], "no posting has this id"),
        (["approve", "zz", "--by", "t", "--why", "x"], "expected a posting id"),
    ],
)
def test_bad_requests_exit_2_and_say_why(recon: Recon, args: list[str], message: str) -> None:
    result = recon.run(*args, code=2)
    assert message in result.stderr or message in result.stdout


def test_deciding_about_a_posting_not_waiting_exits_2_and_records_nothing(recon: Recon) -> None:
    done = recon.json("postings", "--state", "confirmed")["postings"][0]
    waiting = recon.json("postings")["postings"][0]

    denied = recon.run(
        "approve", waiting["short_id"], done["short_id"], "--by", "t", "--why", "x", code=2
    )

    assert f"posting {done['short_id']} (ar_invoices ST-INV-300) is confirmed, not waiting" in (
        denied.stderr
    )
    assert len(recon.json("postings")["postings"]) == 2  # the other was not approved either
    denied = recon.run("reject", done["id"], "--by", "t", "--why", "x", code=2)
    assert "is confirmed, not waiting to be written" in denied.stderr


def test_the_installed_command_lists_and_approves(recon: Recon) -> None:
    listed = json.loads(recon.subprocess("postings", "--json").stdout)["postings"]
    assert [r["key"] for r in listed] == ["ST-INV-100", "ST-INV-200"]
    text = recon.subprocess("approve", "--all", "--by", "tester", "--why", "checked").stdout
    assert "approved by tester: 2 postings" in text
    assert recon.subprocess("postings").stdout.strip() == "nothing waits for approval"
