"""Build the documents Sage should hold from source snapshots and the mapping (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from domain.documents import (
    AP_INVOICES,
    AP_TYPE_MEMO,
    AR_INVOICES,
    AR_STATUS_OPEN,
    AR_STATUS_VOID,
    AR_TYPE_CONTRACT,
    BILLING_OPEN,
    CLIENTS,
    CODE,
    DAILY_PAYROLL,
    GL_STATUS_OPEN,
    GL_STATUS_VOID,
    JOB_COST,
    JOB_COST_OPEN,
    JOB_COST_VOID,
    JOB_STATUS_COMPLETE,
    JOB_STATUS_CURRENT,
    JOBS,
    JOURNAL,
    RATE,
    SOURCE_AP_INVOICE,
    SOURCE_AR_INVOICE,
    SOURCE_JOURNAL,
    VENDORS,
    Document,
    Row,
    canonical_value,
    period_text,
)
from domain.keys import (
    ADJUSTS_JOB_COST,
    PARTS_TRANSACTION,
    adjustment_number,
    bill_key,
    client_key,
    invoice_key,
    job_cost_key,
    job_key,
    labor_key,
    parts_key,
    vendor_key,
)
from domain.mapping import Mapping, TaxDistrict
from domain.money import CENT, HUNDRED, ZERO, cents, qty_str, to_str
from domain.reconcile import ADJUSTABLE, folded, net_by_account
from domain.source import Company, Invoice, Job, JobItem, Location, Vendor, VendorBill

NAME_LENGTH = 50
SHORT_NAME_LENGTH = 30
DESCRIPTION_LENGTH = 50
NUMBER_LENGTH = 20


def _text(value: str, length: int) -> str:
    """Text as a Sage column of that length holds it (cut, no trailing blanks)."""
    return value[:length].rstrip()


def _flag(value: bool) -> str:
    return "1" if value else "0"


def client_document(company: Company, number: int) -> Document:
    row: Row = {
        "recnum": str(number),
        "clnnme": _text(company.name, NAME_LENGTH),
        "shtnme": _text(company.name, SHORT_NAME_LENGTH),
        "addrs1": _text(company.address.street, NAME_LENGTH),
        "ctynme": _text(company.address.city, NAME_LENGTH),
        "state_": _text(company.address.state, 2),
        "zipcde": _text(company.address.postal_code, 10),
        "phnnum": _text(company.phone, NUMBER_LENGTH),
        "inactv": _flag(company.status == "inactive"),
        "usrdf1": client_key(company.id),
    }
    return Document(CLIENTS, client_key(company.id), {"reccln": (row,)})


def job_document(
    number: int,
    name: str,
    client_number: int | None,
    location: Location | None,
    district: TaxDistrict | None,
    active: bool,
) -> Document:
    """A Sage job (3-5): one per ServiceTrade location, or one per job (configurable)."""
    address = location.address if location is not None else None
    row: Row = {
        "recnum": str(number),
        "jobnme": _text(name, NAME_LENGTH),
        "shtnme": _text(name, SHORT_NAME_LENGTH),
        "clnnum": None if client_number is None else str(client_number),
        "status": JOB_STATUS_CURRENT if active else JOB_STATUS_COMPLETE,
        "slstax": None if district is None else str(district.recnum),
        "addrs1": "" if address is None else _text(address.street, NAME_LENGTH),
        "ctynme": "" if address is None else _text(address.city, NAME_LENGTH),
        "state_": "" if address is None else _text(address.state, 2),
        "zipcde": "" if address is None else _text(address.postal_code, 10),
    }
    return Document(JOBS, job_key(number), {"actrec": (row,)})


def location_job_name(location: Location) -> str:
    return location.name


def job_job_name(job: Job) -> str:
    return f"{job.number} {job.name}".strip()


# -- receivable invoices: what ServiceTrade billed -------------------------------------------

#: A value rounded to the cent on its own is at most this far from its exact amount.
HALF_CENT = CENT / 2

#: ServiceTrade invoice types recon does not post to Sage's receivables, and why.
SKIPPED_INVOICE_TYPES = {
    "vendorbill": (
        "a vendor bill is what the company owes a vendor (a payable), not a receivable; "
        "payables reach Sage from PartsLedger bills"
    ),
    "external": (
        "invoiced outside ServiceTrade: the system that issued it holds the receivable, so "
        "posting it from ServiceTrade would bill the customer twice"
    ),
}
#: The invoice type recon posts (a partial invoice and a credit are invoices of this type).
POSTED_INVOICE_TYPE = "invoice"


class BilledTotalsError(ValueError):
    """ServiceTrade's totals for an invoice disagree with its lines, or its tax with Sage's
    rates, by more than rounding: recon posts nothing and says why; it never adjusts them."""


def ar_skip_reason(invoice: Invoice) -> str | None:
    """Why an invoice handed to accounting is not posted to Sage 3-2; None when it is.

    Type ``invoice`` is posted, partial invoices and credits (negative totals) included;
    ``vendorbill`` and ``external`` are skipped for the reasons in ``SKIPPED_INVOICE_TYPES``;
    any other type has no rule, so it is skipped and says so.
    """
    kind = invoice.invoice_type
    if kind == POSTED_INVOICE_TYPE:
        return None
    why = SKIPPED_INVOICE_TYPES.get(kind, "recon has no posting rule for this invoice type")
    return f"not posted to Sage: type {kind!r}: {why}"


def billed_total(invoice: Invoice) -> Decimal:
    """What ServiceTrade billed: ``totalPrice``; without one, the lines plus any tax given."""
    if invoice.total_price is not None:
        return cents(invoice.total_price)
    lines = sum((cents(item.quantity * item.price) for item in invoice.items), ZERO)
    return lines + cents(invoice.tax_total or ZERO)


def invoice_category(invoice: Invoice) -> str:
    """How status groups an invoice: ``credit`` (a negative total), ``partial``, or its type."""
    if invoice.invoice_type == POSTED_INVOICE_TYPE:
        if billed_total(invoice) < ZERO:
            return "credit"
        if invoice.partial:
            return "partial"
    return invoice.invoice_type


@dataclass(frozen=True, slots=True)
class TaxLine:
    entity: int
    subject: Decimal
    rate: Decimal
    tax: Decimal
    account: int


def district_tax(taxable: Decimal, district: TaxDistrict | None) -> Decimal:
    """The tax Sage's rates give on a taxable subtotal: the district's rate (its entities'
    summed), applied once and rounded half up to the cent, as ServiceTrade applies a tax
    group's rate."""
    if district is None:
        return ZERO
    return cents(taxable * district.rate / HUNDRED)


