"""Vendors, payable invoices, journal transactions, job costs and daily payroll: what the sql sink
writes, the reader reads back as exactly the documents written.

Also: Sage-style corrections for each (void and re-enter; daily payroll edited in place),
orphaned AP GL, duplicates, periods, and hand edits made in Sage with plain SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event

from adapters.sage.engine import create_sage_engine
from adapters.sage.errors import SageRecordNotFoundError, SageWriteError
from adapters.sage.reader import SageReader, payroll_month
from adapters.sage.sandbox import init_sandbox
from adapters.sage.schema import TABLES
from adapters.sage.sql_sink import FAULT_STEPS, SqlPostingSink
from domain import ports
from domain.builders import (
    ar_invoice_document,
)
from domain.documents import (
    AP_INVOICES,
    AR_INVOICES,
    DAILY_PAYROLL,
    JOB_COST,
    JOURNAL,
    VENDORS,
    Document,
    Row,
)
from domain.keys import job_cost_key
from domain.mapping import Mapping
from domain.source import Invoice, InvoiceItem
from tests.adapters_tests.sage_sandboxes import insert_sql

MAPPING = Mapping(
    ar_control_account=1100,
    default_income_account=4000,
    ap_control_account=2000,
    inventory_account=1200,
    direct_expense_account=5000,
    freight_account=5400,
    purchase_tax_account=7100,
    employees={"Dana Smith": 12, "7": 7},
    pay_types={"Regular Labor": 1, "Overtime Labor": 2},
    cost_codes={"part": (Decimal("1.100"), 1), "labor": (Decimal("2"), 2)},
    default_cost_code=(Decimal("9.000"), 5),
)


# -- documents built by hand, in the shape of domain.documents.COLUMNS --------------------------


def _period(day: str) -> str:
    return day[:7]


def vendor(number: int = 2001, name: str = "Ferguson Supply", inactive: bool = False) -> Document:
    row: Row = {
        "recnum": str(number),
        "vndnme": name,
        "shtnme": name[:30].rstrip(),
        "addrs1": "1 Supply Way",
        "ctynme": "Raleigh",
        "state_": "NC",
        "zipcde": "27601",
        "phnnum": "919-555-0101",
        "prt199": "0",
        "inactv": "1" if inactive else "0",
    }
    return Document(VENDORS, f"VND-{number}", {"actpay": (row,)})


def _gl_lines(postings: list[tuple[int, Decimal, bool]], description: str) -> tuple[Row, ...]:
    return tuple(
        {
            "linnum": str(n),
            "lgract": str(account),
            "dscrpt": description,
            "dbtamt": f"{amount:.2f}" if debit else "0.00",
            "crdamt": "0.00" if debit else f"{amount:.2f}",
        }
        for n, (account, amount, debit) in enumerate(postings, start=1)
    )


def _gl_header(key: str, number: str, day: str, text: str, source: str, void: bool) -> Row:
    return {
        "trnnum": number,
        "trndte": day,
        "dscrpt": text,
        "status": "3" if void else "1",
        "srcnum": source,
        "actprd": str(int(day[5:7])),
        "postyr": day[:4],
        "usrdf1": key,
    }


def bill(
    bill_id: str = "7",
    *,
    lines: tuple[tuple[str, str, str, int], ...] = (
        ("Condenser fan motor", "2", "112.5", 5000),
        ("Filters 20x25", "12", "4.1", 1200),
    ),
    freight: str = "15.00",
    day: str = "2026-03-14",
    vendor_number: int = 2001,
    number: str | None = None,
    void: bool = False,
) -> Document:
    """A PartsLedger bill as a 4-2 payable invoice with its GL transaction (source 11)."""
    key = f"PL-BILL-{bill_id}"
    invnum = number or f"V-{bill_id}"
    text = f"PartsLedger bill {invnum}"
    grid: list[Row] = []
    postings: list[tuple[int, Decimal, bool]] = []
    items = [*lines, ("Freight", "1", freight, 5400)] if Decimal(freight) else list(lines)
    for n, (description, quantity, price, account) in enumerate(items, start=1):
        amount = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"))
        grid.append(
            {
                "linnum": str(n),
                "prtdsc": description,
                "linqty": f"{Decimal(quantity):.2f}",
                "linprc": f"{Decimal(price):.4f}",
                "extttl": f"{amount:.2f}",
                "actnum": str(account),
            }
        )
        postings.append((account, amount, True))
    total = sum((amount for _, amount, _ in postings), Decimal(0))
    postings.append((2000, total, False))
    header: Row = {
        "invnum": invnum,
        "vndnum": str(vendor_number),
        "dscrpt": text,
        "invdte": day,
        "duedte": (date.fromisoformat(day) + timedelta(days=30)).isoformat(),
        "invtyp": "2",
        "status": "5" if void else "1",
        "pchord": f"PO-{bill_id}",
        "slstax": "0.00",
        "invttl": f"{total:.2f}",
        "actper": str(int(day[5:7])),
        "postyr": day[:4],
        "usrdf1": key,
    }
    return Document(
        AP_INVOICES,
        key,
        {
            "acpinv": (header,),
            "apivln": tuple(grid),
            "lgrtrn": (_gl_header(key, invnum, day, text, "11", void),),
            "lgtnln": _gl_lines(postings, text),
        },
        period=_period(day),
    )


def journal(item_id: str = "41", amount: str = "18.40", day: str = "2026-03-10") -> Document:
    """Parts used from stock: a 1-3 journal transaction debiting job cost, crediting inventory."""
    key = f"ST-JI-{item_id}"
    text = "Job 5001: Capacitor 45/5"
    value = Decimal(amount)
    return Document(
        JOURNAL,
        key,
        {
            "lgrtrn": (_gl_header(key, f"JI{item_id}", day, text, "3", False),),
            "lgtnln": _gl_lines([(5000, value, True), (1200, value, False)], text),
        },
        period=_period(day),
    )


def job_cost(
    trnnum: str = "JI41",
    *,
    source: str = "3",
    job: str | None = "5001",
    code: str = "1.100",
    cost_type: str = "1",
    amount: str = "18.40",
    vendor_number: str | None = None,
    employee: str | None = None,
    pay_type: str = "0",  # NOT NULL in Sage: 0 on a row that is not labor
    hours: str = "0.00",
    day: str = "2026-03-10",
    void: bool = False,
) -> Document:
    row: Row = {
        "jobnum": job,
        "trnnum": trnnum,
        "dscrpt": f"Cost {trnnum}".rstrip(),
        "trndte": day,
        "actprd": str(int(day[5:7])),
        "postyr": day[:4],
        "srcnum": source,
        "status": "2" if void else "1",
        "bllsts": "1",
        "cstcde": code,
        "csttyp": cost_type,
        "vndnum": vendor_number,
        "empnum": employee,
        "paytyp": pay_type,
        "csthrs": hours,
        "cstamt": amount,
    }
    return Document(JOB_COST, job_cost_key(row), {"jobcst": (row,)}, period=_period(day))


def labor(
    item_id: str = "88",
    *,
    day: str = "2026-03-10",
    employee: str = "12",
    hours: str = "2.50",
    pay_type: str = "1",
    link: bool = True,
) -> Document:
    """A technician's hours as a 5-5-1 daily payroll line."""
    key = f"ST-LB-{item_id}"
    row: Row = {
        "paydte": day,
        "empnum": employee,
        "jobnum": "5001",
        "cstcde": "2.000",
        "paytyp": pay_type,
        "payhrs": hours,
        "dscrpt": "Regular Labor: rooftop unit",
        "usrdf1": key if link else "",
    }
    return Document(DAILY_PAYROLL, key, {"dlypyr": (row,)}, period=_period(day))


