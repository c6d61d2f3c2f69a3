"""The sql sink and the file import round-trip every module on both sandboxes, the strict SQLite
one and the PostgreSQL-hosted one: what is written reads back exactly as expected."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from adapters.sage.engine import create_sage_engine
from adapters.sage.errors import SageWriteError
from adapters.sage.files_sink import FilesPostingSink, import_batches
from adapters.sage.reader import SageReader
from adapters.sage.sandbox import init_sandbox
from adapters.sage.schema import acpinv, acrinv, jobcst, lgrtrn
from adapters.sage.sql_sink import SqlPostingSink
from domain.builders import ar_invoice_document, client_document, job_document
from domain.documents import (
    AP_INVOICES,
    AR_INVOICES,
    CLIENTS,
    DAILY_PAYROLL,
    JOB_COST,
    JOBS,
    JOURNAL,
    VENDORS,
    Document,
)
from tests.adapters_tests.test_sage_costs import MAPPING, bill, job_cost, journal, labor, vendor
from tests.adapters_tests.test_sage_roundtrip import ACME, SHOP, invoice

NO_DISTRICT = None  # the costs mapping has no tax districts


def ar_doc(invoice_id: str, job: int | None = 5001) -> Document:
    """An AR invoice document; ``job=None`` strips its job, as a hand-built batch might."""
    doc = ar_invoice_document(
        invoice(invoice_id), job_number=job or 1, location=None, mapping=MAPPING
    )
    if job is None:
        doc = replace(doc, tables={**doc.tables, "acrinv": ({**doc.header, "jobnum": None},)})
    return doc


def documents() -> dict[str, Document]:
    return {
        CLIENTS: client_document(ACME, 1001),
        JOBS: job_document(5001, SHOP.name, 1001, SHOP, NO_DISTRICT, True),
        VENDORS: vendor(),
        AR_INVOICES: ar_doc("900"),
        AP_INVOICES: bill(),
        JOURNAL: journal(),
        JOB_COST: job_cost(),
        DAILY_PAYROLL: labor(),
    }


CORRECTED = {
    CLIENTS: client_document(replace(ACME, name="Acme HVAC"), 1001),
    JOBS: job_document(5001, "Main St Shop (new name)", 1001, SHOP, NO_DISTRICT, True),
    VENDORS: vendor(name="Ferguson Enterprises"),
    AR_INVOICES: ar_invoice_document(
        invoice("900", items=invoice("900").items[:1]),
        job_number=5001,
        location=None,
        mapping=MAPPING,
    ),
    AP_INVOICES: bill(freight="0"),
    JOURNAL: journal(amount="20.00"),
    JOB_COST: job_cost(amount="20.00"),
    DAILY_PAYROLL: labor(hours="3.00"),
}


@pytest.fixture
def sage(sandbox_url: str) -> Iterator[Engine]:
    init_sandbox(sandbox_url, MAPPING, reset=True)
    engine = create_sage_engine(sandbox_url)
    yield engine
    engine.dispose()


def test_every_module_round_trips_and_is_corrected_as_sage_does(sage: Engine) -> None:
    sink, reader = SqlPostingSink(sage, user="recon-test"), SageReader(sage, MAPPING)
    refs = {module: sink.create(doc) for module, doc in documents().items()}
    assert [refs[m] for m in (AR_INVOICES, AP_INVOICES, JOURNAL, JOB_COST)] == [1, 1, 3, 1]
    for module, want in documents().items():
        [got] = reader.read_key(module, want.key)
        assert (got.tables, got.sage_ref) == (want.tables, refs[module]), module
    for module, corrected in CORRECTED.items():
        new_ref = sink.replace(corrected, refs[module])
        found = {d.sage_ref: d for d in reader.read_key(module, corrected.key)}
        assert found[new_ref].tables == corrected.tables, module
        if new_ref != refs[module]:  # posted documents: voided and re-entered
            assert found[refs[module]].is_void, module
    with sage.connect() as connection:
        vodrec = connection.execute(select(acrinv.c.vodrec).order_by(acrinv.c.recnum)).scalars()
        assert list(vodrec) == [0, 1]
        assert list(connection.execute(select(acpinv.c.vodrec)).scalars()) == ["", "1"]
        own = connection.execute(select(lgrtrn.c.recnum, lgrtrn.c.lgrrec)).all()
        assert all(recnum == lgrrec for recnum, lgrrec in own)
        assert connection.execute(select(jobcst.c.paytyp, jobcst.c.csthrs)).all()[0] == (0, 0)


def test_an_ar_invoice_without_a_job_is_refused_and_nothing_is_written(sage: Engine) -> None:
    sink, reader = SqlPostingSink(sage), SageReader(sage, MAPPING)
    with pytest.raises(SageWriteError, match=r"acrinv\.jobnum is NOT NULL"):
        sink.create(ar_doc("901", job=None))
    assert reader.read(AR_INVOICES) == [] and reader.read(JOURNAL) == []


def test_duplicates_get_the_next_generated_numbers(sage: Engine) -> None:
    sink, reader = SqlPostingSink(sage), SageReader(sage, MAPPING)
    refs = [sink.create(ar_doc("902")) for _ in range(3)]
    assert refs == [1, 2, 3]
    assert [d.sage_ref for d in reader.read_key(AR_INVOICES, ar_doc("902").key)] == refs
    assert [d.period for d in reader.read(AR_INVOICES, "2026-03")] == ["2026-03"] * 3


def test_a_batch_imports_into_either_sandbox(sage: Engine, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    files = FilesPostingSink(drop)
    for n, (module, doc) in enumerate(documents().items()):
        files.stage(f"p-{n}", "create", module, doc)
    [batch] = {written.batch for written in files.flush()}
    assert import_batches(drop, sage, user="sage-import") == [batch]
    reader = SageReader(sage, MAPPING)
    for module, want in documents().items():
        [got] = reader.read_key(module, want.key)
        assert got.tables == want.tables, module
