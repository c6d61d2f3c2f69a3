"""The relay's durable store: notices in seq order, each agent's ack, the hook secret."""

from __future__ import annotations

import os
import secrets
import stat
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url

from adapters.relay.errors import RelayConfigError, RelayStoreError
from adapters.relay.protocol import (
    MAX_ACTION,
    MAX_ENTITY_ID,
    MAX_ENTITY_TYPE,
    MAX_MESSAGE_ID,
    Change,
    Notice,
)

DEFAULT_BACKLOG = 100_000
POSTGRES_DRIVER = "postgresql+psycopg"
SQLITE_BUSY_TIMEOUT_S = 30
#: Execution option of write transactions: on SQLite they start ``BEGIN IMMEDIATE``.
_WRITE = "relay_write"
#: Transaction-scoped PostgreSQL advisory lock taken by every append, so seqs commit in order
#: (a reader that saw seq N never later finds a smaller one appear).
_APPEND_LOCK = 0x7265636F6E72  # "reconr"
_HOOK_SECRET = "hook_secret"
_PRUNED_THROUGH = "pruned_through"

metadata = MetaData()

notices = Table(
    "relay_notices",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("message_id", String(MAX_MESSAGE_ID), nullable=False),
    Column("entity_type", String(MAX_ENTITY_TYPE), nullable=False),
    Column("entity_id", String(MAX_ENTITY_ID), nullable=False),
    Column("action", String(MAX_ACTION), nullable=False),
    Column("timestamp", BigInteger, nullable=True),
    Column("received_at", Float, nullable=False),
    UniqueConstraint(
        "message_id", "entity_type", "entity_id", "action", name="relay_notices_delivery"
    ),
    # Seqs are never reused, even after every notice up to the newest was pruned.
    sqlite_autoincrement=True,
)

agents = Table(
    "relay_agents",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("acked_seq", BigInteger, nullable=True),
    Column("last_seen", Float, nullable=False),
)