def largest_remainder(exact: Sequence[Decimal], total: Decimal) -> list[Decimal] | None:
    """Each amount to the cent so that they add up to ``total`` exactly, or None when that
    needs more than rounding (some amount moved by a cent or more).

    Every amount is cut to the cent (toward minus infinity); the cents still missing go one
    each to the amounts with the largest cut-off remainders, ties to the earlier amount.
    """
    floors = [value.quantize(CENT, rounding=ROUND_FLOOR) for value in exact]
    missing = (total - sum(floors, ZERO)) / CENT
    if missing != missing.to_integral_value():
        return None
    order = sorted(
        (i for i, value in enumerate(exact) if value != floors[i]),
        key=lambda i: (floors[i] - exact[i], i),  # the largest remainder first
    )
    if not 0 <= missing <= len(order):
        return None
    for i in order[: int(missing)]:
        floors[i] += CENT
    return [cents(value) for value in floors]  # cents(): no -0.00


def split_tax(tax: Decimal, taxable: Decimal, district: TaxDistrict) -> tuple[TaxLine, ...]:
    """ServiceTrade's tax split across the district's entities at Sage's rates, to the cent,
    adding up to ``tax`` exactly.

    Each entity's exact share is ``tax * its rate / the district's rate``; the shares are
    rounded by largest remainder (``largest_remainder``) on the tax's magnitude, so a credit
    splits as its invoice does, with the sign turned. Sage stores one ``artxdt`` row per
    entity in decimal(12,2) and the header ``slstax`` as their total.
    """
    magnitude = abs(tax)
    rate = district.rate
    exact = [magnitude * entity.rate / rate if rate else ZERO for entity in district.entities]
    shares = largest_remainder(exact, magnitude)
    if shares is None:  # only a district with no rate and a tax to carry gets here
        raise BilledTotalsError(
            f"Sage tax district {district.recnum} ({district.name}) has no rate to split a tax "
            f"of {to_str(tax)} by"
        )
    sign = -1 if tax < ZERO else 1
    return tuple(
        TaxLine(
            entity=entity.recnum,
            subject=taxable,
            rate=entity.rate,
            tax=cents(sign * share),
            account=entity.account,
        )
        for entity, share in zip(district.entities, shares, strict=True)
    )


@dataclass(frozen=True, slots=True)
class Billed:
    """An invoice's amounts as they go to Sage: lines to the cent, tax per entity, total."""

    extended: tuple[Decimal, ...]
    taxable: Decimal
    nontax: Decimal
    taxes: tuple[TaxLine, ...]
    tax: Decimal
    total: Decimal


