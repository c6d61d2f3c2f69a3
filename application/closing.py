"""The figures of the month-end close pack: tie-outs and aging for one period."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from application.adopt import ours
from application.context import Context, NotConfigured
from application.reconcile import reconcile
from domain.closing import (
    LedgerInvoice,
    LedgerLine,
    LedgerPayment,
    aged,
    count_str,
    group_items,
    part,
    period_last_day,
    subledger_tie_out,
    tie_out,
    totals,
)
from domain.documents import (
    AP_INVOICES,
    AR_INVOICES,
    DAILY_PAYROLL,
    JOB_COST,
    JOURNAL,
    Document,
)
from domain.money import ZERO, qty_str, to_str
from domain.payroll import settled
from domain.scope import Ours, in_scope
from domain.tieouts import PAYROLL_SOURCES


@runtime_checkable
class SageBooks(Protocol):
    """The plain rows of Sage's books the close reads (``adapters.sage.reader.SageReader``)."""

    def ledger_invoices(self, kind: str, through: str) -> Iterable[dict[str, Any]]: ...

    def ledger_payments(self, kind: str, through: str) -> Iterable[dict[str, Any]]: ...

    def ledger_lines(self, accounts: Sequence[int], through: str) -> Iterable[dict[str, Any]]: ...

    def invoice_taxes(self, period: str) -> Iterable[dict[str, Any]]: ...


def books(ctx: Context) -> SageBooks:
    reader = ctx.unlinked_sage()
    if not isinstance(reader, SageBooks):
        raise NotConfigured("this Sage reader does not read the ledger rows the close needs")
    return reader


def tie_outs(
    ctx: Context, period: str, paired: PairedTieOuts | None = None
) -> list[dict[str, Any]]:
    """The close pack's tie-outs for ``period`` ("YYYY-MM"), in the pack's order: AR billed,
    AR to GL, AP billed, AP to GL, sales tax, job cost, payroll hours, inventory relief.

    Billed, job cost and inventory relief are what ``paired`` summed while a reconcile of
    the period went through the documents recon expects and Sage's in its scope (so the
    pack reads them once); without it, a reconcile of the period that adopts nothing is run
    for them. Payroll compares the same for daily payroll; AR/AP to GL and sales tax are
    the whole company's books as Sage holds them.
    """
    if paired is None:
        paired = PairedTieOuts(ctx)
        reconcile(ctx, period=period, adopting=False, observers=paired.observers())
    sage = ctx.sage()
    model = ctx.read_model
    counts = in_scope(DAILY_PAYROLL, ctx.mapping, paired.scope())
    expected = [d for d in model.expected_stream(DAILY_PAYROLL, period)[0] if not d.is_void]
    held = [d for d in sage.stream(DAILY_PAYROLL, period) if not d.is_void and counts(d)]
    ledger = books(ctx)
    return [
        _ar_billed(paired.ar),
        _ledger(ctx, ledger, "ar", period),
        _ap_billed(paired.ap),
        _ledger(ctx, ledger, "ap", period),
        _sales_tax(ctx, ledger, period),
        _job_cost(paired.jobs),
        _payroll_hours(ctx, period, expected, held),
        _inventory_relief(paired.relief),
    ]


Observe = Callable[[list[Document], list[Document]], None]