settings = Table(
    "relay_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


@dataclass(frozen=True)
class Appended:
    """What one append did: the notices it added (in seq order), how many deliveries it ignored
    as seen before, and the store's bounds after it."""

    notices: tuple[Notice, ...]
    duplicates: int
    last: int
    pruned_through: int


@dataclass(frozen=True)
class Bounds:
    """The retained notices: oldest and last seq (None and 0 when empty), the highest seq ever
    pruned (0 when none), and how many are kept."""

    oldest: int | None
    last: int
    pruned_through: int
    count: int


@dataclass(frozen=True)
class AgentPosition:
    name: str
    acked_seq: int | None
    last_seen: float


def redact(url: str) -> str:
    """The URL as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return "<unparseable store URL>"


def _parse(url: str) -> URL:
    expected = "expected sqlite:///path/to/relay.db or postgresql://user:password@host:port/db"
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError as exc:
        raise RelayConfigError("store_url", expected) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise RelayConfigError("store_url", f"{expected}, got {redact(url)!r}")
        return parsed
    if backend == "postgresql" and parsed.drivername in ("postgresql", POSTGRES_DRIVER):
        if not parsed.database:
            raise RelayConfigError("store_url", f"{expected}, got {redact(url)!r}")
        return parsed.set(drivername=POSTGRES_DRIVER)
    raise RelayConfigError("store_url", f"{expected}, got {redact(url)!r}")


def _owner_only(path: Path) -> None:
    """Make the SQLite file (and the directories this creates for it) the owner's alone.

    SQLite creates the -wal and -shm files with the database file's mode."""
    missing = [folder for folder in path.parents if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        if sys.platform != "win32":
            folder.chmod(stat.S_IRWXU)
    if not path.exists():
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(descriptor)
        if sys.platform != "win32":
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy's "begin" event below starts transactions, not pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA journal_mode=WAL")
            # An answered webhook must survive a crash or power cut: fsync the WAL on commit.
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


class RelayStore:
    """The relay's notices, agent positions and settings, in a SQLite file or PostgreSQL.

    SQLite runs in WAL mode with synchronous=FULL, so a commit survives a kill -9 and a power
    cut. The changes of one message are appended in one transaction; a delivery seen before
    (same message, entity and action) is ignored; notices beyond the backlog are pruned."""

    def __init__(
        self,
        url: str,
        *,
        backlog: int = DEFAULT_BACKLOG,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(backlog, bool) or not isinstance(backlog, int) or backlog < 1:
            raise RelayConfigError("backlog", f"expected a whole number >= 1, got {backlog!r}")
        parsed = _parse(url)
        self.url = redact(url)
        self.backlog = backlog
        self._clock = clock
        with self._translating("open"):
            if parsed.get_backend_name() == "sqlite":
                _owner_only(Path(parsed.database or ""))
                self._engine = _sqlite_engine(parsed)
            else:
                self._engine = create_engine(
                    parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10}
                )
            self._postgres = self._engine.dialect.name == "postgresql"
            metadata.create_all(self._engine)
            with self._writing() as connection:
                self._prune(connection)

    @contextmanager
    def _translating(self, action: str) -> Iterator[None]:
        try:
            yield
        except (sa_exc.SQLAlchemyError, OSError) as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            reason = detail[0] if detail else type(exc).__name__
            raise RelayStoreError(f"cannot {action} the relay store {self.url}: {reason}") from exc

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self._engine.connect() as connection:
            connection.execution_options(**{_WRITE: True})
            with connection.begin():
                if self._postgres:
                    connection.execute(select(func.pg_advisory_xact_lock(_APPEND_LOCK)))
                yield connection

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self._engine.connect() as connection, connection.begin():
            yield connection

    def close(self) -> None:
        self._engine.dispose()

    # -- notices -------------------------------------------------------------------------------

    def _insert(self, connection: Connection, change: Change, received_at: float) -> int | None:
        values = {
            "message_id": change.message_id,
            "entity_type": change.entity_type,
            "entity_id": change.entity_id,
            "action": change.action,
            "timestamp": change.timestamp,
            "received_at": received_at,
        }
        seen = connection.execute(
            select(notices.c.seq).where(
                notices.c.message_id == change.message_id,
                notices.c.entity_type == change.entity_type,
                notices.c.entity_id == change.entity_id,
                notices.c.action == change.action,
            )
        ).first()
        if seen is not None:
            return None  # looked up first so a repeat does not use up a seq
        dialect = postgresql if self._postgres else sqlite
        statement = (
            dialect.insert(notices)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=["message_id", "entity_type", "entity_id", "action"]
            )
            .returning(notices.c.seq)
        )
        seq = connection.execute(statement).scalar_one_or_none()
        return None if seq is None else int(seq)

    def _setting(self, connection: Connection, key: str) -> str | None:
        value = connection.execute(
            select(settings.c.value).where(settings.c.key == key)
        ).scalar_one_or_none()
        return None if value is None else str(value)

    def _put_setting(self, connection: Connection, key: str, value: str) -> None:
        done = connection.execute(
            update(settings).where(settings.c.key == key).values(value=value)
        ).rowcount
        if not done:
            connection.execute(settings.insert().values(key=key, value=value))

    def _prune(self, connection: Connection) -> tuple[int, int]:
        """Drop the notices older than the backlog; the last seq and the highest ever pruned."""
        newest = select(func.coalesce(func.max(notices.c.seq), 0))
        last = int(connection.execute(newest).scalar_one())
        pruned_through = int(self._setting(connection, _PRUNED_THROUGH) or 0)
        cutoff = last - self.backlog
        if cutoff > pruned_through:
            highest = connection.execute(
                select(func.max(notices.c.seq)).where(notices.c.seq <= cutoff)
            ).scalar_one_or_none()
            if highest is not None:
                connection.execute(delete(notices).where(notices.c.seq <= cutoff))
                pruned_through = int(highest)
                self._put_setting(connection, _PRUNED_THROUGH, str(pruned_through))
        return last, pruned_through

    def append(self, changes: Sequence[Change]) -> Appended:
        """Record the changes of one message in one transaction, each once ever."""
        received_at = self._clock()
        added: list[Notice] = []
        with self._translating("append to"), self._writing() as connection:
            for change in changes:
                seq = self._insert(connection, change, received_at)
                if seq is not None:
                    added.append(
                        Notice(
                            seq,
                            change.message_id,
                            change.entity_type,
                            change.entity_id,
                            change.action,
                            change.timestamp,
                        )
                    )
            last, pruned_through = self._prune(connection)
        return Appended(tuple(added), len(changes) - len(added), last, pruned_through)

    def read_after(self, after: int, limit: int) -> tuple[list[Notice], int]:
        """Up to ``limit`` notices with a seq above ``after``, in seq order, and the highest seq
        pruned as of that read (read after the rows, so it is never older than they are)."""
        query = (
            select(
                notices.c.seq,
                notices.c.message_id,
                notices.c.entity_type,
                notices.c.entity_id,
                notices.c.action,
                notices.c.timestamp,
            )
            .where(notices.c.seq > after)
            .order_by(notices.c.seq)
            .limit(limit)
        )
        with self._translating("read"), self._reading() as connection:
            rows = connection.execute(query).all()
            pruned_through = int(self._setting(connection, _PRUNED_THROUGH) or 0)
        found = [
            Notice(
                int(row.seq),
                row.message_id,
                row.entity_type,
                row.entity_id,
                row.action,
                None if row.timestamp is None else int(row.timestamp),
            )
            for row in rows
        ]
        return found, pruned_through

    def bounds(self) -> Bounds:
        with self._translating("read"), self._reading() as connection:
            oldest, last, count = connection.execute(
                select(func.min(notices.c.seq), func.max(notices.c.seq), func.count())
            ).one()
            pruned_through = int(self._setting(connection, _PRUNED_THROUGH) or 0)
        return Bounds(
            None if oldest is None else int(oldest),
            0 if last is None else int(last),
            pruned_through,
            int(count),
        )

    # -- agents --------------------------------------------------------------------------------

    def _seen(self, connection: Connection, name: str, now: float) -> None:
        dialect = postgresql if self._postgres else sqlite
        connection.execute(
            dialect.insert(agents)
            .values(name=name, acked_seq=None, last_seen=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )

    def touch(self, name: str) -> None:
        """Note that agent ``name`` connected now."""
        now = self._clock()
        with self._translating("write"), self._writing() as connection:
            self._seen(connection, name, now)
            connection.execute(update(agents).where(agents.c.name == name).values(last_seen=now))

    def ack(self, name: str, seq: int) -> int:
        """Record agent ``name``'s cumulative ack (an older one leaves it); the stored ack."""
        now = self._clock()
        moved = case(
            (agents.c.acked_seq.is_(None), seq),
            (agents.c.acked_seq < seq, seq),
            else_=agents.c.acked_seq,
        )
        with self._translating("write"), self._writing() as connection:
            self._seen(connection, name, now)
            connection.execute(
                update(agents).where(agents.c.name == name).values(acked_seq=moved, last_seen=now)
            )
            stored = connection.execute(
                select(agents.c.acked_seq).where(agents.c.name == name)
            ).scalar_one()
        return int(stored)

    def acked(self, name: str) -> int | None:
        """Agent ``name``'s stored ack, or None if it never acked."""
        with self._translating("read"), self._reading() as connection:
            value = connection.execute(
                select(agents.c.acked_seq).where(agents.c.name == name)
            ).scalar_one_or_none()
        return None if value is None else int(value)

    def agents(self) -> list[AgentPosition]:
        with self._translating("read"), self._reading() as connection:
            rows = connection.execute(select(agents).order_by(agents.c.name)).all()
        return [
            AgentPosition(
                row.name, None if row.acked_seq is None else int(row.acked_seq), row.last_seen
            )
            for row in rows
        ]

    # -- settings ------------------------------------------------------------------------------

    def hook_secret(self, given: str | None = None) -> str:
        """The secret of the webhook path: ``given`` (kept from now on), else the one kept, else
        a new random one, kept so the URL stays the same across restarts."""
        with self._translating("write"), self._writing() as connection:
            if given is not None:
                self._put_setting(connection, _HOOK_SECRET, given)
                return given
            kept = self._setting(connection, _HOOK_SECRET)
            if kept is not None:
                return kept
            created = secrets.token_urlsafe(32)
            self._put_setting(connection, _HOOK_SECRET, created)
            return created
