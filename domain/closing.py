"""Month-end close arithmetic: tie-out records, subledger-to-ledger tracing, aging buckets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from domain.money import ZERO, to_str

K = TypeVar("K", bound=Hashable)
Fmt = Callable[[Decimal], str]

#: Invoice statuses that leave nothing open (reference §3.1): 4 Paid, 5 Void.
CLOSED_STATUSES = (4, 5)
VOID_STATUS = 5
#: Aging buckets by days past due, in order; "current" is not yet due (or due today).
BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")


def count_str(value: Decimal) -> str:
    """A count as a whole-number string."""
    return str(int(value))


def part(name: str, left: Decimal, right: Decimal, fmt: Fmt = to_str) -> dict[str, Any]:
    """One sub-figure of a tie-out: both sides, the difference (right - left), and whether
    they agree."""
    return {
        "name": name,
        "left": fmt(left),
        "right": fmt(right),
        "difference": fmt(right - left),
        "ties": left == right,
    }


def item(
    key: str, document: str, left: Decimal, right: Decimal, detail: str, fmt: Fmt = to_str
) -> dict[str, Any]:
    """One row of a tie-out's difference: a document (or group) and what each side holds."""
    return {
        "key": key,
        "document": document,
        "left": fmt(left),
        "right": fmt(right),
        "difference": fmt(right - left),
        "detail": detail,
    }


def tie_out(
    name: str,
    title: str,
    labels: tuple[str, str],
    left: Decimal,
    right: Decimal,
    parts: Sequence[dict[str, Any]] = (),
    items: Sequence[dict[str, Any]] = (),
    fmt: Fmt = to_str,
    unit: str = "money",
) -> dict[str, Any]:
    """A tie-out record (``unit``: money, or hours for payroll). It ties when the headline
    figures and every part agree; its items are the rows that make up a difference, as the
    caller found them (none when it ties)."""
    ties = left == right and all(p["ties"] for p in parts)
    return {
        "name": name,
        "title": title,
        "left_label": labels[0],
        "right_label": labels[1],
        "left": fmt(left),
        "right": fmt(right),
        "difference": fmt(right - left),
        "ties": ties,
        "unit": unit,
        "parts": list(parts),
        "items": [] if ties else list(items),
    }


def totals(pairs: Iterable[tuple[K, Decimal]]) -> dict[K, Decimal]:
    """Amounts summed per key."""
    result: dict[K, Decimal] = defaultdict(lambda: ZERO)
    for key, amount in pairs:
        result[key] += amount
    return dict(result)


def differing(
    left: Mapping[K, Decimal], right: Mapping[K, Decimal]
) -> list[tuple[K, Decimal, Decimal]]:
    """(key, left, right) of every key whose amounts differ (a missing side is zero), in key
    order."""
    return [
        (key, left.get(key, ZERO), right.get(key, ZERO))
        for key in sorted(left.keys() | right.keys(), key=str)
        if left.get(key, ZERO) != right.get(key, ZERO)
    ]


def group_items(
    left: Mapping[K, Decimal],
    right: Mapping[K, Decimal],
    describe: Callable[[K], tuple[str, str, str]],
    fmt: Fmt = to_str,
) -> list[dict[str, Any]]:
    """Items for the groups that differ; ``describe`` gives a group's (key, document,
    detail)."""
    rows = []
    for key, lhs, rhs in differing(left, right):
        name, document, detail = describe(key)
        rows.append(item(name, document, lhs, rhs, detail, fmt))
    return rows


# -- a subledger against its control account ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerInvoice:
    """A posted invoice of a subledger (3-2 or 4-2) as the close reads it."""

    recnum: int
    number: str
    key: str  # recon's link key, or a Sage name of the record
    period: str
    status: int
    total: Decimal
    balance: Decimal  # Sage's open balance (invbal)
    gl_ref: int  # its GL transaction (lgrrec; 0: none)
    party: int = 0
    party_name: str = ""
    due: date | None = None

    @property
    def is_void(self) -> bool:
        return self.status == VOID_STATUS

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES and self.balance != ZERO


@dataclass(frozen=True, slots=True)
class LedgerPayment:
    """A receipt or payment applied to an invoice; ``amount`` is what moves the control
    account (cash plus discount taken; credits applied move no ledger)."""

    invoice: int
    number: str
    period: str
    amount: Decimal
    gl_ref: int


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """A GL line on a control account, of a transaction that is not void."""

    transaction: int
    number: str
    source: int
    period: str
    amount: Decimal  # signed toward the account's normal balance


@dataclass(frozen=True, slots=True)
class Traced:
    """Subledger and ledger, document by document: the left and right sums and the items
    that differ."""

    left: Decimal
    right: Decimal
    items: list[dict[str, Any]]