def ar_doc(invoice_id: str) -> Document:
    item = InvoiceItem("1", "Service call", Decimal(1), Decimal(100), False, "labor")
    source = Invoice(
        invoice_id, f"INV-{invoice_id}", "processed", "invoice", "2026-03-14", "5", "", "", (item,)
    )
    return ar_invoice_document(source, job_number=5001, location=None, mapping=MAPPING)


# -- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def sage(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'sage.db'}"
    init_sandbox(url, MAPPING)
    engine = create_sage_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def sink(sage: Engine) -> SqlPostingSink:
    return SqlPostingSink(sage, user="recon-test")


@pytest.fixture
def reader(sage: Engine) -> SageReader:
    return SageReader(sage, MAPPING)


def hand_edit(engine: Engine, *statements: str) -> None:
    """Change Sage the way a person would: plain SQL on its own connection."""
    with sqlite3.connect(str(engine.url.database)) as connection:
        for statement in statements:
            connection.execute(statement)
    connection.close()


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.exec_driver_sql(sql).all()]


def one_value(engine: Engine, sql: str) -> Any:
    with engine.connect() as connection:
        return connection.exec_driver_sql(sql).scalar()


def everything() -> dict[str, Document]:
    return {
        VENDORS: vendor(),
        AP_INVOICES: bill(),
        JOURNAL: journal(),
        JOB_COST: job_cost(),
        DAILY_PAYROLL: labor(),
    }


