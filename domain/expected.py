"""Build the documents Sage should hold from source snapshots and the mapping (pure)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from domain.documents import (
    AR_INVOICES,
    AR_STATUS_OPEN,
    AR_STATUS_VOID,
    AR_TYPE_CONTRACT,
    CLIENTS,
    GL_STATUS_OPEN,
    GL_STATUS_VOID,
    JOB_STATUS_COMPLETE,
    JOB_STATUS_CURRENT,
    JOBS,
    RATE,
    SOURCE_AR_INVOICE,
    Document,
    Row,
    canonical_value,
    period_text,
)
from domain.mapping import Mapping, TaxDistrict
from domain.money import HUNDRED, ZERO, cents, qty_str, to_str
from domain.source import Company, Invoice, Job, Location

NAME_LENGTH = 50
SHORT_NAME_LENGTH = 30
DESCRIPTION_LENGTH = 50
NUMBER_LENGTH = 20


def client_key(company_id: str) -> str:
    return f"ST-CO-{company_id}"


def job_key(job_number: int) -> str:
    return f"JOB-{job_number}"


def invoice_key(invoice_id: str) -> str:
    return f"ST-INV-{invoice_id}"


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


@dataclass(frozen=True, slots=True)
class TaxLine:
    entity: int
    subject: Decimal
    rate: Decimal
    tax: Decimal
    account: int


def sales_tax(taxable: Decimal, district: TaxDistrict | None) -> tuple[TaxLine, ...]:
    """Tax per entity of the district on the invoice's taxable subtotal.

    Each entity's tax is rounded half up to the cent on its own, and the header's tax is the
    sum of those rounded amounts: Sage stores one ``artxdt`` row per entity in decimal(12,2)
    and the header ``slstax`` as their total, so rounding per entity is the only rule under
    which the detail rows add up exactly to the header.
    """
    if district is None:
        return ()
    return tuple(
        TaxLine(
            entity=entity.recnum,
            subject=taxable,
            rate=entity.rate,
            tax=cents(taxable * entity.rate / HUNDRED),
            account=entity.account,
        )
        for entity in district.entities
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
    job_number: int | None,
    location: Location | None,
    mapping: Mapping,
    voided: bool = False,
) -> Document:
    """The 3-2 receivable invoice, its lines, tax detail and GL transaction.

    A line is taxable when the item is taxable and the location is taxable; credit invoices
    carry negative amounts (sign kept on the amount, GL sides swapped).
    """
    day = date.fromisoformat(invoice.transaction_date)
    year, period = mapping.period_of(day)
    district = mapping.district_for(location.tax_group) if location is not None else None
    location_taxable = location.taxable if location is not None else False
    key = invoice_key(invoice.id)
    description = _text(f"ServiceTrade invoice {invoice.number}", DESCRIPTION_LENGTH)

    lines: list[Row] = []
    taxable = ZERO
    nontax = ZERO
    income: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for linnum, item in enumerate(invoice.items, start=1):
        extended = cents(item.quantity * item.price)
        account = mapping.income_account(item.item_type)
        income[account] += extended
        if item.taxable and location_taxable:
            taxable += extended
        else:
            nontax += extended
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
    taxes = sales_tax(taxable, district) if taxable != ZERO else ()
    tax_total = sum((t.tax for t in taxes), ZERO)
    total = taxable + nontax + tax_total
    header: Row = {
        "invnum": _text(invoice.number, NUMBER_LENGTH),
        "invdte": day.isoformat(),
        "duedte": (day + timedelta(days=mapping.due_days)).isoformat(),
        "jobnum": None if job_number is None else str(job_number),
        "dscrpt": description,
        "invtyp": AR_TYPE_CONTRACT,
        "status": AR_STATUS_VOID if voided else AR_STATUS_OPEN,
        "taxdst": None if district is None else str(district.recnum),
        "taxabl": to_str(taxable),
        "nontax": to_str(nontax),
        "slstax": to_str(tax_total),
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
