"""Sealed columns: projection text encrypted (AES-GCM) under a key derived from store.cipher_key."""

# A sealed column holds customer, vendor, employee or payroll data: payloads, document bodies,
# the reasons that quote them. Its values are written as ``s1:`` and the base64 of nonce, tag
# and ciphertext, a fresh nonce each time, so equal values do not look equal: sealed columns are
# never compared in SQL (keys, ids, periods and amounts stay plain for that reason).
#
# The key reaches the column type through the engine: ``bind(engine, sealer)`` registers the
# engine's dialect before its first statement, and the type's processors, which SQLAlchemy makes
# once per dialect, find it there. Without a sealer the type has no processors at all: plain
# text, at no cost.

from __future__ import annotations

import binascii
import os
from base64 import b64decode, b64encode
from collections.abc import Callable, Sequence
from typing import Any
from weakref import WeakKeyDictionary, WeakSet

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import (
    Column,
    Connection,
    Dialect,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    delete,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

#: What store.cipher_key must be (eventsourcing's AES cipher takes these key sizes).
KEY_FORM = "base64 of 16, 24 or 32 random bytes"
PREFIX = "s1:"  # the sealing's version: a new one changes the marker, so projections rebuild
ALIKE = "d1:"  # sealed alike (deterministic), for columns SQL compares
#: Kept apart from the events' key: the events' cipher uses the key as given, the projections
#: one derived from it under this label.
LABEL = b"recon projections " + PREFIX.encode()
NONCE = 12
PLAIN = ""  # the marker of a database whose sealed columns hold plain text


class SealError(ValueError):
    """A sealed value the key does not open: sealed under another key, damaged, or plain."""


def key_material(cipher_key: str) -> bytes:
    """The bytes of store.cipher_key; ValueError naming the form expected."""
    try:
        material = b64decode(cipher_key.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError(f"expected {KEY_FORM}") from None
    if len(material) not in (16, 24, 32):
        raise ValueError(f"expected {KEY_FORM}")
    return material


def new_key() -> str:
    """A fresh store.cipher_key (32 random bytes)."""
    return b64encode(os.urandom(32)).decode("ascii")


class Sealer:
    """Seals and opens text under the projections' key (AES-256-GCM)."""

    def __init__(self, cipher_key: str) -> None:
        material = key_material(cipher_key)
        key = HKDF(SHA256(), 32, None, LABEL).derive(material)
        alike = HKDF(SHA256(), 64, None, LABEL + b" alike").derive(material)
        self._gcm, self._siv = AESGCM(key), AESSIV(alike)
        self._opened: dict[str, str] = {}  # values sealed alike, opened (a few, read often)
        mac = HMAC(key, SHA256())
        mac.update(b"key check")
        #: Names the key without revealing it: what the database's marker records.
        self.check = PREFIX + mac.finalize().hex()[:32]

    def seal(self, text: str) -> str:
        nonce = os.urandom(NONCE)
        sealed = self._gcm.encrypt(nonce, text.encode(), None)  # ciphertext, then its tag
        return PREFIX + b64encode(nonce + sealed).decode("ascii")

    def seal_alike(self, text: str) -> str:
        """Sealed so that equal values seal alike (AES-SIV): for the few columns SQL compares."""
        sealed = self._siv.encrypt(text.encode(), None)  # the tag, then the ciphertext
        return ALIKE + b64encode(sealed).decode("ascii")

    def open_alike(self, text: str) -> str:
        opened = self._opened.get(text)
        if opened is not None:
            return opened
        if not text.startswith(ALIKE):
            raise SealError("a sealed column holds a value that is not sealed")
        try:
            raw = b64decode(text[len(ALIKE) :].encode("ascii"), validate=True)
            opened = self._siv.decrypt(raw, None).decode()
        except (ValueError, UnicodeError, InvalidTag) as exc:
            raise SealError("a sealed value does not open with store.cipher_key") from exc
        if len(self._opened) >= 1024:
            self._opened.clear()
        self._opened[text] = opened
        return opened

    def open(self, text: str) -> str:
        if not text.startswith(PREFIX):
            raise SealError("a sealed column holds a value that is not sealed")
        try:
            raw = b64decode(text[len(PREFIX) :].encode("ascii"), validate=True)
            return self._gcm.decrypt(raw[:NONCE], raw[NONCE:], None).decode()
        except (ValueError, UnicodeError, InvalidTag) as exc:  # binascii.Error is a ValueError
            raise SealError("a sealed value does not open with store.cipher_key") from exc


# The sealer of each engine's dialect (one dialect per engine), and the dialects that already
# made plain processors: binding a sealer after those would leave them writing plain text.
_sealers: WeakKeyDictionary[Dialect, Sealer] = WeakKeyDictionary()
_plain: WeakSet[Dialect] = WeakSet()


def bind(engine: Engine, sealer: Sealer | None) -> None:
    """Seal the engine's sealed columns with ``sealer`` (None: plain). Before its first
    statement; binding the same sealer again is a no-op, another one an error."""
    dialect = engine.dialect
    held = _sealers.get(dialect)
    if sealer is None and held is None:
        return
    if held is not None and sealer is not None and held.check == sealer.check:
        return
    if held is not None or dialect in _plain:
        raise RuntimeError("this engine already reads its sealed columns another way")
    assert sealer is not None
    _sealers[dialect] = sealer


def sealer_of(engine: Engine) -> Sealer | None:
    return _sealers.get(engine.dialect)


class Sealed(TypeDecorator[str]):
    """Text sealed with the engine's sealer (plain text when it has none)."""

    impl = Text
    cache_ok = True

    def _seal(self, sealer: Sealer) -> tuple[Callable[[str], str], Callable[[str], str]]:
        return sealer.seal, sealer.open

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        sealer = _sealers.get(dialect)
        if sealer is None:
            _plain.add(dialect)
            return None
        seal = self._seal(sealer)[0]

        def process(value: Any) -> Any:
            return None if value is None else seal(value)

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        sealer = _sealers.get(dialect)
        if sealer is None:
            _plain.add(dialect)
            return None
        unseal = self._seal(sealer)[1]

        def process(value: Any) -> Any:
            return None if value is None else unseal(value)

        return process


class SealedAlike(Sealed):
    """Text sealed so that equal values seal alike: SQL may compare it with ``==`` (it reveals
    which rows hold equal values, nothing more). For the few such columns that hold names."""

    cache_ok = True

    def _seal(self, sealer: Sealer) -> tuple[Callable[[str], str], Callable[[str], str]]:
        return sealer.seal_alike, sealer.open_alike


#: How this database's sealed columns are sealed: the sealer's check, or PLAIN. Its own table
#: (made on first use), so the projections' tables need not know of it.
_marks = MetaData()
seal_mark = Table(
    "projection_seal",
    _marks,
    Column("name", String(32), primary_key=True),
    Column("key_check", Text, nullable=False),
)
_NAME = "projections"


def _marked(conn: Connection) -> str:
    seal_mark.create(conn, checkfirst=True)
    found = conn.execute(select(seal_mark.c.key_check).where(seal_mark.c.name == _NAME)).scalar()
    return PLAIN if found is None else str(found)  # a database made before sealing: plain


def stale(engine: Engine, sealer: Sealer | None) -> bool:
    """True when the sealed columns were sealed another way (another key, or none, or an
    older sealing): what they hold must be made again (``mark``)."""
    with engine.begin() as conn:
        return _marked(conn) != (PLAIN if sealer is None else sealer.check)


def mark(engine: Engine, sealer: Sealer | None, forget: Sequence[Table] = ()) -> None:
    """Record that the sealed columns are sealed by ``sealer`` from now on, and empty the
    ``forget`` tables in the same transaction (the projections' tracking, so each starts over
    from the log; rows no projection makes, which their writer writes again)."""
    now = PLAIN if sealer is None else sealer.check
    with engine.begin() as conn:
        _marked(conn)
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = insert(seal_mark).values(name=_NAME, key_check=now)
        conn.execute(
            statement.on_conflict_do_update(index_elements=["name"], set_={"key_check": now})
        )
        for table in forget:
            conn.execute(delete(table))