def billed_amounts(
    invoice: Invoice, taxable_lines: Sequence[bool], district: TaxDistrict | None
) -> Billed:
    """The amounts Sage gets for what ServiceTrade billed (``totalPrice``, ``taxTotal``).

    - Total and tax are ServiceTrade's, to the cent. Without ``taxTotal`` the tax is
      ``totalPrice`` less the lines; without either it is ``district_tax`` on the taxable
      lines.
    - The lines add up to the subtotal (total - tax): each is quantity * price rounded half
      up; if those miss the subtotal, they are rounded by largest remainder instead, so long
      as no line moves by a cent or more. Beyond that the invoice disagrees with itself:
      ``BilledTotalsError``.
    - ServiceTrade's tax must be what Sage's district rates give on the taxable lines, within
      half a cent per taxable line, per entity, and once more (each side may round each of
      those on its own), and a tax needs a district with a rate to carry it: else
      ``BilledTotalsError`` (a tax group mapped to the wrong district, or a rate out of date).
    - The tax is split across the entities by ``split_tax``.
    """
    exact = [item.quantity * item.price for item in invoice.items]
    half_up = [cents(value) for value in exact]
    lines = sum(half_up, ZERO)
    taxable_half_up = sum((v for v, t in zip(half_up, taxable_lines, strict=True) if t), ZERO)
    told = invoice.tax_total is not None or invoice.total_price is not None
    if invoice.tax_total is not None:
        tax = cents(invoice.tax_total)
    elif invoice.total_price is not None:
        tax = cents(invoice.total_price) - lines
    else:
        tax = district_tax(taxable_half_up, district)
    total = cents(invoice.total_price) if invoice.total_price is not None else lines + tax
    subtotal = total - tax
    extended = half_up if lines == subtotal else largest_remainder(exact, subtotal)
    if extended is None:
        raise BilledTotalsError(
            f"ServiceTrade's subtotal {to_str(subtotal)} (totalPrice {to_str(total)} less "
            f"taxTotal {to_str(tax)}) is not what its lines add up to ({to_str(lines)}), by more "
            "than rounding; correct the invoice in ServiceTrade"
        )
    taxable = sum((v for v, t in zip(extended, taxable_lines, strict=True) if t), ZERO)
    entities = district.entities if district is not None else ()
    if tax != ZERO:
        if district is None:
            where = "its location has no Sage tax district"
        elif district.rate == ZERO:
            where = f"Sage tax district {district.recnum} ({district.name}) has a rate of 0"
        elif taxable == ZERO:
            where = "no line is taxable"
        else:
            where = ""
        if where:
            raise BilledTotalsError(f"ServiceTrade charged tax {to_str(tax)} but {where}")
    if told and district is not None:
        sage = district_tax(taxable, district)
        allowed = HALF_CENT * (sum(1 for t in taxable_lines if t) + len(entities) + 1)
        if abs(tax - sage) > allowed:
            raise BilledTotalsError(
                f"ServiceTrade's tax {to_str(tax)} is not what Sage's rates give on the taxable "
                f"lines {to_str(taxable)} ({district.rate}% in district {district.recnum} "
                f"({district.name}): {to_str(sage)}); check the tax group's district under "
                "[mapping.tax_groups] and the district's rates in Sage"
            )
    taxes: tuple[TaxLine, ...] = ()
    if district is not None and taxable != ZERO:
        taxes = split_tax(tax, taxable, district)
    return Billed(
        extended=tuple(extended),
        taxable=taxable,
        nontax=subtotal - taxable,
        taxes=taxes,
        tax=tax,
        total=total,
    )


def _gl_line(linnum: int, account: int, description: str, amount: Decimal, debit: bool) -> Row:
    # A negative amount (credit invoices) posts on the other side; both columns stay >= 0.
    if amount < ZERO:
        amount, debit = -amount, not debit
    return {
        "linnum": str(linnum),
        "lgract": str(account),
        "dscrpt": _text(description, DESCRIPTION_LENGTH),
        "dbtamt": to_str(amount) if debit else "0.00",
        "crdamt": "0.00" if debit else to_str(amount),
    }


