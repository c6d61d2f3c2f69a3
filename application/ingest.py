"""Ingest: record every ServiceTrade and PartsLedger change since each kind's cursor."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate

from application.context import Context
from domain.ports import SourceFeed
from domain.records import Known, delete, observe, raw_text, reject
from domain.source import SOURCE_KINDS, PayloadError, to_payload
from projections.ingest_memory import IngestMemory

#: Seconds each run starts before its kind's cursor: records updated in the same second as
#: the last one seen, or committed late by the source, are fetched again (and append nothing).
DEFAULT_OVERLAP = 300
#: Records decided, recorded and projected together (see ``_batches``).
BATCH = 500
#: How far past this machine's clock a kind's cursor may move. A record stamped in the future
#: (a source's wrong clock, a hostile payload) is recorded, but must not put every later change
#: behind the cursor: the cursor stops here, and the next run fetches such records again.
CLOCK_SKEW = 86_400


@dataclass
class IngestReport:
    fetched: Counter[str] = field(default_factory=Counter)
    appended: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    #: Payloads stamped older than one already fetched of the same record: nothing appended.
    stale: Counter[str] = field(default_factory=Counter)

    def add(self, other: IngestReport) -> None:
        self.fetched.update(other.fetched)
        self.appended.update(other.appended)
        self.rejected.update(other.rejected)
        self.deleted.update(other.deleted)
        self.stale.update(other.stale)

    def to_json(self) -> dict[str, Any]:
        return {
            "fetched": dict(self.fetched),
            "appended": dict(self.appended),
            "rejected": dict(self.rejected),
            "deleted": dict(self.deleted),
            "stale": dict(self.stale),
        }


def ingest_all(
    ctx: Context,
    feeds: Iterable[SourceFeed],
    overlap: int = DEFAULT_OVERLAP,
    now: float | None = None,
) -> IngestReport:
    """Ingest several feeds in order (ServiceTrade before PartsLedger: bills refer to jobs)."""
    report = IngestReport()
    for feed in feeds:
        report.add(ingest(ctx, feed, overlap=overlap, now=now))
    return report


def ingest(
    ctx: Context,
    feed: SourceFeed,
    kinds: Sequence[str] | None = None,
    overlap: int = DEFAULT_OVERLAP,
    now: float | None = None,
) -> IngestReport:
    """Record every change the feed shows since each kind's cursor (every kind of the
    feed's system, in dependency order, unless ``kinds`` names some).

    A kind's cursor moves only after every page of its run was recorded, and never past
    ``now`` (Unix seconds; this machine's clock when not given) by more than ``CLOCK_SKEW``;
    the next run starts ``overlap`` seconds before it, and content already recorded appends
    nothing. A payload stamped older than one fetched before is stale and appends nothing;
    two different payloads of one record with one stamp in a run are quarantined (see
    ``_decide``).
    """
    report = IngestReport()
    model = ctx.read_model
    memory = IngestMemory(model)
    ceiling = int(time.time() if now is None else now) + CLOCK_SKEW
    ctx.catch_up()
    for kind in SOURCE_KINDS[feed.system] if kinds is None else kinds:
        cursor = model.cursor(feed.system, kind)
        since = None if cursor is None else max(cursor - overlap, 0)
        model.forget_seen(feed.system, kind)
        high = cursor
        safe: int | None = None
        for page in _batches(feed.pages(kind, since)):
            report.fetched[kind] += len(page)
            decided = _decide(ctx, memory, feed, kind, page, in_run=True)
            memory.raise_stamps(feed.system, kind, decided.newest)
            ctx.store.record(decided.events)
            # Projected page by page, so the next page decides against what this one
            # recorded without the run holding every record it recorded in memory.
            ctx.catch_up()
            report.appended[kind] += len(decided.events)
            report.rejected[kind] += decided.rejected
            report.stale[kind] += decided.stale
            for updated in (u for _, u in decided.stamps if u is not None):
                high = updated if high is None else max(high, updated)
            for earlier in model.seen_again(feed.system, kind, decided.stamps):
                # It changed while the run paged: records after its old place may have
                # shifted past a page boundary unseen, and none is older than it was.
                if earlier is not None:
                    safe = earlier if safe is None else min(safe, earlier)
        if high is not None:
            value = high if safe is None else min(high, safe)
            model.advance(feed.system, kind, min(value, ceiling))
        model.forget_seen(feed.system, kind)
    return report


def _batches(pages: Iterable[list[dict[str, Any]]]) -> Iterable[list[dict[str, Any]]]:
    """The feed's pages in batches of at most ``BATCH`` records, each decided, recorded and
    projected before the next: what a batch derives (events, documents) is held at once, and
    an API page (2,000 invoices, 5,000 locations) made ingest's peak memory follow it.

    A batch behaves as a page: a record twice in one page but in two batches is one seen
    earlier in the run, as one seen on an earlier page.
    """
    for page in pages:
        for start in range(0, len(page), BATCH):
            yield page[start : start + BATCH]


def ingest_ids(
    ctx: Context, feed: SourceFeed, kind: str, source_ids: Iterable[str]
) -> IngestReport:
    """Record what the source holds now for each named entity (a change notice names them).

    Each is fetched afresh, whatever the notice said happened: notices come late, twice
    and out of order, so only the fetch says what holds (a payload stamped older than one
    fetched before is stale: nothing is appended). One the source no longer has is
    recorded as deleted (once; an entity recon never saw is not recorded at all). Cursors
    do not move: polling stays the backstop for whatever no notice named.
    """
    report = IngestReport()
    ids = list(dict.fromkeys(source_ids))
    ctx.catch_up()
    memory = IngestMemory(ctx.read_model)
    found: list[dict[str, Any]] = []
    gone: list[str] = []
    for source_id in ids:
        raw = feed.fetch(kind, source_id)
        if raw is None:
            gone.append(source_id)
        else:
            found.append(raw)
    report.fetched[kind] += len(found)
    decided = _decide(ctx, memory, feed, kind, found, in_run=False)
    held = ctx.read_model.known(feed.system, kind, gone)
    deletions = [
        event
        for event in (delete(held.get(i), feed.system, kind, i) for i in gone)
        if event is not None
    ]
    memory.raise_stamps(feed.system, kind, decided.newest)
    ctx.store.record([*decided.events, *deletions])
    ctx.catch_up()
    report.appended[kind] += len(decided.events) + len(deletions)
    report.rejected[kind] += decided.rejected
    report.stale[kind] += decided.stale
    report.deleted[kind] += len(deletions)
    return report


@dataclass
class _Decided:
    """What a page of raw records adds."""

    events: list[Aggregate.Event] = field(default_factory=list)
    rejected: int = 0  # payloads quarantined (invalid, or a duplicate in one fetch)
    stale: int = 0  # payloads stamped older than one fetched before: nothing appended
    stamps: list[tuple[str, int | None]] = field(default_factory=list)  # each record's
    newest: dict[str, int] = field(default_factory=dict)  # stamps newer than those held


def _decide(
    ctx: Context,
    memory: IngestMemory,
    feed: SourceFeed,
    kind: str,
    page: list[dict[str, Any]],
    *,
    in_run: bool,
) -> _Decided:
    """The events a page of raw records adds (none for content already recorded).

    - A payload stamped (``updated``) older than the newest fetched of its record is stale:
      nothing is appended, whatever it holds, so an old copy never rolls a record back.
    - A payload that fails validation is quarantined, its raw form kept whole.
    - Two different payloads of one record with the same stamp in one fetch (one page, or
      one run of ``ingest`` with ``in_run``) cannot both hold: the later one quarantines the
      record with a reason naming the id, the last valid payload staying as it was. (In
      different runs the later fetch is the source's latest word, and is recorded.)
    """
    system = feed.system
    parsed: list[tuple[str, int | None, Any, dict[str, Any]]] = []
    for raw in page:
        source_id = feed.source_id_of(raw)
        updated = feed.updated_of(raw)
        snapshot: Any
        try:
            snapshot = feed.read(kind, raw)
            source_id = snapshot.id
        except PayloadError as exc:
            snapshot = exc
        if source_id is None:
            digest = hashlib.blake2b(raw_text(raw).encode(), digest_size=8)
            source_id = "unidentified-" + digest.hexdigest()
        parsed.append((source_id, updated, snapshot, raw))
    ids = list(dict.fromkeys(source_id for source_id, _, _, _ in parsed))
    held = ctx.read_model.known(system, kind, ids)
    newest = memory.stamps(system, kind, ids)
    fetched: dict[str, set[int | None]] = {}  # the stamps of the copies this fetch had
    if in_run:
        for source_id, first in memory.seen_before(system, kind, ids).items():
            fetched[source_id] = {first}
    decided = _Decided()
    for source_id, updated, snapshot, raw in parsed:
        decided.stamps.append((source_id, updated))
        before = newest.get(source_id)
        copies = fetched.setdefault(source_id, set())
        if updated is not None and before is not None and updated < before:
            decided.stale += 1
            copies.add(updated)
            continue
        known = held.get(source_id)
        event: Aggregate.Event | None
        if isinstance(snapshot, PayloadError):
            decided.rejected += 1
            event = reject(known, system, kind, source_id, str(snapshot), raw_text(raw))
        else:
            event = observe(known, system, kind, source_id, to_payload(snapshot))
            if event is not None and updated in copies:
                decided.rejected += 1
                reason = (
                    f"source id {source_id!r} came twice in one fetch with the same updated "
                    f"stamp ({updated}) and different content: recon cannot tell which holds. "
                    "The last valid payload is kept; the next change at the source settles it."
                )
                event = reject(known, system, kind, source_id, reason, raw_text(raw))
        copies.add(updated)
        if updated is not None and (before is None or updated > before):
            newest[source_id] = decided.newest[source_id] = updated
        if event is not None:
            decided.events.append(event)
            held[source_id] = Known(
                event.originator_version, str(getattr(event, "content_hash", ""))
            )
    return decided
