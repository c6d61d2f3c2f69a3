"""Post: take corrections to Sage through the posting sink, each one exactly once.

Every posting is an aggregate: proposed, then submitted (written into Sage, or into an import
batch), then confirmed once a read of Sage shows it, or failed with the reason. A posting a
crash left open is carried on by the next run, which reads Sage before writing anything: a
crash between "written" and "recorded as submitted" never writes twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from application.context import Context
from domain.documents import Document
from domain.posting import (
    CREATE,
    REPLACE,
    SUBMITTED,
    VOID,
    Correction,
    Posting,
    PostingError,
    correction_for,
)
from domain.reconcile import UNEXPECTED, Finding, diff

#: Where a posting run calls the context's fault hook (crash tests kill the process there).
FAULT_STEPS = ("after_proposed", "before_write", "after_write", "after_submitted")


@dataclass
class PostReport:
    confirmed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    left_for_people: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # in a batch Sage has not imported yet

    def to_json(self) -> dict[str, Any]:
        return {
            "confirmed": self.confirmed,
            "failed": self.failed,
            "left_for_people": self.left_for_people,
            "waiting_for_sage": self.waiting,
        }


def apply(ctx: Context, findings: Iterable[Finding]) -> PostReport:
    """Post the corrections for findings, after carrying on any a previous run left open.

    A finding whose key already has an open posting gets no second one: with the files
    sink that posting waits in a batch for Sage to import it, and writing it again would
    import it twice.
    """
    run = _Run(ctx)
    open_rows = ctx.read_model.open_postings()
    busy = {(row["module"], row["key"]) for row in open_rows}
    for row in open_rows:
        entry = ctx.store.get(UUID(row["id"]))
        if not isinstance(entry, Posting):
            raise PostingError(UUID(row["id"]), "the read model names a posting the store lacks")
        run.carry(entry)
    corrections = []
    for finding in findings:
        if (finding.module, finding.key) in busy:
            continue
        # One posting per key and run: a key's findings (a new total is both amount_differs
        # and field_differs) share one correction, and a batch must not carry it twice.
        busy.add((finding.module, finding.key))
        expected = ctx.read_model.expected_for(finding.module, finding.key)
        correction = correction_for(finding, expected)
        if correction is None:
            run.report.left_for_people.append(finding.key)
        else:
            corrections.append(correction)
    return run.post(corrections)


def post(ctx: Context, corrections: Iterable[Correction]) -> PostReport:
    """Propose and post corrections (a person's void, for one)."""
    return _Run(ctx).post(corrections)


class _Run:
    """One posting run: postings are carried as far as they go, staged, then flushed once."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.sink = ctx.posting_sink()
        self.reader = ctx.sage()
        self.report = PostReport()
        self.staged: dict[str, Posting] = {}

    def post(self, corrections: Iterable[Correction]) -> PostReport:
        for correction in corrections:
            entry = Posting.propose(correction)
            self.ctx.store.save(entry)
            self.ctx.fault("after_proposed")
            self.carry(entry)
        self.flush()
        self.ctx.catch_up()
        return self.report

    def carry(self, entry: Posting) -> None:
        """Take a posting as far as it goes before the flush: a submitted one is confirmed
        when Sage shows it; a proposed one is staged unless a batch already carries it (the
        sink asks whether Sage still lacks it just before writing it)."""
        label = _label(entry)
        if entry.state == SUBMITTED:
            if not self.needed(entry):
                entry.confirm()
                self.report.confirmed.append(label)
            elif self.sink.written(str(entry.id)) is not None:
                self.report.waiting.append(label)  # in a batch Sage has not imported yet
                return
            else:
                entry.fail("Sage does not show the submitted correction")
                self.report.failed.append(label)
            self.ctx.store.save(entry)
            return
        batch = self.sink.written(str(entry.id))
        if batch is not None:  # written before a crash, not yet recorded as submitted
            entry.submit(self.sink.name, [], f"in batch {batch}")
            self.ctx.store.save(entry)
            self.report.waiting.append(label)
            return
        action, refs = self.target(entry)
        document = None if entry.document is None else Document.from_json(entry.document)
        try:
            self.sink.stage(str(entry.id), action, entry.module, document, refs, key=entry.key)
        except ValueError as exc:  # a correction Sage would refuse: nothing was written
            entry.fail(f"{type(exc).__name__}: {exc}")
            self.ctx.store.save(entry)
            self.report.failed.append(label)
            return
        self.staged[str(entry.id)] = entry

    def flush(self) -> None:
        """Write what was staged, then record each posting as submitted and, when it is in
        Sage now, confirmed once a read shows it."""
        if not self.staged:
            return
        self.ctx.fault("before_write")
        staged, self.staged = self.staged, {}
        for written in self.sink.flush(lambda posting_id: self.needed(staged[posting_id])):
            entry = staged[written.posting_id]
            label = _label(entry)
            if written.skipped:  # written before a crash, or by an earlier posting of this flush
                entry.submit(self.sink.name, [], "Sage already shows it; nothing written")
                entry.confirm()
                self.ctx.store.save(entry)
                self.report.confirmed.append(label)
                continue
            if written.error is not None:
                entry.fail(written.error)
                self.ctx.store.save(entry)
                self.report.failed.append(label)
                continue
            self.ctx.fault("after_write")
            note = "" if written.batch is None else f"in batch {written.batch}"
            entry.submit(self.sink.name, list(written.refs), note)
            self.ctx.store.save(entry)
            self.ctx.fault("after_submitted")
            if written.batch is not None:
                self.report.waiting.append(label)
                continue
            if self.needed(entry):
                entry.fail("Sage still differs after the write")
                self.report.failed.append(label)
            else:
                entry.confirm()
                self.report.confirmed.append(label)
            self.ctx.store.save(entry)

    def needed(self, entry: Posting) -> bool:
        """Whether Sage, read now, still lacks what the posting is for."""
        held = self.reader.read_key(entry.module, entry.key)
        active = [d for d in held if not d.is_void]
        if entry.action == VOID:
            return any(d.sage_ref in entry.sage_refs for d in active)
        if entry.document is None:
            raise PostingError(entry.id, f"a {entry.action} posting carries no document")
        want = Document.from_json(entry.document)
        if len(active) > 1:
            return False  # a duplicate is settled by its own finding, never by writing more
        return any(f.kind != UNEXPECTED for f in diff(entry.module, [want], held))

    def target(self, entry: Posting) -> tuple[str, list[int | str]]:
        """The action to write and the Sage records it acts on, read now: a replacement of a
        document that is no longer there is a plain create."""
        if entry.action == VOID:
            return VOID, list(entry.sage_refs)
        if entry.action == REPLACE:
            held = self.reader.read_key(entry.module, entry.key)
            active = [d for d in held if not d.is_void]
            if len(active) == 1 and active[0].sage_ref is not None:
                return REPLACE, [active[0].sage_ref]
            return CREATE, []
        return entry.action, []


def _label(entry: Posting) -> str:
    return f"{entry.module} {entry.key} ({entry.action})"