def ar_invoice_document(
    invoice: Invoice,
    *,
    job_number: int,
    location: Location | None,
    mapping: Mapping,
    voided: bool = False,
) -> Document:
    """The 3-2 receivable invoice, its lines, tax detail and GL transaction.

    Total and tax are what ServiceTrade billed (``billed_amounts``: raises BilledTotalsError
    when its totals disagree with its lines or Sage's rates beyond rounding). A line is taxable
    when the item is taxable and the location is taxable; credit invoices carry negative
    amounts (sign kept on the amount, GL sides swapped).
    """
    day = date.fromisoformat(invoice.transaction_date)
    year, period = mapping.period_of(day)
    district = mapping.district_for(location.tax_group) if location is not None else None
    location_taxable = location.taxable if location is not None else False
    key = invoice_key(invoice.id)
    description = _text(f"ServiceTrade invoice {invoice.number}", DESCRIPTION_LENGTH)

    billed = billed_amounts(
        invoice, [item.taxable and location_taxable for item in invoice.items], district
    )
    lines: list[Row] = []
    income: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for linnum, (item, extended) in enumerate(
        zip(invoice.items, billed.extended, strict=True), start=1
    ):
        account = mapping.income_account(item.item_type)
        income[account] += extended
        lines.append(
            {
                "linnum": str(linnum),
                "dscrpt": _text(item.description, DESCRIPTION_LENGTH),
                "linqty": qty_str(item.quantity),
                "linprc": canonical_value(RATE, item.price),
                "extprc": to_str(extended),
                "lgract": str(account),
            }
        )
    taxes = billed.taxes
    total = billed.total
    header: Row = {
        "invnum": _text(invoice.number, NUMBER_LENGTH),
        "invdte": day.isoformat(),
        "duedte": (day + timedelta(days=mapping.due_days)).isoformat(),
        "jobnum": str(job_number),
        "dscrpt": description,
        "invtyp": AR_TYPE_CONTRACT,
        "status": AR_STATUS_VOID if voided else AR_STATUS_OPEN,
        "taxdst": None if district is None else str(district.recnum),
        "taxabl": to_str(billed.taxable),
        "nontax": to_str(billed.nontax),
        "slstax": to_str(billed.tax),
        "invttl": to_str(total),
        "actper": str(period),
        "postyr": str(year),
        "usrdf1": key,
    }
    tax_rows: tuple[Row, ...] = tuple(
        {
            "taxent": str(t.entity),
            "sbjtax": to_str(t.subject),
            "taxrte": canonical_value(RATE, t.rate),
            "taxamt": to_str(t.tax),
        }
        for t in taxes
    )
    gl_lines: list[Row] = [_gl_line(1, mapping.ar_control_account, description, total, True)]
    for account in sorted(income):
        gl_lines.append(_gl_line(len(gl_lines) + 1, account, description, income[account], False))
    tax_by_account: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for t in taxes:
        tax_by_account[t.account] += t.tax
    for account in sorted(tax_by_account):
        gl_lines.append(
            _gl_line(len(gl_lines) + 1, account, "Sales tax", tax_by_account[account], False)
        )
    gl_header: Row = {
        "trnnum": _text(invoice.number, NUMBER_LENGTH),
        "trndte": day.isoformat(),
        "dscrpt": description,
        "status": GL_STATUS_VOID if voided else GL_STATUS_OPEN,
        "srcnum": SOURCE_AR_INVOICE,
        "actprd": str(period),
        "postyr": str(year),
        "usrdf1": key,
    }
    return Document(
        AR_INVOICES,
        key,
        {
            "acrinv": (header,),
            "arivln": tuple(lines),
            "artxdt": tax_rows,
            "lgrtrn": (gl_header,),
            "lgtnln": tuple(gl_lines),
        },
        period=period_text(year, period),
    )


# -- PartsLedger and ServiceTrade costs ------------------------------------------------------


def _trnnum(prefix: str, source_id: str) -> str:
    return _text(f"{prefix}{source_id}", NUMBER_LENGTH)


def vendor_document(vendor: Vendor, number: int) -> Document:
    """A Sage vendor (4-4) for a PartsLedger vendor."""
    row: Row = {
        "recnum": str(number),
        "vndnme": _text(vendor.name, NAME_LENGTH),
        "shtnme": _text(vendor.name, SHORT_NAME_LENGTH),
        "addrs1": _text(vendor.address.street, NAME_LENGTH),
        "ctynme": _text(vendor.address.city, NAME_LENGTH),
        "state_": _text(vendor.address.state, 2),
        "zipcde": _text(vendor.address.postal_code, 10),
        "phnnum": _text(vendor.phone, NUMBER_LENGTH),
        "prt199": _flag(vendor.is_1099),
        "inactv": _flag(vendor.inactive),
    }
    return Document(VENDORS, vendor_key(number), {"actpay": (row,)})


def _gl(
    key: str,
    number: str,
    day: date,
    description: str,
    source: str,
    lines: list[tuple[int, Decimal, bool]],
    mapping: Mapping,
    voided: bool,
) -> dict[str, tuple[Row, ...]]:
    """A GL transaction: header and lines, debits first, amounts grouped by account."""
    year, period = mapping.period_of(day)
    grouped: dict[tuple[bool, int], Decimal] = defaultdict(lambda: ZERO)
    for account, amount, debit in lines:
        grouped[(not debit, account)] += amount
    rows: list[Row] = []
    for (credit, account), amount in sorted(grouped.items()):
        if amount != ZERO:
            rows.append(_gl_line(len(rows) + 1, account, description, amount, not credit))
    header: Row = {
        "trnnum": _text(number, NUMBER_LENGTH),
        "trndte": day.isoformat(),
        "dscrpt": _text(description, DESCRIPTION_LENGTH),
        "status": GL_STATUS_VOID if voided else GL_STATUS_OPEN,
        "srcnum": source,
        "actprd": str(period),
        "postyr": str(year),
        "usrdf1": key,
    }
    return {"lgrtrn": (header,), "lgtnln": tuple(rows)}


