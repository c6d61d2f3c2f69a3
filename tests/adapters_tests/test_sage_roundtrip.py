"""What the sql sink writes, the reader reads back as exactly the documents recon expected.

Also: Sage-style corrections (void and re-enter), orphaned GL, duplicates, periods, and hand
edits made in Sage with plain SQL all show up in what the reader returns.
"""

from __future__ import annotations

import itertools
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
from adapters.sage.reader import SageReader
from adapters.sage.sandbox import init_sandbox
from adapters.sage.sql_sink import SqlPostingSink
from domain import ports
from domain.builders import ar_invoice_document, client_document, job_document
from domain.documents import AR_INVOICES, CLIENTS, JOBS, Document
from domain.mapping import Mapping, TaxDistrict, TaxEntity
from domain.source import Address, Company, Invoice, InvoiceItem, Location
from tests.adapters_tests.sage_sandboxes import insert_sql

WAKE = TaxDistrict(
    1,
    "Wake",
    (
        TaxEntity(10, "NC", Decimal("4.75"), 2310),
        TaxEntity(11, "Wake", Decimal("2.00"), 2320),
        TaxEntity(12, "Transit", Decimal("0.50"), 2320),
    ),
)
REST_OF_NC = TaxDistrict(2, "Rest of NC", (TaxEntity(10, "NC", Decimal("4.75"), 2310),))
MAPPING = Mapping(
    ar_control_account=1200,
    default_income_account=4000,
    income_accounts={"labor": 4100, "part": 4200},
    tax_districts={1: WAKE, 2: REST_OF_NC},
    tax_group_districts={"Wake County NC": 1, "NC": 2},
)
SHOP = Location(
    "77",
    "Main St Shop",
    "5",
    "active",
    True,
    "Wake County NC",
    address=Address("1 Main", "Raleigh", "NC", "27601"),
)
ACME = Company("5", "Acme Mechanical", "active", True, False, "919-555-0100", SHOP.address)
FILTER = InvoiceItem("1", "Filter", Decimal(3), Decimal("12.99"), True, "part")
LABOR = InvoiceItem("2", "Labor", Decimal("2.5"), Decimal("95"), False, "labor")
TRIP = InvoiceItem("3", "Trip charge", Decimal(1), Decimal("49.5"), True, "fee")


def invoice(
    invoice_id: str,
    items: tuple[InvoiceItem, ...] = (FILTER, LABOR, TRIP),
    day: str = "2026-03-14",
) -> Invoice:
    return Invoice(
        invoice_id, f"INV-{invoice_id}", "processed", "invoice", day, "5", "77", "31", items
    )


def ar_doc(invoice_id: str, **kwargs: Any) -> Document:
    return ar_invoice_document(
        invoice(invoice_id, **kwargs), job_number=5001, location=SHOP, mapping=MAPPING
    )


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


def one_value(engine: Engine, sql: str) -> Any:
    with engine.connect() as connection:
        return connection.exec_driver_sql(sql).scalar()


def test_the_adapters_fit_the_ports(sink: SqlPostingSink, reader: SageReader) -> None:
    posting_sink: ports.PostingSink = sink
    sage_reader: ports.SageReader = reader
    assert posting_sink.name == "sql" and sage_reader is reader


