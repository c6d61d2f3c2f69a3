"""Source records: one aggregate per source entity, one event per real change."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import orjson
from eventsourcing.domain import Aggregate

#: Kept as first published: every recorded aggregate id derives from it.
RECORD_NAMESPACE = uuid5(NAMESPACE_URL, "https://recon.invalid/ledger")
#: The longest quarantine reason kept, in bytes of UTF-8 (the raw payload is kept whole).
REASON_BYTES = 1024
_CUT = " …"
#: Control characters a reason spells out (PostgreSQL text holds no NUL).
_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F) if code not in (0x09, 0x0A)}
#: How deep a raw payload is written out when even Python's json cannot write it whole.
_RAW_DEPTH = 64


def source_record_id(system: str, kind: str, source_id: str) -> UUID:
    """The deterministic aggregate id of a source entity."""
    return uuid5(RECORD_NAMESPACE, f"{system}:{kind}:{source_id}")


def content_hash(payload: Any) -> str:
    """A digest of a payload's canonical JSON: equal content, equal hash."""
    return hashlib.blake2b(
        orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()


def bounded_reason(reason: str) -> str:
    """A quarantine reason as recorded: lone surrogates and control characters spelled out,
    and cut to ``REASON_BYTES`` bytes of UTF-8 (marked with " …") when longer."""
    text = reason.encode("utf-8", "backslashreplace").decode("utf-8").translate(_CONTROLS)
    data = text.encode("utf-8")
    if len(data) <= REASON_BYTES:
        return text
    return data[: REASON_BYTES - len(_CUT.encode())].decode("utf-8", "ignore") + _CUT


def raw_text(raw: Any) -> str:
    """A raw payload as the JSON text a quarantine keeps: whole, sorted keys, and always
    storable (UTF-8, no raw control characters), whatever the decoder handed over.

    orjson writes it when it can (values it has no JSON for, such as Decimal, as their text);
    integers beyond 64 bits, lone surrogates or nesting beyond 255 levels fall back to
    Python's json (ASCII, surrogates escaped); nesting deeper than Python's json writes is
    written to 64 levels, and a mark in place of what is deeper.
    """
    try:
        return orjson.dumps(raw, default=str, option=orjson.OPT_SORT_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:
        return json.dumps(raw, default=str, sort_keys=True, ensure_ascii=True)
    except (RecursionError, ValueError, TypeError):
        pass
    return json.dumps(_shallow(raw, _RAW_DEPTH), default=str, sort_keys=True, ensure_ascii=True)


def _shallow(value: Any, depth: int) -> Any:
    if isinstance(value, dict | list | tuple) and depth <= 0:
        return f"<{type(value).__name__} nested deeper than {_RAW_DEPTH} levels>"
    if isinstance(value, dict):
        return {str(k): _shallow(v, depth - 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shallow(v, depth - 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 10_000:
        return f"<int of {value.bit_length()} bits>"
    return value


class SourceRecord(Aggregate):
    """What recon has seen of one ServiceTrade or PartsLedger entity."""

    @dataclass(frozen=True)
    class Observed(Aggregate.Created):
        """First sight of the entity with a valid payload."""

        system: str
        kind: str
        source_id: str
        payload: dict[str, Any]
        content_hash: str

    @dataclass(frozen=True)
    class Quarantined(Aggregate.Created):
        """First sight of the entity with a payload that failed validation."""

        system: str
        kind: str
        source_id: str
        reason: str
        raw: str
        content_hash: str

    @dataclass(frozen=True)
    class Changed(Aggregate.Event):
        """The entity's content changed (or a rejected payload became valid)."""

        payload: dict[str, Any]
        content_hash: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, SourceRecord)
            aggregate.payload = self.payload
            aggregate.content_hash = self.content_hash
            aggregate.rejection = None
            aggregate.deleted = False

    @dataclass(frozen=True)
    class Rejected(Aggregate.Event):
        """A new payload for the entity failed validation; the raw payload is kept."""

        reason: str
        raw: str
        content_hash: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, SourceRecord)
            aggregate.rejection = self.reason
            aggregate.content_hash = self.content_hash

    @dataclass(frozen=True)
    class Deleted(Aggregate.Event):
        """The entity was deleted at the source."""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, SourceRecord)
            aggregate.deleted = True
            aggregate.content_hash = ""

    def __init__(
        self,
        system: str,
        kind: str,
        source_id: str,
        content_hash: str,
        payload: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        self.system = system
        self.kind = kind
        self.source_id = source_id
        self.payload = payload
        self.content_hash = content_hash
        self.rejection = reason
        self.deleted = False


@dataclass(frozen=True, slots=True)
class Known:
    """What the ledger already holds for an entity: enough to decide without loading it."""

    version: int
    content_hash: str


def observe(
    known: Known | None, system: str, kind: str, source_id: str, payload: dict[str, Any]
) -> Aggregate.Event | None:
    """The event that records a valid payload, or None when the content is already recorded."""
    digest = content_hash(payload)
    record_id = source_record_id(system, kind, source_id)
    if known is None:
        return SourceRecord.Observed(
            originator_topic=_TOPIC,
            originator_id=record_id,
            originator_version=1,
            timestamp=SourceRecord.Observed.create_timestamp(),
            system=system,
            kind=kind,
            source_id=source_id,
            payload=payload,
            content_hash=digest,
        )
    if known.content_hash == digest:
        return None
    return SourceRecord.Changed(
        originator_id=record_id,
        originator_version=known.version + 1,
        timestamp=SourceRecord.Changed.create_timestamp(),
        payload=payload,
        content_hash=digest,
    )


def reject(
    known: Known | None, system: str, kind: str, source_id: str, reason: str, raw: str
) -> Aggregate.Event | None:
    """The event that quarantines a payload, or None when this exact payload is already held.

    The reason is bounded (``bounded_reason``); the raw payload is kept whole.
    """
    reason = bounded_reason(reason)
    digest = "rejected:" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()
    record_id = source_record_id(system, kind, source_id)
    if known is None:
        return SourceRecord.Quarantined(
            originator_topic=_TOPIC,
            originator_id=record_id,
            originator_version=1,
            timestamp=SourceRecord.Quarantined.create_timestamp(),
            system=system,
            kind=kind,
            source_id=source_id,
            reason=reason,
            raw=raw,
            content_hash=digest,
        )
    if known.content_hash == digest:
        return None
    return SourceRecord.Rejected(
        originator_id=record_id,
        originator_version=known.version + 1,
        timestamp=SourceRecord.Rejected.create_timestamp(),
        reason=reason,
        raw=raw,
        content_hash=digest,
    )


def delete(known: Known | None, system: str, kind: str, source_id: str) -> Aggregate.Event | None:
    """The event that records a deletion, or None when nothing is held or it is already deleted."""
    if known is None or known.content_hash == "":
        return None
    return SourceRecord.Deleted(
        originator_id=source_record_id(system, kind, source_id),
        originator_version=known.version + 1,
        timestamp=SourceRecord.Deleted.create_timestamp(),
    )


_TOPIC = f"{SourceRecord.__module__}:{SourceRecord.__qualname__}"
