"""One writer per Sage company: a lease in the event store's database, held while recon posts.

The lease is named after the Sage company (``sage.url`` without user or password, normalised)
and lives beside the events, chosen by the store URL:

- ``postgresql://``: a session-level advisory lock (``pg_try_advisory_lock``) held on a
  connection of its own for as long as the lease; the server drops it when the session ends,
  so a process that dies frees it at once.
- ``sqlite:///path``: an exclusive transaction (``BEGIN EXCLUSIVE``) kept open on a sibling
  file ``<store>.lease-<key>``. SQLite's own file locks (``fcntl`` on POSIX, ``LockFileEx`` on
  Windows) hold it, and the operating system releases them when the process dies, however it
  dies. The file is never deleted: a process may have it open.
- ``memory:``: a lock in this process.

Who holds it (command, user, host, pid, since) goes in the ``leases`` table of the store's
database once the lease is taken, so a process refused can name the holder, and
``current_holder`` reads it without taking or waiting for the lease.
"""

from __future__ import annotations

import atexit
import getpass
import hashlib
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateTable

from adapters.store import MEMORY, StoreConfigError, create_projection_engine, store_env

#: How long a SQLite lease attempt rides over a lock held only for an instant (a reader
#: looking whether the lease is held), before it counts as refused.
SQLITE_SETTLE_S = 0.25
#: How long a refused process looks for the holder's name, which the holder records just
#: after it takes the lease.
HOLDER_SETTLE_S = 1.0
DEFAULT_PORTS = {"mssql": 1433, "postgresql": 5432}
#: Backends whose database names compare without case (SQL Server's default collations).
CASELESS_DATABASES = frozenset({"mssql"})

metadata = MetaData()
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("company", String(1000), nullable=False),
    Column("command", String(200), nullable=False),
    Column("username", String(200), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("since", String(40), nullable=False),
    Column("token", String(40), nullable=False),
)


class LeaseError(Exception):
    """The lease could not be taken or checked (the store's database failed)."""


class LeaseHeld(LeaseError):
    """Another process holds the lease; ``holder`` says who, when it has said so."""

    def __init__(self, company: Company, holder: Holder | None, waited: float | None = None):
        self.company = company
        self.holder = holder
        self.waited = waited
        who = holder.describe() if holder else "a process that has not yet said who it is"
        still = f" (still, after waiting {waited:.0f} s)" if waited is not None else ""
        super().__init__(f"another recon is posting to this Sage company: {who}{still}")


class LeaseLost(LeaseError):
    """The lease this process took is no longer held (its database session ended)."""


@dataclass(frozen=True)
class Company:
    """The Sage company a lease is for: its URL as ``name`` (no user, no password, no driver
    options; host in lower case; a SQLite file by its real path) and ``key``, a short hash of
    the name that names the lease."""

    name: str
    key: str

    @property
    def advisory_key(self) -> int:
        """The key as PostgreSQL's advisory locks take it: a signed 64-bit integer."""
        return int.from_bytes(bytes.fromhex(self.key), "big", signed=True)


def sage_company(sage_url: str) -> Company:
    """The company a ``sage.url`` names. Two URLs that differ only in user, password, driver
    options or a default port name the same company."""
    try:
        url = make_url(sage_url)
    except sa_exc.ArgumentError as exc:
        raise LeaseError(f"sage.url: expected a database URL, got {exc}") from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        if database not in ("", ":memory:"):
            database = os.path.normcase(os.path.realpath(database))
        name = f"sqlite:///{database}"
    else:
        host, port, database = url.host or "", url.port, url.database or ""
        raw = url.query.get("odbc_connect")
        if raw is not None:
            host, port, database = _odbc_place(raw if isinstance(raw, str) else ";".join(raw))
        if port == DEFAULT_PORTS.get(backend):
            port = None
        if backend in CASELESS_DATABASES:
            database = database.lower()
        name = f"{backend}://{host.lower()}{f':{port}' if port else ''}/{database}"
    key = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    return Company(name=name, key=key)


