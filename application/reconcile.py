"""Reconcile: what Sage holds that differs from what it should hold, module by module."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from application.adopt import AdoptReport, adopt, ours
from application.context import Context, LinkedReader
from domain.documents import DAILY_PAYROLL, MODULES, Document, Row
from domain.payroll import converted
from domain.ports import SageReader
from domain.reconcile import MISSING, UNEXPECTED, Finding, diff
from domain.scope import in_scope


def reconcile(
    ctx: Context,
    modules: Iterable[str] = MODULES,
    period: str | None = None,
    *,
    adopting: bool = True,
) -> list[Finding]:
    """Adopt what the office keyed into Sage (application/adopt.py), then gather both sides
    of each module and diff them, adopted records under recon's keys. A record whose match
    is unsettled is an ``ambiguous_match`` finding instead: nothing is created for its source
    record, nor is its Sage record reported unexpected."""
    memo = _Memo(ctx.unlinked_sage())
    adopted = adopt(ctx, memo.everything) if adopting else AdoptReport()
    reader = LinkedReader(memo, ctx.read_model)
    scope = ours(ctx)
    settled = ctx.read_model.settled_keys()
    findings: list[Finding] = []
    for module in modules:
        expected, problems = ctx.read_model.expected(module, period)
        actual = reader.read(module, period)
        if module == DAILY_PAYROLL:
            # Lines the office converted into timecards are settled: never entered again.
            gone = converted(expected, actual, reader.timecards(period))
            expected = [document for document in expected if document.key not in gone]
        findings.extend(
            diff(
                module,
                expected,
                actual,
                in_scope=in_scope(module, ctx.mapping, scope),
                accepted=settled,
                unmapped=problems,
                adopted=reader.adopted(module),
            )
        )
        sources, sage = adopted.held_back(module)
        findings = [
            f
            for f in findings
            if not (f.module == module and f.kind == MISSING and f.key in sources)
            and not (f.module == module and f.kind == UNEXPECTED and f.key in sage)
        ]
        findings.extend(adopted.findings(module))
    return findings


class _Memo:
    """The Sage reader for one reconcile: each module read whole once, for adoption and the
    diff alike (adoption changes links, not Sage)."""

    def __init__(self, reader: SageReader) -> None:
        self.reader = reader
        self.held: dict[str, list[Document]] = {}

    def everything(self, module: str) -> list[Document]:
        if module not in self.held:
            self.held[module] = self.reader.read(module, None)
        return self.held[module]

    def read(self, module: str, period: str | None) -> list[Document]:
        if period is None:
            return self.everything(module)
        return self.reader.read(module, period)

    def read_key(self, module: str, key: str) -> list[Document]:
        return self.reader.read_key(module, key)

    def timecards(self, period: str | None) -> list[Row]:
        return self.reader.timecards(period)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)
