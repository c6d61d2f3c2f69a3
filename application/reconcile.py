"""Reconcile: what Sage holds that differs from what it should hold, module by module."""

from __future__ import annotations

from collections.abc import Iterable

from application.context import Context
from domain.documents import DAILY_PAYROLL, MODULES
from domain.payroll import converted
from domain.reconcile import Finding, diff
from domain.scope import in_scope


def reconcile(
    ctx: Context, modules: Iterable[str] = MODULES, period: str | None = None
) -> list[Finding]:
    """Gather both sides of each module and diff them (the read model as it stands)."""
    settled = ctx.read_model.settled_keys()
    findings: list[Finding] = []
    for module in modules:
        expected, problems = ctx.read_model.expected(module, period)
        actual = ctx.sage().read(module, period)
        if module == DAILY_PAYROLL:
            # Lines the office converted into timecards are settled: never entered again.
            gone = converted(expected, actual, ctx.sage().timecards(period))
            expected = [document for document in expected if document.key not in gone]
        findings.extend(
            diff(
                module,
                expected,
                actual,
                in_scope=in_scope(module, ctx.mapping),
                accepted=settled,
                unmapped=problems,
            )
        )
    return findings