class PairedTieOuts:
    """The tie-outs that pair what recon expects with what Sage holds key by key, summed as
    a reconcile's merge goes through both (``observers``, for ``application.reconcile``):
    void documents leave both sides, and Sage's only count in recon's scope."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.ar = _BilledPairs("3-2 invoice")
        self.ap = _BilledPairs("4-2 invoice")
        self.jobs = _JobCosts()
        self.relief = _Relief()
        self._scope: Ours | None = None

    def scope(self) -> Ours:
        """What of Sage recon answers for, read once, at the merge (after the reconcile's
        adoption)."""
        if self._scope is None:
            self._scope = ours(self.ctx)
        return self._scope

    def observers(self) -> dict[str, Observe]:
        return {
            AR_INVOICES: self._observer(AR_INVOICES, self.ar.add),
            AP_INVOICES: self._observer(AP_INVOICES, self.ap.add),
            JOB_COST: self._observer(JOB_COST, self.jobs.add),
            JOURNAL: self._observer(JOURNAL, self.relief.add),
        }

    def _observer(
        self, module: str, add: Callable[[str, list[Document], list[Document]], None]
    ) -> Observe:
        counts: Callable[[Document], bool] | None = None

        def observe(expected: list[Document], held: list[Document]) -> None:
            nonlocal counts
            if counts is None:
                counts = in_scope(module, self.ctx.mapping, self.scope())
            mine = [d for d in expected if not d.is_void]
            theirs = [d for d in held if not d.is_void and counts(d)]
            keys = dict.fromkeys(d.key for d in (*mine, *theirs))
            if len(keys) == 1:
                add(next(iter(keys)), mine, theirs)
                return
            # A key's group holds its adjusting documents too: each key is its own item.
            for key in keys:
                add(key, [d for d in mine if d.key == key], [d for d in theirs if d.key == key])

        return observe


def aging(ctx: Context, period: str) -> dict[str, Any]:
    """Open receivables (by client) and payables (by vendor) as of the period's last day,
    from Sage's own balances (``invbal`` of invoices not paid or void, posted in the period or
    earlier), bucketed by days past the due date."""
    as_of = period_last_day(period, ctx.mapping.fiscal_year_start_month)
    ledger = books(ctx)
    return {
        "as_of": as_of.isoformat(),
        "ar": aged(_invoices(ledger, "ar", period), as_of),
        "ap": aged(_invoices(ledger, "ap", period), as_of),
    }


# -- what recon keeps ----------------------------------------------------------------------


def _subtotal(document: Document) -> Decimal:
    row = document.header
    return Decimal(row.get("taxabl") or "0") + Decimal(row.get("nontax") or "0")


def _taxes(document: Document) -> dict[str, Decimal]:
    district = document.header.get("taxdst") or "none"
    tax = sum((Decimal(r.get("taxamt") or "0") for r in document.tables.get("artxdt", ())), ZERO)
    return {str(district): tax}


@dataclass
class _Billed:
    """One side of a billed tie-out, summed as its documents stream by."""

    count: int = 0
    subtotal: Decimal = ZERO
    total: Decimal = ZERO
    tax: dict[str, Decimal] = field(default_factory=dict)

    def add(self, documents: Sequence[Document]) -> None:
        self.count += len(documents)
        self.subtotal += _sum(documents, _subtotal)
        self.total += _sum(documents, _amount)
        for document in documents:
            for district, amount in _taxes(document).items():
                self.tax[district] = self.tax.get(district, ZERO) + amount


class _BilledPairs:
    """Both sides' figures of a billed tie-out, and one item per key whose documents differ
    in count, subtotal, tax or total."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.left = _Billed()
        self.right = _Billed()
        self.items: list[dict[str, Any]] = []

    def add(self, key: str, mine: list[Document], theirs: list[Document]) -> None:
        self.left.add(mine)
        self.right.add(theirs)
        if _figures(mine) == _figures(theirs):
            return
        what = self.what
        number = next((str(d.header.get("invnum") or "") for d in theirs + mine), "")
        if not theirs:
            detail = f"{what} missing in Sage"
        elif not mine:
            detail = f"{what} in Sage that recon does not expect"
        elif len(theirs) > 1:
            detail = f"{what} held {len(theirs)} times"
        else:
            detail = f"{what} differs: " + ", ".join(
                name
                for name, a, b in zip(
                    ("count", "subtotal", "tax", "total"),
                    _figures(mine),
                    _figures(theirs),
                    strict=True,
                )
                if a != b
            )
        self.items.append(
            {
                "key": key,
                "document": number,
                "left": to_str(_sum(mine, _amount)),
                "right": to_str(_sum(theirs, _amount)),
                "difference": to_str(_sum(theirs, _amount) - _sum(mine, _amount)),
                "detail": detail,
            }
        )

    def sorted_items(self) -> list[dict[str, Any]]:
        return sorted(self.items, key=lambda found: str(found["key"]))