# -- round trips and keys ------------------------------------------------------------------------


def test_every_new_module_round_trips_exactly(sink: SqlPostingSink, reader: SageReader) -> None:
    refs = {module: sink.create(doc) for module, doc in everything().items()}
    assert [refs[m] for m in (VENDORS, AP_INVOICES, JOURNAL, JOB_COST)] == [2001, 1, 2, 1]
    assert isinstance(refs[DAILY_PAYROLL], str) and len(refs[DAILY_PAYROLL]) == 36
    for module, want in everything().items():
        [got] = reader.read(module, None)
        assert got.tables == want.tables
        assert got.digest() == want.digest()
        assert (got.key, got.period, got.sage_ref) == (want.key, want.period, refs[module])
        assert [d.sage_ref for d in reader.read_key(module, want.key)] == [refs[module]]


def test_documents_keep_their_tables_in_posting_order(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    sink.create(bill())
    sink.create(journal())
    assert list(reader.read(AP_INVOICES)[0].tables) == ["acpinv", "apivln", "lgrtrn", "lgtnln"]
    assert list(reader.read(JOURNAL)[0].tables) == ["lgrtrn", "lgtnln"]


def test_keys_fall_back_to_sage_references_without_a_link(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    hand_edit(
        sage,
        insert_sql(
            "acpinv", invnum="COUNTER-1", vndnum=2001, dscrpt="x", status=1, actper=3, postyr=2026
        ),
        insert_sql(
            "lgrtrn",
            trnnum="JE-1",
            dscrpt="Accrual",
            status=1,
            srcnum=3,
            actprd=3,
            postyr=2026,
            usrdf1="accrual",
        ),
        insert_sql("dlypyr", _idnum="h1", paydte=date(2026, 3, 2), linnum=1, empnum=7, payhrs=8),
    )
    [payable] = reader.read(AP_INVOICES)
    assert (payable.key, payable.sage_ref) == ("SAGE-acpinv-1", 1)  # recnum: IDENTITY
    assert payable.tables["lgrtrn"] == () and payable.tables["apivln"] == ()
    [entry] = reader.read(JOURNAL)
    assert (entry.key, entry.sage_ref) == ("SAGE-lgrtrn-1", 1)
    [line] = reader.read(DAILY_PAYROLL)
    assert (line.key, line.sage_ref, line.period) == ("SAGE-dlypyr-h1", "h1", "2026-03")
    assert line.header["payhrs"] == "8.00" and line.header["usrdf1"] == ""
    assert [d.sage_ref for d in reader.read_key(AP_INVOICES, "SAGE-acpinv-1")] == [1]
    assert [d.sage_ref for d in reader.read_key(JOURNAL, "SAGE-lgrtrn-1")] == [1]
    assert [d.sage_ref for d in reader.read_key(DAILY_PAYROLL, "SAGE-dlypyr-h1")] == ["h1"]
    ref = str(sink.create(labor(link=False)))
    assert [d.key for d in reader.read_key(DAILY_PAYROLL, f"SAGE-dlypyr-{ref}")] == [
        f"SAGE-dlypyr-{ref}"
    ]
    assert reader.read_key(DAILY_PAYROLL, "ST-LB-nobody") == []
    assert reader.read_key(DAILY_PAYROLL, "SAGE-dlypyr-") == []
    assert reader.read_key(VENDORS, "VND-x") == []
    assert reader.read_key(JOB_COST, "not-a-job-cost-key") == []


def test_journal_reads_only_source_3_transactions(sink: SqlPostingSink, reader: SageReader) -> None:
    sink.create(ar_doc("1"))  # its GL transaction is source 5
    sink.create(bill())  # source 11
    ref = sink.create(journal())
    assert [(d.key, d.sage_ref) for d in reader.read(JOURNAL)] == [("ST-JI-41", ref)]
    assert reader.read_key(JOURNAL, "SAGE-lgrtrn-1") == []  # the AR invoice's GL
    with pytest.raises(SageRecordNotFoundError, match="source 3"):
        sink.void(JOURNAL, 1)
    with pytest.raises(ValueError, match="source 3"):
        sink.create(
            replace(journal(), tables={**journal().tables, "lgrtrn": (bill().tables["lgrtrn"][0],)})
        )


def test_job_cost_keys_are_found_whatever_the_transaction_number_holds(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    tricky = [
        job_cost("INV-2-5001-1.100-1", source="11", vendor_number="2001", amount="225.00"),
        job_cost("LB88", source="18", code="2.000", cost_type="2", employee="12", pay_type="1",
                 hours="2.50", amount="87.50"),
        job_cost("", job="0", code="9.000", cost_type="5"),
        job_cost("JI41"),
    ]  # fmt: skip
    refs = [sink.create(doc) for doc in tricky]
    for doc, ref in zip(tricky, refs, strict=True):
        [got] = reader.read_key(JOB_COST, doc.key)
        assert (got.sage_ref, got.tables) == (ref, doc.tables)
    assert tricky[0].key == "JC-11-INV-2-5001-1.100-1-5001-1.100-1-V2001"
    assert tricky[1].key == "JC-18-LB88-5001-2.000-2-E12-P1"


def test_a_job_cost_without_a_job_is_refused_as_sage_would(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    with pytest.raises(SageWriteError, match=r"NOT NULL constraint failed: jobcst\.jobnum"):
        sink.create(job_cost(job=None))
    assert reader.read(JOB_COST) == []


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    trnnum=st.text("0123456789-.VEPJC", max_size=14).map(str.strip),
    job=st.integers(0, 10**6).map(str),
    source=st.sampled_from(["3", "11", "18"]),
    code=st.decimals(Decimal(0), Decimal(999), places=3).map(lambda d: f"{d:.3f}"),
    cost_type=st.integers(1, 9).map(str),
    vendor_number=st.none() | st.integers(0, 9999).map(str),
    employee=st.none() | st.sampled_from(["7", "12"]),  # jobcst.empnum -> employ: seeded
)
def test_any_job_cost_row_is_found_by_its_key(
    sink: SqlPostingSink,
    reader: SageReader,
    trnnum: str,
    job: str,
    source: str,
    code: str,
    cost_type: str,
    vendor_number: str | None,
    employee: str | None,
) -> None:
    doc = job_cost(
        trnnum,
        source=source,
        job=job,
        code=code,
        cost_type=cost_type,
        vendor_number=vendor_number,
        employee=employee,
        pay_type="1" if employee else "0",
    )
    ref = sink.create(doc)
    found = [d for d in reader.read_key(JOB_COST, doc.key) if d.sage_ref == ref]
    assert [d.tables for d in found] == [doc.tables]


# -- what the windows write ------------------------------------------------------------------


def test_the_sink_writes_a_payable_invoice_as_the_window_would(
    sink: SqlPostingSink, sage: Engine
) -> None:
    want = bill()
    sink.create(want)
    [(lgrrec, gl_recnum, gl_lgrrec, srcnum, invbal, invttl, amtpad, vodrec, user, idnum)] = rows(
        sage,
        "SELECT a.lgrrec, g.recnum, g.lgrrec, g.srcnum, a.invbal, a.invttl, a.amtpad, a.vodrec,"
        " a.usrnme, a._idnum FROM acpinv a JOIN lgrtrn g ON g.recnum = a.lgrrec",
    )
    assert lgrrec == gl_recnum == gl_lgrrec and srcnum == 11
    assert (invbal, amtpad, vodrec, user) == (invttl, 0, "", "recon-test")  # vodrec text
    grid = one_value(sage, f"SELECT count(*) FROM apivln WHERE _idref = '{idnum}' AND recnum = 1")
    assert grid == len(want.tables["apivln"]) == 3
    assert one_value(sage, "SELECT count(*) FROM jobcst") == 0  # job cost is its own module


def test_replacing_a_payable_invoice_voids_it_and_points_the_new_one_at_it(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    old_ref = sink.create(bill())
    corrected = bill(freight="0")
    new_ref = sink.replace(corrected, old_ref)
    got = {d.sage_ref: d for d in reader.read_key(AP_INVOICES, corrected.key)}
    assert set(got) == {old_ref, new_ref}
    assert got[old_ref].is_void and got[old_ref].tables["lgrtrn"][0]["status"] == "3"
    assert got[new_ref].tables == corrected.tables
    assert one_value(sage, f"SELECT vodrec FROM acpinv WHERE recnum = {new_ref}") == str(old_ref)
    sink.void(AP_INVOICES, new_ref)
    assert all(d.is_void for d in reader.read_key(AP_INVOICES, corrected.key))
    with pytest.raises(SageRecordNotFoundError, match="AP invoice record 99 in acpinv"):
        sink.void(AP_INVOICES, 99)
    with pytest.raises(ValueError, match="replace"):
        sink.update(corrected)


def test_creating_a_bill_over_its_orphaned_gl_voids_that_gl_only(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    want = bill()
    first = sink.create(want)
    ar = ar_doc("1")
    sink.create(ar)
    gl = one_value(sage, f"SELECT lgrrec FROM acpinv WHERE recnum = {first}")
    hand_edit(sage, f"DELETE FROM apivln WHERE recnum = {first}", "DELETE FROM acpinv")
    assert reader.read_key(AP_INVOICES, want.key) == []
    second = sink.create(want)
    assert one_value(sage, f"SELECT status FROM lgrtrn WHERE recnum = {gl}") == 3
    assert one_value(sage, "SELECT count(*) FROM lgrtrn WHERE status = 1") == 2  # new bill + AR
    [got] = reader.read_key(AP_INVOICES, want.key)
    assert got.sage_ref == second and got.tables == want.tables
    sink.create(want)  # a duplicate posting keeps both bills' GL open
    assert [d.sage_ref for d in reader.read_key(AP_INVOICES, want.key)] == [second, second + 1]
    assert all(not d.is_void for d in reader.read_key(AP_INVOICES, want.key))
    assert reader.read_key(AR_INVOICES, ar.key)[0].tables == ar.tables


def test_journal_and_job_cost_are_corrected_by_void_and_re_entry(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    entry = sink.create(journal())
    corrected = journal(amount="20.00")
    new_entry = sink.replace(corrected, entry)
    found = {d.sage_ref: d for d in reader.read_key(JOURNAL, corrected.key)}
    assert found[entry].is_void and found[new_entry].tables == corrected.tables
    sink.void(JOURNAL, new_entry)
    assert all(d.is_void for d in reader.read_key(JOURNAL, corrected.key))

    cost = sink.create(job_cost())
    changed = job_cost(amount="20.00")
    new_cost = sink.replace(changed, cost)
    found = {d.sage_ref: d for d in reader.read_key(JOB_COST, changed.key)}
    assert found[cost].is_void and found[cost].header["status"] == "2"
    assert found[new_cost].tables == changed.tables
    sink.void(JOB_COST, new_cost)
    assert all(d.is_void for d in reader.read_key(JOB_COST, changed.key))
    with pytest.raises(SageRecordNotFoundError, match="job cost record 77"):
        sink.replace(changed, 77)
    with pytest.raises(ValueError, match="replace"):
        sink.update(changed)
    with pytest.raises(ValueError, match="replace"):
        sink.update(corrected)


def test_vendors_are_upserted_updated_and_deactivated(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    assert sink.create(vendor()) == 2001
    renamed = vendor(name="Ferguson Enterprises")
    assert sink.update(renamed) == 2001
    [got] = reader.read(VENDORS)
    assert got.tables == renamed.tables and got.key == "VND-2001"
    sink.void(VENDORS, 2001)
    assert reader.read_key(VENDORS, "VND-2001")[0].header["inactv"] == "1"
    assert sink.replace(vendor(2002), 2001) == 2002
    with pytest.raises(SageRecordNotFoundError):
        sink.update(vendor(2999))


def test_daily_payroll_lines_are_numbered_per_day_and_edited_in_place(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    first = sink.create(labor("1"))
    second = sink.create(labor("2", employee="7"))
    other_day = sink.create(labor("3", day="2026-03-11"))
    numbers = dict(rows(sage, "SELECT usrdf1, linnum FROM dlypyr"))
    assert numbers == {"ST-LB-1": 1, "ST-LB-2": 2, "ST-LB-3": 1}
    more_hours = labor("1", hours="3.00")
    assert sink.update(more_hours) == first  # found by its key, same row
    moved = labor("2", employee="7", day="2026-03-11")
    assert sink.replace(moved, second) == second  # replace by reference: also in place
    got = {d.key: d for d in reader.read(DAILY_PAYROLL)}
    assert got["ST-LB-1"].tables == more_hours.tables and got["ST-LB-1"].sage_ref == first
    assert got["ST-LB-2"].tables == moved.tables and got["ST-LB-2"].sage_ref == second
    assert one_value(sage, "SELECT linnum FROM dlypyr WHERE usrdf1 = 'ST-LB-2'") == 2
    assert one_value(sage, "SELECT upddte IS NOT NULL FROM dlypyr WHERE usrdf1 = 'ST-LB-1'") == 1
    sink.void(DAILY_PAYROLL, other_day)  # unposted entries are deleted, not voided
    assert reader.read_key(DAILY_PAYROLL, "ST-LB-3") == []
    with pytest.raises(SageRecordNotFoundError):
        sink.void(DAILY_PAYROLL, other_day)
    with pytest.raises(SageRecordNotFoundError):
        sink.update(labor("404"))


def test_a_duplicated_daily_payroll_line_is_not_updated_by_key(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    refs = [sink.create(labor()), sink.create(labor())]
    assert sorted(str(d.sage_ref) for d in reader.read_key(DAILY_PAYROLL, "ST-LB-88")) == sorted(
        str(r) for r in refs
    )
    with pytest.raises(SageWriteError, match="found 2"):
        sink.update(labor(hours="1.00"))
    sink.void(DAILY_PAYROLL, refs[1])
    assert sink.update(labor(hours="1.00")) == refs[0]


def test_a_hand_typed_daily_payroll_reference_still_works(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    hand_edit(sage, insert_sql("dlypyr", _idnum="h1", paydte=date(2026, 3, 2), linnum=1))
    edited = replace(labor(link=False), key="SAGE-dlypyr-h1")
    assert sink.update(edited) == "h1"
    [got] = reader.read_key(DAILY_PAYROLL, "SAGE-dlypyr-h1")
    assert got.tables == edited.tables
    sink.void(DAILY_PAYROLL, "h1")
    assert reader.read(DAILY_PAYROLL) == []


# -- periods -----------------------------------------------------------------------------------


def test_reading_a_period_returns_only_its_documents(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    march = {
        AP_INVOICES: bill("m", day="2026-03-31"),
        JOURNAL: journal("m", day="2026-03-31"),
        JOB_COST: job_cost("m", day="2026-03-31"),
        DAILY_PAYROLL: labor("m", day="2026-03-31"),
    }
    april = {
        AP_INVOICES: bill("a", day="2026-04-01"),
        JOURNAL: journal("a", day="2026-04-01"),
        JOB_COST: job_cost("a", day="2026-04-01"),
        DAILY_PAYROLL: labor("a", day="2026-04-01"),
    }
    for docs in (march, april):
        for doc in docs.values():
            sink.create(doc)
    sink.create(vendor())
    for module in march:
        assert [d.key for d in reader.read(module, "2026-03")] == [march[module].key]
        assert [d.key for d in reader.read(module, "2026-04")] == [april[module].key]
        assert reader.read(module, "2026-05") == []
        assert reader.read(module, "2026-00") == []
        assert len(reader.read(module, None)) == 2
    assert len(reader.read(VENDORS, "2026-05")) == 1  # masters are not period-bound
    with pytest.raises(ValueError, match="YYYY-MM"):
        reader.read(DAILY_PAYROLL, "March")


def test_daily_payroll_periods_follow_the_fiscal_year(sage: Engine, sink: SqlPostingSink) -> None:
    july_year = replace(MAPPING, fiscal_year_start_month=7)
    assert payroll_month(july_year, 2026, 1) == (date(2025, 7, 1), date(2025, 8, 1))
    assert payroll_month(july_year, 2026, 6) == (date(2025, 12, 1), date(2026, 1, 1))
    assert payroll_month(july_year, 2026, 7) == (date(2026, 1, 1), date(2026, 2, 1))
    assert payroll_month(MAPPING, 2026, 12) == (date(2026, 12, 1), date(2027, 1, 1))
    assert payroll_month(MAPPING, 2026, 0) is None
    sink.create(labor("d", day="2025-12-15"))
    reader = SageReader(sage, july_year)
    [line] = reader.read(DAILY_PAYROLL, "2026-06")
    assert line.period == "2026-06"
    assert reader.read(DAILY_PAYROLL, "2025-12") == []


# -- hand edits ----------------------------------------------------------------------------------


def test_hand_edits_in_sage_show_up_in_what_is_read(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    edited_bill = bill("e")
    sink.create(edited_bill)
    kept_bill = bill("k")
    sink.create(kept_bill)
    cost = job_cost()
    cost_ref = sink.create(cost)
    line = labor()
    sink.create(line)
    entry = sink.create(journal())
    copied = ", ".join(c.name for c in TABLES["jobcst"].c if c.name not in ("_idnum", "recnum"))
    hand_edit(
        sage,
        "UPDATE acpinv SET invttl = 1.00 WHERE usrdf1 = 'PL-BILL-e'",
        "DELETE FROM apivln WHERE recnum = 1 AND linnum = 2",
        "UPDATE jobcst SET cstamt = 99.99",
        "UPDATE dlypyr SET payhrs = 9.25",
        f"UPDATE lgtnln SET dbtamt = 5 WHERE recnum = {entry} AND linnum = 1",
        f"INSERT INTO jobcst (_idnum, {copied})"
        f" SELECT 'dup1', {copied} FROM jobcst WHERE recnum = {cost_ref}",
    )
    bills = {d.key: d for d in reader.read(AP_INVOICES)}
    assert bills["PL-BILL-e"].header["invttl"] == "1.00"
    assert [r["linnum"] for r in bills["PL-BILL-e"].tables["apivln"]] == ["1", "3"]
    assert bills["PL-BILL-k"].tables == kept_bill.tables
    assert reader.read(DAILY_PAYROLL)[0].header["payhrs"] == "9.25"
    [got_entry] = reader.read(JOURNAL)
    assert got_entry.tables["lgtnln"][0]["dbtamt"] == "5.00"
    duplicates = reader.read_key(JOB_COST, cost.key)
    assert len(duplicates) == 2 and {d.header["cstamt"] for d in duplicates} == {"99.99"}


def test_stray_and_deleted_rows_show_up_in_what_is_read(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    sink.create(job_cost())
    sink.create(labor())
    sink.create(vendor())
    hand_edit(
        sage,
        insert_sql(
            "jobcst",
            jobnum=5001,
            trnnum="HAND",
            dscrpt="By hand",
            srcnum=31,
            status=1,
            cstcde=Decimal("1.1"),
            csttyp=1,
            cstamt=10,
            actprd=3,
            postyr=2026,
        ),
        "DELETE FROM dlypyr",
        insert_sql("actpay", recnum=17, vndnme="Cash vendor  ", shtnme="Cash"),
    )
    costs = {d.key: d.sage_ref for d in reader.read(JOB_COST, "2026-03")}
    assert costs == {job_cost().key: 1, "JC-31-HAND-5001-1.100-1": 2}
    assert reader.read(DAILY_PAYROLL) == []
    vendors = {d.key: d.header["vndnme"] for d in reader.read(VENDORS)}
    assert vendors == {"VND-17": "Cash vendor", "VND-2001": "Ferguson Supply"}


def test_reads_are_set_based_whatever_the_number_of_documents(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    statements: list[str] = []

    @event.listens_for(sage, "before_cursor_execute")
    def count(*args: Any) -> None:
        statements.append(args[2])

    def queries(module: str) -> int:
        statements.clear()
        reader.read(module, "2026-03")
        return len(statements)

    def post(n: int) -> None:
        day = (date(2026, 3, 1) + timedelta(days=n)).isoformat()
        sink.create(bill(f"b{n}", day=day))
        sink.create(journal(f"j{n}", day=day))
        sink.create(job_cost(f"c{n}", day=day))
        sink.create(labor(f"l{n}", day=day))

    post(0)
    modules = (AP_INVOICES, JOURNAL, JOB_COST, DAILY_PAYROLL)
    few = {module: queries(module) for module in modules}
    for n in range(1, 15):
        post(n)
    assert {module: queries(module) for module in modules} == few
    event.remove(sage, "before_cursor_execute", count)


# -- the port and its fault steps ----------------------------------------------------------------


def test_the_sql_sink_fits_the_port_and_never_stages(sink: SqlPostingSink) -> None:
    posting_sink: ports.PostingSink = sink
    assert posting_sink.name == "sql" and sink.written("any-posting") is None


def test_every_action_of_every_module_passes_the_fault_steps(sage: Engine) -> None:
    seen: list[str] = []
    sink = SqlPostingSink(sage, fault=seen.append)
    for module, doc in everything().items():
        seen.clear()
        ref = sink.create(doc)
        ref = sink.replace(doc, ref)
        sink.void(module, ref)
        assert seen == list(FAULT_STEPS) * 3, module


def test_a_failing_posting_leaves_nothing_behind(sage: Engine, reader: SageReader) -> None:
    class Crash(Exception):
        pass

    def crash(step: str) -> None:
        if step == "before_commit":
            raise Crash(step)

    for module, doc in everything().items():
        with pytest.raises(Crash):
            SqlPostingSink(sage, fault=crash).create(doc)
        assert reader.read(module) == []
