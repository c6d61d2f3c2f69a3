"""Adoption: linking records the office keyed into Sage to the source records they stand for.

Matching is by natural key, never by guess: a Sage record and a source record are linked only
when each is the other's single candidate. Everything else that shares a natural key is an
``ambiguous_match`` finding naming both sides, and nothing is created, updated or voided for it
until a person changes one side.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.documents import AP_INVOICES, AR_INVOICES, CLIENTS, JOBS, VENDORS
from domain.reconcile import AMBIGUOUS_MATCH, Finding
from domain.records import RECORD_NAMESPACE

#: The modules recon adopts, in the order they are matched: a job's natural key names its
#: client's number and an invoice's its client's or vendor's, so masters come first.
ADOPTED_MODULES = (CLIENTS, JOBS, VENDORS, AR_INVOICES, AP_INVOICES)
#: The Sage table each adopted module's records live in.
ADOPTED_TABLE = {
    CLIENTS: "reccln",
    JOBS: "actrec",
    VENDORS: "actpay",
    AR_INVOICES: "acrinv",
    AP_INVOICES: "acpinv",
}
#: Who records an adoption made by matching (a person's would carry their name).
BY_MATCHING = "recon"

_PUNCTUATION = re.compile(r"[^\w\s]", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalise(text: str | None) -> str:
    """A name as matching compares it: case folded, accents and punctuation dropped, runs of
    whitespace made one blank (``"ACME  Heating, Inc."`` → ``"acme heating inc"``)."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACE.sub(" ", _PUNCTUATION.sub(" ", plain.casefold())).strip()


@dataclass(frozen=True, slots=True)
class Candidate:
    """One side's record as matching sees it.

    ``natural`` is the natural key (normalised; a candidate with an empty part never
    matches); ``confirm`` must be equal too (an invoice's amount), else the pair is a near
    miss where a link was expected; ``tiebreak`` (an address) may part records that share a
    natural key. ``key`` is the record's key (recon's for a source record, the reader's for a
    Sage record), ``ref`` the Sage record number, ``shown`` what a finding shows of it.
    """

    key: str
    natural: tuple[str, ...]
    confirm: str = ""
    tiebreak: str = ""
    ref: int | str | None = None
    shown: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    """A source record and the Sage record it is linked to, with the basis of the link."""

    source: Candidate
    sage: Candidate
    basis: str


@dataclass(frozen=True, slots=True)
class Unsettled:
    """Records sharing a natural key that matching cannot pair: ``why`` says which rule."""

    sources: tuple[Candidate, ...]
    sage: tuple[Candidate, ...]
    why: str


@dataclass(frozen=True, slots=True)
class Matching:
    """What matching found in one module."""

    module: str
    matches: tuple[Match, ...] = ()
    unsettled: tuple[Unsettled, ...] = ()
    #: Sage candidates left unmatched: records the office keyed that recon has no source for.
    unmatched: tuple[Candidate, ...] = field(default=())

    def findings(self) -> list[Finding]:
        """An ``ambiguous_match`` finding per source record left unsettled, naming both
        sides (one per Sage record when no source record is involved)."""
        found: list[Finding] = []
        for case in self.unsettled:
            refs = tuple(c.ref for c in case.sage if c.ref is not None)
            sage = [_side(c) for c in case.sage]
            for source in case.sources:
                found.append(
                    Finding(
                        self.module,
                        AMBIGUOUS_MATCH,
                        source.key,
                        {"source": [_side(s) for s in case.sources], "why": case.why},
                        {"sage": sage},
                        None,
                        refs,
                    )
                )
        return found

    def held_back(self) -> tuple[set[str], set[str]]:
        """Source keys and Sage keys an unsettled case holds: nothing is created for the
        former, nor reported unexpected of the latter, until a person settles them."""
        sources = {c.key for case in self.unsettled for c in case.sources}
        sage = {c.key for case in self.unsettled for c in case.sage}
        return sources, sage


def _side(candidate: Candidate) -> dict[str, object]:
    shown: dict[str, object] = {"key": candidate.key}
    if candidate.ref is not None:
        shown["sage_ref"] = candidate.ref
    if candidate.shown:
        shown["what"] = candidate.shown
    return shown


