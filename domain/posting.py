"""Corrective postings and people's resolutions of findings, as aggregates of their own."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from domain.documents import DAILY_PAYROLL, MASTER_MODULES, Document, ref_order
from domain.reconcile import AMOUNT_DIFFERS, DUPLICATE, FIELD_DIFFERS, MISSING, Finding
from domain.records import RECORD_NAMESPACE


class Action(StrEnum):
    """What a posting does to Sage."""

    CREATE = "create"  # write a new document (or the master row)
    REPLACE = "replace"  # void the posted document and re-enter it (Sage's correction rule)
    UPDATE = "update"  # edit a master record (clients, jobs) in place
    VOID = "void"  # void documents (duplicates, expected voids, a person's --void)


class PostingState(StrEnum):
    """Where a posting stands: proposed → approved → submitted → confirmed | failed, or
    rejected by a person, or withdrawn by recon before anything was written."""

    PROPOSED = "proposed"  # waits for the policy or a person to approve it
    APPROVED = "approved"  # by the policy or a person: the next posting run writes it
    SUBMITTED = "submitted"  # written into Sage, or into an import batch
    CONFIRMED = "confirmed"  # a read of Sage shows it
    FAILED = "failed"  # Sage refused it, or recon would not write it (the note says why)
    REJECTED = "rejected"  # a person decided it must not be written
    WITHDRAWN = "withdrawn"  # no longer wanted before it was written (superseded, or moot)


class Decision(StrEnum):
    """A person's decision about a document in Sage recon did not expect."""

    ACCEPT = "accept"  # keep it; stop reporting it
    VOID = "void"  # have recon post its void


CREATE, REPLACE, UPDATE, VOID = Action
PROPOSED, APPROVED, SUBMITTED, CONFIRMED, FAILED, REJECTED, WITHDRAWN = PostingState
STATES = tuple(PostingState)
#: Postings not yet settled: a run carries them on, and a key with one gets no second.
OPEN_STATES = (PROPOSED, APPROVED, SUBMITTED)
ACCEPT = Decision.ACCEPT


class PostingError(Exception):
    """A posting was asked to do something its state does not allow."""

    def __init__(self, posting_id: UUID, message: str) -> None:
        super().__init__(f"posting {posting_id}: {message}")
        self.posting_id = posting_id


class TransitionError(PostingError):
    """A command the posting's state does not allow (approve a confirmed posting, ...)."""

    def __init__(self, posting_id: UUID, command: str, state: str) -> None:
        super().__init__(posting_id, f"cannot {command} a posting that is {state}")
        self.command = command
        self.state = state


class DecisionError(PostingError):
    """A decision without who or why: every decision is recorded with both."""


@dataclass(frozen=True, slots=True)
class Correction:
    """What to post to Sage to settle one finding."""

    module: str
    key: str
    action: str
    document: Document | None
    sage_refs: tuple[int | str, ...]
    reason: str


def correction_for(finding: Finding, expected: Document | None) -> Correction | None:
    """The correction for a finding, or None when only a person may settle it.

    Posted documents are never edited in place: a differing invoice, journal transaction or
    job cost row is voided and re-entered; master records (clients, jobs, vendors) and daily
    payroll lines (unposted entries) are updated. Duplicates keep the oldest document carrying
    the key and void the rest. A document recon did not expect is left for ``recon resolve``.
    """
    reason = f"{finding.kind} {finding.key}"
    is_document = finding.module not in (*MASTER_MODULES, DAILY_PAYROLL)
    if finding.kind == MISSING and expected is not None:
        return Correction(finding.module, finding.key, CREATE, expected, (), reason)
    if finding.kind == DUPLICATE:
        extra = tuple(sorted(finding.sage_refs, key=ref_order)[1:])
        return Correction(finding.module, finding.key, VOID, None, extra, reason)
    if finding.kind in (AMOUNT_DIFFERS, FIELD_DIFFERS) and expected is not None:
        if expected.is_void:
            return Correction(finding.module, finding.key, VOID, None, finding.sage_refs, reason)
        action = REPLACE if is_document else UPDATE
        return Correction(finding.module, finding.key, action, expected, finding.sage_refs, reason)
    return None


def void_correction(finding: Finding, who: str, why: str) -> Correction:
    return Correction(
        finding.module, finding.key, VOID, None, finding.sage_refs, f"resolved by {who}: {why}"
    )


