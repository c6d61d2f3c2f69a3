"""Sync: the agent that runs beside Sage, one cycle after another until it is told to stop.

A cycle takes in the change notices the relay forwarded (ids only: each named entity is
fetched afresh and recorded), polls each source with its ``updatedAfter`` cursor when the poll
interval has passed (the backstop for every notice ServiceTrade lost, and the only way
PartsLedger is read), and, when anything was recorded, when another process recorded
something (a person approved a posting), or when the poll interval passed (a clerk may have
edited Sage), reconciles, posts what the policy or a person approved, and writes back to
ServiceTrade. Posting happens only with the company's writer lease held.

A source or Sage that fails is backed off (doubling, to a cap) while the rest goes on:
notices are acknowledged only once what they name is recorded, so nothing is lost. What the
agent is doing is written to the read model each cycle (``recon status`` shows it) and logged.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from threading import Event
from typing import Any

from application import post
from application.context import Context
from application.ingest import IngestReport, ingest, ingest_ids
from application.reconcile import reconcile
from application.times import utc_text
from application.writeback import write_back
from domain.ports import (
    ChangeNotice,
    ChangeNotices,
    InvoiceStatusWriter,
    SourceFeed,
    WebhookRegistry,
)
from domain.posting import PROPOSED
from domain.source import SOURCE_KINDS

#: The parts of the world the agent backs off from one by one.
SAGE = "sage"
#: The subjects of the agent's state in the read model.
AGENT = "agent"
RELAY = "relay"
WEBHOOK = "webhook"

Log = Callable[..., None]


class Busy(Exception):
    """Another recon holds the writer lease of this Sage company; the message names it."""


@dataclass(frozen=True)
class SyncSettings:
    poll_interval: float = 60.0  # seconds between polls of each source (and Sage checks)
    wait: float = 1.0  # the longest a cycle waits for a notice before looking around
    backoff_start: float = 1.0
    backoff_max: float = 300.0


@dataclass
class Backoff:
    """When a failing part may be tried again: 1, 2, 4 … seconds, to a cap, with jitter."""

    start: float
    cap: float
    failures: int = 0
    until: float = 0.0
    error: str | None = None

    def failed(self, now: float, error: str, rng: random.Random) -> float:
        self.failures += 1
        self.error = error
        delay = min(self.start * 2.0 ** (self.failures - 1), self.cap)
        delay *= 0.8 + 0.4 * rng.random()
        self.until = now + delay
        return delay

    def succeeded(self) -> None:
        self.failures, self.until, self.error = 0, 0.0, None

    def ready(self, now: float) -> bool:
        return now >= self.until

    def describe(self, now: float) -> dict[str, Any]:
        if not self.failures:
            return {"ok": True}
        return {
            "ok": False,
            "failures": self.failures,
            "error": self.error,
            "retry_in_seconds": round(max(self.until - now, 0.0), 1),
        }


@dataclass
class CycleReport:
    notices: int = 0
    recorded: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    polled: list[str] = field(default_factory=list)
    reconciled: bool = False
    findings: int = 0
    posted: dict[str, int] = field(default_factory=dict)
    written_back: dict[str, int] = field(default_factory=dict)
    waiting_for_approval: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "notices": self.notices,
            "recorded": dict(self.recorded),
            "deleted": dict(self.deleted),
            "polled": self.polled,
            "reconciled": self.reconciled,
            "findings": self.findings,
            "posted": self.posted,
            "written_back": self.written_back,
            "waiting_for_approval": self.waiting_for_approval,
            "errors": self.errors,
        }

    @property
    def quiet(self) -> bool:
        return not (
            self.notices
            or sum(self.recorded.values())
            or self.polled
            or self.reconciled
            or self.errors
        )


class Agent:
    """One sync agent over one store and Sage company; ``run`` until ``stopping`` is set."""

    def __init__(
        self,
        ctx: Context,
        feeds: Sequence[SourceFeed],
        *,
        notices: ChangeNotices | None,
        writer: InvoiceStatusWriter | None,
        posting_turn: Callable[[], AbstractContextManager[object]],
        settings: SyncSettings = SyncSettings(),
        source_errors: tuple[type[Exception], ...] = (),
        sage_errors: tuple[type[Exception], ...] = (),
        overlap: int = 300,
        register: Callable[[], dict[str, Any]] | None = None,
        log: Log | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.ctx = ctx
        self.feeds = {feed.system: feed for feed in feeds}
        self.notices = notices
        self.writer = writer
        self.posting_turn = posting_turn
        self.settings = settings
        self.source_errors = source_errors
        self.sage_errors = sage_errors
        self.overlap = overlap
        self.register = register  # makes sure ServiceTrade's webhook points at the relay
        self.webhook: dict[str, Any] | None = None
        self.log: Log = log or (lambda event, **fields: None)
        self.clock = clock
        self.wall = wall
        self.rng = rng or random.Random()
        self.backoff = {
            name: Backoff(settings.backoff_start, settings.backoff_max)
            for name in (*self.feeds, SAGE)
        }
        self.next_poll = dict.fromkeys(self.feeds, 0.0)  # poll each source at once
        self.next_check = 0.0  # and look at Sage at once
        self.dirty = True  # something may differ from what Sage holds
        self.pending: dict[int, ChangeNotice] = {}  # taken, not yet recorded
        self.cycles = 0
        self.started = wall()
        self.kinds: dict[str, dict[str, Any]] = {}
        self.last_cycle: dict[str, Any] = {}
        self.waiting_for_lease: str | None = None

    # --- the loop ---------------------------------------------------------------------------

    def run(self, stopping: Event, *, once: bool = False) -> None:
        """Cycle until ``stopping`` is set (the posting in hand finishes first)."""
        self.log("started", sources=sorted(map(str, self.feeds)), relay=self.notices is not None)
        while not stopping.is_set():
            report = self.cycle(wait=0.0 if once else None)
            if once:
                break
            if report.errors and not report.notices:
                # Everything that could run ran; wait for the earliest retry, or a stop.
                stopping.wait(min(self._until_next(), self.settings.wait))
        self.note()
        self.log("stopped", cycles=self.cycles)

    def cycle(self, *, wait: float | None = None) -> CycleReport:
        """One cycle; waits up to ``wait`` seconds (default: until the next poll is due, at
        most ``settings.wait``) for the first notice."""
        report = CycleReport()
        if self.ctx.catch_up():  # another process recorded something: approvals, resolutions
            self.dirty = True
        self._register(report)
        self._take_notices(report, self.settings.wait if wait is None else wait)
        self._poll(report)
        self._post(report)
        self.cycles += 1
        self.last_cycle = {"at": utc_text(self.wall()), **report.to_json()}
        self.note()
        if not report.quiet:
            self.log("cycle", **report.to_json())
        return report

    def _until_next(self) -> float:
        now = self.clock()
        due = [self.next_check, *self.next_poll.values()]
        due += [b.until for b in self.backoff.values() if b.failures]
        return max(min(due) - now, 0.05)

    def _register(self, report: CycleReport) -> None:
        """Register the webhook once (tried each cycle until ServiceTrade answers)."""
        if self.register is None or self.webhook is not None:
            return
        system = next(iter(self.feeds))
        if not self.backoff[system].ready(self.clock()):
            return
        try:
            self.webhook = self.register()
        except self.source_errors as exc:
            self._failed(system, exc, report)

    # --- notices ------------------------------------------------------------------------------

    def _take_notices(self, report: CycleReport, wait: float) -> None:
        if self.notices is None:
            return
        timeout = max(min(wait, self._until_next()), 0.0)
        for notice in self.notices.take(timeout):
            self.pending.setdefault(notice.seq, notice)
        report.notices = len(self.pending)
        if self.notices.gaps():
            self.log("relay_gap", detail="notices older than the relay's backlog were lost")
            for system in self.next_poll:
                self.next_poll[system] = 0.0  # poll everything now: it covers the gap
        if not self.pending:
            return
        wanted: dict[tuple[str, str], list[str]] = defaultdict(list)
        ignored: list[int] = []
        for seq, notice in sorted(self.pending.items()):
            if notice.system in self.feeds and notice.kind in SOURCE_KINDS[notice.system]:
                wanted[(notice.system, notice.kind)].append(notice.source_id)
            else:
                ignored.append(seq)  # an entity type recon does not keep (appointment, ...)
        done = True
        now = self.clock()
        for (system, kind), ids in wanted.items():
            backoff = self.backoff[system]
            if not backoff.ready(now):
                done = False
                continue
            try:
                got = ingest_ids(self.ctx, self.feeds[system], kind, ids)
            except self.source_errors as exc:
                self._failed(system, exc, report)
                done = False
                continue
            backoff.succeeded()
            self._count(report, got, via="notice")
        if done:
            last = max(self.pending)
            self.notices.ack(last)
            self.pending.clear()
        else:
            # Acknowledge only what every earlier notice allows: the relay resends the rest.
            for seq in ignored:
                self.pending.pop(seq, None)

    # --- polling --------------------------------------------------------------------------------

    def _poll(self, report: CycleReport) -> None:
        now = self.clock()
        for system, feed in self.feeds.items():
            if now < self.next_poll[system] or not self.backoff[system].ready(now):
                continue
            try:
                got = ingest(self.ctx, feed, overlap=self.overlap)
            except self.source_errors as exc:
                self._failed(system, exc, report)
                continue
            self.backoff[system].succeeded()
            self.next_poll[system] = self.clock() + self.settings.poll_interval
            report.polled.append(system)
            at = utc_text(self.wall())
            for kind in SOURCE_KINDS[system]:
                self.kinds.setdefault(f"{system}/{kind}", {})["polled_at"] = at
            self._count(report, got, via="poll")

    def _count(self, report: CycleReport, got: IngestReport, *, via: str) -> None:
        at = utc_text(self.wall())
        for kind, n in got.appended.items():
            if n:
                report.recorded[kind] += n
                self.dirty = True
        for kind, n in got.deleted.items():
            if n:
                report.deleted[kind] += n
        for kind, n in got.fetched.items():
            if n:
                system = next(s for s in self.feeds if kind in SOURCE_KINDS[s])
                entry = self.kinds.setdefault(f"{system}/{kind}", {})
                entry[f"last_{via}_at"] = at

    # --- reconcile, post, write back --------------------------------------------------------

    def _post(self, report: CycleReport) -> None:
        now = self.clock()
        if now >= self.next_check:
            self.dirty = True
        if not self.dirty or not self.backoff[SAGE].ready(now):
            return
        try:
            with self.posting_turn():
                self.waiting_for_lease = None
                findings = reconcile(self.ctx)
                report.reconciled = True
                report.findings = len(findings)
                applied = post.apply(self.ctx, findings)
                report.posted = {
                    "confirmed": len(applied.confirmed),
                    "failed": len(applied.failed),
                    "waiting_for_sage": len(applied.waiting),
                }
                report.waiting_for_approval = len(applied.waiting_for_approval)
                if self.writer is not None and (applied.confirmed or report.recorded):
                    self._write_back(report)
        except Busy as exc:
            if self.waiting_for_lease != str(exc):
                self.log("lease_busy", holder=str(exc))
            self.waiting_for_lease = str(exc)
            return
        except self.sage_errors as exc:
            self._failed(SAGE, exc, report)
            return
        self.backoff[SAGE].succeeded()
        self.dirty = False
        self.next_check = self.clock() + self.settings.poll_interval

    def _write_back(self, report: CycleReport) -> None:
        assert self.writer is not None
        try:
            report.written_back = {k: v for k, v in write_back(self.ctx, self.writer).items() if v}
        except self.source_errors as exc:
            # The postings stand; ServiceTrade is told on a later cycle.
            self._failed(next(iter(self.feeds)), exc, report)

    # --- state --------------------------------------------------------------------------------

    def _failed(self, part: str, exc: Exception, report: CycleReport) -> None:
        message = f"{type(exc).__name__}: {exc}"
        delay = self.backoff[part].failed(self.clock(), message, self.rng)
        report.errors[part] = message
        self.log("unavailable", part=part, error=message, retry_in_seconds=round(delay, 1))

    def note(self) -> None:
        """Write the agent's state for ``recon status``."""
        now, wall = self.clock(), self.wall()
        states: dict[str, dict[str, Any]] = {
            AGENT: {
                "running": True,
                "started": utc_text(self.started),
                "updated": utc_text(wall),
                "cycles": self.cycles,
                "last_cycle": self.last_cycle,
                "poll_interval_seconds": self.settings.poll_interval,
                "health": {part: b.describe(now) for part, b in self.backoff.items()},
                "pending_notices": len(self.pending),
                "waiting_for_lease": self.waiting_for_lease,
                "postings_waiting_for_approval": len(self.ctx.read_model.postings([PROPOSED])),
            },
            **{f"kind:{name}": state for name, state in self.kinds.items()},
        }
        if self.notices is not None:
            states[RELAY] = self.notices.describe()
        if self.webhook is not None:
            states[WEBHOOK] = self.webhook
        self.ctx.read_model.note_sync(states)

    def stopped(self) -> None:
        """Say in the read model that the agent is no longer running."""
        state = self.ctx.read_model.sync_state().get(AGENT, {})
        self.ctx.read_model.note_sync(
            {AGENT: {**state, "running": False, "stopped": utc_text(self.wall())}}
        )


def register_webhook(
    registry: WebhookRegistry, hook_url: str, kinds: Sequence[str], previous: dict[str, Any] | None
) -> tuple[dict[str, Any], str]:
    """Make sure ServiceTrade sends ``kinds``' changes to ``hook_url``: keep a registration
    that already points there, else create one. The one this agent made before for another
    URL (an embedded relay's port changes between runs) is removed, so ServiceTrade stops
    posting to nowhere. Returns the registration and what was done."""
    hooks = registry.webhooks()
    for hook in hooks:
        if hook.get("hookUrl") == hook_url and hook.get("enabled", True):
            return hook, "kept"
    old = previous or {}
    stale = old.get("id") is not None and old.get("hookUrl") != hook_url
    if stale and any(str(h.get("id")) == str(old["id"]) for h in hooks):
        registry.delete_webhook(str(old["id"]))
    return registry.create_webhook(hook_url, kinds), "created"
