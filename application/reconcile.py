"""Reconcile: what Sage holds that differs from what it should hold, module by module."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from application.adopt import AdoptReport, adopt, ours
from application.context import Context
from domain.documents import DAILY_PAYROLL, MODULES, Document
from domain.payroll import converted
from domain.reconcile import MISSING, UNEXPECTED, Finding, diff, may_differ, merged
from domain.scope import in_scope


def reconcile(
    ctx: Context,
    modules: Iterable[str] = MODULES,
    period: str | None = None,
    *,
    adopting: bool = True,
    observers: Mapping[str, Callable[[list[Document], list[Document]], None]] | None = None,
) -> list[Finding]:
    """Adopt what the office keyed into Sage (application/adopt.py), then diff each module,
    adopted records under recon's keys. A record whose match is unsettled is an
    ``ambiguous_match`` finding instead: nothing is created for its source record, nor is
    its Sage record reported unexpected.

    Both sides of a module are streams sorted by key (the Sage reader's and the read
    model's), merged by ``domain.reconcile.merged``: a module is never held whole. Where the
    reader digests a module's documents as it reads them (``digests``), both sides' digests
    are paired first and only the keys whose documents may differ are read in full.
    ``observers`` are handed every pair of key groups the merge of their module goes through
    (``merged``'s ``observe``; daily payroll, which is compared whole, has none)."""
    adopted = adopt(ctx) if adopting else AdoptReport()
    reader = ctx.sage()  # after adoption: the links it recorded apply
    scope = ours(ctx)
    settled = ctx.read_model.settled_keys()
    findings: list[Finding] = []
    for module in modules:
        scoped = in_scope(module, ctx.mapping, scope)
        ours_adopted = reader.adopted(module)
        if module == DAILY_PAYROLL:
            # Lines the office converted into timecards are settled: never entered again.
            expected, problems = ctx.read_model.expected_stream(module, period)
            want, held = list(expected), list(reader.stream(module, period))
            gone = converted(want, held, reader.timecards(period))
            want = [d for d in want if d.key not in gone]
            found = diff(
                module,
                want,
                held,
                in_scope=scoped,
                accepted=settled,
                unmapped=problems,
                adopted=ours_adopted,
            )
        else:
            observe = (observers or {}).get(module)
            digests = None if observe is not None else reader.digests(module, period)
            keys: set[str] | None = None
            refs: set[int] | None = None
            if digests is not None:
                # Only the key groups whose digests differ are read in full and merged.
                keys, refs = may_differ(
                    module, ctx.read_model.expected_digests(module, period), digests, ours_adopted
                )
            expected, problems = ctx.read_model.expected_stream(module, period, only=keys)
            actual = reader.stream(module, period, only=refs)
            # Not paused here (the readers pause while they build each chunk): what a chunk's
            # statements leave in cycles is collected as the streams go.
            streamed = list(
                merged(
                    module,
                    expected,
                    actual,
                    in_scope=scoped,
                    accepted=settled,
                    unmapped=problems,
                    adopted=ours_adopted,
                    observe=observe,
                )
            )
            # As ``diff`` lists them: documents nobody expects last.
            found = [f for f in streamed if f.kind != UNEXPECTED]
            found += [f for f in streamed if f.kind == UNEXPECTED]
        sources, sage = adopted.held_back(module)
        findings.extend(
            f
            for f in found
            if not (f.kind == MISSING and f.key in sources)
            and not (f.kind == UNEXPECTED and f.key in sage)
        )
        findings.extend(adopted.findings(module))
    return findings