def ap_invoice_document(
    bill: VendorBill, *, vendor_number: int, mapping: Mapping, voided: bool = False
) -> Document:
    """The 4-2 payable invoice for a vendor bill, with its GL transaction (source 11).

    Grid lines are the bill's lines (direct purchases for a job to the direct expense account,
    stock to inventory), then freight and tax as lines of their own, so the grid adds up to the
    invoice total; ``slstax`` repeats the tax for Sage's reports.
    """
    day = date.fromisoformat(bill.bill_date)
    year, period = mapping.period_of(day)
    key = bill_key(bill.id)
    description = _text(f"PartsLedger bill {bill.number} PO {bill.po_number}", DESCRIPTION_LENGTH)
    lines: list[Row] = []
    postings: list[tuple[int, Decimal, bool]] = []

    def add(text: str, quantity: Decimal, price: Decimal, amount: Decimal, account: int) -> None:
        lines.append(
            {
                "linnum": str(len(lines) + 1),
                "prtdsc": _text(text, DESCRIPTION_LENGTH),
                "linqty": qty_str(quantity),
                "linprc": canonical_value(RATE, price),
                "extttl": to_str(amount),
                "actnum": str(account),
            }
        )
        postings.append((account, amount, True))

    for line in bill.lines:
        account = mapping.account("direct_expense_account" if line.job_id else "inventory_account")
        add(line.description, line.quantity, line.unit_cost, cents(line.amount), account)
    if bill.freight != ZERO:
        add(
            "Freight",
            Decimal(1),
            bill.freight,
            cents(bill.freight),
            mapping.account("freight_account"),
        )
    if bill.tax != ZERO:
        add(
            "Sales tax",
            Decimal(1),
            bill.tax,
            cents(bill.tax),
            mapping.account("purchase_tax_account"),
        )
    total = sum((Decimal(r["extttl"] or "0") for r in lines), ZERO)
    postings.append((mapping.account("ap_control_account"), total, False))
    header: Row = {
        "invnum": _text(bill.number, NUMBER_LENGTH),
        "vndnum": str(vendor_number),
        "dscrpt": description,
        "invdte": day.isoformat(),
        "duedte": bill.due_date,
        "invtyp": AP_TYPE_MEMO,
        "status": AR_STATUS_VOID if voided else AR_STATUS_OPEN,
        "pchord": _text(bill.po_number, NUMBER_LENGTH),
        "slstax": to_str(bill.tax),
        "invttl": to_str(total),
        "actper": str(period),
        "postyr": str(year),
        "usrdf1": key,
    }
    gl = _gl(key, bill.number, day, description, SOURCE_AP_INVOICE, postings, mapping, voided)
    return Document(
        AP_INVOICES,
        key,
        {"acpinv": (header,), "apivln": tuple(lines), **gl},
        period=period_text(year, period),
    )


def _job_cost(
    *,
    job_number: int,
    trnnum: str,
    description: str,
    day: date,
    source: str,
    cost_code: tuple[Decimal, int],
    amount: Decimal,
    mapping: Mapping,
    voided: bool,
    vendor: int | None = None,
    employee: int | None = None,
    pay_type: int | None = None,
    hours: Decimal | None = None,
) -> Document:
    year, period = mapping.period_of(day)
    row: Row = {
        "jobnum": str(job_number),
        "trnnum": _text(trnnum, NUMBER_LENGTH),
        "dscrpt": _text(description, DESCRIPTION_LENGTH),
        "trndte": day.isoformat(),
        "actprd": str(period),
        "postyr": str(year),
        "srcnum": source,
        "status": JOB_COST_VOID if voided else JOB_COST_OPEN,
        "bllsts": BILLING_OPEN,
        "cstcde": canonical_value(CODE, cost_code[0]),
        "csttyp": str(cost_code[1]),
        "vndnum": None if vendor is None else str(vendor),
        "empnum": None if employee is None else str(employee),
        # NOT NULL in Sage (reference §8): a row that is not labor holds 0.
        "paytyp": "0" if pay_type is None else str(pay_type),
        "csthrs": "0.00" if hours is None else qty_str(hours),
        "cstamt": to_str(amount),
    }
    return Document(JOB_COST, job_cost_key(row), {"jobcst": (row,)}, period_text(year, period))


def bill_job_costs(
    bill: VendorBill,
    *,
    vendor_number: int,
    job_numbers: dict[str, int],
    mapping: Mapping,
    voided: bool = False,
) -> list[Document]:
    """Job cost (source 11, Material) of a bill's direct purchases: one row per job and cost
    code, as Sage's job cost distribution of a payable invoice holds them."""
    cost_code = mapping.cost_code_for("purchase")
    per_job: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line in bill.lines:
        if line.job_id:
            per_job[job_numbers[line.job_id]] += cents(line.amount)
    day = date.fromisoformat(bill.bill_date)
    return [
        _job_cost(
            job_number=job,
            trnnum=bill.number,
            description=f"PartsLedger bill {bill.number}",
            day=day,
            source=SOURCE_AP_INVOICE,
            cost_code=cost_code,
            amount=amount,
            mapping=mapping,
            voided=voided,
            vendor=vendor_number,
        )
        for job, amount in sorted(per_job.items())
    ]