def _odbc_place(raw: str) -> tuple[str, int | None, str]:
    """Server, port and database of a raw ODBC connection string (``odbc_connect``)."""
    pairs = {}
    for part in raw.split(";"):
        key, _, value = part.partition("=")
        pairs[key.strip().lower()] = value.strip().strip("{}")
    server = pairs.get("server") or pairs.get("address") or pairs.get("dsn") or ""
    server = server.removeprefix("tcp:")
    host, _, port = server.partition(",")
    return host, int(port) if port.strip().isdigit() else None, pairs.get("database", "")


@dataclass(frozen=True)
class Holder:
    """Who holds a lease: the recon command, the OS user, the host, the process, since when."""

    command: str
    user: str
    host: str
    pid: int
    since: datetime

    @classmethod
    def this_process(cls, command: str) -> Holder:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no user name in the environment or the password file
            user = "unknown"
        return cls(command, user, socket.gethostname(), os.getpid(), datetime.now(UTC))

    def describe(self) -> str:
        since = self.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"{self.command} (pid {self.pid} on host {self.host}, user {self.user}, "
            f"since {since} UTC)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "user": self.user,
            "host": self.host,
            "pid": self.pid,
            "since": self.since.isoformat(),
        }


class _Lock(Protocol):
    """The mechanism that makes the lease exclusive."""

    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...

    def held_by_anyone(self) -> bool:
        """Whether some process holds it, found without taking it."""

    def still_mine(self) -> bool: ...


class _Register(Protocol):
    """Where the holder's name is kept for others to read."""

    def write(self, holder: Holder, token: str) -> None: ...

    def read(self) -> Holder | None: ...

    def erase(self, token: str) -> None: ...

    def close(self) -> None: ...


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc)


class _SqliteLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        conn = sqlite3.connect(
            self.path, timeout=SQLITE_SETTLE_S, isolation_level=None, check_same_thread=False
        )
        try:
            # Nothing is ever written: the open transaction's file lock is the lease (and with
            # the journal in memory, it leaves no journal file beside it).
            conn.execute("PRAGMA journal_mode=MEMORY")
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            conn.close()
            if _busy(exc):
                return False
            raise LeaseError(f"could not take the lease file {self.path}: {exc}") from exc
        self._conn = conn
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.execute("ROLLBACK")
            finally:
                conn.close()

    def held_by_anyone(self) -> bool:
        if not self.path.exists():
            return False
        # A read needs a shared lock, which the holder's exclusive one refuses; when free, the
        # shared lock is let go as the read ends.
        probe = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                return True
            raise LeaseError(f"could not read the lease file {self.path}: {exc}") from exc
        finally:
            probe.close()
        return False

    def still_mine(self) -> bool:
        return self._conn is not None and self._conn.in_transaction


#: What a PostgreSQL session holding the advisory lock of a 64-bit key shows in pg_locks.
_PG_HELD = """
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND classid::bigint = :high AND objid::bigint = :low
"""


class _PostgresLock:
    def __init__(self, engine: Engine, key: int) -> None:
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None

    def _place(self) -> dict[str, int]:
        unsigned = self.key & 0xFFFF_FFFF_FFFF_FFFF
        return {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF}

    def try_acquire(self) -> bool:
        conn = self.engine.connect()
        try:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            got = conn.execute(select(func.pg_try_advisory_lock(self.key))).scalar_one()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(select(func.pg_advisory_unlock(self.key)))
        except sa_exc.DBAPIError:
            conn.invalidate()  # the session is gone, and the server let the lock go with it
        finally:
            conn.close()

    def held_by_anyone(self) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.execute(text(_PG_HELD), self._place()).scalar_one())

    def still_mine(self) -> bool:
        if self._conn is None:
            return False
        try:
            mine = self._conn.execute(
                text(_PG_HELD + " AND pid = pg_backend_pid()"), self._place()
            ).scalar_one()
        except sa_exc.DBAPIError:
            return False
        return bool(mine)


_MEMORY_GUARD = threading.Lock()
_MEMORY_HELD: set[str] = set()
_MEMORY_HOLDERS: dict[str, tuple[Holder, str]] = {}


class _MemoryLock:
    def __init__(self, key: str) -> None:
        self.key = key
        self._mine = False

    def try_acquire(self) -> bool:
        with _MEMORY_GUARD:
            if self.key in _MEMORY_HELD:
                return False
            _MEMORY_HELD.add(self.key)
        self._mine = True
        return True

    def release(self) -> None:
        if self._mine:
            with _MEMORY_GUARD:
                _MEMORY_HELD.discard(self.key)
            self._mine = False

    def held_by_anyone(self) -> bool:
        with _MEMORY_GUARD:
            return self.key in _MEMORY_HELD

    def still_mine(self) -> bool:
        return self._mine


