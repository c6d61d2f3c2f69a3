"""The event store: the eventsourcing application recon records into, chosen by URL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import orjson
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent as Record
from eventsourcing.utils import register_topic
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from domain import records
from domain.ports import StoredEvent

APPLICATION_NAME = "recon"
#: An event store in this process's memory, gone when it ends (tests and throw-away runs).
MEMORY = "memory:"
#: Topics events were recorded under before their module was renamed; read as the new ones.
RENAMED_MODULES = {"domain.ledger": records}
for _old, _module in RENAMED_MODULES.items():
    register_topic(_old, _module)


_RENAMED_PREFIXES = tuple(f"{old}:" for old in RENAMED_MODULES)


def _topic(topic: str) -> str:
    """A stored topic as the current code names it (one prefix test for current topics: this
    runs for every event a projection reads)."""
    if not topic.startswith(_RENAMED_PREFIXES):
        return topic
    module, _, rest = topic.partition(":")
    return f"{RENAMED_MODULES[module].__name__}:{rest}"


class StoreConfigError(ValueError):
    """An event store URL recon cannot use; the message names the expected form."""


class StoreKeyError(StoreConfigError):
    """store.cipher_key (or its absence) does not read this store's events."""


WRONG_KEY = "store.cipher_key does not decrypt this store"


def store_env(url: str, cipher_key: str | None = None) -> dict[str, str]:
    """The eventsourcing environment for a store URL.

    ``sqlite:///path/recon.db`` (the embedded default) or
    ``postgresql://user:password@host:port/database``.
    """
    parts = urlsplit(url)
    env: dict[str, str]
    if url == MEMORY:
        env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    elif parts.scheme == "sqlite":
        path = unquote(parts.path)[1:]  # sqlite:///relative.db, sqlite:////absolute.db
        if not path:
            raise StoreConfigError(f"store.url {url!r}: expected sqlite:///path/to/recon.db")
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}
    elif parts.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        database = parts.path.lstrip("/")
        if not (parts.hostname and database and parts.username):
            raise StoreConfigError(
                f"store.url {url!r}: expected postgresql://user:password@host:port/database"
            )
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": database,
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
        }
    else:
        raise StoreConfigError(
            f"store.url {url!r}: expected sqlite:///path/to/recon.db or "
            "postgresql://user:password@host:port/database"
        )
    if cipher_key:
        env["CIPHER_TOPIC"] = "eventsourcing.cryptography:AESCipher"
        env["CIPHER_KEY"] = cipher_key
    return env


def projection_url(url: str) -> str:
    """The SQLAlchemy URL of the database that holds projections beside the events."""
    parts = urlsplit(url)
    if url == MEMORY:
        return "sqlite://"
    if parts.scheme == "sqlite":
        return url
    return "postgresql+psycopg" + url[len(parts.scheme) :]


def create_projection_engine(url: str) -> Engine:
    """The projections' database: beside the events (in memory for a memory store)."""
    if url == MEMORY:
        return create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    engine = create_engine(projection_url(url))
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            # These connections write only projection rows (and ingest cursors), never events.
            # In WAL mode NORMAL skips the fsync at commit but stays crash-consistent: a power
            # cut may lose the last commits, never corrupt the file. A lost projection page
            # goes with its tracking row (same transaction), so it is simply applied again
            # from the log; a lost cursor only re-fetches records whose events were committed
            # (and fsynced, at the store's FULL) before it. The events' connections keep FULL.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


class Store(Application[Any]):
    """The event store recon records into: source records, postings and resolutions."""

    name = APPLICATION_NAME
    log_section_size = 1000

    def __init__(self, url: str, cipher_key: str | None = None) -> None:
        env = store_env(url, cipher_key)
        if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
            Path(env["SQLITE_DBNAME"]).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(env=env)
        self._plain = env.get("CIPHER_TOPIC") is None and self.env.get("COMPRESSOR_TOPIC") is None
        try:
            self._check_key()
        except StoreKeyError:
            self.close()
            raise

    def _check_key(self) -> None:
        """Read the first event: a store encrypted under another key (or under none, or not
        encrypted) fails here, in one line, rather than at the first projection."""
        first = self.recorder.select_notifications(start=0, limit=1, inclusive_of_start=False)
        if not first:
            return
        state = first[0].state
        try:
            self._state(state)
        except ValueError:
            if self.mapper.cipher is None:
                raise StoreKeyError(
                    "this store is encrypted and store.cipher_key is not set: set the key "
                    "its events were written with (docs/security.md)"
                ) from None
            try:
                orjson.loads(state)
            except orjson.JSONDecodeError:
                raise StoreKeyError(
                    f"{WRONG_KEY}: set the key its events were written with (docs/security.md)"
                ) from None
            raise StoreKeyError(
                f"{WRONG_KEY}: its events are not encrypted; to encrypt an existing store, copy "
                "it into a new one (docs/security.md, rotating the key)"
            ) from None

    def _state(self, state: bytes) -> Any:
        """An event's state as stored, decrypted and decompressed as configured, decoded."""
        mapper = self.mapper
        if mapper.cipher is not None:
            state = mapper.cipher.decrypt(state)
        if mapper.compressor is not None:
            state = mapper.compressor.decompress(state)
        return orjson.loads(state)

    def record(self, events: Iterable[Aggregate.Event | Aggregate]) -> int:
        """Append events (and pending events of aggregates) in one transaction."""
        batch = list(events)
        plain = [item for item in batch if not isinstance(item, Aggregate)]
        if len(plain) < len(batch):
            self.save(*batch)
        elif plain:
            # Plain events go straight to the event store: save() would first test each one
            # against runtime-checkable Protocols (a third of its cost on Python 3.11), and
            # its other steps (snapshots, notify hooks, aggregate cache) do nothing for a
            # store, which configures none of them.
            self.events.put(plain)
        return len(batch)

    def get(self, aggregate_id: UUID) -> Aggregate | None:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def read(self, after: int, limit: int) -> Sequence[StoredEvent]:
        """Events after a log position, in log order, with their state decoded."""
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        decode = orjson.loads if self._plain else self._state
        return [
            StoredEvent(
                n.id, str(n.originator_id), n.originator_version, _topic(n.topic), decode(n.state)
            )
            for n in notifications
        ]

    def copy_to(self, target: Store, page: int = 1000) -> int:
        """Copy every event, in log order, into an empty store: read with this store's key
        (or none), written with the target's (rotating store.cipher_key). Returns how many."""
        if target.max_position():
            raise StoreConfigError("the store to copy into already holds events")
        source, into = self.mapper, target.mapper
        copied, after = 0, 0
        while True:
            notifications = self.recorder.select_notifications(
                start=after, limit=page, inclusive_of_start=False
            )
            if not notifications:
                return copied
            events = []
            for n in notifications:
                state = n.state
                if source.cipher is not None:
                    state = source.cipher.decrypt(state)
                if source.compressor is not None:
                    state = source.compressor.decompress(state)
                if into.compressor is not None:
                    state = into.compressor.compress(state)
                if into.cipher is not None:
                    state = into.cipher.encrypt(state)
                events.append(
                    Record(
                        originator_id=n.originator_id,
                        originator_version=n.originator_version,
                        topic=n.topic,
                        state=state,
                    )
                )
            target.recorder.insert_events(events)
            copied += len(events)
            after = notifications[-1].id
