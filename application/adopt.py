"""Adopt: link the records the office keyed into Sage to the source records they stand for.

Runs before every reconcile. Module by module (clients, jobs, vendors, receivable and payable
invoices: a job's natural key names its client's number, an invoice's its client's or
vendor's), it matches Sage records recon neither created nor adopted with source records Sage
does not hold yet, records each link as an ``Adoption`` event and the master numbers the
office uses as ``TakenNumbers``, then catches the read model up (adopted masters take their
Sage numbers; recon's own move off taken ones) before the next module. What cannot be
matched one to one is an ``ambiguous_match`` finding naming both sides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from application.context import Context
from domain.adoption import (
    ADOPTED_MODULES,
    ADOPTED_TABLE,
    BY_MATCHING,
    Adoption,
    Candidate,
    Match,
    Matching,
    TakenNumbers,
    match,
    normalise,
    taken_numbers_id,
)
from domain.documents import (
    AP_INVOICES,
    AR_INVOICES,
    CLIENTS,
    JOBS,
    MASTER_MODULES,
    VENDORS,
    Document,
)
from domain.keys import RECORD_KEYS, SAGE_AP_INVOICE, SAGE_AR_INVOICE, SAGE_CLIENT
from domain.reconcile import Finding
from domain.scope import Ours
from projections.links import NUMBER_KIND

#: The Sage keys of records no link names, per module keyed that way.
UNLINKED_PREFIX = {CLIENTS: SAGE_CLIENT, AR_INVOICES: SAGE_AR_INVOICE, AP_INVOICES: SAGE_AP_INVOICE}
#: Master records the natural key names by.
NAME_COLUMN = {CLIENTS: "clnnme", JOBS: "jobnme", VENDORS: "vndnme"}


@dataclass
class AdoptReport:
    """What one adoption run did: links recorded and numbers taken, per module, and the
    records it could not match one to one."""

    adopted: dict[str, int] = field(default_factory=dict)
    taken: dict[str, int] = field(default_factory=dict)
    matchings: dict[str, Matching] = field(default_factory=dict)

    def findings(self, module: str | None = None) -> list[Finding]:
        return [
            finding
            for name, matching in self.matchings.items()
            if module is None or name == module
            for finding in matching.findings()
        ]

    def held_back(self, module: str) -> tuple[set[str], set[str]]:
        """Source keys nothing may be created for, and Sage keys not to report as
        unexpected, while their match is unsettled."""
        matching = self.matchings.get(module)
        return (set(), set()) if matching is None else matching.held_back()


def adopt(ctx: Context) -> AdoptReport:
    """Match, record the links and the numbers taken, and catch the read model up.

    Only the Sage records that carry no link of recon's are read as documents (streamed:
    a module is never held whole), and the keys of the rest when there is something to
    match."""
    reader = ctx.unlinked_sage()
    report = AdoptReport()
    job_clients: dict[str, str] = {}
    for module in ADOPTED_MODULES:
        candidates = _sage_candidates(ctx, module, job_clients)
        matching = Matching(module)
        if candidates:
            sources = _source_candidates(ctx, module, reader.keys(module))
            matching = _match(module, sources, candidates)
        report.matchings[module] = matching
        events: list[Any] = [_adoption(ctx, module, m) for m in matching.matches]
        if module in MASTER_MODULES:
            noted = _taken(ctx, module, candidates, matching.matches)
            if noted is not None:
                events.append(noted)
                report.taken[module] = len(noted.numbers)
        if events:
            ctx.store.save(*events)
            ctx.catch_up()
        report.adopted[module] = len(matching.matches)
    return report


def ours(ctx: Context) -> Ours:
    """What of Sage recon answers for (domain.scope.Ours): the numbers of the masters it
    created or adopted, the first periods it holds source documents for."""
    numbers: dict[str, set[int]] = {module: set() for module in MASTER_MODULES}
    for (kind, _source), number in ctx.read_model.sage_numbers().items():
        for module, of in NUMBER_KIND.items():
            if of == kind:
                numbers[module].add(number)
    for module in MASTER_MODULES:
        numbers[module] |= _written_numbers(ctx, module)
    return Ours(
        numbers={module: frozenset(found) for module, found in numbers.items()},
        first_period={
            module: ctx.read_model.first_period(module) for module in (AR_INVOICES, AP_INVOICES)
        },
    )


# -- candidates ------------------------------------------------------------------------------


def _written_numbers(ctx: Context, module: str) -> set[int]:
    keys = RECORD_KEYS[module]
    written: set[int] = set()
    for key in ctx.read_model.written_keys(module):
        number = keys.recnum(key)
        if number is not None:
            written.add(number)
    return written


def _sage_candidates(ctx: Context, module: str, job_clients: dict[str, str]) -> list[Candidate]:
    """Sage records that carry no link of recon's, that recon did not create and has not
    adopted (void ones aside). Reading the jobs fills ``job_clients`` (every Sage job's
    client), which the invoices read after them name their party by."""
    adopted = ctx.read_model.adopted_sage_keys(module)
    prefix = UNLINKED_PREFIX.get(module)
    written = set() if prefix is not None else _written_numbers(ctx, module)
    found: list[Candidate] = []
    for d in ctx.unlinked_sage().stream(module, None, unlinked=True):
        if module == JOBS:
            job_clients.update(_job_clients([d]))
        if d.key in adopted or (module not in MASTER_MODULES and d.is_void):
            continue
        if prefix is not None:
            if not d.key.startswith(prefix):
                continue
        elif not isinstance(d.sage_ref, int) or d.sage_ref in written:
            continue
        found.append(_candidate(module, d, job_clients))
    return found


def _source_candidates(ctx: Context, module: str, in_sage: set[str]) -> list[Candidate]:
    """What recon expects that Sage does not hold under recon's key and nothing adopted:
    clients and invoices by key; jobs and vendors whose number recon has not written."""
    model = ctx.read_model
    links = model.links(module)
    linked = {link["source_key"] for link in links}
    taken = (
        _written_numbers(ctx, module) | {int(link["sage_ref"]) for link in links}
        if module in (JOBS, VENDORS)
        else set()
    )

    def wanted(d: Document) -> bool:
        if module not in MASTER_MODULES and d.is_void:
            return False
        if module in (JOBS, VENDORS):
            return int(d.header.get("recnum") or 0) not in taken
        return d.key not in in_sage and d.key not in linked

    clients = _job_clients(model.expected_stream(JOBS, None)[0]) if module == AR_INVOICES else {}
    documents, _problems = model.expected_stream(module, None)
    return [_candidate(module, d, clients) for d in documents if wanted(d)]


def _job_clients(jobs: Iterable[Document]) -> dict[str, str]:
    """Job number → its client's number (as text)."""
    return {
        str(d.header.get("recnum")): str(d.header.get("clnnum") or "")
        for d in jobs
        if d.header.get("recnum")
    }