def match(
    module: str,
    sources: Iterable[Candidate],
    sage: Iterable[Candidate],
    *,
    basis: str = "natural key",
) -> Matching:
    """Pair source records with Sage records by natural key.

    Within a natural key, records whose ``confirm`` values agree pair when there is one on
    each side, or when ``tiebreak`` parts them one to one. More than one on either side is
    ambiguous; records sharing a natural key whose ``confirm`` values disagree are a miss
    where a link was expected. Both are unsettled, never guessed.
    """
    by_source: dict[tuple[str, ...], list[Candidate]] = defaultdict(list)
    by_sage: dict[tuple[str, ...], list[Candidate]] = defaultdict(list)
    unmatched: list[Candidate] = []
    for candidate in sources:
        if all(candidate.natural):
            by_source[candidate.natural].append(candidate)
    for candidate in sage:
        if all(candidate.natural):
            by_sage[candidate.natural].append(candidate)
        else:
            unmatched.append(candidate)
    matches: list[Match] = []
    unsettled: list[Unsettled] = []
    for natural, held in by_sage.items():
        wanted = by_source.get(natural, [])
        if not wanted:
            unmatched.extend(held)
            continue
        left_source: list[Candidate] = []
        left_sage: list[Candidate] = []
        for confirm in sorted({c.confirm for c in (*wanted, *held)}):
            ours = [c for c in wanted if c.confirm == confirm]
            theirs = [c for c in held if c.confirm == confirm]
            paired, ambiguous = _pair(ours, theirs, f"{basis} {_words(natural, confirm)}")
            matches.extend(paired)
            if ambiguous is not None:
                unsettled.append(ambiguous)
            elif not (ours and theirs):
                left_source.extend(ours)
                left_sage.extend(theirs)
        if left_source and left_sage:
            unsettled.append(
                Unsettled(
                    tuple(left_source),
                    tuple(left_sage),
                    f"{basis} {' / '.join(natural)} matches, but the amounts differ: "
                    "a link was expected",
                )
            )
        else:
            unmatched.extend(left_sage)
    return Matching(module, tuple(matches), tuple(unsettled), tuple(unmatched))


def _words(natural: tuple[str, ...], confirm: str) -> str:
    text = " / ".join(natural)
    return f"{text} ({confirm})" if confirm else text


def _pair(
    ours: Sequence[Candidate], theirs: Sequence[Candidate], basis: str
) -> tuple[list[Match], Unsettled | None]:
    if not ours or not theirs:
        return [], None
    if len(ours) == 1 and len(theirs) == 1:
        return [Match(ours[0], theirs[0], basis)], None
    # More than one on a side: an address may part them, one to one, or nothing is paired.
    source_by: dict[str, list[Candidate]] = defaultdict(list)
    sage_by: dict[str, list[Candidate]] = defaultdict(list)
    for c in ours:
        source_by[c.tiebreak].append(c)
    for c in theirs:
        sage_by[c.tiebreak].append(c)
    parted = all(
        tie and len(source_by[tie]) == 1 and len(sage_by.get(tie, ())) == 1 for tie in source_by
    ) and len(sage_by) == len(source_by)
    if parted:
        return [
            Match(source_by[tie][0], sage_by[tie][0], f"{basis}, address {tie}")
            for tie in sorted(source_by)
        ], None
    many = "Sage records" if len(theirs) > 1 else "source records"
    return [], Unsettled(
        tuple(ours), tuple(theirs), f"{basis}: more than one {many} match; recon does not guess"
    )


# -- the events ------------------------------------------------------------------------------


def adoption_id(module: str, source_key: str) -> UUID:
    return uuid5(RECORD_NAMESPACE, f"adoption:{module}:{source_key}")


class Adoption(Aggregate):
    """A Sage record recon did not create, linked to the source record it stands for: from
    then on recon answers for it under the source record's key (and, for clients, jobs and
    vendors, under its Sage number)."""

    @staticmethod
    def create_id(module: str, source_key: str, **_rest: object) -> UUID:
        return adoption_id(module, source_key)

    @event("Linked")
    def __init__(
        self,
        module: str,
        source_key: str,
        source_kind: str,
        source_id: str,
        sage_table: str,
        sage_ref: int,
        sage_key: str,
        basis: str,
        by: str,
    ) -> None:
        self.module = module
        self.source_key = source_key
        self.source_kind = source_kind
        self.source_id = source_id
        self.sage_table = sage_table
        self.sage_ref = sage_ref
        self.sage_key = sage_key
        self.basis = basis
        self.by = by


def taken_numbers_id(kind: str) -> UUID:
    return uuid5(RECORD_NAMESPACE, f"taken-numbers:{kind}")


class TakenNumbers(Aggregate):
    """The numbers of one kind of Sage master (client, job, vendor) the office uses for
    records recon neither created nor adopted: recon never gives them out."""

    @staticmethod
    def create_id(kind: str) -> UUID:
        return taken_numbers_id(kind)

    @event("Opened")
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.numbers: list[int] = []

    def note(self, numbers: list[int]) -> None:
        """Every number taken now (the whole set, sorted)."""
        self._noted(kind=self.kind, numbers=sorted(numbers))

    @event("Noted")
    def _noted(self, kind: str, numbers: list[int]) -> None:
        # The event names its kind: projections read it without loading the aggregate.
        self.numbers = numbers