def trace(
    invoices: Iterable[LedgerInvoice],
    payments: Iterable[LedgerPayment],
    lines: Iterable[LedgerLine],
    *,
    balances: bool,
    window: str,
    label: str,
) -> Traced:
    """Pair each subledger document with its GL transaction on the control account.

    With ``balances`` False (activity): an invoice counts at its total (void ones not at all:
    Sage marks a void invoice and its GL transaction void, so neither side counts it), a
    payment at minus its amount. With ``balances`` True (open balance at period end): an
    open invoice counts at its balance plus what was paid on it, so that with its payments
    (at minus their amounts) it sums to its balance; what is paid or void counts nothing
    beyond its payments. GL transactions that no document names are items of their own
    (a journal entry keyed straight to the control account). ``label`` is prefixed to each
    item's detail.
    """
    by_transaction: dict[int, Decimal] = defaultdict(lambda: ZERO)
    named: dict[int, LedgerLine] = {}
    for line in lines:
        by_transaction[line.transaction] += line.amount
        named.setdefault(line.transaction, line)
    gl = dict(by_transaction)
    right_total = sum(gl.values(), ZERO)
    paid: dict[int, Decimal] = defaultdict(lambda: ZERO)
    grouped: dict[tuple[int, str], list[LedgerPayment]] = defaultdict(list)
    for payment in payments:
        paid[payment.invoice] += payment.amount
        alone = "" if payment.gl_ref else f"{payment.invoice}/{payment.number}"
        grouped[(payment.gl_ref, alone)].append(payment)
    items: list[dict[str, Any]] = []
    left_total = ZERO
    for invoice in sorted(invoices, key=lambda i: i.recnum):
        if balances:
            left = paid[invoice.recnum] + (invoice.balance if invoice.is_open else ZERO)
        else:
            left = ZERO if invoice.is_void else invoice.total
        right = ZERO
        if not invoice.is_void and invoice.gl_ref:
            right = gl.pop(invoice.gl_ref, ZERO)
        left_total += left
        detail = f"{label}: {window} invoice {invoice.number} (GL transaction {invoice.gl_ref})"
        items.append(item(invoice.key, invoice.number, left, right, detail))
    for (gl_ref, _alone), group in sorted(grouped.items()):
        left = -sum((p.amount for p in group), ZERO)
        right = gl.pop(gl_ref, ZERO) if gl_ref else ZERO
        left_total += left
        numbers = ", ".join(sorted({p.number for p in group}))
        invoices_paid = ", ".join(str(i) for i in sorted({p.invoice for p in group}))
        detail = f"{label}: payment {numbers} on invoice record {invoices_paid}" + (
            f" (GL transaction {gl_ref})" if gl_ref else " with no GL transaction"
        )
        items.append(item(f"payment:{numbers}", numbers, left, right, detail))
    for transaction, amount in sorted(gl.items()):
        line = named[transaction]
        detail = (
            f"{label}: GL transaction {transaction} (source {line.source}, period "
            f"{line.period}) on the control account names no {window} document"
        )
        items.append(item(f"lgrtrn:{transaction}", line.number, ZERO, amount, detail))
    return Traced(left_total, right_total, [i for i in items if Decimal(i["difference"]) != ZERO])


def subledger_tie_out(
    name: str,
    title: str,
    labels: tuple[str, str],
    period: str,
    invoices: Sequence[LedgerInvoice],
    payments: Sequence[LedgerPayment],
    lines: Sequence[LedgerLine],
    window: str,
) -> dict[str, Any]:
    """A subledger against its control account: the period's activity (invoices less
    payments) against the account's activity, and the open balance at period end (Σ open
    invoice balances) against the account's balance; headline figures are the balances.
    Everything given is posted in ``period`` or earlier."""
    now = [i for i in invoices if i.period == period]
    activity = trace(
        now,
        [p for p in payments if p.period == period],
        [line for line in lines if line.period == period],
        balances=False,
        window=window,
        label="activity",
    )
    balance = trace(invoices, payments, lines, balances=True, window=window, label="balance")
    parts = [
        part("activity", activity.left, activity.right),
        part("balance", balance.left, balance.right),
    ]
    items = (activity.items if activity.left != activity.right else []) + (
        balance.items if balance.left != balance.right else []
    )
    return tie_out(name, title, labels, balance.left, balance.right, parts, items)


# -- aging -------------------------------------------------------------------------------------


def period_last_day(period: str, fiscal_year_start_month: int = 1) -> date:
    """The last day of fiscal period "YYYY-MM" (period 1-12) of a fiscal year that starts in
    ``fiscal_year_start_month`` (the inverse of ``Mapping.period_of``)."""
    try:
        year, number = (int(p) for p in period.split("-"))
    except ValueError as exc:
        raise ValueError(f"expected a period as 'YYYY-MM', got {period!r}") from exc
    if not 1 <= number <= 12:
        raise ValueError(f"expected a period 01-12 to close, got {period!r}")
    start = fiscal_year_start_month
    month = (start - 1 + number - 1) % 12 + 1
    calendar_year = year if start == 1 or month < start else year - 1
    first_after = date(calendar_year + (month == 12), month % 12 + 1, 1)
    return first_after - timedelta(days=1)


def bucket(due: date | None, as_of: date) -> str:
    """The aging bucket of a balance due on ``due`` as of ``as_of`` (no due date: current)."""
    days = 0 if due is None else (as_of - due).days
    if days <= 0:
        return "current"
    if days <= 30:
        return "1_30"
    if days <= 60:
        return "31_60"
    if days <= 90:
        return "61_90"
    return "over_90"


def _buckets(amounts: Mapping[str, Decimal]) -> dict[str, str]:
    return {name: to_str(amounts.get(name, ZERO)) for name in BUCKETS}


def aged(invoices: Iterable[LedgerInvoice], as_of: date) -> dict[str, Any]:
    """Open balances by party and by days past due as of ``as_of``: the total, the buckets
    and one row per party (by number)."""
    by_party: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    names: dict[int, str] = {}
    overall: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for invoice in invoices:
        if not invoice.is_open:
            continue
        name = bucket(invoice.due, as_of)
        by_party[invoice.party][name] += invoice.balance
        overall[name] += invoice.balance
        names.setdefault(invoice.party, invoice.party_name)
    return {
        "total": to_str(sum(overall.values(), ZERO)),
        "buckets": _buckets(overall),
        "rows": [
            {
                "number": number,
                "name": names[number],
                "total": to_str(sum(amounts.values(), ZERO)),
                "buckets": _buckets(amounts),
            }
            for number, amounts in sorted(by_party.items())
        ],
    }
