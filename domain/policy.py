"""What may post to Sage without a person, and what must never be written as it is."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from domain.builders import adjusting_document
from domain.documents import AMOUNT_COLUMN, DAILY_PAYROLL, HEADER_TABLE, Document
from domain.keys import adjusted_key, next_adjustment_key
from domain.mapping import Mapping
from domain.money import ZERO, to_str
from domain.posting import CREATE, REPLACE, UPDATE, VOID, Action, Correction
from domain.reconcile import ADJUSTABLE, differing_fields, folded

#: A posting period as recon writes it: Sage's posting year and period, ``YYYY-MM`` (with a
#: fiscal year that starts in January, the period is the calendar month).
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

#: The header table of the modules that take adjusting documents.
HEADER_OF = {module: HEADER_TABLE[module] for module in ADJUSTABLE}

#: Who approves what the policy lets post unattended.
POLICY = "policy"

# Why a posting waits for a person. Stable texts: `recon postings --json` lists them.
PERIOD_LOCKED = "period locked"
PAID = "paid in Sage"
EDITED = "edited in Sage"
MAYBE_EDITED = "not known whether edited in Sage"
OVER_THRESHOLD = "over the amount threshold"
ADJUSTS_PAID = "adjusts a paid document"
ADJUSTS_LOCKED = "adjusts a locked period"
ADJUSTS = "adjusts a posted document"


def needs_person(action: str) -> str:
    """The reason for an action the policy does not let post unattended."""
    return f"{action} needs a person"


class PeriodError(ValueError):
    """A period that is not ``YYYY-MM``, or locks that do not fit the current period."""


class PolicyError(ValueError):
    """A policy naming an action recon does not know, or a negative threshold."""


def check_period(text: str) -> str:
    if not PERIOD.match(text):
        raise PeriodError(f"{text!r}: expected a period YYYY-MM, e.g. 2026-10")
    return text


@dataclass(frozen=True, slots=True)
class Periods:
    """Sage's current period and its locks: every period up to ``locked_through`` is locked.

    Both are ``YYYY-MM`` or None (not known: nothing is taken as locked).
    """

    current: str | None = None
    locked_through: str | None = None

    def __post_init__(self) -> None:
        for text in (self.current, self.locked_through):
            if text is not None:
                check_period(text)
        if (
            self.current is not None
            and self.locked_through is not None
            and self.locked_through >= self.current
        ):
            raise PeriodError(
                f"locked through {self.locked_through}: expected a period before the current "
                f"period {self.current} (Sage never locks the current period)"
            )

    def is_locked(self, period: str | None) -> bool:
        """Whether a period is locked; a document with no period (a master record) never is."""
        locked = self.locked_through
        return period is not None and locked is not None and period <= locked


#: Nothing known of Sage's periods: nothing is taken as locked.
NO_PERIODS = Periods()


@dataclass(frozen=True, slots=True)
class Policy:
    """What posts without a person: the actions in ``unattended`` (default: create only), up
    to ``max_amount`` (None: no threshold). Whatever the policy, a posting touching a paid,
    edited or locked document waits."""

    unattended: frozenset[str] = field(default_factory=lambda: frozenset({str(CREATE)}))
    max_amount: Decimal | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.unattended) - set(Action))
        if unknown:
            raise PolicyError(f"{unknown}: expected actions among {', '.join(Action)}")
        if self.max_amount is not None and self.max_amount < ZERO:
            raise PolicyError(f"max_amount {self.max_amount}: expected 0 or more")


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Subject:
    """What the policy judges of a posting: its action, module, amount (what it writes, or
    what it voids; None for master records) and the earliest period it writes into (the new
    document's, and that of any document it voids)."""

    action: str
    module: str
    amount: Decimal | None = None
    period: str | None = None
    #: For an adjusting document (a create that settles a document Sage may not void): the
    #: period of the document it adjusts.
    adjusting: bool = False
    adjusted_period: str | None = None


@dataclass(frozen=True, slots=True)
class SageFacts:
    """What Sage holds under the posting's key, as far as recon knows it.

    ``paid``: paid or credited on the document(s) the posting voids or replaces (Sage's
    ``amtpad``); ZERO until the reader reads payments. ``edited``: whether someone changed the
    document in Sage since recon last wrote it (for a create: voided it); None when recon
    cannot tell (it never wrote the document).
    """

    paid: Decimal = ZERO
    edited: bool | None = False


#: Nothing paid, nothing edited: what recon assumes where it reads nothing.
NOTHING_KNOWN = SageFacts()


def reasons_to_wait(
    posting: Subject,
    sage: SageFacts = NOTHING_KNOWN,
    periods: Periods = NO_PERIODS,
    policy: Policy = DEFAULT_POLICY,
) -> tuple[str, ...]:
    """Why a posting needs a person before it is written; empty when it may post unattended.

    By default only the creation of a document Sage lacks posts unattended. Anything else
    waits: another action, a document someone edited in Sage (or may have), a paid or partly
    paid document, a locked period, an amount over the threshold.
    """
    reasons: list[str] = []
    if posting.action not in policy.unattended:
        reasons.append(needs_person(posting.action))
    if sage.edited:
        reasons.append(EDITED)
    elif sage.edited is None and posting.action in (REPLACE, UPDATE):
        reasons.append(MAYBE_EDITED)
    if sage.paid != ZERO and posting.action != CREATE:
        reasons.append(PAID)
    if periods.is_locked(posting.period):
        reasons.append(PERIOD_LOCKED)
    if posting.adjusting:  # always a person's decision
        adjusts = [
            *([ADJUSTS_PAID] if sage.paid != ZERO else []),
            *([ADJUSTS_LOCKED] if periods.is_locked(posting.adjusted_period) else []),
        ]
        reasons.extend(adjusts or [ADJUSTS])
    if (
        policy.max_amount is not None
        and posting.amount is not None
        and posting.module in AMOUNT_COLUMN
        and posting.module != DAILY_PAYROLL  # its amount is hours
        and abs(posting.amount) > policy.max_amount
    ):
        reasons.append(OVER_THRESHOLD)
    return tuple(reasons)


def why_unwritable(
    posting: Subject, sage: SageFacts = NOTHING_KNOWN, periods: Periods = NO_PERIODS
) -> str | None:
    """Why a posting must never be written as it is, approved or not; None when it may be.

    Nothing is written into a locked period, and a paid document is never voided (both take
    an adjusting document in the open period instead).
    """
    if periods.is_locked(posting.period):
        return (
            f"period {posting.period} is locked (locked through {periods.locked_through}): "
            "nothing is written into a locked period"
        )
    if sage.paid != ZERO and posting.action in (VOID, REPLACE):
        return f"{to_str(sage.paid)} is paid on it in Sage: a paid document is never voided"
    return None


def adjustment_for(
    correction: Correction, held: Sequence[Document], periods: Periods, mapping: Mapping
) -> Correction | str:
    """What settles a correction that would void and re-enter a receivable or payable invoice,
    a journal transaction or a parts job cost row Sage may not void: the correction itself
    when Sage may void it, else an adjusting document in the current period (a create that
    always waits for a person), else why only a person can settle it.

    A document is adjusted instead of replaced when anything is paid on it, when its period
    is locked, or when it has been adjusted before (re-entering it would count the earlier
    adjustments twice). Adjustments settle amounts only: a difference in another field of
    such an invoice (its job, its description) is left for a person.
    """
    if correction.module not in ADJUSTABLE or correction.action != REPLACE:
        return correction
    expected = correction.document
    originals = [d for d in held if not d.is_void and d.key == correction.key]
    if expected is None or len(originals) != 1:
        return correction
    original = originals[0]
    adjustments = [d for d in held if not d.is_void and adjusted_key(d.key) == correction.key]
    why: list[str] = []
    if original.paid:
        why.append(f"{to_str(original.paid)} is paid on it")
    if periods.is_locked(original.period):
        why.append(f"its period {original.period} is locked")
    if adjustments:
        why.append("it has been adjusted before")
    if not why:
        return correction
    because = " and ".join(why)
    summed, _settled = ADJUSTABLE[correction.module]
    header = HEADER_OF[correction.module]
    amounts = {f"{header}.{column}" for column in summed}
    want, _got = differing_fields(expected, folded(expected, original, adjustments))
    others = sorted(path for path in want if path not in amounts) or ["its lines"]
    if periods.current is None:
        return (
            f"{because}: an adjusting document goes into the current period, which is not "
            "known (set [sage] current_period)"
        )
    key = next_adjustment_key(correction.key, (d.key for d in held))
    document = adjusting_document(
        expected, original, adjustments, key=key, period=periods.current, mapping=mapping
    )
    if document is None:
        return (
            f"{because}: {', '.join(others)} differ, which no adjusting document settles and "
            "recon never voids it; change it in Sage by hand or accept the difference"
        )
    refs = () if original.sage_ref is None else (original.sage_ref,)
    reason = f"{correction.reason}: adjusting document {key} ({because})"
    return Correction(correction.module, correction.key, CREATE, document, refs, reason)