def _ar_billed(pairs: _BilledPairs) -> dict[str, Any]:
    """ServiceTrade invoices handed to accounting (those recon expects in Sage) against the
    period's 3-2 invoices in recon's scope: count, subtotal, tax per district, total."""
    left, right, items = pairs.left, pairs.right, pairs.sorted_items()
    parts = [
        part("count", Decimal(left.count), Decimal(right.count), count_str),
        part("subtotal", left.subtotal, right.subtotal),
    ]
    for district in sorted(left.tax.keys() | right.tax.keys(), key=str):
        parts.append(
            part(f"tax district {district}", left.tax.get(district, ZERO),
                 right.tax.get(district, ZERO))
        )  # fmt: skip
    parts.append(part("total", left.total, right.total))
    return tie_out(
        "ar_billed",
        "AR billed",
        ("ServiceTrade invoices handed to accounting", "Sage 3-2 receivable invoices"),
        left.total,
        right.total,
        parts,
        items,
    )


def _ap_billed(pairs: _BilledPairs) -> dict[str, Any]:
    left, right, items = pairs.left, pairs.right, pairs.sorted_items()
    return tie_out(
        "ap_billed",
        "AP billed",
        ("PartsLedger bills", "Sage 4-2 payable invoices"),
        left.total,
        right.total,
        [
            part("count", Decimal(left.count), Decimal(right.count), count_str),
            part("total", left.total, right.total),
        ],
        items,
    )


def _figures(documents: list[Document]) -> tuple[Any, ...]:
    tax = totals(kv for d in documents for kv in _taxes(d).items()) if documents else {}
    return (len(documents), _sum(documents, _subtotal), tax, _sum(documents, _amount))


def _amount(document: Document) -> Decimal:
    return document.amount or ZERO


def _sum(documents: Iterable[Document], of: Any) -> Decimal:
    return sum((of(d) for d in documents), ZERO)


class _JobCosts:
    """Cost per job on each side (posted payroll's labor, which Sage makes itself, left
    out)."""

    def __init__(self) -> None:
        self.left: dict[str, Decimal] = {}
        self.right: dict[str, Decimal] = {}

    def add(self, _key: str, mine: list[Document], theirs: list[Document]) -> None:
        for documents, sums in ((mine, self.left), (theirs, self.right)):
            for d in documents:
                if d.header.get("srcnum") not in PAYROLL_SOURCES:
                    job = str(d.header.get("jobnum") or "none")
                    sums[job] = sums.get(job, ZERO) + _amount(d)


def _job_cost(jobs: _JobCosts) -> dict[str, Any]:
    """Per job: the costs recon expects (ServiceTrade parts and labor, PartsLedger direct
    purchases) against the period's job cost rows in recon's scope."""
    left, right = jobs.left, jobs.right
    return tie_out(
        "job_cost",
        "Job cost",
        ("ServiceTrade costs and PartsLedger direct purchases", "Sage 6-3 job cost"),
        sum(left.values(), ZERO),
        sum(right.values(), ZERO),
        [part("jobs", Decimal(len(left)), Decimal(len(right)), count_str)],
        group_items(left, right, lambda job: (f"job:{job}", job, f"job {job}")),
    )


