"""The brownfield sandbox: a company with two years of history that balances like Sage's own."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Row, func, select

from adapters.sage.brownfield import (
    Brownfield,
    BrownfieldHistory,
    HandKeyedCustomer,
    HandKeyedInvoice,
    HandKeyedLine,
    init_brownfield,
)
from adapters.sage.engine import create_sage_engine
from adapters.sage.errors import SandboxExistsError
from adapters.sage.reader import SageReader
from adapters.sage.schema import (
    DATA_TABLES,
    TABLES,
    acpinv,
    acppmt,
    acrinv,
    acrpmt,
    actpay,
    actrec,
    apivln,
    arivln,
    artxdt,
    dlypyr,
    employ,
    jobcst,
    lgract,
    lgrbal,
    lgrtrn,
    lgtnln,
    payrec,
    reccln,
    tmcdln,
)
from domain.documents import MODULES
from domain.mapping import Mapping, TaxDistrict, TaxEntity
from domain.policy import Periods

TODAY = date(2026, 3, 14)  # a Saturday: this week's daily payroll is Monday to Friday
STATE = TaxEntity(10, "North Carolina", Decimal("4.75"), 2310)
WAKE = TaxDistrict(
    1,
    "Wake County NC",
    (
        STATE,
        TaxEntity(11, "Wake County", Decimal("2.00"), 2320),
        TaxEntity(12, "Wake Transit", Decimal("0.50"), 2320),
    ),
)
DURHAM = TaxDistrict(
    2,
    "Durham County NC",
    (
        STATE,
        TaxEntity(21, "Durham County", Decimal("2.25"), 2320),
        TaxEntity(22, "Durham Transit", Decimal("0.50"), 2320),
    ),
)
EXEMPT = TaxDistrict(9, "Exempt", (TaxEntity(90, "Exempt", Decimal("0.00"), 2310),))
MAPPING = Mapping(
    ar_control_account=1200,
    default_income_account=4000,
    income_accounts={"labor": 4100, "part": 4200, "material": 4200, "fee": 4300},
    tax_districts={1: WAKE, 2: DURHAM, 9: EXEMPT},
    tax_group_districts={"Wake County NC": 1, "Durham County NC": 2, "Exempt": 9},
    client_number_start=1001,
    job_number_start=5001,
    vendor_number_start=2001,
    ap_control_account=2000,
    inventory_account=1300,
    direct_expense_account=5000,
    freight_account=5100,
    purchase_tax_account=5000,
    employees={f"Tech {n}": 101 + n for n in range(8)},
    cost_codes={
        "labor": (Decimal("100.000"), 2),
        "part": (Decimal("200.000"), 1),
        "purchase": (Decimal("210.000"), 1),
    },
    default_cost_code=(Decimal("900.000"), 5),
)
CUSTOMERS = (
    HandKeyedCustomer(
        "Acme Dental", "12 Main St", "Raleigh", "NC", "27601", "(919) 555-0101", tax_district=1
    ),
    HandKeyedCustomer("Bull City Lofts", "300 Foster St", "Durham", "NC", "27701", tax_district=2),
    HandKeyedCustomer(
        "Chapel Hill Library",
        "100 Library Dr",
        "Chapel Hill",
        "NC",
        "27514",
        tax_district=9,
        job_name="Library - HVAC service",
    ),
    HandKeyedCustomer("Dogwood Diner", "44 Wade Ave", "Raleigh", "NC", "27605", tax_district=1),
    HandKeyedCustomer(
        "Eno River Brewing", "9 Rigsbee Ave", "Durham", "NC", "27701", tax_district=2
    ),
    # no district given, and the mapping has no default: its invoices carry no tax detail
    HandKeyedCustomer("Falls Lake Marina", "1 Marina Rd", "Wake Forest", "NC", "27587"),
)
FILTER = HandKeyedLine("Pleated filter 20x25", Decimal("87.60"), Decimal(4), True, "part")
LABOR = HandKeyedLine("Service labor", Decimal("190.00"), Decimal(2), False, "labor")
TRIP = HandKeyedLine("Trip charge", Decimal("79.00"), Decimal(1), False, "fee")


def _invoice(
    number: int, customer: str, day: date, total: str, tax: str, *lines: HandKeyedLine
) -> HandKeyedInvoice:
    return HandKeyedInvoice(
        f"INV-{number}", customer, day, Decimal(total), Decimal(tax), tuple(lines)
    )


INVOICES = (
    _invoice(10001, "Acme Dental", date(2025, 11, 3), "362.95", "6.35", FILTER, LABOR, TRIP),
    _invoice(10002, "Bull City Lofts", date(2025, 11, 20), "269.00", "0.00", LABOR, TRIP),
    _invoice(
        10003, "Chapel Hill Library", date(2025, 12, 2), "356.60", "0.00", FILTER, LABOR, TRIP
    ),
    _invoice(10004, "Dogwood Diner", date(2025, 12, 15), "93.95", "6.35", FILTER),
    _invoice(10005, "Eno River Brewing", date(2026, 1, 8), "363.17", "6.57", FILTER, LABOR, TRIP),
    _invoice(10006, "Acme Dental", date(2026, 1, 22), "190.00", "0.00", LABOR),
    _invoice(10007, "Falls Lake Marina", date(2026, 2, 2), "269.00", "0.00", LABOR, TRIP),
    _invoice(10008, "Dogwood Diner", date(2026, 2, 17), "362.95", "6.35", FILTER, LABOR, TRIP),
    _invoice(10009, "Bull City Lofts", date(2026, 2, 27), "94.17", "6.57", FILTER),
    _invoice(10010, "Acme Dental", date(2026, 3, 4), "500.00", "0.00"),  # no lines: one line
    _invoice(
        10011,
        "Eno River Brewing",
        date(2026, 3, 10),
        "-94.17",
        "-6.57",
        HandKeyedLine("Credit - returned filter", Decimal("-87.60")),
    ),
    _invoice(
        10012, "Chapel Hill Library", date(2026, 3, 12), "269.01", "0.00", LABOR, TRIP
    ),  # a cent off
)
HISTORY = BrownfieldHistory(customers=CUSTOMERS, invoices=INVOICES)
SMALL = BrownfieldHistory(
    customers=CUSTOMERS[:2],
    invoices=INVOICES[:2],
    clients=8,
    jobs=12,
    vendors=8,
    ar_invoices=60,
    ap_invoices=50,
    employees=10,
    months=6,
)
SEED = 11
LINK_PREFIXES = ("ST-", "PL-")
VOID, PAID, ZERO = 5, 4, Decimal(0)


@dataclass(frozen=True)
class Company:
    engine: Engine
    made: Brownfield
    seconds: float

    def rows(self, *columns: Any, where: Any = None) -> list[Row[Any]]:
        statement = select(*columns)
        if where is not None:
            statement = statement.where(where)
        with self.engine.connect() as connection:
            return list(connection.execute(statement))


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def company(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Company]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('brownfield') / 'sage.db'}"
    else:
        url = str(request.getfixturevalue("postgres_sandbox_url"))
    started = time.monotonic()
    made = init_brownfield(url, MAPPING, history=HISTORY, today=TODAY, seed=SEED, reset=True)
    seconds = time.monotonic() - started
    engine = create_sage_engine(url)
    yield Company(engine, made, seconds)
    engine.dispose()


# -- the ledger ----------------------------------------------------------------------------


def test_every_gl_transaction_balances(company: Company) -> None:
    debits: dict[int, Decimal] = defaultdict(Decimal)
    credits: dict[int, Decimal] = defaultdict(Decimal)
    for recnum, debit, credit in company.rows(lgtnln.c.recnum, lgtnln.c.dbtamt, lgtnln.c.crdamt):
        assert debit >= 0 and credit >= 0 and (debit == 0 or credit == 0)
        debits[recnum] += debit
        credits[recnum] += credit
    transactions = {r.recnum: r for r in company.rows(lgrtrn.c.recnum, lgrtrn.c.lgrrec)}
    assert set(debits) == set(transactions)
    assert debits == credits
    assert all(r.lgrrec == r.recnum for r in transactions.values())


def test_period_balances_are_each_periods_net_activity_debits_positive(company: Company) -> None:
    net: dict[tuple[int, int, int], Decimal] = defaultdict(Decimal)
    lines = company.rows(
        lgtnln.c.lgract, lgrtrn.c.postyr, lgrtrn.c.actprd, lgtnln.c.dbtamt, lgtnln.c.crdamt,
        where=(lgtnln.c.recnum == lgrtrn.c.recnum) & (lgrtrn.c.status != 3),
    )  # fmt: skip
    for account, year, period, debit, credit in lines:
        net[(account, year, period)] += debit - credit
    balances = {
        (r.lgract, r.postyr, r.actprd): r.balnce
        for r in company.rows(lgrbal.c.lgract, lgrbal.c.postyr, lgrbal.c.actprd, lgrbal.c.balnce)
    }
    assert len(balances) == len(company.rows(lgrbal.c.recnum))  # one row per account and period
    assert {key: balances[key] for key in net} == net
    assert all(value == 0 for key, value in balances.items() if key not in net)
    accounts = {r.recnum for r in company.rows(lgract.c.recnum)}
    assert {key[0] for key in balances} == accounts
    assert {key[2] for key in balances} == set(range(1, 13))
    per_period: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for (_account, year, period), value in balances.items():
        per_period[(year, period)] += value
    assert set(per_period.values()) == {ZERO}  # debits positive: every period nets to 0


def test_each_document_is_posted_by_its_own_window(company: Company) -> None:
    gl = {r.recnum: r for r in company.rows(lgrtrn)}
    for invoice in company.rows(acrinv):
        posted = gl[invoice.lgrrec]
        assert (posted.srcnum, posted.trnnum, posted.actprd, posted.postyr) == (
            5,
            invoice.invnum,
            invoice.actper,
            invoice.postyr,
        )
        assert (posted.status == 3) == (invoice.status == VOID)
    for invoice in company.rows(acpinv):
        posted = gl[invoice.lgrrec]
        assert (posted.srcnum, posted.trnnum, posted.vndnum) == (11, invoice.invnum, invoice.vndnum)
        assert (posted.status == 3) == (invoice.status == VOID)
    for receipt in company.rows(acrpmt):
        if receipt.lgrrec:  # a credit applied moves no cash
            assert (gl[receipt.lgrrec].srcnum, gl[receipt.lgrrec].trnnum) == (10, receipt.chknum)
        else:
            assert receipt.amount == 0 and receipt.aplcrd != 0
    for check in company.rows(acppmt):
        if check.lgrrec:
            posted = gl[check.lgrrec]
            assert (posted.srcnum, posted.trnnum, posted.chkamt, posted.vndnum) == (
                14,
                check.chknum,
                check.amount,
                check.vndnum,
            )
        else:
            assert check.amount == 0 and check.aplcrd != 0
    for record in company.rows(payrec):
        posted = gl[record.lgrrec]
        assert (posted.srcnum, posted.empnum, posted.chkamt) == (16, record.empnum, record.netpay)
    assert {r.srcnum for r in gl.values()} == {5, 10, 11, 14, 16}


def test_bank_transactions_are_cleared_only_in_locked_periods(company: Company) -> None:
    locked = company.made.locked_through
    for row in company.rows(lgrtrn.c.status, lgrtrn.c.srcnum, lgrtrn.c.postyr, lgrtrn.c.actprd):
        period = f"{row.postyr:04d}-{row.actprd:02d}"
        assert period <= company.made.current_period
        if row.status == 2:
            assert row.srcnum in (10, 14, 16) and period <= locked
        elif row.srcnum in (10, 14, 16):
            assert period > locked


# -- invoices and payments -----------------------------------------------------------------


@pytest.mark.parametrize("header", [acrinv, acpinv], ids=["AR", "AP"])
def test_paid_and_balance_add_up_to_the_total_and_paid_means_nothing_owed(
    company: Company, header: Any
) -> None:
    for invoice in company.rows(header):
        assert invoice.ttlpad + invoice.invbal == invoice.invttl
        assert invoice.invnet == invoice.invbal
        if invoice.status == VOID:  # Sage keeps a void invoice's balance (reference §2.4)
            assert invoice.amtpad == 0 and invoice.invbal == invoice.invttl
        else:
            assert (invoice.status == PAID) == (invoice.invbal == 0), invoice.invnum


@pytest.mark.parametrize(
    ("header", "payments"), [(acrinv, acrpmt), (acpinv, acppmt)], ids=["AR", "AP"]
)
def test_payments_add_up_to_what_the_invoice_shows_paid(
    company: Company, header: Any, payments: Any
) -> None:
    cash: dict[int, Decimal] = defaultdict(Decimal)
    settled: dict[int, Decimal] = defaultdict(Decimal)
    invoices = {r.recnum: r for r in company.rows(header)}
    for payment in company.rows(payments):
        invoice = invoices[payment.recnum]
        assert payment._idref == invoice._idnum
        assert invoice.invdte <= payment.chkdte <= TODAY
        cash[payment.recnum] += payment.amount
        settled[payment.recnum] += payment.amount + payment.dsctkn + payment.aplcrd
    for recnum, invoice in invoices.items():
        assert (cash[recnum], settled[recnum]) == (invoice.amtpad, invoice.ttlpad), invoice.invnum


@pytest.mark.parametrize("header", [acrinv, acpinv], ids=["AR", "AP"])
def test_the_company_holds_paid_partly_paid_open_void_and_credit_invoices(
    company: Company, header: Any
) -> None:
    invoices = company.rows(header)
    kinds = Counter(
        "void"
        if i.status == VOID
        else "credit"
        if i.invttl < 0
        else "paid"
        if i.status == PAID
        else "partly paid"
        if i.amtpad
        else "open"
        for i in invoices
    )
    assert set(kinds) == {"void", "credit", "paid", "partly paid", "open"}
    assert kinds["paid"] > len(invoices) / 2
    numbers = {i.invnum for i in invoices}
    assert all(i.refnum in numbers for i in invoices if i.invttl < 0 and i.refnum)


def test_receivable_lines_and_tax_detail_add_up_to_the_header(company: Company) -> None:
    lines: dict[int, Decimal] = defaultdict(Decimal)
    for recnum, amount in company.rows(arivln.c.recnum, arivln.c.extprc):
        lines[recnum] += amount
    taxes: dict[int, Decimal] = defaultdict(Decimal)
    for recnum, amount in company.rows(artxdt.c.recnum, artxdt.c.taxamt):
        taxes[recnum] += amount
    for invoice in company.rows(acrinv):
        assert invoice.taxabl + invoice.nontax == invoice.subttl == lines[invoice.recnum]
        assert invoice.subttl + invoice.slstax == invoice.invttl
        if invoice.recnum in taxes:
            assert taxes[invoice.recnum] == invoice.slstax, invoice.invnum


def test_open_balances_of_clients_jobs_and_vendors_are_their_open_invoices(
    company: Company,
) -> None:
    open_ar = [i for i in company.rows(acrinv) if i.status not in (PAID, VOID)]
    jobs = {r.recnum: r for r in company.rows(actrec)}
    by_client: dict[int, Decimal] = defaultdict(Decimal)
    by_job: dict[int, Decimal] = defaultdict(Decimal)
    for invoice in open_ar:
        by_job[invoice.jobnum] += invoice.invbal
        by_client[jobs[invoice.jobnum].clnnum] += invoice.invbal
    assert {r.recnum: r.endbal for r in company.rows(reccln) if r.endbal} == {
        k: v for k, v in by_client.items() if v
    }
    assert {r.recnum: r.endbal for r in jobs.values() if r.endbal} == {
        k: v for k, v in by_job.items() if v
    }
    by_vendor: dict[int, Decimal] = defaultdict(Decimal)
    for invoice in company.rows(acpinv):
        if invoice.status not in (PAID, VOID):
            by_vendor[invoice.vndnum] += invoice.invbal
    assert {r.recnum: r.endbal for r in company.rows(actpay) if r.endbal} == {
        k: v for k, v in by_vendor.items() if v
    }


def test_payable_job_cost_is_the_distribution_of_its_direct_expense_lines(company: Company) -> None:
    direct = {r.recnum for r in company.rows(lgract.c.recnum, where=lgract.c.acttyp == 13)}
    lines: dict[int, Decimal] = defaultdict(Decimal)
    for recnum, account, amount in company.rows(apivln.c.recnum, apivln.c.actnum, apivln.c.extttl):
        if account in direct:
            lines[recnum] += amount
    invoices = {r.lgrrec: r for r in company.rows(acpinv)}
    costed: dict[int, Decimal] = defaultdict(Decimal)
    for cost in company.rows(jobcst, where=jobcst.c.srcnum == 11):
        invoice = invoices[cost.lgrrec]
        assert (cost.trnnum, cost.vndnum, cost.empnum, cost.payrec) == (
            invoice.invnum,
            invoice.vndnum,
            None,
            None,
        )
        assert (cost.status == 2) == (invoice.status == VOID)
        costed[invoice.recnum] += cost.cstamt
    assert costed == {k: v for k, v in lines.items() if v}


# -- payroll -------------------------------------------------------------------------------


def test_timecard_hours_and_pay_add_up_to_the_payroll_record(company: Company) -> None:
    hours: dict[int, Counter[int]] = defaultdict(Counter)
    for recnum, pay_type, worked in company.rows(tmcdln.c.recnum, tmcdln.c.paytyp, tmcdln.c.hrswrk):
        hours[recnum][pay_type] += worked
    records = company.rows(payrec)
    assert {r.recnum for r in records} >= set(hours)
    for record in records:
        assert (record.paytyp, record.status) == (1, 3)  # regular timecard, posted
        worked = hours[record.recnum]
        assert record.ttlhrs == sum(worked.values(), ZERO)
        assert (record.reghrs, record.ovthrs) == (worked[1], worked[2])
        assert record.grspay == record.regpay + record.ovtpay + record.salary
        assert record.netpay == record.grspay - record.dedttl
        assert record.strprd <= record.payprd < record.chkdte or record.chkdte == TODAY


def test_labor_job_cost_is_what_posting_the_timecards_creates(company: Company) -> None:
    employees = {r.recnum: r.empnum for r in company.rows(payrec.c.recnum, payrec.c.empnum)}
    expected: dict[tuple[Any, ...], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in company.rows(tmcdln, where=tmcdln.c.jobnum != 0):
        key = (line.recnum, employees[line.recnum], line.jobnum, line.cstcde, line.paytyp)
        expected[key][0] += line.hrswrk
        expected[key][1] += line.jobcst
        assert line.jobcst == (line.hrswrk * line.payrte).quantize(Decimal("0.01"))
    found = {}
    for cost in company.rows(jobcst, where=jobcst.c.srcnum == 16):
        assert (cost.csttyp, cost.status, cost.vndnum) == (2, 1, None)
        key = (cost.payrec, cost.empnum, cost.jobnum, cost.cstcde, cost.paytyp)
        assert key not in found
        found[key] = [cost.csthrs, cost.cstamt]
    assert found == expected
    assert company.rows(tmcdln, where=tmcdln.c.jobnum == 0)  # shop time: no job cost
    labor = {r.lgrrec: r for r in company.rows(payrec)}
    posted: dict[int, Decimal] = defaultdict(Decimal)
    for cost in company.rows(jobcst, where=jobcst.c.srcnum == 16):
        posted[cost.lgrrec] += cost.cstamt
    for recnum, debit in company.rows(
        lgtnln.c.recnum, lgtnln.c.dbtamt, where=lgtnln.c.lgract == 5100
    ):
        assert posted.pop(recnum) == debit and recnum in labor  # ledger = job cost
    assert not posted


def test_this_weeks_daily_payroll_waits_to_be_converted(company: Company) -> None:
    daily = company.rows(dlypyr)
    assert {r.paydte for r in daily} == {date(2026, 3, d) for d in range(9, 14)}
    assert all(r.usrdf1 == "" and r.paytyp == 1 for r in daily)
    for day in {r.paydte for r in daily}:
        assert sorted(r.linnum for r in daily if r.paydte == day) == list(
            range(1, 1 + sum(r.paydte == day for r in daily))
        )
    converted = max(r.dtewrk for r in company.rows(tmcdln))
    assert converted < date(2026, 3, 9)
    current = {r.recnum for r in company.rows(employ, where=employ.c.status == 1)}
    assert {r.empnum for r in daily} <= current


# -- masters and numbers -------------------------------------------------------------------


def test_masters_sit_in_recons_number_ranges_and_carry_no_link_key(company: Company) -> None:
    clients = sorted(r.recnum for r in company.rows(reccln))
    jobs = sorted(r.recnum for r in company.rows(actrec))
    vendors = sorted(r.recnum for r in company.rows(actpay))
    assert clients == list(range(1001, 1001 + 40 + len(CUSTOMERS)))
    assert jobs == list(range(5001, 5001 + 80 + len(CUSTOMERS)))
    assert vendors == list(range(2001, 2001 + 25))
    for table in ("reccln", "acrinv", "acpinv", "lgrtrn", "dlypyr"):
        texts = [r.usrdf1 for r in company.rows(TABLES[table].c.usrdf1)]
        assert not [t for t in texts if t.startswith(LINK_PREFIXES)], table
    employees = {r.recnum: r for r in company.rows(employ)}
    assert len(employees) == 12 and set(MAPPING.employees.values()) <= set(employees)
    assert {r.status for r in employees.values()} == {1, 3}
    assert all(r.payrt1 > 0 for r in employees.values() if not r.salary)


def test_jobs_carry_sage_statuses_and_only_started_jobs_have_activity(company: Company) -> None:
    jobs = {r.recnum: r for r in company.rows(actrec)}
    assert {r.status for r in jobs.values()} == {1, 2, 3, 4, 5, 6}
    idle = {n for n, r in jobs.items() if r.status in (1, 2, 3)}
    busy = {r.jobnum for r in company.rows(acrinv.c.jobnum)} | {
        r.jobnum for r in company.rows(jobcst.c.jobnum)
    }
    assert busy <= set(jobs) and not busy & idle
    clients = {r.recnum for r in company.rows(reccln)}
    assert {r.clnnum for r in jobs.values()} <= clients


def test_the_hand_keyed_servicetrade_invoices_are_there_as_servicetrade_billed_them(
    company: Company,
) -> None:
    made = company.made
    clients = {r.recnum: r for r in company.rows(reccln)}
    jobs = {r.recnum: r for r in company.rows(actrec)}
    invoices = {r.recnum: r for r in company.rows(acrinv)}
    assert set(made.clients) == {c.name for c in CUSTOMERS} == set(made.jobs)
    for customer in CUSTOMERS:
        client = clients[made.clients[customer.name]]
        assert (client.clnnme, client.addrs1, client.usrdf1) == (customer.name, customer.street, "")
        job = jobs[made.jobs[customer.name]]
        assert (job.clnnum, job.jobnme, job.status) == (
            client.recnum,
            customer.job_name or customer.name,
            4,
        )
    assert set(made.invoices) == {i.number for i in INVOICES}
    for source in INVOICES:
        invoice = invoices[made.invoices[source.number]]
        assert (invoice.invnum, invoice.invdte, invoice.invttl, invoice.slstax, invoice.usrdf1) == (
            source.number, source.date, source.total, source.tax, ""
        )  # fmt: skip
        assert invoice.jobnum == made.jobs[source.customer]
        assert invoice.status in (1, 2, 3, 4)
    paid = [invoices[r].amtpad for r in made.invoices.values()]
    assert any(paid) and not all(paid)
    tax = {
        r.taxent: r.taxamt
        for r in company.rows(artxdt, where=artxdt.c.recnum == made.invoices["INV-10001"])
    }
    assert tax == {10: Decimal("4.16"), 11: Decimal("1.75"), 12: Decimal("0.44")}
    same = [i for i in invoices.values() if i.invnum in made.invoices]
    assert len(same) == len(INVOICES)  # no office invoice shares a ServiceTrade number


def test_the_locked_range_is_returned_for_recons_config(company: Company) -> None:
    made = company.made
    assert (made.history_from, made.locked_through, made.current_period) == (
        "2024-03",
        "2026-01",
        "2026-03",
    )
    assert made.periods == Periods("2026-03", "2026-01")
    assert set(made.rows) == set(DATA_TABLES) - {"jobphs"} | {"employ", "cstcde"}
    for table in DATA_TABLES:
        assert len(company.rows(TABLES[table].c._idnum)) == made.rows.get(table, 0), table


def test_the_reader_reads_every_module_of_the_company(company: Company) -> None:
    reader = SageReader(company.engine, MAPPING)
    for module in MODULES:
        keys = [document.key for document in reader.read(module)]
        assert len(keys) == len(set(keys)), module
        assert not [k for k in keys if k.startswith(LINK_PREFIXES)], module


def test_a_two_year_company_is_made_in_seconds(company: Company) -> None:
    assert company.seconds < 30  # ~2 s on SQLite; the budget leaves room for a slow machine
    assert 2_500 <= company.made.rows["tmcdln"] <= 8_000


# -- determinism and refusals (SQLite) -----------------------------------------------------


def _content(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every history table's rows without their GUIDs, in a stable order."""
    engine = create_sage_engine(url)
    try:
        with engine.connect() as connection:
            found = {}
            for name in (*DATA_TABLES, "employ", "lgract", "cstcde"):
                table = TABLES[name]
                columns = [c for c in table.c if c.name not in ("_idnum", "_idref")]
                rows = connection.execute(select(*columns)).all()
                found[name] = sorted((tuple(r) for r in rows), key=repr)
            return found
    finally:
        engine.dispose()


