"""Post: take corrections to Sage through the posting sink, each one exactly once, and only
once the policy or a person has approved it.

Every posting is an aggregate: proposed, then approved (by the policy, or by a person with
``recon approve``) or left waiting with the policy's reasons, then submitted (written into
Sage, or into an import batch), then confirmed once a read of Sage shows it, or failed with
the reason. A posting a crash left open is carried on by the next run, which reads Sage before
writing anything: a crash between "written" and "recorded as submitted" never writes twice.
Nothing is ever written into a locked period, whoever approved it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from application.context import Context
from domain.documents import Document
from domain.keys import adjusted_key
from domain.money import ZERO, to_str
from domain.policy import (
    POLICY,
    SageFacts,
    Subject,
    adjustment_for,
    reasons_to_wait,
    why_unwritable,
)
from domain.posting import (
    APPROVED,
    CREATE,
    PROPOSED,
    REPLACE,
    SUBMITTED,
    UPDATE,
    VOID,
    Correction,
    Posting,
    PostingError,
    correction_for,
)
from domain.reconcile import UNEXPECTED, Finding, diff

#: Where a posting run calls the context's fault hook (crash tests kill the process there).
FAULT_STEPS = ("after_proposed", "before_write", "after_write", "after_submitted")

#: Why the policy's own approvals were given (the event records "policy" as who).
UNATTENDED = "nothing for a person to decide under the policy"
SUPERSEDED = "superseded: what Sage should hold changed before it was written"
MOOT = "Sage already shows it; nothing to write"


@dataclass
class PostReport:
    confirmed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    left_for_people: list[str] = field(default_factory=list)
    #: Why a key is left for a person, where recon can say more than "nothing to post".
    why_left: dict[str, str] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)  # in a batch Sage has not imported yet
    waiting_for_approval: list[str] = field(default_factory=list)  # `recon approve` them
    rejected: list[str] = field(default_factory=list)  # a person rejected this correction
    withdrawn: list[str] = field(default_factory=list)  # dropped before anything was written

    def to_json(self) -> dict[str, Any]:
        return {
            "confirmed": self.confirmed,
            "failed": self.failed,
            "left_for_people": self.left_for_people,
            "why_left": self.why_left,
            "waiting_for_sage": self.waiting,
            "waiting_for_approval": self.waiting_for_approval,
            "rejected": self.rejected,
            "withdrawn": self.withdrawn,
        }


def apply(ctx: Context, findings: Iterable[Finding]) -> PostReport:
    """Post the corrections for findings, after carrying on the postings left open (approved
    by a person since the last run, waiting for one, or left by a batch or a crash).

    A finding whose key already has an open posting gets no second one: with the files sink
    that posting waits in a batch for Sage to import it, and writing it again would import it
    twice. An open posting not yet written whose correction changed is withdrawn, and the new
    correction proposed. A correction a person rejected is not proposed again.
    """
    run = _Run(ctx)
    corrections: dict[tuple[str, str], Correction | None] = {}
    for finding in findings:
        # One posting per key and run: a key's findings (a new total is both amount_differs
        # and field_differs) share one correction, and a batch must not carry it twice.
        where = (finding.module, finding.key)
        if where not in corrections:
            corrections[where] = run.settle(
                correction_for(finding, ctx.read_model.expected_for(finding.module, finding.key))
            )
    busy: set[tuple[str, str]] = set()
    for row in ctx.read_model.open_postings():
        entry = run.load(row["id"])
        where = (entry.module, entry.key)
        correction = corrections.get(where)
        if correction is not None and run.superseded(entry, correction):
            entry.withdraw(SUPERSEDED)
            ctx.store.save(entry)
            run.report.withdrawn.append(_label(entry))
            continue
        busy.add(where)
        run.carry(entry)
    rejected = ctx.read_model.rejected_corrections()
    todo = []
    for (module, key), correction in corrections.items():
        if (module, key) in busy:
            continue
        if correction is None:
            if key not in run.report.left_for_people:
                run.report.left_for_people.append(key)
        elif signature(correction) in rejected:
            run.report.rejected.append(_label(correction))
        else:
            todo.append(correction)
    return run.post(todo)


def post(
    ctx: Context, corrections: Iterable[Correction], approved_by: tuple[str, str] | None = None
) -> PostReport:
    """Propose and post corrections; ``approved_by`` (who, why) when a person asked for them
    (``recon resolve --void``), else the policy decides."""
    return _Run(ctx).post(corrections, approved_by)


def signature(correction: Correction) -> tuple[str, str, str, str | None, str]:
    """What makes two corrections the same: module, key, action, document and Sage records
    (the form ``ReadModel.rejected_corrections`` returns)."""
    digest = None if correction.document is None else correction.document.digest()
    refs = orjson.dumps(list(correction.sage_refs)).decode()
    return (correction.module, correction.key, str(correction.action), digest, refs)


class _Run:
    """One posting run: postings are carried as far as they go, staged, then flushed once."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.sink = ctx.posting_sink()
        self.reader = ctx.sage()
        self.report = PostReport()
        self.staged: dict[str, Posting] = {}

    def load(self, posting_id: str) -> Posting:
        entry = self.ctx.store.get(UUID(posting_id))
        if not isinstance(entry, Posting):
            raise PostingError(UUID(posting_id), "the read model names a posting the store lacks")
        return entry

    def post(
        self, corrections: Iterable[Correction], approved_by: tuple[str, str] | None = None
    ) -> PostReport:
        for correction in corrections:
            entry = Posting.propose(correction)
            if approved_by is not None:
                entry.approve(*approved_by)
            held = self.reader.read_key(entry.module, entry.key)
            subject, facts = self.examine(entry, held)
            if entry.state == PROPOSED:
                self.judge(entry, subject, facts, held)
            self.ctx.store.save(entry)  # the proposal with the policy's word on it, at once
            self.ctx.fault("after_proposed")
            if entry.state == APPROVED:
                self.stage(entry, subject, facts, held)
        self.flush()
        self.ctx.catch_up()
        return self.report

    def settle(self, correction: Correction | None) -> Correction | None:
        """The correction as Sage may take it: a replacement of an invoice Sage may not void
        (paid, in a locked period, adjusted before) becomes an adjusting document in the
        current period; None when only a person can settle it (the reason is reported)."""
        if correction is None or correction.action != REPLACE:
            return correction
        held = self.reader.read_key(correction.module, correction.key)
        try:
            settled = adjustment_for(correction, held, self.ctx.periods, self.ctx.mapping)
        except ValueError as exc:  # an adjustment the mapping or Sage's rows cannot make
            settled = f"{type(exc).__name__}: {exc}"
        if isinstance(settled, str):
            self.report.left_for_people.append(correction.key)
            self.report.why_left[correction.key] = settled
            return None
        return settled

    def superseded(self, entry: Posting, correction: Correction) -> bool:
        """Whether an open posting nothing was written for asks for other than the correction
        the findings ask for now (what Sage should hold changed while it waited)."""
        if entry.state not in (PROPOSED, APPROVED):
            return False
        document = None if entry.document is None else Document.from_json(entry.document)
        mine = Correction(
            entry.module,
            entry.key,
            entry.action,
            document,
            tuple(entry.sage_refs),
            entry.reason,
        )
        if signature(mine) == signature(correction):
            return False
        # Written before a crash, not yet recorded: it is carried on and confirmed instead.
        return self.sink.written(str(entry.id)) is None and self.needed(entry)

    def carry(self, entry: Posting) -> None:
        """Take a posting as far as it goes before the flush: a submitted one is confirmed
        when Sage shows it; a proposed one is approved by the policy or left waiting for a
        person; an approved one is staged unless a batch already carries it or its period
        is locked (the sink asks whether Sage still lacks it just before writing it)."""
        label = _label(entry)
        if entry.state == SUBMITTED:
            if not self.needed(entry):
                entry.confirm()
                self.report.confirmed.append(label)
                self.ctx.store.save(entry)
                return
            imported = self.sink.imported(str(entry.id))
            if imported is None and self.sink.written(str(entry.id)) is not None:
                self.report.waiting.append(label)  # in a batch Sage has not imported yet
                return
            if imported is not None and imported.error is not None:
                entry.fail(f"Sage's import of {imported.batch} refused it: {imported.error}")
            elif imported is not None:
                entry.fail(
                    f"Sage does not show the submitted correction (imported in {imported.batch})"
                )
            else:
                entry.fail("Sage does not show the submitted correction")
            self.report.failed.append(label)
            self.ctx.store.save(entry)
            return
        batch = self.sink.written(str(entry.id))
        if batch is not None:  # written before a crash, not yet recorded as submitted
            if entry.state == PROPOSED:  # by a version of recon that asked nobody
                entry.approve("recon", "written before recon asked for approvals", automatic=True)
            entry.submit(self.sink.name, [], f"in batch {batch}")
            self.ctx.store.save(entry)
            self.report.waiting.append(label)
            return
        held = self.reader.read_key(entry.module, entry.key)
        subject, facts = self.examine(entry, held)
        if entry.state == PROPOSED:
            self.judge(entry, subject, facts, held)
            if entry.pending_events:  # still waiting for the same reasons records nothing
                self.ctx.store.save(entry)
        if entry.state == APPROVED:
            self.stage(entry, subject, facts, held)

    def judge(
        self, entry: Posting, subject: Subject, facts: SageFacts, held: list[Document]
    ) -> None:
        """The policy's word on a proposed posting: approved, or referred to a person with
        the reasons (withdrawn instead when Sage no longer needs it). Recorded by the caller."""
        reasons = reasons_to_wait(subject, facts, self.ctx.periods, self.ctx.policy)
        if not reasons:
            entry.approve(POLICY, UNATTENDED, automatic=True)
        elif not self.needed(entry, held):
            entry.withdraw(MOOT)
            self.report.withdrawn.append(_label(entry))
        else:
            amount = None if subject.amount is None else to_str(subject.amount)
            entry.refer(list(reasons), amount, subject.period)
            self.report.waiting_for_approval.append(_label(entry))

    def stage(
        self, entry: Posting, subject: Subject, facts: SageFacts, held: list[Document]
    ) -> None:
        """Stage an approved posting for the flush, unless it must never be written as it is
        (a locked period, a paid document to void): then it fails with the reason."""
        label = _label(entry)
        refusal = why_unwritable(subject, facts, self.ctx.periods)
        if refusal is not None:
            entry.fail(refusal)
            self.ctx.store.save(entry)
            self.report.failed.append(label)
            return
        action, refs = self.target(entry, held)
        document = None if entry.document is None else Document.from_json(entry.document)
        try:
            self.sink.stage(str(entry.id), action, entry.module, document, refs, key=entry.key)
        except ValueError as exc:  # a correction Sage would refuse: nothing was written
            entry.fail(f"{type(exc).__name__}: {exc}")
            self.ctx.store.save(entry)
            self.report.failed.append(label)
            return
        self.staged[str(entry.id)] = entry

    def examine(self, entry: Posting, held: list[Document]) -> tuple[Subject, SageFacts]:
        """What the policy judges of a posting, from Sage as read now: the amount it writes
        (or voids), the earliest period it writes into, and what is known of the documents
        it touches."""
        document = None if entry.document is None else Document.from_json(entry.document)
        active = [d for d in held if not d.is_void and d.key == entry.key]
        if document is not None and _adjusts(entry, document):
            # It writes into the open period only; what it adjusts is judged for the policy.
            subject = Subject(
                CREATE,
                entry.module,
                document.amount,
                document.period,
                adjusting=True,
                adjusted_period=min((d.period for d in active if d.period), default=None),
            )
            return subject, SageFacts(paid=paid_on(active), edited=self.edited(entry, held))
        if entry.action == VOID:
            touched = [d for d in held if not d.is_void and d.sage_ref in entry.sage_refs]
        elif entry.action in (REPLACE, UPDATE):
            touched = active
        else:
            touched = []
        amounts = [d.amount for d in touched if d.amount is not None]
        amount: Decimal | None
        if document is not None:
            amount = document.amount
        else:
            amount = sum(amounts, ZERO) if amounts else None
        periods = [d.period for d in [*touched, *([document] if document else [])] if d.period]
        subject = Subject(entry.action, entry.module, amount, min(periods) if periods else None)
        return subject, SageFacts(paid=paid_on(touched), edited=self.edited(entry, held))

    def edited(self, entry: Posting, held: list[Document]) -> bool | None:
        """Whether someone changed what Sage holds under the key since recon last wrote it:
        for a create, a document under the key was voided (or what recon re-entered was
        deleted); for a replacement or an update, the document differs from the one recon
        last wrote. None when recon never wrote it (it cannot tell)."""
        if entry.action == CREATE:
            key = entry.key
            if entry.document is not None:  # an adjusting document's own key
                key = str(entry.document.get("key", key))
            return any(d.is_void for d in held if d.key == key)
        if entry.action not in (REPLACE, UPDATE):
            return False
        active = [d for d in held if not d.is_void and d.key == entry.key]
        if not active:
            return False  # nothing left to edit: the replacement enters a new document
        written = self.ctx.read_model.last_written(entry.module, entry.key)
        if written is None:
            return None
        return any(d.digest() != written for d in active)

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

    def needed(self, entry: Posting, held: list[Document] | None = None) -> bool:
        """Whether Sage, read now (or as ``held`` was just read), still lacks what the
        posting is for."""
        if held is None:
            held = self.reader.read_key(entry.module, entry.key)
        active = [d for d in held if not d.is_void]
        if entry.action == VOID:
            return any(d.sage_ref in entry.sage_refs for d in active)
        if entry.document is None:
            raise PostingError(entry.id, f"a {entry.action} posting carries no document")
        want = Document.from_json(entry.document)
        if want.key != entry.key:  # an adjusting document: whether Sage holds it
            held = [d for d in held if d.key == want.key]
        if len([d for d in active if d.key == want.key]) > 1:
            return False  # a duplicate is settled by its own finding, never by writing more
        found = diff(entry.module, [want], held, adopted=self.reader.adopted(entry.module))
        return any(f.kind != UNEXPECTED for f in found)

    def target(self, entry: Posting, held: list[Document]) -> tuple[str, list[int | str]]:
        """The action to write and the Sage records it acts on, as just read: a replacement
        of a document that is no longer there is a plain create."""
        if entry.action == VOID:
            return VOID, list(entry.sage_refs)
        if entry.action == REPLACE:
            active = [d for d in held if not d.is_void and d.key == entry.key]
            if len(active) == 1 and active[0].sage_ref is not None:
                return REPLACE, [active[0].sage_ref]
            return CREATE, []
        return entry.action, []


def paid_on(documents: list[Document]) -> Decimal:
    """What is paid on the documents a posting voids or replaces, as Sage holds it.

    The reader reads it from Sage's own column (``acrinv``/``acpinv.ttlpad``: payments,
    discounts and credits applied); the policy holds such postings for a person and refuses
    to void them.
    """
    return sum((abs(d.paid) for d in documents if d.paid is not None), ZERO)


def _adjusts(entry: Posting, document: Document) -> bool:
    """Whether a posting enters an adjusting document of the document under its key."""
    return entry.action == CREATE and adjusted_key(document.key) == entry.key


def _label(entry: Posting | Correction) -> str:
    return f"{entry.module} {entry.key} ({entry.action})"