def parts_journal_document(item: JobItem, *, job_number: int, mapping: Mapping) -> Document:
    """The 1-3 journal transaction for parts used on a job from stock: debit job cost (direct
    expense), credit inventory."""
    day = date.fromisoformat(item.used_on)
    amount = cents(item.quantity * item.cost)
    key = parts_key(item.id)
    description = f"Job {job_number}: {item.name}"
    lines = [
        (mapping.account("direct_expense_account"), amount, True),
        (mapping.account("inventory_account"), amount, False),
    ]
    gl = _gl(
        key,
        _trnnum(PARTS_TRANSACTION, item.id),
        day,
        description,
        SOURCE_JOURNAL,
        lines,
        mapping,
        False,
    )
    year, period = mapping.period_of(day)
    return Document(JOURNAL, key, gl, period_text(year, period))


def parts_job_cost(item: JobItem, *, job_number: int, mapping: Mapping) -> Document:
    return _job_cost(
        job_number=job_number,
        trnnum=_trnnum(PARTS_TRANSACTION, item.id),
        description=f"{item.name} x {item.quantity}",
        day=date.fromisoformat(item.used_on),
        source=SOURCE_JOURNAL,
        cost_code=mapping.cost_code_for(item.item_type, item.service_line),
        amount=cents(item.quantity * item.cost),
        mapping=mapping,
        voided=False,
    )


def payroll_document(
    item: JobItem, *, job_number: int, employee: int, pay_type: int, mapping: Mapping
) -> Document:
    """A 5-5-1 daily payroll line for a technician's labor on a job."""
    day = date.fromisoformat(item.used_on)
    year, period = mapping.period_of(day)
    code, _cost_type = mapping.cost_code_for(item.item_type, item.service_line)
    row: Row = {
        "paydte": day.isoformat(),
        "empnum": str(employee),
        "jobnum": str(job_number),
        "cstcde": canonical_value(CODE, code),
        "paytyp": str(pay_type),
        "payhrs": qty_str(item.quantity),
        "dscrpt": _text(f"{item.name}: {item.description}".rstrip(": "), DESCRIPTION_LENGTH),
        "usrdf1": labor_key(item.id),
    }
    return Document(
        DAILY_PAYROLL, labor_key(item.id), {"dlypyr": (row,)}, period_text(year, period)
    )


# -- Adjusting documents -----------------------------------------------------------------------


class AdjustmentError(ValueError):
    """An adjusting document recon cannot build from what Sage holds (a tax difference no tax
    entity names, an original with no lines and no account to fall back on)."""


def first_day_of(period: str, mapping: Mapping) -> date:
    """The first day of a posting period ``YYYY-MM`` (posting year and period) under the
    company's fiscal year: the inverse of ``Mapping.period_of``."""
    year, number = int(period[:4]), int(period[5:7])
    start = mapping.fiscal_year_start_month
    month = (start - 1 + number - 1) % 12 + 1
    return date(year if start == 1 or month < start else year - 1, month, 1)


def _amount(row: Row, column: str) -> Decimal:
    value = row.get(column)
    return ZERO if value is None else Decimal(value)


def _adjusting_number(invnum: str, key: str) -> str:
    """The adjusting document's own number: the original's with ``-A<n>`` (Sage's invnum is
    str(20): the original's part is cut, never the suffix)."""
    suffix = f"-A{adjustment_number(key)}"
    return invnum[: NUMBER_LENGTH - len(suffix)] + suffix


def _tax_accounts(mapping: Mapping) -> dict[int, int]:
    accounts = dict(mapping.tax_entity_accounts)
    for district in mapping.tax_districts.values():
        for entity in district.entities:
            accounts.setdefault(entity.recnum, entity.account)
    return accounts