def _payroll_hours(
    ctx: Context, period: str, expected: list[Document], daily: list[Document]
) -> dict[str, Any]:
    """Hours per employee, day and pay type: ServiceTrade labor against Sage's daily payroll
    and the timecard lines recon's labor was converted into."""
    sage = ctx.sage()
    cards = settled(expected, daily, sage.timecards(period)).values()

    def key(employee: Any, day: Any, pay_type: Any) -> tuple[str, str, str]:
        return (str(employee or ""), str(day or ""), str(pay_type or ""))

    left = totals(
        (key(d.header.get("empnum"), d.header.get("paydte"), d.header.get("paytyp")), _amount(d))
        for d in expected
    )
    right = totals(
        [
            (key(d.header.get("empnum"), d.header.get("paydte"), d.header.get("paytyp")),
             _amount(d))
            for d in daily
        ]
        + [
            (key(r.get("empnum"), r.get("dtewrk"), r.get("paytyp")),
             Decimal(r.get("hrswrk") or "0"))
            for r in cards
        ]
    )  # fmt: skip

    def describe(k: tuple[str, str, str]) -> tuple[str, str, str]:
        employee, day, pay_type = k
        return (
            f"payroll:{employee}/{day}/{pay_type}",
            f"employee {employee} {day}",
            f"employee {employee}, {day}, pay type {pay_type}",
        )

    return tie_out(
        "payroll_hours",
        "Payroll hours",
        ("ServiceTrade labor hours", "Sage daily payroll and timecard hours"),
        sum(left.values(), ZERO),
        sum(right.values(), ZERO),
        [part("lines", Decimal(len(left)), Decimal(len(right)), count_str)],
        group_items(left, right, describe, qty_str),
        qty_str,
        unit="hours",
    )


class _Relief:
    """Each journal entry's amount on each side, and its number."""

    def __init__(self) -> None:
        self.left: dict[str, Decimal] = {}
        self.right: dict[str, Decimal] = {}
        self.numbers: dict[str, str] = {}
        self.counts = [0, 0]

    def add(self, key: str, mine: list[Document], theirs: list[Document]) -> None:
        for side, documents, sums in ((0, mine, self.left), (1, theirs, self.right)):
            self.counts[side] += len(documents)
            if documents:
                sums[key] = _sum(documents, _amount)
        self.numbers[key] = str((theirs or mine)[-1].header.get("trnnum") or "")


def _inventory_relief(relief: _Relief) -> dict[str, Any]:
    """Parts used from stock against the 1-3 journal entries that relieve inventory."""
    left, right, numbers, counts = relief.left, relief.right, relief.numbers, relief.counts
    return tie_out(
        "inventory_relief",
        "Inventory relief",
        ("ServiceTrade parts used from stock", "Sage 1-3 journal entries"),
        sum(left.values(), ZERO),
        sum(right.values(), ZERO),
        [
            part("count", Decimal(counts[0]), Decimal(counts[1]), count_str),
            part("total", sum(left.values(), ZERO), sum(right.values(), ZERO)),
        ],
        group_items(
            left,
            right,
            lambda key: (
                key,
                numbers.get(key, ""),
                "journal entry missing in Sage"
                if key not in right
                else "journal entry recon does not expect"
                if key not in left
                else "journal entry amount differs",
            ),
        ),
    )


# -- the books as Sage holds them ---------------------------------------------------------------

_KIND = {
    "ar": ("ar_gl", "AR to GL", "3-2", "ar_control_account", "3-2 open receivables"),
    "ap": ("ap_gl", "AP to GL", "4-2", "ap_control_account", "4-2 open payables"),
}


def _invoices(ledger: SageBooks, kind: str, through: str) -> Iterator[LedgerInvoice]:
    return (
        LedgerInvoice(
            recnum=row["recnum"],
            number=row["invnum"],
            key=row["usrdf1"] or f"{'acrinv' if kind == 'ar' else 'acpinv'}:{row['recnum']}",
            period=row["period"],
            status=row["status"],
            total=row["invttl"],
            balance=row["invbal"],
            gl_ref=row["lgrrec"],
            party=row["party"],
            party_name=row["party_name"],
            due=row["duedte"] or row["invdte"],
        )
        for row in ledger.ledger_invoices(kind, through)
    )


