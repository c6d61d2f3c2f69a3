"""Tie-outs for the controller: what the sources say against what Sage holds, to the penny."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Engine, select

from domain.documents import AP_INVOICES, DAILY_PAYROLL, JOB_COST, Document
from domain.mapping import JOB_PER_JOB, Mapping, MappingError
from domain.money import ZERO, cents, qty_str, to_str
from domain.ports import SageReader
from domain.source import PARTSLEDGER, SERVICETRADE, Job, JobItem, VendorBill, from_payload
from projections.tables import sage_number, source_state

BILLED = ("open", "paid")


def _sources(engine: Engine, system: str, kind: str) -> list[Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(source_state.c.payload).where(
                source_state.c.system == system,
                source_state.c.kind == kind,
                source_state.c.payload.is_not(None),
                source_state.c.deleted.is_(False),
            )
        ).scalars()
        return [from_payload(kind, orjson.loads(payload)) for payload in rows]


def _compare(
    expected: dict[Any, Decimal], actual: dict[Any, Decimal], label: Callable[[Any], Any], fmt: Any
) -> dict[str, Any]:
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
    total_e = sum(expected.values(), ZERO)
    total_a = sum(actual.values(), ZERO)
    return {
        "ties": not differences,
        "groups": len(expected.keys() | actual.keys()),
        "expected_total": fmt(total_e),
        "sage_total": fmt(total_a),
        "differences": differences,
    }


def _active(documents: Iterable[Document], in_scope: Callable[[Document], bool]) -> list[Document]:
    return [d for d in documents if not d.is_void and in_scope(d)]


def tie_outs(
    engine: Engine,
    reader: SageReader,
    mapping: Mapping,
    in_scope: Callable[[str], Callable[[Document], bool]],
) -> dict[str, Any]:
    """Three tie-outs, each listing the groups that do not agree:

    - job cost per job = ServiceTrade job costs (labor and parts from stock) + PartsLedger
      direct purchases (billed lines for the job);
    - daily payroll hours per employee, day and pay type = ServiceTrade labor;
    - payable invoice totals = PartsLedger bills (open or paid).
    """
    with engine.connect() as conn:
        numbers = {(k, s): n for k, s, n in conn.execute(select(sage_number))}
    jobs: dict[str, Job] = {job.id: job for job in _sources(engine, SERVICETRADE, "job")}

    def sage_job(st_job_id: str) -> int | None:
        if mapping.job_numbering == JOB_PER_JOB:
            return numbers.get(("job", st_job_id))
        job = jobs.get(st_job_id)
        return None if job is None else numbers.get(("job", job.location_id))

    names = {user.id: user.name for user in _sources(engine, SERVICETRADE, "user")}
    items: list[JobItem] = _sources(engine, SERVICETRADE, "jobitem")
    bills: list[VendorBill] = [
        b for b in _sources(engine, PARTSLEDGER, "bill") if b.status in BILLED
    ]

    job_cost: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    hours: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    unmapped: list[str] = []
    for item in items:
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
    for bill in bills:
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
    for doc in _active(reader.read(JOB_COST, None), in_scope(JOB_COST)):
        sage_cost[int(doc.header["jobnum"] or 0)] += doc.amount or ZERO
    sage_hours: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    for doc in _active(reader.read(DAILY_PAYROLL, None), in_scope(DAILY_PAYROLL)):
        row = doc.header
        key = (int(row["empnum"] or 0), row["paydte"], int(row["paytyp"] or 0))
        sage_hours[key] += doc.amount or ZERO
    sage_ap: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    for doc in _active(reader.read(AP_INVOICES, None), in_scope(AP_INVOICES)):
        sage_ap[doc.key.removeprefix("PL-BILL-")] += doc.amount or ZERO

    return {
        "job_cost": _compare(job_cost, sage_cost, lambda job: {"job": job}, to_str),
        "daily_payroll": _compare(
            hours,
            sage_hours,
            lambda key: {"employee": key[0], "day": key[1], "pay_type": key[2]},
            qty_str,
        ),
        "ap_invoices": _compare(ap, sage_ap, lambda bill: {"bill": bill}, to_str),
        "unmapped": sorted(set(unmapped)),
    }