def _tax_differences(
    expected: Document, original: Document, adjustments: Sequence[Document], tax: Decimal
) -> list[Row]:
    """``artxdt`` rows of what the adjustment adds per tax entity: expected minus what the
    original and earlier adjustments hold; a difference Sage's header shows and no entity row
    does (a hand edit of ``slstax``) goes to the first entity expected."""
    subject: dict[int, Decimal] = defaultdict(lambda: ZERO)
    taxed: dict[int, Decimal] = defaultdict(lambda: ZERO)
    rates: dict[int, str | None] = {}
    for sign, documents in ((1, (expected,)), (-1, (original, *adjustments))):
        for document in documents:
            for row in document.tables.get("artxdt", ()):
                entity = int(row.get("taxent") or 0)
                subject[entity] += sign * _amount(row, "sbjtax")
                taxed[entity] += sign * _amount(row, "taxamt")
                if sign == 1 or entity not in rates:
                    rates[entity] = row.get("taxrte")
    residual = tax - sum(taxed.values(), ZERO)
    if residual != ZERO:
        entities = [int(r.get("taxent") or 0) for r in expected.tables.get("artxdt", ())]
        if not entities:
            raise AdjustmentError(
                f"{expected.key}: a tax difference of {to_str(residual)} and no tax entity "
                "expected to carry it"
            )
        taxed[entities[0]] += residual
    return [
        {
            "taxent": str(entity),
            "sbjtax": to_str(subject[entity]),
            "taxrte": rates[entity],
            "taxamt": to_str(taxed[entity]),
        }
        for entity in sorted(taxed)
        if taxed[entity] != ZERO or subject[entity] != ZERO
    ]


def adjusting_document(
    expected: Document,
    original: Document,
    adjustments: Sequence[Document],
    *,
    key: str,
    period: str,
    mapping: Mapping,
) -> Document | None:
    """The credit or debit memo that brings a posted invoice Sage may not void (paid, or in a
    locked period) to what is expected, entered in the open ``period``; None when the amounts
    already agree. A journal transaction or a parts job cost row in a locked period takes an
    adjusting journal entry (``_adjusting_journal``) or job cost row (``_adjusting_job_cost``).

    The difference is what is expected less the original and its earlier adjustments, per
    summed header amount (``domain.reconcile.ADJUSTABLE``): negative makes a credit memo,
    positive a debit memo. It is one document of the same window and type (``invtyp``) as the
    original, dated the first day of ``period``, open, numbered the original's number with
    ``-A<n>``; ``refnum`` names the original's number and ``usrdf1`` carries ``key`` (the
    original's key with ``~A<n>``). One line carries the difference before tax, on the
    original's first line's account (else the mapping's default); a receivable's tax
    difference goes in ``artxdt`` rows of its own, a payable's in a "Sales tax" line. Its GL
    transaction (source 5, or 11) balances the control account against those accounts.
    """
    if original.module not in ADJUSTABLE:
        raise AdjustmentError(f"{original.key}: {original.module} takes no adjusting document")
    if original.module == JOURNAL:
        return _adjusting_journal(expected, original, adjustments, key, period, mapping)
    if original.module == JOB_COST:
        return _adjusting_job_cost(expected, original, adjustments, key, period, mapping)
    summed, _settled = ADJUSTABLE[original.module]
    held = folded(expected, original, adjustments).header
    change = {c: _amount(expected.header, c) - _amount(held, c) for c in summed}
    if all(value == ZERO for value in change.values()):
        return None
    total, tax = change["invttl"], change["slstax"]
    day = first_day_of(period, mapping)
    year, number = mapping.period_of(day)
    invnum = str(original.header.get("invnum") or "")
    credit = total < ZERO or (total == ZERO and tax < ZERO)
    receivable = original.module == AR_INVOICES
    what = ("Credit" if credit else "Debit") + (" memo for invoice" if receivable else " for bill")
    description = _text(f"{what} {invnum}", DESCRIPTION_LENGTH)
    trnnum = _adjusting_number(invnum, key)
    header: dict[str, str | None] = {
        column: original.header.get(column) for column in original.header
    }
    header.update(
        {
            "invnum": trnnum,
            "invdte": day.isoformat(),
            "duedte": (day + timedelta(days=mapping.due_days)).isoformat(),
            "dscrpt": description,
            "status": AR_STATUS_OPEN,
            "actper": str(number),
            "postyr": str(year),
            "usrdf1": key,
            "refnum": _text(invnum, NUMBER_LENGTH),
            **{column: to_str(value) for column, value in change.items()},
        }
    )
    before_tax = total - tax
    postings: list[tuple[int, Decimal, bool]] = []
    tables: dict[str, tuple[Row, ...]]
    if receivable:
        first = original.tables.get("arivln", ())
        account = int(first[0].get("lgract") or 0) if first else mapping.default_income_account
        lines: list[Row] = []
        if before_tax != ZERO:
            lines.append(
                {
                    "linnum": "1",
                    "dscrpt": description,
                    "linqty": qty_str(Decimal(1)),
                    "linprc": canonical_value(RATE, before_tax),
                    "extprc": to_str(before_tax),
                    "lgract": str(account),
                }
            )
        taxes = _tax_differences(expected, original, adjustments, tax) if tax != ZERO else []
        accounts = _tax_accounts(mapping)
        postings.append((mapping.ar_control_account, total, True))
        postings.append((account, before_tax, False))
        for row in taxes:
            entity = int(row["taxent"] or 0)
            if entity not in accounts:
                raise AdjustmentError(
                    f"{original.key}: no sales-tax account for tax entity {entity} "
                    "(map it under the tax districts in recon.toml)"
                )
            postings.append((accounts[entity], _amount(row, "taxamt"), False))
        tables = {"acrinv": (header,), "arivln": tuple(lines), "artxdt": tuple(taxes)}
        source = SOURCE_AR_INVOICE
    else:
        first = original.tables.get("apivln", ())
        account = (
            int(first[0].get("actnum") or 0) if first else mapping.account("direct_expense_account")
        )
        grid: list[tuple[str, Decimal, int]] = []
        if before_tax != ZERO:
            grid.append((description, before_tax, account))
        if tax != ZERO:
            grid.append(("Sales tax", tax, mapping.account("purchase_tax_account")))
        ap_lines: list[Row] = [
            {
                "linnum": str(linnum),
                "prtdsc": _text(text, DESCRIPTION_LENGTH),
                "linqty": qty_str(Decimal(1)),
                "linprc": canonical_value(RATE, amount),
                "extttl": to_str(amount),
                "actnum": str(line_account),
            }
            for linnum, (text, amount, line_account) in enumerate(grid, start=1)
        ]
        postings.extend((line_account, amount, True) for _t, amount, line_account in grid)
        postings.append((mapping.account("ap_control_account"), total, False))
        tables = {"acpinv": (header,), "apivln": tuple(ap_lines)}
        source = SOURCE_AP_INVOICE
    gl = _gl(key, trnnum, day, description, source, postings, mapping, voided=False)
    return Document(original.module, key, {**tables, **gl}, period=period_text(year, number))


