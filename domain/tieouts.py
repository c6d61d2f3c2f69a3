"""Tie-outs for the controller: what the sources say against what Sage holds, to the penny."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.builders import ar_skip_reason, billed_total, invoice_category
from domain.documents import Document, Row
from domain.keys import bill_id_of, invoice_key
from domain.mapping import JOB_PER_JOB, MappingError
from domain.mapping import Mapping as ReconMapping
from domain.money import ZERO, cents, qty_str, to_str
from domain.scope import Scope
from domain.source import ACCOUNTABLE_INVOICE_STATUSES, Invoice, Job, JobItem, User, VendorBill

#: PartsLedger bill statuses that are payables (drafts and voids are not).
BILLED = ("open", "paid")


@dataclass(frozen=True, slots=True)
class Sources:
    """What the sources say, as the read model holds it."""

    jobs: Iterable[Job]
    users: Iterable[User]
    items: Iterable[JobItem]
    bills: Iterable[VendorBill]
    #: The Sage numbers recon gave (kind, source id): ("job", location or job id) → job number.
    numbers: Mapping[tuple[str, str], int]


#: Job cost sources of posted payroll (5-2-6, reference §3.6): labor cost Sage makes itself.
PAYROLL_SOURCES = ("16", "17")


@dataclass(frozen=True, slots=True)
class SageSide:
    """The Sage documents each tie-out adds up, already limited to recon's scope."""

    job_cost: Iterable[Document]
    daily_payroll: Iterable[Document]
    ap_invoices: Iterable[Document]
    #: Timecard lines (as ``SageReader.timecards`` gives them) daily payroll was converted into.
    timecards: Iterable[Row] = ()


def compare(
    expected: Mapping[Any, Decimal],
    actual: Mapping[Any, Decimal],
    label: Callable[[Any], dict[str, Any]],
    fmt: Callable[[Decimal], str],
) -> dict[str, Any]:
    """Group by group, what the sources say against what Sage holds; the groups that differ
    with the signed difference (Sage minus expected)."""
    differences = [
        {
            **label(key),
            "expected": fmt(expected.get(key, ZERO)),
            "sage": fmt(actual.get(key, ZERO)),
            "difference": fmt(actual.get(key, ZERO) - expected.get(key, ZERO)),
        }
        for key in sorted(expected.keys() | actual.keys(), key=str)
        if expected.get(key, ZERO) != actual.get(key, ZERO)
    ]
    return {
        "ties": not differences,
        "groups": len(expected.keys() | actual.keys()),
        "expected_total": fmt(sum(expected.values(), ZERO)),
        "sage_total": fmt(sum(actual.values(), ZERO)),
        "differences": differences,
    }


def active(documents: Iterable[Document], scope: Scope) -> list[Document]:
    """The documents that count: not void, and recon's to answer for."""
    return [d for d in documents if not d.is_void and scope(d)]


def tie_outs(sources: Sources, sage: SageSide, mapping: ReconMapping) -> dict[str, Any]:
    """Three tie-outs, each listing the groups that do not agree:

    - job cost per job = ServiceTrade parts used from stock + PartsLedger direct purchases
      (billed lines for the job); labor job cost is Sage's, made when payroll is posted, and
      is neither expected nor counted here;
    - hours per employee, day and pay type = ServiceTrade labor, in daily payroll or in the
      timecards it was converted into;
    - payable invoice totals = PartsLedger bills (open or paid).
    """
    jobs = {job.id: job for job in sources.jobs}
    numbers = sources.numbers

    def sage_job(st_job_id: str) -> int | None:
        if mapping.job_numbering == JOB_PER_JOB:
            return numbers.get(("job", st_job_id))
        job = jobs.get(st_job_id)
        return None if job is None else numbers.get(("job", job.location_id))

    names = {user.id: user.name for user in sources.users}
    job_cost: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    hours: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    unmapped: list[str] = []
    for item in sources.items:
        job = sage_job(item.job_id)
        if item.source == "vendor" or job is None:
            continue  # direct purchases are costed by the PartsLedger bill
        if item.item_type != "labor":
            job_cost[job] += cents(item.quantity * item.cost)
        else:
            try:
                employee = mapping.employee_for(
                    item.technician_id, names.get(item.technician_id, "")
                )
                pay_type = mapping.pay_type_for(item.name, item.code)
            except MappingError as exc:
                unmapped.append(str(exc))
                continue
            hours[(employee, item.used_on, pay_type)] += item.quantity
    ap: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    for bill in sources.bills:
        if bill.status not in BILLED:
            continue
        for line in bill.lines:
            job = sage_job(line.job_id) if line.job_id else None
            if job is not None:
                job_cost[job] += cents(line.amount)
        ap[bill.id] = (
            sum((cents(line.amount) for line in bill.lines), ZERO)
            + cents(bill.tax)
            + cents(bill.freight)
        )

    sage_cost: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    for doc in sage.job_cost:
        if doc.header.get("srcnum") in PAYROLL_SOURCES:
            continue  # labor: Sage's own, from posted payroll
        sage_cost[int(doc.header["jobnum"] or 0)] += doc.amount or ZERO
    sage_hours: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    for doc in sage.daily_payroll:
        row = doc.header
        key = (int(row["empnum"] or 0), row["paydte"], int(row["paytyp"] or 0))
        sage_hours[key] += doc.amount or ZERO
    for row in sage.timecards:
        key = (int(row["empnum"] or 0), row["dtewrk"], int(row["paytyp"] or 0))
        sage_hours[key] += Decimal(row["hrswrk"] or ZERO)
    sage_ap: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    for doc in sage.ap_invoices:
        sage_ap[bill_id_of(doc.key)] += doc.amount or ZERO

    return {
        "job_cost": compare(job_cost, sage_cost, lambda job: {"job": job}, to_str),
        "daily_payroll": compare(
            hours,
            sage_hours,
            lambda key: {"employee": key[0], "day": key[1], "pay_type": key[2]},
            qty_str,
        ),
        "ap_invoices": compare(ap, sage_ap, lambda bill: {"bill": bill}, to_str),
        "unmapped": sorted(set(unmapped)),
    }


