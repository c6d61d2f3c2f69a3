"""Which Sage documents recon answers for, module by module."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.documents import (
    AP_INVOICES,
    AR_INVOICES,
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
    INVOICE_LINK,
    LABOR_LINK,
    LABOR_TRANSACTION,
    PARTS_LINK,
    PARTS_TRANSACTION,
)
from domain.mapping import Mapping as ReconMapping

Scope = Callable[[Document], bool]


@dataclass(frozen=True, slots=True)
class Ours:
    """What of Sage recon answers for: the numbers of the clients, jobs and vendors it
    created or adopted (by module), and the first period it holds source documents for, per
    document module (receivable invoices: the earliest ServiceTrade invoice it posts)."""

    numbers: Mapping[str, frozenset[int]] = field(default_factory=dict)
    first_period: Mapping[str, str | None] = field(default_factory=dict)

    def number(self, module: str, document: Document) -> bool:
        return _number(document) in self.numbers.get(module, frozenset())

    def vendor(self, document: Document) -> bool:
        return _int(document.header, "vndnum") in self.numbers.get(VENDORS, frozenset())

    def since(self, module: str, document: Document) -> bool:
        first = self.first_period.get(module)
        return first is not None and document.period is not None and document.period >= first


def in_scope(module: str, mapping: ReconMapping, ours: Ours | None = None) -> Scope:
    """Whether a Sage document nobody expects is recon's to report.

    With ``ours`` (what recon created or adopted): recon never answers for a record it neither
    created nor adopted. Clients: recon's link key (adopted clients carry it once relabelled)
    or a number in ``ours``; jobs and vendors: a number in ``ours``; receivable invoices:
    recon's link key, or an invoice no link names in a period from the first one recon holds
    ServiceTrade invoices for (ServiceTrade is the billing system from then on; the office's
    earlier history is never reported); payables: recon's link key, or one of recon's vendors
    from the first period recon holds PartsLedger bills for; journal transactions recon
    entered; job cost of recon's journals and labor, and of its vendors' payables from that
    period; daily payroll lines carrying recon's link.

    Without ``ours`` (the rule before adoption, kept for callers that know nothing adopted):

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
    if ours is not None:
        rules.update(
            {
                CLIENTS: lambda d: d.key.startswith(CLIENT_LINK) or ours.number(CLIENTS, d),
                JOBS: lambda d: ours.number(JOBS, d),
                VENDORS: lambda d: ours.number(VENDORS, d),
                AR_INVOICES: lambda d: d.key.startswith(INVOICE_LINK) or ours.since(AR_INVOICES, d),
                AP_INVOICES: lambda d: (
                    d.key.startswith(BILL_LINK) or (ours.vendor(d) and ours.since(AP_INVOICES, d))
                ),
                JOB_COST: lambda d: (
                    str(d.header.get("trnnum") or "").startswith(
                        (PARTS_TRANSACTION, LABOR_TRANSACTION)
                    )
                    or (
                        d.header.get("srcnum") == SOURCE_AP_INVOICE
                        and ours.vendor(d)
                        and ours.since(AP_INVOICES, d)
                    )
                ),
                # The office's own daily payroll (shop time, holidays, hours keyed in by hand)
                # is its own: only lines carrying recon's link are recon's.
                DAILY_PAYROLL: lambda d: d.key.startswith(LABOR_LINK),
            }
        )
    return rules.get(module, lambda _d: True)


def _number(document: Document) -> int:
    return document.sage_ref if isinstance(document.sage_ref, int) else 0


def _int(row: Any, column: str) -> int:
    value = row.get(column)
    return int(value) if value else 0