class Posting(Aggregate):
    """One corrective posting: proposed, approved (by the policy or by a person), submitted to
    a sink, then confirmed or failed; or rejected by a person, or withdrawn by recon.

    Every decision records who and why; when is the event's timestamp."""

    @staticmethod
    def create_id() -> UUID:
        return uuid4()

    @event("Proposed")
    def __init__(
        self,
        module: str,
        key: str,
        action: str,
        document: dict[str, Any] | None,
        sage_refs: list[int | str],
        reason: str,
    ) -> None:
        self.module = module
        self.key = key
        self.action = action
        self.document = document
        self.sage_refs = sage_refs
        self.reason = reason
        self.state = PROPOSED
        self.sink = ""
        self.written: list[int | str] = []
        self.note = ""
        self.reasons: list[str] = []  # why it waits for a person, once the policy has said
        self.referred = False
        self.decided_by = ""
        self.decided_why = ""

    @classmethod
    def propose(cls, correction: Correction) -> Posting:
        return cls(
            module=correction.module,
            key=correction.key,
            action=correction.action,
            document=None if correction.document is None else correction.document.to_json(),
            sage_refs=list(correction.sage_refs),
            reason=correction.reason,
        )

    def _require(self, command: str, *states: PostingState) -> None:
        if self.state not in states:
            raise TransitionError(self.id, command, self.state)

    def _decision(self, by: str, why: str) -> None:
        if not by.strip() or not why.strip():
            raise DecisionError(self.id, "a decision needs who (by) and why")

    @property
    def waiting(self) -> bool:
        """Whether it waits for a person: proposed, and the policy referred it to one."""
        return self.state == PROPOSED and self.referred

    def refer(self, reasons: list[str], amount: str | None, period: str | None) -> None:
        """The policy says a person must decide, and why (with the amount and period it
        judged); recorded again only when the reasons change."""
        self._require("refer", PROPOSED)
        if not reasons:
            raise PostingError(self.id, "a posting is referred to a person with the reasons")
        if self.referred and reasons == self.reasons:
            return
        self._referred(reasons=reasons, amount=amount, period=period)

    @event("Referred")
    def _referred(self, reasons: list[str], amount: str | None, period: str | None) -> None:
        self.reasons = reasons
        self.referred = True

    def approve(self, by: str, why: str, *, automatic: bool = False) -> None:
        """Let the posting be written: by the policy (``automatic``) or by a person."""
        self._require("approve", PROPOSED)
        self._decision(by, why)
        self._approved(by=by, why=why, automatic=automatic)

    @event("Approved")
    def _approved(self, by: str, why: str, automatic: bool) -> None:
        self.state = APPROVED
        self.decided_by = by
        self.decided_why = why

    def reject(self, by: str, why: str) -> None:
        """A person decides the posting must not be written."""
        self._require("reject", PROPOSED, APPROVED)
        self._decision(by, why)
        self._rejected(by=by, why=why)

    @event("Rejected")
    def _rejected(self, by: str, why: str) -> None:
        self.state = REJECTED
        self.decided_by = by
        self.decided_why = why

    def withdraw(self, why: str) -> None:
        """Recon drops a posting nothing was written for: a newer correction supersedes it,
        or Sage no longer needs it."""
        self._require("withdraw", PROPOSED, APPROVED)
        self._withdrawn(why=why)

    @event("Withdrawn")
    def _withdrawn(self, why: str) -> None:
        self.state = WITHDRAWN
        self.note = why

    def submit(self, sink: str, written: list[int | str], note: str = "") -> None:
        self._require("submit", APPROVED)
        self._submitted(sink=sink, written=written, note=note)

    @event("Submitted")
    def _submitted(self, sink: str, written: list[int | str], note: str) -> None:
        self.state = SUBMITTED
        self.sink = sink
        self.written = written
        self.note = note

    def confirm(self) -> None:
        self._require("confirm", SUBMITTED)
        self._confirmed()

    @event("Confirmed")
    def _confirmed(self) -> None:
        self.state = CONFIRMED

    def fail(self, reason: str) -> None:
        self._require("fail", APPROVED, SUBMITTED)
        self._failed(reason=reason)

    @event("Failed")
    def _failed(self, reason: str) -> None:
        self.state = FAILED
        self.note = reason


def resolution_id(key: str) -> UUID:
    return uuid5(RECORD_NAMESPACE, f"resolution:{key}")


class Resolution(Aggregate):
    """A person's decision about a document in Sage that recon did not expect."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return resolution_id(key)

    @event("Opened")
    def __init__(self, key: str, module: str) -> None:
        self.key = key
        self.module = module
        self.decision = ""
        self.by = ""
        self.why = ""

    @event("Accepted")
    def accept(self, by: str, why: str) -> None:
        """Keep the document in Sage and stop reporting it."""
        self.decision = ACCEPT
        self.by = by
        self.why = why

    @event("VoidRequested")
    def request_void(self, by: str, why: str) -> None:
        """Have recon post the void of the document."""
        self.decision = VOID
        self.by = by
        self.why = why