def handed_off(invoices: Iterable[Invoice]) -> list[Invoice]:
    """The invoices ServiceTrade has handed to accounting and not voided, in number order."""
    return sorted(
        (i for i in invoices if i.status in ACCOUNTABLE_INVOICE_STATUSES),
        key=lambda i: (i.number, i.id),
    )


def skipped_invoices(invoices: Iterable[Invoice]) -> list[dict[str, Any]]:
    """Invoices handed to accounting that recon does not post, each with the reason."""
    return [
        {
            "id": invoice.id,
            "invoice": invoice.number,
            "type": invoice.invoice_type,
            "status": invoice.status,
            "total": to_str(billed_total(invoice)),
            "reason": reason,
        }
        for invoice in handed_off(invoices)
        if (reason := ar_skip_reason(invoice)) is not None
    ]


def _figure(amounts: Iterable[Decimal]) -> dict[str, Any]:
    values = list(amounts)
    return {"count": len(values), "total": to_str(sum(values, ZERO))}


def ar_tie_out(
    invoices: Iterable[Invoice],
    expected: Iterable[Document],
    problems: Mapping[str, str],
    sage: Iterable[Document],
) -> dict[str, Any]:
    """AR = ServiceTrade invoices handed to accounting, invoice by invoice.

    - ServiceTrade: every invoice handed to accounting and not voided, at what it billed
      (``totalPrice``), by category (``invoice_category``); each is posted by rule or skipped
      with its reason (``ar_skip_reason``). Those posted are what Sage should hold.
    - Expected: the active receivable invoices recon expects (``expected``, void ones
      excluded); an invoice recon cannot build is listed under ``unposted`` with why.
    - Sage: the active 3-2 invoices in recon's scope (``sage``, already limited).

    It ties when the three agree in count and in amount, invoice by invoice. An invoice whose
    source sent no ``totalPrice`` counts at what recon expects for it.
    """
    expected_amounts = {d.key: d.amount or ZERO for d in expected if not d.is_void}
    sage_amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    sage_count = 0
    for doc in sage:
        sage_amounts[doc.key] += doc.amount or ZERO
        sage_count += 1
    handed = handed_off(invoices)
    billed: dict[str, Decimal] = {}
    every: list[Decimal] = []
    by_type: dict[str, list[Decimal]] = defaultdict(list)
    skipped: dict[str, list[Decimal]] = defaultdict(list)
    for invoice in handed:
        key = invoice_key(invoice.id)
        amount = (
            billed_total(invoice)
            if invoice.total_price is not None
            else expected_amounts.get(key, billed_total(invoice))
        )
        every.append(amount)
        by_type[invoice_category(invoice)].append(amount)
        if ar_skip_reason(invoice) is None:
            billed[key] = amount
        else:
            skipped[invoice.invoice_type].append(amount)
    differences = []
    for key in sorted(billed.keys() | expected_amounts.keys() | sage_amounts.keys()):
        sides = (billed.get(key), expected_amounts.get(key), sage_amounts.get(key))
        if len(set(sides)) > 1:
            differences.append(
                {
                    "invoice": key,
                    "servicetrade": None if sides[0] is None else to_str(sides[0]),
                    "expected": None if sides[1] is None else to_str(sides[1]),
                    "sage": None if sides[2] is None else to_str(sides[2]),
                    "difference": to_str((sides[2] or ZERO) - (sides[0] or ZERO)),
                    **({"problem": problems[key]} if key in problems else {}),
                }
            )
    sage_figure = {"count": sage_count, "total": to_str(sum(sage_amounts.values(), ZERO))}
    return {
        "ties": not differences and sage_count == len(sage_amounts),
        "groups": len(billed.keys() | expected_amounts.keys() | sage_amounts.keys()),
        "expected_total": to_str(sum(billed.values(), ZERO)),
        "sage_total": sage_figure["total"],
        "servicetrade": {
            "handed_off": _figure(every),
            "posted_by_rule": _figure(billed.values()),
            "skipped": _figure(v for values in skipped.values() for v in values),
        },
        "expected": _figure(expected_amounts.values()),
        "sage": sage_figure,
        "by_type": {kind: _figure(by_type[kind]) for kind in sorted(by_type)},
        "skipped_by_type": {kind: _figure(skipped[kind]) for kind in sorted(skipped)},
        "unposted": [
            {"invoice": key, "problem": problems[key]} for key in sorted(billed) if key in problems
        ],
        "differences": differences,
    }
