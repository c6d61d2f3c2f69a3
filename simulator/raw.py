"""Raw record text spliced into list answers: payloads as odd as a source might send them.

Tests inject them through the control API (``POST /_sim/raw/<kind>``, one JSON text per line)
so hostile records reach recon over real HTTP, through its real client, reader and ingest. The
text is served byte for byte as it came (not even checked to be JSON): on the first page of
every list answer of its kind, after the world's records, whatever the query's filters and
``updatedAfter``; and by a fetch of one record whose id it carries (the last injected wins over
the world's record of that id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

#: Where each kind's record keeps its id: ServiceTrade ``id``, PartsLedger ``_id`` (or ``id``).
ID_KEYS = ("id",)
PL_ID_KEYS = ("_id", "id")
#: Stands in a rendered list for the raw records until the answer is written.
MARK = "\x00raw records\x00"


@dataclass(frozen=True, slots=True)
class RawRecord:
    text: str  # one JSON value's text (bytes that are not UTF-8 kept as surrogate escapes)
    id: str | None  # the id it carries, when it is an object with a readable one

    def wire(self) -> bytes:
        return self.text.encode("utf-8", "surrogateescape")


@dataclass
class RawRecords:
    """The injected records of every kind, in the order they came."""

    by_kind: dict[str, list[RawRecord]] = field(default_factory=dict)

    def add(self, kind: str, body: bytes, id_keys: tuple[str, ...]) -> int:
        """Add every non-blank line of ``body`` as one record; returns how many."""
        text = body.decode("utf-8", "surrogateescape")
        records = [
            RawRecord(line, id_of(line, id_keys)) for line in text.split("\n") if line.strip()
        ]
        self.by_kind.setdefault(kind, []).extend(records)
        return len(records)

    def clear(self, kind: str | None = None) -> int:
        """Forget the records of a kind (every kind when None); returns how many."""
        if kind is None:
            count = sum(len(held) for held in self.by_kind.values())
            self.by_kind.clear()
            return count
        return len(self.by_kind.pop(kind, []))

    def of(self, kind: str) -> list[RawRecord]:
        return list(self.by_kind.get(kind, ()))

    def find(self, kind: str, record_id: str) -> RawRecord | None:
        """The last injected record of ``kind`` with this id."""
        for record in reversed(self.by_kind.get(kind, ())):
            if record.id is not None and record.id == record_id:
                return record
        return None

    def counts(self) -> dict[str, int]:
        return {kind: len(held) for kind, held in sorted(self.by_kind.items()) if held}


def id_of(text: str, id_keys: tuple[str, ...]) -> str | None:
    """The id a record's text carries (numbers as they are written), or None."""
    try:
        value = json.loads(text, parse_int=str, parse_float=str, parse_constant=str)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    for key in id_keys:
        found = value.get(key)
        if isinstance(found, str) and found.strip():
            return found.strip()
    return None


def splice(body: bytes, records: list[RawRecord]) -> bytes:
    """A rendered answer with ``MARK`` (the last entry of its list) replaced by ``records``."""
    mark = json.dumps(MARK, ensure_ascii=False).encode()
    joined = b",".join(record.wire() for record in records)
    if not joined:
        return body.replace(b"," + mark, b"").replace(mark, b"")
    return body.replace(mark, joined, 1)