class _MemoryRegister:
    def __init__(self, key: str) -> None:
        self.key = key

    def write(self, holder: Holder, token: str) -> None:
        with _MEMORY_GUARD:
            _MEMORY_HOLDERS[self.key] = (holder, token)

    def read(self) -> Holder | None:
        with _MEMORY_GUARD:
            entry = _MEMORY_HOLDERS.get(self.key)
        return entry[0] if entry else None

    def erase(self, token: str) -> None:
        with _MEMORY_GUARD:
            if self.key in _MEMORY_HOLDERS and _MEMORY_HOLDERS[self.key][1] == token:
                del _MEMORY_HOLDERS[self.key]

    def close(self) -> None:
        pass


class _TableRegister:
    """The ``leases`` table in the store's database (made by the first holder)."""

    def __init__(self, store_url: str, company: Company, engine: Engine | None = None) -> None:
        self.store_url = store_url
        self.company = company
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_projection_engine(self.store_url)
        return self._engine

    def write(self, holder: Holder, token: str) -> None:
        self._create()
        with self.engine.begin() as conn:
            conn.execute(delete(leases).where(leases.c.name == self.company.key))
            conn.execute(
                leases.insert().values(
                    name=self.company.key,
                    company=self.company.name,
                    command=holder.command,
                    username=holder.user,
                    host=holder.host,
                    pid=holder.pid,
                    since=holder.since.isoformat(),
                    token=token,
                )
            )

    def _create(self) -> None:
        if inspect(self.engine).has_table(leases.name):
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(CreateTable(leases, if_not_exists=True))
        except sa_exc.DBAPIError:
            # Another company's first holder made it at the same moment (PostgreSQL may say
            # so with a unique violation on its catalog).
            if not inspect(self.engine).has_table(leases.name):
                raise

    def read(self) -> Holder | None:
        with self.engine.connect() as conn:
            if not inspect(conn).has_table(leases.name):
                return None
            row = conn.execute(
                select(leases).where(leases.c.name == self.company.key)
            ).one_or_none()
        if row is None:
            return None
        return Holder(
            row.command, row.username, row.host, row.pid, datetime.fromisoformat(row.since)
        )

    def erase(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(leases).where(leases.c.name == self.company.key, leases.c.token == token)
            )

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


class _NothingRecorded:
    """The register of a SQLite store that does not exist yet: nobody ever held a lease."""

    def write(self, holder: Holder, token: str) -> None:
        raise LeaseError("no store to record the holder in")

    def read(self) -> Holder | None:
        return None

    def erase(self, token: str) -> None:
        pass

    def close(self) -> None:
        pass


def _backend(store_url: str, company: Company, *, reading: bool = False) -> tuple[_Lock, _Register]:
    if store_url == MEMORY:
        return _MemoryLock(company.key), _MemoryRegister(company.key)
    try:
        env = store_env(store_url)
    except StoreConfigError as exc:
        raise LeaseError(str(exc)) from exc
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        store = Path(env["SQLITE_DBNAME"])
        lock = _SqliteLock(store.with_name(f"{store.name}.lease-{company.key}"))
        if reading and not store.exists():
            return lock, _NothingRecorded()
        return lock, _TableRegister(store_url, company)
    engine = create_projection_engine(store_url)
    return _PostgresLock(engine, company.advisory_key), _TableRegister(store_url, company, engine)