def _adjusting_journal(
    expected: Document,
    original: Document,
    adjustments: Sequence[Document],
    key: str,
    period: str,
    mapping: Mapping,
) -> Document | None:
    """The 1-3 journal entry (source 3, open) in the open ``period`` that brings a journal
    transaction in a locked period, with its earlier adjustments, to what is expected: one
    line per account for the difference of the net (debits less credits), a debit when it
    grows and a credit when it shrinks; numbered the original's with ``-A<n>``."""
    want = net_by_account([expected])
    held = net_by_account([original, *adjustments])
    change = {
        account: want.get(account, ZERO) - held.get(account, ZERO)
        for account in sorted(set(want) | set(held))
    }
    change = {account: amount for account, amount in change.items() if amount != ZERO}
    if not change:
        return None
    if sum(change.values(), ZERO) != ZERO:
        raise AdjustmentError(
            f"{original.key}: Sage's lines and recon's differ by "
            f"{to_str(sum(change.values(), ZERO))} of debits over credits; an adjusting entry "
            "must balance"
        )
    number = str(original.header.get("trnnum") or "")
    description = _text(f"Adjusts journal {number}", DESCRIPTION_LENGTH)
    lines = [(account, abs(amount), amount > ZERO) for account, amount in change.items()]
    day = first_day_of(period, mapping)
    gl = _gl(
        key,
        _adjusting_number(number, key),
        day,
        description,
        SOURCE_JOURNAL,
        lines,
        mapping,
        voided=False,
    )
    year, number_of_period = mapping.period_of(day)
    return Document(JOURNAL, key, gl, period=period_text(year, number_of_period))


def _adjusting_job_cost(
    expected: Document,
    original: Document,
    adjustments: Sequence[Document],
    key: str,
    period: str,
    mapping: Mapping,
) -> Document | None:
    """The job cost row in the open ``period`` that brings a parts job cost row (source 3)
    in a locked period, with its earlier adjustments, to what is expected: the same job, cost
    code and type, the difference of ``cstamt``, numbered the original's with ``-A<n>``."""
    held = folded(expected, original, adjustments).header
    change = _amount(expected.header, "cstamt") - _amount(held, "cstamt")
    if change == ZERO:
        return None
    number = str(original.header.get("trnnum") or "")
    day = first_day_of(period, mapping)
    year, number_of_period = mapping.period_of(day)
    row: Row = {
        **original.header,
        "trnnum": _adjusting_number(number, key),
        "dscrpt": _text(f"{ADJUSTS_JOB_COST}{number}", DESCRIPTION_LENGTH),
        "trndte": day.isoformat(),
        "actprd": str(number_of_period),
        "postyr": str(year),
        "status": JOB_COST_OPEN,
        "csthrs": "0.00",
        "cstamt": to_str(change),
    }
    if row.get("srcnum") != SOURCE_JOURNAL or job_cost_key(row) != key:
        raise AdjustmentError(
            f"{original.key}: only a parts job cost row (source {SOURCE_JOURNAL}, transaction "
            f"{PARTS_TRANSACTION}…) takes an adjusting row; {key} would read as "
            f"{job_cost_key(row)}"
        )
    return Document(JOB_COST, key, {"jobcst": (row,)}, period=period_text(year, number_of_period))