def _candidate(module: str, document: Document, clients: dict[str, str]) -> Candidate:
    row = document.header
    ref = document.sage_ref
    if module in MASTER_MODULES:
        name = str(row.get(NAME_COLUMN[module]) or "")
        natural: tuple[str, ...] = (normalise(name),)
        if module == JOBS:
            natural = (str(row.get("clnnum") or ""), normalise(name))
        return Candidate(
            document.key,
            natural,
            tiebreak=normalise(row.get("addrs1")),
            ref=ref,
            shown=name,
        )
    number = str(row.get("invnum") or "")
    amount = str(row.get("invttl") or "")
    if module == AR_INVOICES:
        party = clients.get(str(row.get("jobnum") or ""), "")
        shown = f"invoice {number} of client {party or '?'} for {amount}"
    else:
        party = str(row.get("vndnum") or "")
        shown = f"invoice {number} of vendor {party or '?'} for {amount}"
    return Candidate(document.key, (party, normalise(number)), amount, ref=ref, shown=shown)


def _match(module: str, sources: list[Candidate], sage: list[Candidate]) -> Matching:
    """Match by the module's natural key; jobs a name does not match are tried by address
    (within the client) as well."""
    basis = {
        CLIENTS: "client name",
        JOBS: "client number and job name",
        VENDORS: "vendor name",
        AR_INVOICES: "client number and invoice number, amount",
        AP_INVOICES: "vendor number and invoice number, amount",
    }[module]
    first = match(module, sources, sage, basis=basis)
    if module != JOBS:
        return first
    done = {c.key for m in first.matches for c in (m.source, m.sage)}
    done |= {c.key for case in first.unsettled for c in (*case.sources, *case.sage)}
    by_address = match(
        module,
        [_by_address(c) for c in sources if c.key not in done],
        [_by_address(c) for c in sage if c.key not in done],
        basis="client number and job address",
    )
    return Matching(
        module,
        (*first.matches, *by_address.matches),
        (*first.unsettled, *by_address.unsettled),
        by_address.unmatched,
    )


def _by_address(candidate: Candidate) -> Candidate:
    return Candidate(
        candidate.key,
        (candidate.natural[0], candidate.tiebreak),
        ref=candidate.ref,
        shown=candidate.shown,
    )


# -- events ----------------------------------------------------------------------------------


def _adoption(ctx: Context, module: str, found: Match) -> Adoption:
    sage_ref = found.sage.ref
    if not isinstance(sage_ref, int):
        raise TypeError(f"{module} {found.sage.key}: expected a Sage record number")
    source_kind, source_id = _source_of(ctx, module, found.source.key)
    source_key = found.source.key
    if module in (JOBS, VENDORS):
        source_key = found.sage.key  # keyed by number: the adopted number is the key
    return Adoption(
        module=module,
        source_key=source_key,
        source_kind=source_kind,
        source_id=source_id,
        sage_table=ADOPTED_TABLE[module],
        sage_ref=sage_ref,
        sage_key=found.sage.key,
        basis=found.basis,
        by=BY_MATCHING,
    )


def _source_of(ctx: Context, module: str, key: str) -> tuple[str, str]:
    found = ctx.read_model.source_of(module, key)
    if found is None:
        raise LookupError(f"{module} {key}: no source record derived it")
    return found


def _taken(
    ctx: Context, module: str, candidates: list[Candidate], matches: Iterable[Match]
) -> TakenNumbers | None:
    """The numbers the office uses now, when they changed: the Sage masters recon neither
    created nor adopted."""
    adopted = {m.sage.key for m in matches}
    numbers = sorted(
        {int(c.ref) for c in candidates if isinstance(c.ref, int) and c.key not in adopted}
    )
    kind = NUMBER_KIND[module]
    if numbers == sorted(ctx.read_model.taken_numbers(kind)):
        return None
    found = ctx.store.get(taken_numbers_id(kind))
    record = found if isinstance(found, TakenNumbers) else TakenNumbers(kind=kind)
    record.note(numbers)
    return record