def test_clients_jobs_and_invoices_round_trip_exactly(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    expected = {
        CLIENTS: client_document(ACME, 1001),
        JOBS: job_document(5001, SHOP.name, 1001, SHOP, WAKE, True),
        AR_INVOICES: ar_doc("900"),
    }
    refs = {module: sink.create(doc) for module, doc in expected.items()}
    assert refs == {CLIENTS: 1001, JOBS: 5001, AR_INVOICES: 1}
    for module, want in expected.items():
        [got] = reader.read(module, None)
        assert got.tables == want.tables
        assert got.digest() == want.digest()
        assert (got.key, got.period, got.sage_ref) == (want.key, want.period, refs[module])


def test_credit_invoices_keep_negative_amounts_and_swap_gl_sides(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    refund = InvoiceItem("9", "Refund", Decimal(-1), Decimal("120.00"), True, "part")
    want = ar_doc("901", items=(refund,))
    sink.create(want)
    [got] = reader.read_key(AR_INVOICES, want.key)
    assert got.tables == want.tables
    assert got.header["invttl"] == "-128.70"
    assert got.tables["lgtnln"][0]["crdamt"] == "128.70"  # AR control credited


def test_an_invoice_without_tax_round_trips(sink: SqlPostingSink, reader: SageReader) -> None:
    want = ar_invoice_document(
        invoice("902", items=(LABOR,)), job_number=5001, location=None, mapping=MAPPING
    )
    sink.create(want)
    [got] = reader.read(AR_INVOICES, None)
    assert got.tables == want.tables and got.header["taxdst"] is None


def test_an_invoice_without_a_job_is_refused_as_sage_would(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    built = ar_invoice_document(
        invoice("902", items=(LABOR,)), job_number=1, location=None, mapping=MAPPING
    )
    jobless = replace(built, tables={**built.tables, "acrinv": ({**built.header, "jobnum": None},)})
    with pytest.raises(SageWriteError, match=r"acrinv\.jobnum is NOT NULL"):
        sink.create(jobless)
    assert reader.read(AR_INVOICES, None) == []
    assert one_value(sage, "SELECT count(*) FROM lgrtrn") == 0  # its GL went with it


def test_the_sink_writes_what_the_window_would(sink: SqlPostingSink, sage: Engine) -> None:
    want = ar_doc("903")
    sink.create(want)
    with sage.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT a.lgrrec, g.recnum, g.lgrrec, a.invbal, a.invttl, a.amtpad, a.vodrec,"
            " a.usrnme, g.usrnme, a.entdte IS NOT NULL, a._idnum"
            " FROM acrinv a JOIN lgrtrn g ON g.recnum = a.lgrrec"
        ).one()
        (
            lgrrec,
            gl_recnum,
            gl_lgrrec,
            invbal,
            invttl,
            amtpad,
            vodrec,
            user,
            gl_user,
            dated,
            idnum,
        ) = row
        assert lgrrec == gl_recnum == gl_lgrrec
        assert (invbal, amtpad, vodrec) == (invttl, 0, 0)  # vodrec: bigint NOT NULL, 0 = none
        assert user == gl_user == "recon-test" and dated
        children = connection.exec_driver_sql(
            "SELECT count(*) FROM arivln WHERE _idref = ? AND recnum = 1", (idnum,)
        ).scalar()
        assert children == 3
        lines = connection.exec_driver_sql(
            "SELECT count(*) FROM lgtnln l JOIN lgrtrn g ON l._idref = g._idnum"
            " WHERE l.recnum = g.recnum"
        ).scalar()
        assert lines == len(want.tables["lgtnln"]) == 6  # AR, 3 income, 2 tax liabilities
        assert connection.exec_driver_sql("SELECT srcnum FROM lgrtrn").scalar() == 5
        # every NOT NULL column the document says nothing about holds what the window writes
        assert connection.exec_driver_sql(
            "SELECT phsnum, hotlst, hldamt, gstamt, ntetxt, imgfle, pchord FROM acrinv"
        ).one() == (0, 0, 0, 0, "", "", "")
        assert connection.exec_driver_sql(
            "SELECT chkamt, jobvar, vndnum, payee1 FROM lgrtrn"
        ).one() == (0, 0, 0, "")


items = st.lists(
    st.builds(
        InvoiceItem,
        id=st.just("i"),
        description=st.text(
            st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=60
        ),
        quantity=st.decimals(Decimal(-20), Decimal(200), places=2),
        price=st.decimals(Decimal(0), Decimal(5000), places=4),
        taxable=st.booleans(),
        item_type=st.sampled_from(["part", "labor", "fee", "material"]),
    ),
    max_size=6,
)
_numbers = itertools.count(1)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=items,
    taxable=st.booleans(),
    group=st.sampled_from(["Wake County NC", "NC"]),
    day=st.dates(date(2024, 1, 1), date(2027, 12, 31)),
    job=st.integers(1, 10**9),
)
def test_any_invoice_reads_back_exactly_as_expected(
    sink: SqlPostingSink,
    reader: SageReader,
    lines: list[InvoiceItem],
    taxable: bool,
    group: str,
    day: date,
    job: int | None,
) -> None:
    location = replace(SHOP, taxable=taxable, tax_group=group)
    source = replace(invoice(f"h{next(_numbers)}", tuple(lines)), transaction_date=day.isoformat())
    want = ar_invoice_document(source, job_number=job, location=location, mapping=MAPPING)
    ref = sink.create(want)
    [got] = reader.read_key(AR_INVOICES, want.key)
    assert got.tables == want.tables
    assert got.digest() == want.digest()
    assert (got.period, got.sage_ref) == (want.period, ref)


def test_a_line_rounding_to_negative_zero_reads_back_as_expected(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    rounding = InvoiceItem("1", "Rounding", Decimal("-0.01"), Decimal("0.01"), False, "part")
    want = ar_doc("neg-zero", items=(rounding,))
    sink.create(want)
    [got] = reader.read_key(AR_INVOICES, want.key)
    assert got.tables == want.tables  # Sage holds 0.00: no decimal column holds -0.00
    assert got.tables["arivln"][0]["extprc"] == "0.00"


def test_a_description_cut_at_a_space_reads_back_as_expected(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    cut_at_space = InvoiceItem("1", "x" * 49 + " y", Decimal(1), Decimal(10), False, "part")
    want = ar_doc("cut", items=(cut_at_space,))
    sink.create(want)
    [got] = reader.read_key(AR_INVOICES, want.key)
    assert got.tables == want.tables  # Sage's canonical text is trimmed
    assert got.tables["arivln"][0]["dscrpt"] == "x" * 49


def test_replace_voids_the_old_invoice_and_points_the_new_one_at_it(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    old = ar_doc("904")
    old_ref = sink.create(old)
    corrected = ar_doc("904", items=(FILTER,))
    new_ref = sink.replace(corrected, old_ref)
    got = {d.sage_ref: d for d in reader.read_key(AR_INVOICES, old.key)}
    assert set(got) == {old_ref, new_ref}
    assert got[old_ref].is_void and got[old_ref].tables["lgrtrn"][0]["status"] == "3"
    assert got[new_ref].tables == corrected.tables
    assert one_value(sage, f"SELECT vodrec FROM acrinv WHERE recnum = {new_ref}") == old_ref
    # Sage keeps the balance of a voided invoice; open AR leaves out status 5 instead.
    assert one_value(sage, f"SELECT invbal FROM acrinv WHERE recnum = {old_ref}") == float(
        old.header["invttl"] or 0
    )


def test_replace_of_a_missing_invoice_writes_nothing(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    with pytest.raises(SageRecordNotFoundError, match="record 77"):
        sink.replace(ar_doc("905"), 77)
    assert reader.read(AR_INVOICES, None) == []


def test_void_marks_invoices_void_clients_inactive_and_jobs_closed(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    ref = sink.create(ar_doc("906"))
    sink.create(client_document(ACME, 1001))
    sink.create(job_document(5001, SHOP.name, 1001, SHOP, WAKE, True))
    sink.void(AR_INVOICES, ref)
    sink.void(CLIENTS, 1001)
    sink.void(JOBS, 5001)
    [bill] = reader.read(AR_INVOICES, None)
    assert bill.is_void and bill.tables["lgrtrn"][0]["status"] == "3"
    assert reader.read(CLIENTS, None)[0].header["inactv"] == "1"
    assert reader.read(JOBS, None)[0].header["status"] == "6"
    with pytest.raises(SageRecordNotFoundError):
        sink.void(JOBS, 9999)


def test_update_changes_masters_in_place(sink: SqlPostingSink, reader: SageReader) -> None:
    sink.create(client_document(ACME, 1001))
    renamed = client_document(replace(ACME, name="Acme Mechanical Services"), 1001)
    assert sink.update(renamed) == 1001
    [got] = reader.read(CLIENTS, None)
    assert got.tables == renamed.tables
    with pytest.raises(SageRecordNotFoundError):
        sink.update(client_document(ACME, 1002))
    with pytest.raises(ValueError, match="replace"):
        sink.update(ar_doc("907"))


def test_create_adopts_an_unlinked_client_but_never_another_linked_one(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    hand_edit(sage, insert_sql("reccln", recnum=1001, clnnme="Walk-in", shtnme="Walk-in"))
    sink.create(client_document(ACME, 1001))
    [got] = reader.read(CLIENTS, None)
    assert got.key == "ST-CO-5" and got.header["clnnme"] == "Acme Mechanical"
    other = client_document(replace(ACME, id="6", name="Other Co"), 1001)
    with pytest.raises(SageWriteError, match="linked to 'ST-CO-5'"):
        sink.create(other)


def test_creating_over_an_orphaned_gl_transaction_voids_it(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    want = ar_doc("908")
    first = sink.create(want)
    gl = one_value(sage, f"SELECT lgrrec FROM acrinv WHERE recnum = {first}")
    # Someone deletes the invoice by hand; its GL transaction is left behind.
    hand_edit(
        sage,
        f"DELETE FROM arivln WHERE recnum = {first}",
        f"DELETE FROM artxdt WHERE recnum = {first}",
        f"DELETE FROM acrinv WHERE recnum = {first}",
    )
    assert reader.read_key(AR_INVOICES, want.key) == []
    second = sink.create(want)
    assert one_value(sage, f"SELECT status FROM lgrtrn WHERE recnum = {gl}") == 3
    active = "SELECT count(*) FROM lgrtrn WHERE usrdf1 = 'ST-INV-908' AND status = 1"
    assert one_value(sage, active) == 1
    [got] = reader.read_key(AR_INVOICES, want.key)
    assert got.sage_ref == second and got.tables == want.tables


def test_gl_of_a_live_invoice_is_not_taken_for_an_orphan(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    want = ar_doc("909")
    sink.create(want)
    sink.create(want)  # a duplicate posting: both invoices keep their own open GL
    duplicates = reader.read_key(AR_INVOICES, want.key)
    assert [d.sage_ref for d in duplicates] == [1, 2]
    assert all(d.tables == want.tables for d in duplicates)


def test_record_numbers_are_the_databases_and_follow_hand_entered_ones(
    sink: SqlPostingSink, sage: Engine
) -> None:
    hand_edit(
        sage,
        insert_sql("acrinv", invnum="HAND-1", jobnum=5001, dscrpt="By hand", status=1),
        insert_sql("lgrtrn", trnnum="JE-1", dscrpt="By hand", status=1),
        insert_sql("lgrtrn", trnnum="JE-2", dscrpt="By hand", status=1),
    )
    assert sink.create(ar_doc("910")) == 2
    assert one_value(sage, "SELECT lgrrec FROM acrinv WHERE recnum = 2") == 3
    assert one_value(sage, "SELECT lgrrec FROM lgrtrn WHERE recnum = 3") == 3
    with pytest.raises(sqlite3.IntegrityError, match="explicit value for identity column"):
        hand_edit(sage, insert_sql("acrinv", recnum=41, invnum="HAND-2", dscrpt="x", status=1))


def test_reading_a_period_returns_only_its_invoices(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    march, april = ar_doc("911", day="2026-03-31"), ar_doc("912", day="2026-04-01")
    sink.create(march)
    sink.create(april)
    sink.create(client_document(ACME, 1001))
    assert [d.key for d in reader.read(AR_INVOICES, "2026-03")] == [march.key]
    assert [d.key for d in reader.read(AR_INVOICES, "2026-04")] == [april.key]
    assert reader.read(AR_INVOICES, "2026-05") == []
    assert [d.key for d in reader.read(AR_INVOICES, None)] == [march.key, april.key]
    assert len(reader.read(CLIENTS, "2026-05")) == 1  # masters are not period-bound
    with pytest.raises(ValueError, match="YYYY-MM"):
        reader.read(AR_INVOICES, "March")


def test_hand_edits_in_sage_show_up_in_what_is_read(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    kept, edited, deleted = ar_doc("913"), ar_doc("914"), ar_doc("915")
    for doc in (kept, edited, deleted):
        sink.create(doc)
    sink.create(client_document(ACME, 1001))
    sink.create(client_document(replace(ACME, id="6", name="Gone Co"), 1002))
    hand_edit(
        sage,
        "UPDATE acrinv SET invttl = 1.00 WHERE usrdf1 = 'ST-INV-914'",
        "DELETE FROM arivln WHERE recnum = 3",
        "DELETE FROM acrinv WHERE recnum = 3",
        insert_sql(
            "acrinv",
            invnum="WALKIN-1",
            invdte=date(2026, 3, 20),
            jobnum=5001,
            dscrpt="Counter sale",
            status=1,
            invttl=Decimal("75.5"),
            actper=3,
            postyr=2026,
        ),
        "DELETE FROM reccln WHERE recnum = 1002",
        insert_sql("reccln", recnum=77, clnnme="Cash customer", shtnme="Cash"),
    )
    walk_in = one_value(sage, "SELECT recnum FROM acrinv WHERE invnum = 'WALKIN-1'")
    hand_edit(
        sage,
        insert_sql(
            "arivln", recnum=walk_in, linnum=1, dscrpt="Counter sale  ", extprc=Decimal("75.5")
        ),
    )
    read = {d.key: d for d in reader.read(AR_INVOICES, "2026-03")}
    assert set(read) == {kept.key, edited.key, f"SAGE-acrinv-{walk_in}"}
    assert read[kept.key].tables == kept.tables
    assert read[edited.key].header["invttl"] == "1.00"
    assert read[edited.key].tables["arivln"] == edited.tables["arivln"]
    foreign = read[f"SAGE-acrinv-{walk_in}"]
    assert foreign.sage_ref == walk_in and foreign.period == "2026-03"
    assert foreign.header["usrdf1"] == "" and foreign.header["invttl"] == "75.50"
    assert foreign.tables["arivln"][0]["dscrpt"] == "Counter sale"
    assert foreign.tables["lgrtrn"] == () and foreign.tables["lgtnln"] == ()
    clients = {d.key: d.sage_ref for d in reader.read(CLIENTS, None)}
    assert clients == {"SAGE-reccln-77": 77, "ST-CO-5": 1001}
    assert [d.sage_ref for d in reader.read_key(CLIENTS, "SAGE-reccln-77")] == [77]
    assert reader.read_key(CLIENTS, "ST-CO-6") == []


def test_an_invoice_whose_gl_transaction_is_gone_reads_with_empty_gl(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    want = ar_doc("916")
    ref = sink.create(want)
    hand_edit(sage, "DELETE FROM lgtnln", "DELETE FROM lgrtrn")
    [got] = reader.read_key(AR_INVOICES, want.key)
    assert got.sage_ref == ref and got.tables["lgrtrn"] == () and got.tables["lgtnln"] == ()
    assert got.tables["arivln"] == want.tables["arivln"]


def test_read_key_finds_by_link_key_or_record_number(
    sink: SqlPostingSink, reader: SageReader
) -> None:
    want = ar_doc("it's")
    ref = sink.create(want)
    sink.create(job_document(5001, SHOP.name, 1001, SHOP, WAKE, True))
    assert [d.sage_ref for d in reader.read_key(AR_INVOICES, "ST-INV-it's")] == [ref]
    assert reader.read_key(AR_INVOICES, f"SAGE-acrinv-{ref}") == []  # it has a link key
    assert [d.key for d in reader.read_key(JOBS, "JOB-5001")] == ["JOB-5001"]
    assert reader.read_key(JOBS, "JOB-x") == []
    with pytest.raises(ValueError, match="module"):
        reader.read_key("payroll", "x")


def test_reads_are_set_based_whatever_the_number_of_documents(
    sink: SqlPostingSink, reader: SageReader, sage: Engine
) -> None:
    statements: list[str] = []

    @event.listens_for(sage, "before_cursor_execute")
    def count(*args: Any) -> None:
        statements.append(args[2])

    def queries_to_read() -> int:
        statements.clear()
        reader.read(AR_INVOICES, "2026-03")
        return len(statements)

    sink.create(ar_doc("917"))
    few = queries_to_read()
    for n in range(20):
        sink.create(ar_doc(f"918-{n}", day=(date(2026, 3, 1) + timedelta(days=n)).isoformat()))
    assert queries_to_read() == few
    event.remove(sage, "before_cursor_execute", count)
