"""Two recon commands posting to one Sage company at once: one posts, the other waits for it
or is refused naming it; nothing reaches Sage twice, and read-only commands never wait."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import IO, Any

import pytest

from adapters.lease import acquire_lease, current_holder
from cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_UNAVAILABLE
from cli.config import write_config
from cli.demo import embedded_config
from tests.e2e.conftest import Recon

# Each round starts two recon processes on fresh books: about 12-15 s a round on 2 cores.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROUNDS = 20

#: Every link key recon writes in a Sage table with a user-defined field, on documents that
#: are not void (acrinv/acpinv 5, lgrtrn 3): one live document each, or Sage holds it twice.
LIVE_TWICE = """
SELECT 'acrinv', usrdf1, COUNT(*) FROM acrinv WHERE usrdf1 <> '' AND status <> 5
GROUP BY usrdf1 HAVING COUNT(*) > 1
UNION ALL
SELECT 'acpinv', usrdf1, COUNT(*) FROM acpinv WHERE usrdf1 <> '' AND status <> 5
GROUP BY usrdf1 HAVING COUNT(*) > 1
UNION ALL
SELECT 'lgrtrn', usrdf1, COUNT(*) FROM lgrtrn WHERE usrdf1 <> '' AND status <> 3
GROUP BY usrdf1 HAVING COUNT(*) > 1
UNION ALL
SELECT 'reccln', usrdf1, COUNT(*) FROM reccln WHERE usrdf1 <> '' GROUP BY usrdf1 HAVING COUNT(*) > 1
UNION ALL
SELECT 'dlypyr', usrdf1, COUNT(*) FROM dlypyr WHERE usrdf1 <> '' GROUP BY usrdf1 HAVING COUNT(*) > 1
"""


@pytest.fixture(scope="module")
def unposted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A month of the simulator ingested into the store, and a Sage sandbox that holds none of
    it: the first reconcile --apply posts some 500 documents."""
    workdir = tmp_path_factory.mktemp("unposted")
    write_config(workdir / "recon.toml", embedded_config(workdir))
    recon = Recon(workdir)
    recon.run("sandbox", "init", "--config", str(recon.config))
    recon.run("ingest", "--config", str(recon.config))
    return workdir


def fresh(template: Path, workdir: Path) -> Recon:
    shutil.copytree(template, workdir)
    config = workdir / "recon.toml"
    config.write_text(config.read_text().replace(str(template), str(workdir)))
    return Recon(workdir)


