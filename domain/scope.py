"""Which Sage documents recon answers for, module by module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.documents import (
    AP_INVOICES,
    CLIENTS,
    DAILY_PAYROLL,
    JOB_COST,
    JOBS,
    JOURNAL,
    SOURCE_AP_INVOICE,
    VENDORS,
    Document,
)
from domain.keys import (
    BILL_LINK,
    CLIENT_LINK,
    LABOR_LINK,
    LABOR_TRANSACTION,
    PARTS_LINK,
    PARTS_TRANSACTION,
)
from domain.mapping import Mapping

Scope = Callable[[Document], bool]


def in_scope(module: str, mapping: Mapping) -> Scope:
    """Whether a Sage document nobody expects is recon's to report.

    Receivable invoices: every one in the period (ServiceTrade is the billing system). Other
    modules: what carries recon's link key or numbers — clients, jobs and vendors numbered in
    recon's ranges; payables of recon's vendors; journal transactions recon entered; job cost
    of recon's payables, journals and labor; daily payroll of mapped technicians. The
    company's own entries (rent, accruals, subcontract bills, older masters) are never
    reported.
    """
    vendors = mapping.vendor_number_start
    employees = {str(n) for n in mapping.employees.values()}
    rules: dict[str, Scope] = {
        CLIENTS: lambda d: (
            d.key.startswith(CLIENT_LINK) or _number(d) >= mapping.client_number_start
        ),
        JOBS: lambda d: _number(d) >= mapping.job_number_start,
        VENDORS: lambda d: _number(d) >= vendors,
        AP_INVOICES: lambda d: d.key.startswith(BILL_LINK) or _int(d.header, "vndnum") >= vendors,
        JOURNAL: lambda d: d.key.startswith(PARTS_LINK),
        JOB_COST: lambda d: (
            str(d.header.get("trnnum") or "").startswith((PARTS_TRANSACTION, LABOR_TRANSACTION))
            or (d.header.get("srcnum") == SOURCE_AP_INVOICE and _int(d.header, "vndnum") >= vendors)
        ),
        DAILY_PAYROLL: lambda d: (
            d.key.startswith(LABOR_LINK) or d.header.get("empnum") in employees
        ),
    }
    return rules.get(module, lambda _d: True)


def _number(document: Document) -> int:
    return document.sage_ref if isinstance(document.sage_ref, int) else 0


def _int(row: Any, column: str) -> int:
    value = row.get(column)
    return int(value) if value else 0
