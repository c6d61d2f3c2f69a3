"""Tie-outs for the controller: what the sources say against what Sage holds, to the penny."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.documents import Document
from domain.keys import bill_id_of
from domain.mapping import JOB_PER_JOB, MappingError
from domain.mapping import Mapping as ReconMapping
from domain.money import ZERO, cents, qty_str, to_str
from domain.scope import Scope
from domain.source import Job, JobItem, User, VendorBill

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


@dataclass(frozen=True, slots=True)
class SageSide:
    """The Sage documents each tie-out adds up, already limited to recon's scope."""

    job_cost: Iterable[Document]
    daily_payroll: Iterable[Document]
    ap_invoices: Iterable[Document]


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

    - job cost per job = ServiceTrade job costs (labor and parts from stock) + PartsLedger
      direct purchases (billed lines for the job);
    - daily payroll hours per employee, day and pay type = ServiceTrade labor;
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
        job_cost[job] += cents(item.quantity * item.cost)
        if item.item_type == "labor":
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
        sage_cost[int(doc.header["jobnum"] or 0)] += doc.amount or ZERO
    sage_hours: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    for doc in sage.daily_payroll:
        row = doc.header
        key = (int(row["empnum"] or 0), row["paydte"], int(row["paytyp"] or 0))
        sage_hours[key] += doc.amount or ZERO
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