def test_the_same_seed_and_day_make_the_same_company(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db", "c.db")]
    first = init_brownfield(urls[0], MAPPING, history=SMALL, today=TODAY, seed=3)
    second = init_brownfield(urls[1], MAPPING, history=SMALL, today=TODAY, seed=3)
    other = init_brownfield(urls[2], MAPPING, history=SMALL, today=TODAY, seed=4)
    assert first == second
    assert _content(urls[0]) == _content(urls[1])
    assert _content(urls[0]) != _content(urls[2])
    assert other.current_period == first.current_period


def test_a_sandbox_that_holds_data_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sage.db'}"
    made = init_brownfield(url, MAPPING, history=SMALL, today=TODAY, seed=3)
    before = _content(url)
    with pytest.raises(SandboxExistsError, match="already holds data"):
        init_brownfield(url, MAPPING, history=SMALL, today=TODAY, seed=4)
    assert _content(url) == before
    again = init_brownfield(url, MAPPING, history=SMALL, today=TODAY, seed=3, reset=True)
    assert again == made and _content(url) == before


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (BrownfieldHistory(invoices=(INVOICES[0],)), "names customer 'Acme Dental'"),
        (BrownfieldHistory(customers=CUSTOMERS[:1] * 2), "one hand-keyed customer per name"),
        (
            BrownfieldHistory(customers=CUSTOMERS[:1], invoices=(INVOICES[0], INVOICES[0])),
            "one hand-keyed invoice per number",
        ),
        (
            BrownfieldHistory(
                customers=CUSTOMERS[:1],
                invoices=(HandKeyedInvoice("INV-1", "Acme Dental", date(2026, 3, 15), Decimal(1)),),
            ),
            "after today",
        ),
        (
            BrownfieldHistory(
                customers=CUSTOMERS[:1],
                invoices=(HandKeyedInvoice("X" * 21, "Acme Dental", TODAY, Decimal(1)),),
            ),
            "1 to 20 characters",
        ),
        (BrownfieldHistory(jobs=2), "at least"),
    ],
)
def test_hand_keyed_records_that_cannot_be_are_refused_before_anything_is_written(
    tmp_path: Path, history: BrownfieldHistory, expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        init_brownfield(f"sqlite:///{tmp_path / 'sage.db'}", MAPPING, history=history, today=TODAY)
    assert not (tmp_path / "sage.db").exists()


def test_a_mapping_without_employees_or_districts_still_makes_a_company(tmp_path: Path) -> None:
    bare = Mapping(ar_control_account=1100, default_income_account=4000)
    url = f"sqlite:///{tmp_path / 'sage.db'}"
    made = init_brownfield(url, bare, history=SMALL, today=date(2026, 1, 5), seed=1)
    assert made.current_period == "2026-01" and made.locked_through == "2025-11"
    engine = create_sage_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(employ)).scalar_one() == 10
            assert connection.execute(select(func.count()).select_from(artxdt)).scalar_one() == 0
    finally:
        engine.dispose()