def start(
    recon: Recon, *args: str, stdout: IO[str] | int = subprocess.PIPE
) -> subprocess.Popen[str]:
    """A recon command in the background; its output in pipes (or ``stdout`` in a file, for
    a command whose output is not read until it ends: a full pipe would stop it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args, "--config", str(recon.config)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


def live_twice(recon: Recon) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        return db.execute(LIVE_TWICE).fetchall()


def live_invoices(recon: Recon) -> int:
    with closing(sqlite3.connect(recon.workdir / "sage.db")) as db:
        return int(db.execute("SELECT COUNT(*) FROM acrinv WHERE status <> 5").fetchone()[0])


def holder_line(command: str, pid: int) -> re.Pattern[str]:
    """The one line a refused recon writes, naming the holder."""
    return re.compile(
        r"^recon: another recon is posting to this Sage company: "
        + re.escape(f"{command} (pid {pid} on host {socket.gethostname()}, user ")
        + r"\S+, since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\); wait for it or run again with --wait$"
    )


def test_two_apply_at_once_post_every_document_once(unposted: Path, tmp_path: Path) -> None:
    invoices = None
    for round_ in range(ROUNDS):
        recon = fresh(unposted, tmp_path / f"round-{round_}")
        both = [start(recon, "reconcile", "--apply", "--wait", "--json") for _ in range(2)]
        outcomes = {process.pid: finish(process) for process in both}
        assert live_twice(recon) == [], round_

        # One posted (exit 1: it found Sage without the month) while the other waited for it,
        # then found Sage holding everything (exit 0) and posted nothing.
        codes = {pid: code for pid, (code, _, _) in outcomes.items()}
        assert sorted(codes.values()) == [EXIT_OK, EXIT_FINDINGS], (round_, outcomes)
        (winner,) = (pid for pid, code in codes.items() if code == EXIT_FINDINGS)
        (waiter,) = (pid for pid, code in codes.items() if code == EXIT_OK)
        posted, waited = json.loads(outcomes[winner][1]), json.loads(outcomes[waiter][1])
        assert len(posted["applied"]["confirmed"]) > 400 and posted["applied"]["failed"] == []
        assert posted["remaining"] == []
        said = outcomes[waiter][2]
        assert f"reconcile --apply (pid {winner} on host" in said, (round_, said)
        assert "; waiting for it to finish" in said
        assert waited["findings"] == [] and waited["applied"]["confirmed"] == []

        invoices = invoices or live_invoices(recon)
        assert live_invoices(recon) == invoices
        again, result = recon.reconcile()
        assert (again, result["findings"]) == (EXIT_OK, [])


def test_a_second_writer_without_wait_is_refused_naming_the_first(
    unposted: Path, tmp_path: Path
) -> None:
    recon = fresh(unposted, tmp_path / "books")
    both = [start(recon, "reconcile", "--apply", "--json") for _ in range(2)]
    outcomes = {p.pid: finish(p) for p in both}
    assert sorted(code for code, _, _ in outcomes.values()) == [EXIT_FINDINGS, EXIT_UNAVAILABLE]
    (winner,) = (pid for pid, (code, _, _) in outcomes.items() if code == EXIT_FINDINGS)
    (refused,) = (outcome for outcome in outcomes.values() if outcome[0] == EXIT_UNAVAILABLE)
    _, stdout, stderr = refused
    assert stdout == ""
    assert holder_line("reconcile --apply", winner).match(stderr.rstrip("\n")), stderr
    assert stderr.count("\n") == 1
    assert live_twice(recon) == []
    assert recon.reconcile()[0] == EXIT_OK


def test_while_a_lease_is_held_writers_are_refused_or_wait_and_readers_go_on(
    unposted: Path, tmp_path: Path
) -> None:
    recon = fresh(unposted, tmp_path / "books")
    config = recon.config.read_text()
    store = re.search(r'^url = "(sqlite:.*)"$', config, re.M)
    sage = re.search(r'^url = "(sqlite:.*sage\.db)"$', config, re.M)
    assert store and sage
    store_url, sage_url = store.group(1), sage.group(1)
    with acquire_lease(store_url, sage_url, "reconcile --apply", wait=False):
        for command in (
            ("reconcile", "--apply"),
            ("replay", "--apply"),
            ("approve", "--all", "--why", "checked"),
            ("reject", "0000", "--why", "not ours"),
            ("resolve", "SAGE-acrinv-1", "--accept", "--why", "ours"),
        ):
            refused = recon.run(*command, "--config", str(recon.config), check=None)
            assert refused.returncode == EXIT_UNAVAILABLE, (command, refused)
            assert holder_line("reconcile --apply", os.getpid()).match(refused.stderr.rstrip())

        # Read-only commands never wait for the lease; reconcile leaves adoption to a run
        # with no other recon posting, and says so.
        reading = recon.run("reconcile", "--json", "--config", str(recon.config), check=None)
        assert reading.returncode == EXIT_FINDINGS and json.loads(reading.stdout)["findings"]
        assert reading.stderr.startswith("recon: another recon is posting to this Sage company: ")
        assert reading.stderr.rstrip().endswith(
            ": records keyed into Sage by hand are not adopted this run"
        )
        assert recon.run("reconcile", "--wait", "--config", str(recon.config), check=None).returncode == EXIT_FINDINGS  # fmt: skip
        assert recon.json("status")["events"] > 0
        assert recon.json("postings")["postings"] == []

        waiting = start(recon, "reconcile", "--apply", "--wait", "--json")
        said = read_line(waiting.stderr, timeout=60)
        assert said.startswith("recon: another recon is posting to this Sage company: ")
        assert said.rstrip().endswith("; waiting for it to finish")
        time.sleep(1)
        assert waiting.poll() is None and live_invoices(recon) == 0
    code, stdout, _ = finish(waiting)
    assert code == EXIT_FINDINGS
    assert json.loads(stdout)["remaining"] == []
    assert live_invoices(recon) > 0 and live_twice(recon) == []
    assert current_holder(store_url, sage_url) is None


def read_line(stream: IO[str] | None, timeout: float) -> str:
    """A line from a child's pipe, or fail after ``timeout`` seconds."""
    assert stream is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert lines, f"nothing said within {timeout} s"
    return lines[0]


def test_readers_run_while_a_writer_posts(unposted: Path, tmp_path: Path) -> None:
    """reconcile and status, started one after another while a writer runs, catch the read
    model up as the writer does (its postings, then a replay's rebuild): all succeed, none
    takes a document the writer is posting for one the office keyed in, and the books come
    out whole. (A reader started before the writer may adopt first: the writer waits.)"""
    recon = fresh(unposted, tmp_path / "books")
    for writer_args in (("reconcile", "--apply", "--wait"), ("replay", "--apply", "--wait")):
        with (recon.workdir / "writer.json").open("w") as output:
            writer = start(recon, *writer_args, "--json", stdout=output)
            readers = []
            while writer.poll() is None and len(readers) < 12:
                command = ("reconcile", "status")[len(readers) % 2]
                readers.append((command, start(recon, command, "--json")))
                time.sleep(0.25)
            code, _, err = finish(writer)
        written = (recon.workdir / "writer.json").read_text()
        assert code in (EXIT_OK, EXIT_FINDINGS) and written, (writer_args, code, err)
        assert json.loads(written)["remaining"] == [], writer_args
        assert readers, "the writer ended before a reader started"
        for command, reader in readers:
            code, out, err = finish(reader)
            assert code in ((EXIT_OK, EXIT_FINDINGS) if command == "reconcile" else (EXIT_OK,)), (command, err)  # fmt: skip
            assert json.loads(out)
    assert live_twice(recon) == []
    assert recon.reconcile()[0] == EXIT_OK
