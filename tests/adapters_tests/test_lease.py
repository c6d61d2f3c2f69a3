"""The one-writer lease: exclusive across processes, waited for, freed by a holder's death, and
its holder named without taking it; on every store."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from adapters.lease import (
    LeaseHeld,
    LeaseLost,
    acquire_lease,
    current_holder,
    sage_company,
)
from adapters.store import MEMORY
from tests.conftest import postgres_database

ROOT = Path(__file__).resolve().parents[2]

#: A recon process holding the lease: says "held", then obeys "verify", "release" and "exit"
#: lines; on "exit" it ends as a process ends, without releasing the lease itself.
HOLDER = """
import sys
from adapters.lease import LeaseLost, acquire_lease

lease = acquire_lease(sys.argv[1], sys.argv[2], sys.argv[3], wait=False)
print("held", flush=True)
for line in sys.stdin:
    if line.strip() == "verify":
        try:
            lease.verify()
            print("still held", flush=True)
        except LeaseLost:
            print("lost", flush=True)
    elif line.strip() == "release":
        lease.release()
        print("released", flush=True)
    elif line.strip() == "exit":
        print("exiting", flush=True)
        break
"""


@pytest.fixture(scope="module")
def postgres_store() -> Iterator[str]:
    with postgres_database("recon_lease") as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return MEMORY
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'recon.db'}"
    return str(request.getfixturevalue("postgres_store"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store other processes reach too (a memory store is this process's alone)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'recon.db'}"
    return str(request.getfixturevalue("postgres_store"))


@pytest.fixture
def sage(tmp_path: Path) -> str:
    # One company per test: the PostgreSQL store is shared by the module's tests.
    return f"sqlite:///{tmp_path / 'sage.db'}"


@contextmanager
def held_elsewhere(
    store: str, sage: str, command: str = "reconcile --apply"
) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lease, until the block ends (it is then killed, if
    still running)."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store, sage, command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "held\n"
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)


def tell(child: subprocess.Popen[str], line: str) -> str:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()
    return child.stdout.readline().strip()


def test_a_second_process_is_refused_and_told_who_holds_it(shared_store: str, sage: str) -> None:
    with held_elsewhere(shared_store, sage) as child:
        with pytest.raises(LeaseHeld) as refused:
            acquire_lease(shared_store, sage, "approve", wait=False)
        holder = refused.value.holder
        assert holder is not None
        assert (holder.command, holder.pid, holder.host) == (
            "reconcile --apply",
            child.pid,
            socket.gethostname(),
        )
        since = holder.since.strftime("%Y-%m-%d %H:%M:%S")
        assert str(refused.value) == (
            "another recon is posting to this Sage company: reconcile --apply "
            f"(pid {child.pid} on host {socket.gethostname()}, user {holder.user}, "
            f"since {since} UTC)"
        )
        assert tell(child, "verify") == "still held"


def test_with_wait_it_waits_for_the_holder_then_takes_it(shared_store: str, sage: str) -> None:
    with held_elsewhere(shared_store, sage) as child:
        told: list[LeaseHeld] = []

        def waiting(held: LeaseHeld) -> None:
            told.append(held)
            # The holder finishes a moment after this process starts to wait.
            threading.Timer(0.5, lambda: tell(child, "release")).start()

        started = time.monotonic()
        with acquire_lease(shared_store, sage, "approve", wait=True, on_wait=waiting) as lease:
            waited = time.monotonic() - started
            assert [held.holder.pid for held in told if held.holder] == [child.pid]
            assert waited >= 0.5
            assert lease.holder.pid == os.getpid()
            now = current_holder(shared_store, sage)
            assert now is not None and (now["held"], now["pid"], now["command"]) == (
                True,
                os.getpid(),
                "approve",
            )
        assert child.poll() is None  # it released the lease; it did not have to end


def test_waiting_gives_up_after_the_timeout(store: str, sage: str) -> None:
    with acquire_lease(store, sage, "reconcile --apply", wait=False) as first:
        started = time.monotonic()
        with pytest.raises(LeaseHeld) as refused:
            acquire_lease(store, sage, "approve", wait=True, timeout=0.6, poll=0.1)
        assert 0.6 <= time.monotonic() - started < 5
        assert refused.value.waited is not None and refused.value.waited >= 0.6
        assert refused.value.holder == first.holder
        assert re.search(r"\(still, after waiting \d+ s\)$", str(refused.value))


def test_a_holder_killed_frees_the_lease_at_once(shared_store: str, sage: str) -> None:
    with held_elsewhere(shared_store, sage) as child:
        child.kill()  # SIGKILL: no atexit, no release, no goodbye
        child.wait(timeout=30)
        started = time.monotonic()
        # A PostgreSQL server sees the session end a moment after the process; no expiry.
        with acquire_lease(shared_store, sage, "reconcile --apply", wait=True, timeout=5):
            assert time.monotonic() - started < 2
            now = current_holder(shared_store, sage)
            assert now is not None and (now["held"], now["pid"]) == (True, os.getpid())


def test_the_holder_is_read_without_taking_the_lease(shared_store: str, sage: str) -> None:
    with held_elsewhere(shared_store, sage, "sync") as child:
        for _ in range(3):
            now = current_holder(shared_store, sage)
            assert now is not None
            assert (now["held"], now["command"], now["pid"]) == (True, "sync", child.pid)
            assert now["description"].startswith(f"sync (pid {child.pid} on host ")
            assert now["company"] == sage_company(sage).name
        assert tell(child, "verify") == "still held"
        with pytest.raises(LeaseHeld):
            acquire_lease(shared_store, sage, "approve", wait=False)


def test_a_dead_holders_name_stays_but_is_not_held(shared_store: str, sage: str) -> None:
    with held_elsewhere(shared_store, sage) as child:
        child.kill()
        child.wait(timeout=30)
        deadline = time.monotonic() + 5
        now = current_holder(shared_store, sage)
        while now is not None and now["held"] and time.monotonic() < deadline:
            time.sleep(0.05)  # a PostgreSQL server notices the session is gone
            now = current_holder(shared_store, sage)
        assert now is not None and (now["held"], now["pid"]) == (False, child.pid)


def test_a_holder_that_exits_without_releasing_releases_at_exit(
    shared_store: str, sage: str
) -> None:
    with held_elsewhere(shared_store, sage) as child:
        assert tell(child, "exit") == "exiting"
        assert child.wait(timeout=30) == 0
        assert current_holder(shared_store, sage) is None
        with acquire_lease(shared_store, sage, "resolve", wait=False):
            pass


def test_one_holder_at_a_time_in_one_process_too(store: str, sage: str) -> None:
    lease = acquire_lease(store, sage, "reconcile --apply", wait=False)
    with pytest.raises(LeaseHeld) as refused:
        acquire_lease(store, sage, "reject", wait=False)
    assert refused.value.holder == lease.holder
    lease.verify()
    lease.release()
    lease.release()  # a second release does nothing
    with pytest.raises(LeaseLost):
        lease.verify()
    assert current_holder(store, sage) is None
    with acquire_lease(store, sage, "reject", wait=False) as again:
        assert again.holder.command == "reject"
    assert current_holder(store, sage) is None


def test_waiting_in_one_process_gets_it_when_another_thread_releases(store: str, sage: str) -> None:
    first = acquire_lease(store, sage, "sync", wait=False)
    told: list[LeaseHeld] = []

    def waiting(held: LeaseHeld) -> None:
        told.append(held)
        threading.Timer(0.3, first.release).start()

    with acquire_lease(store, sage, "approve", wait=True, poll=0.05, on_wait=waiting) as lease:
        assert first.released and lease.holder.command == "approve"
    assert [held.holder for held in told] == [first.holder]


def test_leases_of_different_companies_do_not_meet(store: str, sage: str, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other-company.db'}"
    with (
        acquire_lease(store, sage, "reconcile --apply", wait=False),
        acquire_lease(store, other, "reconcile --apply", wait=False),
    ):
        assert current_holder(store, other) is not None
        assert current_holder(store, sage) is not None


def test_the_sqlite_lease_is_a_private_file_beside_the_store(tmp_path: Path, sage: str) -> None:
    store = f"sqlite:///{tmp_path / 'store' / 'recon.db'}"
    assert current_holder(store, sage) is None
    assert not (tmp_path / "store").exists()  # looking creates nothing
    with acquire_lease(store, sage, "reconcile --apply", wait=False):
        (lock,) = (tmp_path / "store").glob("recon.db.lease-*")
        assert lock.name == f"recon.db.lease-{sage_company(sage).key}"
        if os.name == "posix":
            assert stat.S_IMODE(lock.stat().st_mode) == 0o600


@pytest.mark.postgres
def test_a_postgresql_session_ended_under_the_holder_is_a_lost_lease(
    postgres_store: str, sage: str
) -> None:
    import psycopg

    with held_elsewhere(postgres_store, sage, "sync") as child:
        with psycopg.connect(postgres_store, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchall()
        assert ended == [(True,)]
        assert tell(child, "verify") == "lost"
        with acquire_lease(postgres_store, sage, "reconcile --apply", wait=True, timeout=5):
            pass


def test_a_company_is_named_without_user_password_or_driver_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = sage_company(
        "mssql+pyodbc://recon:S3cret@SAGESERVER\\SAGE100CON/Your Company"
        "?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes"
    )
    assert production.name == "mssql://sageserver\\sage100con/your company"
    assert "S3cret" not in production.name and "recon" not in production.name
    same = [
        "mssql+pyodbc://office:other@sageserver\\sage100con:1433/YOUR COMPANY?driver=x",
        "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC+Driver+18+for+SQL+Server%7D%3B"
        "SERVER%3DSAGESERVER%5CSAGE100CON%3BDATABASE%3DYour+Company%3BUID%3Drecon%3BPWD%3DS3cret",
    ]
    assert {sage_company(url) for url in same} == {production}
    assert sage_company("mssql+pyodbc://recon:S3cret@SAGESERVER\\SAGE100CON/Other Co") != production
    assert sage_company("mssql+pyodbc://recon:S3cret@SAGE2\\SAGE100CON/Your Company") != production

    assert sage_company("postgresql://a:b@DB.example:5432/sage").name == (
        "postgresql://db.example/sage"
    )
    assert sage_company("postgresql+psycopg://c@db.example/sage") == sage_company(
        "postgresql://a:b@DB.example:5432/sage"
    )
    assert sage_company("postgresql://c@db.example/Sage") != sage_company(
        "postgresql://c@db.example/sage"
    )

    monkeypatch.chdir(tmp_path)
    assert sage_company("sqlite:///sage.db") == sage_company(f"sqlite:///{tmp_path}/sage.db")
    assert sage_company("sqlite:///sage.db").key != sage_company("sqlite:///other.db").key
    assert len(production.key) == 16 and production.advisory_key.bit_length() <= 63
