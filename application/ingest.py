"""Ingest: record every ServiceTrade and PartsLedger change since each kind's cursor."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from eventsourcing.domain import Aggregate

from application.context import Context
from domain.ports import SourceFeed
from domain.records import Known, delete, observe, reject
from domain.source import SOURCE_KINDS, PayloadError, to_payload

#: Seconds each run starts before its kind's cursor: records updated in the same second as
#: the last one seen, or committed late by the source, are fetched again (and append nothing).
DEFAULT_OVERLAP = 300


@dataclass
class IngestReport:
    fetched: Counter[str] = field(default_factory=Counter)
    appended: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)

    def add(self, other: IngestReport) -> None:
        self.fetched.update(other.fetched)
        self.appended.update(other.appended)
        self.rejected.update(other.rejected)
        self.deleted.update(other.deleted)

    def to_json(self) -> dict[str, Any]:
        return {
            "fetched": dict(self.fetched),
            "appended": dict(self.appended),
            "rejected": dict(self.rejected),
            "deleted": dict(self.deleted),
        }


def ingest_all(
    ctx: Context, feeds: Iterable[SourceFeed], overlap: int = DEFAULT_OVERLAP
) -> IngestReport:
    """Ingest several feeds in order (ServiceTrade before PartsLedger: bills refer to jobs)."""
    report = IngestReport()
    for feed in feeds:
        report.add(ingest(ctx, feed, overlap=overlap))
    return report


def ingest(
    ctx: Context,
    feed: SourceFeed,
    kinds: Sequence[str] | None = None,
    overlap: int = DEFAULT_OVERLAP,
) -> IngestReport:
    """Record every change the feed shows since each kind's cursor (every kind of the
    feed's system, in dependency order, unless ``kinds`` names some).

    A kind's cursor moves only after every page of its run was recorded; the next run
    starts ``overlap`` seconds before it, and content already recorded appends nothing.
    """
    report = IngestReport()
    model = ctx.read_model
    ctx.catch_up()
    for kind in SOURCE_KINDS[feed.system] if kinds is None else kinds:
        cursor = model.cursor(feed.system, kind)
        since = None if cursor is None else max(cursor - overlap, 0)
        model.forget_seen(feed.system, kind)
        high = cursor
        safe: int | None = None
        for page in feed.pages(kind, since):
            report.fetched[kind] += len(page)
            decided, rejected, stamps = _decide(ctx, feed, kind, page)
            ctx.store.record(decided)
            # Projected page by page, so the next page decides against what this one
            # recorded without the run holding every record it recorded in memory.
            ctx.catch_up()
            report.appended[kind] += len(decided)
            report.rejected[kind] += rejected
            for updated in (u for _, u in stamps if u is not None):
                high = updated if high is None else max(high, updated)
            for earlier in model.seen_again(feed.system, kind, stamps):
                # It changed while the run paged: records after its old place may have
                # shifted past a page boundary unseen, and none is older than it was.
                if earlier is not None:
                    safe = earlier if safe is None else min(safe, earlier)
        if high is not None:
            model.advance(feed.system, kind, high if safe is None else min(high, safe))
        model.forget_seen(feed.system, kind)
    return report


def ingest_ids(
    ctx: Context, feed: SourceFeed, kind: str, source_ids: Iterable[str]
) -> IngestReport:
    """Record what the source holds now for each named entity (a change notice names them).

    Each is fetched afresh, whatever the notice said happened: notices come late, twice
    and out of order, so only the fetch says what holds. One the source no longer has is
    recorded as deleted (once; an entity recon never saw is not recorded at all). Cursors
    do not move: polling stays the backstop for whatever no notice named.
    """
    report = IngestReport()
    ids = list(dict.fromkeys(source_ids))
    ctx.catch_up()
    found: list[dict[str, Any]] = []
    gone: list[str] = []
    for source_id in ids:
        raw = feed.fetch(kind, source_id)
        if raw is None:
            gone.append(source_id)
        else:
            found.append(raw)
    report.fetched[kind] += len(found)
    decided, rejected, _ = _decide(ctx, feed, kind, found) if found else ([], 0, [])
    held = ctx.read_model.known(feed.system, kind, gone)
    deletions = [
        event
        for event in (delete(held.get(i), feed.system, kind, i) for i in gone)
        if event is not None
    ]
    ctx.store.record([*decided, *deletions])
    ctx.catch_up()
    report.appended[kind] += len(decided) + len(deletions)
    report.rejected[kind] += rejected
    report.deleted[kind] += len(deletions)
    return report


def _decide(
    ctx: Context, feed: SourceFeed, kind: str, page: list[dict[str, Any]]
) -> tuple[list[Aggregate.Event], int, list[tuple[str, int | None]]]:
    """The events a page of raw records adds (none for content already recorded), the
    number rejected, and each record's id and ``updated`` stamp."""
    parsed: list[tuple[str, Any, dict[str, Any]]] = []
    stamps: list[tuple[str, int | None]] = []
    for raw in page:
        source_id = feed.source_id_of(raw)
        snapshot: Any
        try:
            snapshot = feed.read(kind, raw)
            source_id = snapshot.id
        except PayloadError as exc:
            snapshot = exc
        if source_id is None:
            digest = hashlib.blake2b(orjson.dumps(raw, default=str), digest_size=8)
            source_id = "unidentified-" + digest.hexdigest()
        parsed.append((source_id, snapshot, raw))
        stamps.append((source_id, feed.updated_of(raw)))
    held = ctx.read_model.known(feed.system, kind, {s for s, _, _ in parsed})
    decided: list[Aggregate.Event] = []
    rejected = 0
    for source_id, snapshot, raw in parsed:
        event: Aggregate.Event | None
        if isinstance(snapshot, PayloadError):
            rejected += 1
            text = orjson.dumps(raw, default=str, option=orjson.OPT_SORT_KEYS).decode()
            event = reject(held.get(source_id), feed.system, kind, source_id, str(snapshot), text)
        else:
            payload = to_payload(snapshot)
            event = observe(held.get(source_id), feed.system, kind, source_id, payload)
        if event is not None:
            decided.append(event)
            held[source_id] = Known(
                event.originator_version, str(getattr(event, "content_hash", ""))
            )
    return decided, rejected, stamps