def _ledger(ctx: Context, ledger: SageBooks, kind: str, period: str) -> dict[str, Any]:
    """A subledger against its control account, activity in the period and balance at its
    end. The control account's balance is the sum of its GL lines (transactions not void)
    posted up to the period: Sage's ``lgrbal`` period balances are not maintained by every
    writer of a company (recon's sql sink does not write them), the lines always are."""
    name, title, window, account_name, left_label = _KIND[kind]
    account = ctx.mapping.account(account_name)
    sign = Decimal(1) if kind == "ar" else Decimal(-1)  # AR is a debit, AP a credit balance
    lines = [
        LedgerLine(
            transaction=row["transaction"],
            number=row["trnnum"],
            source=row["srcnum"],
            period=row["period"],
            amount=sign * (row["dbtamt"] - row["crdamt"]),
        )
        for row in ledger.ledger_lines([account], period)
    ]
    payments = [
        LedgerPayment(
            invoice=row["invoice"],
            number=row["chknum"],
            period=row["period"],
            amount=row["amount"] + row["dsctkn"],
            gl_ref=row["lgrrec"],
        )
        for row in ledger.ledger_payments(kind, period)
    ]
    return subledger_tie_out(
        name,
        title,
        (left_label, f"GL account {account}"),
        period,
        list(_invoices(ledger, kind, period)),
        payments,
        lines,
        window,
    )


def _sales_tax(ctx: Context, ledger: SageBooks, period: str) -> dict[str, Any]:
    """Tax per entity account: the period's ``artxdt`` of invoices not void against the net
    credits on the tax liability accounts in the period; items per invoice and account, and
    per GL transaction no invoice names."""
    accounts = {
        entity.recnum: entity.account
        for district in ctx.mapping.tax_districts.values()
        for entity in district.entities
    } | dict(ctx.mapping.tax_entity_accounts)
    # Summed as the rows stream by; of each invoice and transaction only what names it.
    left: dict[tuple[int, int], Decimal] = {}
    invoices: dict[int, tuple[str, str, Any]] = {}
    for r in ledger.invoice_taxes(period):
        if r["status"] == 5:
            continue
        at = (r["lgrrec"], accounts.get(r["taxent"], 0))
        left[at] = left.get(at, ZERO) + r["taxamt"]
        invoices[r["lgrrec"]] = (r["usrdf1"] or f"acrinv:{r['recnum']}", r["invnum"], r["taxdst"])
    right: dict[tuple[int, int], Decimal] = {}
    transactions: dict[int, tuple[str, int]] = {}
    for r in ledger.ledger_lines(sorted(set(accounts.values())), period):
        if r["period"] != period:
            continue
        at = (r["transaction"], r["lgract"])
        right[at] = right.get(at, ZERO) + (r["crdamt"] - r["dbtamt"])
        transactions[r["transaction"]] = (r["trnnum"], r["srcnum"])

    def describe(key: tuple[int, int]) -> tuple[str, str, str]:
        gl_ref, account = key
        invoice = invoices.get(gl_ref)
        if invoice is not None:
            name, number, district = invoice
            return (name, number, f"invoice {number} district {district}, account {account}")
        number, source = transactions[gl_ref]
        return (
            f"lgrtrn:{gl_ref}",
            number,
            f"GL transaction {gl_ref} (source {source}) on account {account} names "
            "no invoice's tax",
        )

    by_account_left = totals((account, amount) for (_, account), amount in left.items())
    by_account_right = totals((account, amount) for (_, account), amount in right.items())
    parts = [
        part(f"account {account}", by_account_left.get(account, ZERO),
             by_account_right.get(account, ZERO))
        for account in sorted(by_account_left.keys() | by_account_right.keys())
    ]  # fmt: skip
    return tie_out(
        "sales_tax",
        "Sales tax",
        ("3-2 tax detail per district", "GL tax liability accounts"),
        sum(left.values(), ZERO),
        sum(right.values(), ZERO),
        parts,
        group_items(left, right, describe),
    )