class Lease:
    """A lease this process holds, until ``release`` (or the end of a ``with`` block, or the
    process's exit). A long-running holder calls ``verify`` before it posts: a PostgreSQL
    session can end under it (a server restart, a dropped connection), and the lock with it."""

    def __init__(self, company: Company, holder: Holder, lock: _Lock, register: _Register):
        self.company = company
        self.holder = holder
        self._lock = lock
        self._register = register
        self._token = uuid.uuid4().hex
        self._guard = threading.Lock()
        self._released = False

    @property
    def released(self) -> bool:
        return self._released

    def _record(self) -> None:
        self._register.write(self.holder, self._token)

    def verify(self) -> None:
        """Raise LeaseLost unless this process still holds the lease."""
        if self._released or not self._lock.still_mine():
            raise LeaseLost(
                f"the lease on the Sage company {self.company.name} is no longer held by "
                "this process; stop posting and take it again"
            )

    def release(self) -> None:
        with self._guard:
            if self._released:
                return
            self._released = True
        atexit.unregister(self.release)
        try:
            try:
                # Erased while still held, so a new holder's name is never erased.
                self._register.erase(self._token)
            except (sa_exc.SQLAlchemyError, LeaseError):
                pass  # a stale name is only shown as not held; the next holder replaces it
            finally:
                self._lock.release()
        finally:
            self._register.close()

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _holder_of(lock: _Lock, register: _Register) -> Holder | None:
    """The holder's name; a process that has just taken the lease gets a moment to record
    it."""
    deadline = time.monotonic() + HOLDER_SETTLE_S
    while True:
        holder = register.read()
        if holder is not None or time.monotonic() >= deadline or not lock.held_by_anyone():
            return holder
        time.sleep(0.05)


def acquire_lease(
    store_url: str,
    sage_url: str,
    holder: str,
    *,
    wait: bool,
    timeout: float | None = None,
    poll: float = 0.2,
    on_wait: Callable[[LeaseHeld], None] | None = None,
) -> Lease:
    """Take the one-writer lease of the Sage company ``sage_url`` names, in the store
    ``store_url`` names, for ``holder`` (the command, e.g. "reconcile --apply").

    Held by another process: without ``wait`` raises LeaseHeld naming the holder; with it,
    calls ``on_wait`` once (with what it would have raised) and tries again every ``poll``
    seconds until the lease is free, or raises LeaseHeld once ``timeout`` seconds have passed.
    """
    company = sage_company(sage_url)
    lock, register = _backend(store_url, company)
    started = time.monotonic()
    told = False
    try:
        while not _try(lock):
            waited = time.monotonic() - started
            if not wait:
                raise LeaseHeld(company, _read_holder(lock, register))
            if timeout is not None and waited >= timeout:
                raise LeaseHeld(company, _read_holder(lock, register), waited=waited)
            if on_wait is not None and not told:
                on_wait(LeaseHeld(company, _read_holder(lock, register)))
                told = True
            pause = poll if timeout is None else max(0.0, min(poll, timeout - waited))
            time.sleep(pause)
        lease = Lease(company, Holder.this_process(holder), lock, register)
    except BaseException:
        register.close()
        raise
    try:
        lease._record()
    except sa_exc.SQLAlchemyError as exc:
        lease.release()
        raise LeaseError(f"could not record the lease's holder in the store: {exc}") from exc
    except BaseException:
        lease.release()
        raise
    atexit.register(lease.release)
    return lease


def _try(lock: _Lock) -> bool:
    try:
        return lock.try_acquire()
    except sa_exc.SQLAlchemyError as exc:
        raise LeaseError(f"could not take the lease in the store: {exc}") from exc


def _read_holder(lock: _Lock, register: _Register) -> Holder | None:
    try:
        return _holder_of(lock, register)
    except sa_exc.SQLAlchemyError:
        return None  # refused all the same; only the holder's name is unknown


def current_holder(store_url: str, sage_url: str) -> dict[str, Any] | None:
    """Who holds the lease of the Sage company, read without taking it or waiting:
    ``{"held", "company", "lease", "command", "user", "host", "pid", "since",
    "description"}``, with ``held`` false when the holder recorded is gone (it died without
    releasing: the lease is free). None when nobody holds it and nobody is recorded."""
    company = sage_company(sage_url)
    lock, register = _backend(store_url, company, reading=True)
    try:
        held = lock.held_by_anyone()
        holder = register.read()
    except sa_exc.SQLAlchemyError as exc:
        raise LeaseError(f"could not read the lease's holder from the store: {exc}") from exc
    finally:
        register.close()
    if holder is None and not held:
        return None
    fields = (
        holder.to_json() if holder else dict.fromkeys(("command", "user", "host", "pid", "since"))
    )
    return {
        "held": held,
        "company": company.name,
        "lease": company.key,
        **fields,
        "description": holder.describe() if holder else None,
    }
