"""The files sink: one batch per run in the drop folder, written atomically, never twice for a
posting; and the simulated Sage-side import that applies batches to a sandbox."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, create_engine

from adapters.sage.engine import create_sage_engine
from adapters.sage.errors import SageConfigError, SageDataError
from adapters.sage.files_sink import (
    FAULT_STEPS,
    IMPORTED_FOLDER,
    MANIFEST,
    META_COLUMNS,
    RESULT,
    FilesPostingSink,
    import_batches,
    pending_batches,
    read_batch,
)
from adapters.sage.reader import SageReader
from adapters.sage.sandbox import init_sandbox
from domain.documents import (
    AP_INVOICES,
    COLUMNS,
    DAILY_PAYROLL,
    JOB_COST,
    JOURNAL,
    VENDORS,
    Document,
)
from domain.ports import Imported, Written
from tests.adapters_tests.test_sage_costs import MAPPING, bill, job_cost, journal, labor, vendor

REPO = Path(__file__).resolve().parents[2]
NOON = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


def batch_of(written: list[Written]) -> str | None:
    """The one batch a flush wrote (None: it wrote none)."""
    batches = {w.batch for w in written}
    assert len(batches) <= 1 and all(w.error is None for w in written), written
    return batches.pop() if batches else None


class Crash(Exception):
    """Stands for the process dying at a step."""


class Faults:
    """A fault hook that records every step and crashes at one of them (None: at none)."""

    def __init__(self, step: str | None = None) -> None:
        self.step = step
        self.seen: list[str] = []

    def __call__(self, step: str) -> None:
        self.seen.append(step)
        if step == self.step:
            raise Crash(step)


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    return tmp_path / "drop"


@pytest.fixture
def sage(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'sage.db'}"
    init_sandbox(url, MAPPING)
    engine = create_sage_engine(url)
    yield engine
    engine.dispose()


def run_of_corrections() -> list[tuple[str, str, Document]]:
    """A run's postings: (posting id, action, document)."""
    return [
        ("p-vendor", "create", vendor()),
        ("p-bill", "create", bill(number='7, "rush", 2/2')),  # commas and quotes survive
        ("p-journal", "create", journal()),
        ("p-cost", "create", job_cost("V-7", source="11", vendor_number="2001")),
        ("p-labor", "create", labor()),
    ]


def stage_run(sink: FilesPostingSink) -> None:
    for posting_id, action, document in run_of_corrections():
        sink.stage(posting_id, action, document.module, document)


def test_a_flush_writes_one_batch_with_a_manifest(drop: Path) -> None:
    sink = FilesPostingSink(drop, clock=lambda: NOON)
    stage_run(sink)
    batch_id = batch_of(sink.flush())
    assert batch_id == "batch-00000001-20260314T120000Z"
    assert [p.name for p in pending_batches(drop)] == [batch_id]
    folder = drop / batch_id
    manifest = orjson.loads((folder / MANIFEST).read_bytes())
    assert manifest["batch_id"] == batch_id and manifest["created_utc"].startswith("2026-03-14T12")
    assert [
        (p["posting_id"], p["module"], p["key"], p["action"]) for p in manifest["postings"]
    ] == [(pid, doc.module, doc.key, action) for pid, action, doc in run_of_corrections()]
    names = {f["name"] for f in manifest["files"]}
    assert names == {
        "vendors.actpay.csv",
        "ap_invoices.acpinv.csv",
        "ap_invoices.apivln.csv",
        "ap_invoices.lgrtrn.csv",
        "ap_invoices.lgtnln.csv",
        "journal.lgrtrn.csv",
        "journal.lgtnln.csv",
        "job_cost.jobcst.csv",
        "daily_payroll.dlypyr.csv",
    }
    assert names | {MANIFEST} == {p.name for p in folder.iterdir()}
    for entry in manifest["files"]:
        data = (folder / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        with open(folder / entry["name"], newline="", encoding="utf-8") as handle:
            records = list(csv.reader(handle))
        assert records[0] == [*META_COLUMNS, *COLUMNS[entry["table"]]]
        assert len(records) - 1 == entry["rows"]
    assert batch_of(sink.flush()) is None  # nothing staged since
    assert len(pending_batches(drop)) == 1


def test_a_batch_reads_back_as_exactly_the_documents_staged(drop: Path) -> None:
    sink = FilesPostingSink(drop)
    stage_run(sink)
    batch = read_batch(drop / str(batch_of(sink.flush())))
    staged = run_of_corrections()
    assert [p.posting_id for p in batch.postings] == [pid for pid, _, _ in staged]
    for posting, (_, action, want) in zip(batch.postings, staged, strict=True):
        assert posting.action == action and posting.document is not None
        assert posting.document.tables == want.tables
        assert posting.document.digest() == want.digest()
        assert (posting.document.key, posting.document.period) == (want.key, want.period)


def test_voids_and_replacements_carry_the_records_they_act_on(drop: Path) -> None:
    sink = FilesPostingSink(drop)
    sink.stage("p-void", "void", JOB_COST, None, [4, 5], key=job_cost().key)
    sink.stage("p-replace", "replace", JOB_COST, job_cost(amount="1.00"), [6])
    sink.stage("p-fix-hours", "update", DAILY_PAYROLL, labor(hours="4.00"))
    folder = drop / str(batch_of(sink.flush()))
    with open(folder / "job_cost.jobcst.csv", newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    assert [(r["posting_id"], r["action"], r["ref"], r["row"], r["cstamt"]) for r in records] == [
        ("p-void", "void", "4", "", ""),
        ("p-void", "void", "5", "", ""),
        ("p-replace", "replace", "6", "1", "1.00"),
    ]
    batch = read_batch(folder)
    assert [(p.action, p.refs, p.key) for p in batch.postings] == [
        ("void", (4, 5), job_cost().key),
        ("replace", (6,), job_cost().key),
        ("update", (), "ST-LB-88"),
    ]
    assert batch.postings[0].document is None


def test_staging_refuses_what_the_sql_sink_would_refuse(drop: Path) -> None:
    sink = FilesPostingSink(drop)
    with pytest.raises(ValueError, match="records to void"):
        sink.stage("p", "void", JOB_COST, None, [])
    with pytest.raises(ValueError, match="replace"):
        sink.stage("p", "update", AP_INVOICES, bill())
    with pytest.raises(ValueError, match="action"):
        sink.stage("p", "delete", VENDORS, vendor())
    with pytest.raises(ValueError, match="document"):
        sink.stage("p", "create", VENDORS, bill())
    assert sink.staged == () and batch_of(sink.flush()) is None
    assert not drop.exists()


def test_written_finds_a_posting_in_pending_and_imported_batches(drop: Path, sage: Engine) -> None:
    first = FilesPostingSink(drop)
    first.stage("p-1", "create", VENDORS, vendor())
    one = batch_of(first.flush())
    first.stage("p-2", "create", VENDORS, vendor(2002))
    two = batch_of(first.flush())
    assert (first.written("p-1"), first.written("p-2"), first.written("p-3")) == (one, two, None)
    assert import_batches(drop, sage) == [one, two]
    later = FilesPostingSink(drop)  # another run, another process
    assert (later.written("p-1"), later.written("p-2")) == (one, two)
    assert [p.name for p in (drop / IMPORTED_FOLDER).iterdir()] != []


def test_a_posting_already_in_a_batch_is_never_written_again(drop: Path) -> None:
    sink = FilesPostingSink(drop)
    sink.stage("p-1", "create", VENDORS, vendor())
    first = batch_of(sink.flush())
    rerun = FilesPostingSink(drop)
    rerun.stage("p-1", "create", VENDORS, vendor())
    rerun.stage("p-2", "create", VENDORS, vendor(2002))
    second = batch_of(rerun.flush())
    assert second != first
    assert [p.posting_id for p in read_batch(drop / str(second)).postings] == ["p-2"]
    rerun.stage("p-1", "create", VENDORS, vendor())
    assert batch_of(rerun.flush()) is None and len(pending_batches(drop)) == 2


def test_a_crash_before_the_rename_leaves_no_batch_and_keeps_the_postings(drop: Path) -> None:
    fault = Faults("before_commit")
    sink = FilesPostingSink(drop, fault=fault)
    stage_run(sink)
    with pytest.raises(Crash):
        sink.flush()
    assert list(drop.iterdir()) == [] and sink.written("p-bill") is None
    assert len(sink.staged) == 5
    fault.step = None  # the next flush goes through
    batch_id = batch_of(sink.flush())
    assert batch_id is not None and batch_id.startswith("batch-00000001-")
    assert fault.seen == ["before_write", "before_commit", *FAULT_STEPS]


_KILLED_FLUSH = """
import os, sys
from pathlib import Path
from adapters.sage.files_sink import FilesPostingSink
from tests.adapters_tests.test_sage_costs import vendor

drop, step = Path(sys.argv[1]), sys.argv[2]

def die(at):
    if at == step:
        os._exit(9)

sink = FilesPostingSink(drop, fault=die)
sink.stage("p-killed", "create", "vendors", vendor())
sink.flush()
"""


@pytest.mark.parametrize(("step", "batches"), [("before_commit", 0), ("after_write", 1)])
def test_a_process_killed_while_flushing_leaves_a_whole_batch_or_none(
    drop: Path, step: str, batches: int
) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", _KILLED_FLUSH, str(drop), step],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 9, completed.stderr
    assert len(pending_batches(drop)) == batches
    found = FilesPostingSink(drop).written("p-killed")
    assert (found is not None) == bool(batches)
    if not batches:  # only the hidden temporary folder is left, and nothing reads it
        assert [p.name.startswith(".tmp-") for p in drop.iterdir()] == [True]


def test_import_applies_batches_and_the_reader_shows_the_documents(
    drop: Path, sage: Engine
) -> None:
    sink = FilesPostingSink(drop)
    stage_run(sink)
    batch_id = batch_of(sink.flush())
    assert import_batches(drop, sage, user="sage-import") == [batch_id]
    reader = SageReader(sage, MAPPING)
    for _, _, want in run_of_corrections():
        [got] = reader.read_key(want.module, want.key)
        assert got.tables == want.tables and got.digest() == want.digest()
    assert pending_batches(drop) == []
    imported = drop / IMPORTED_FOLDER / str(batch_id)
    result = orjson.loads((imported / RESULT).read_bytes())
    assert [p["status"] for p in result["postings"]] == ["applied"] * 5
    assert result["postings"][1]["refs"] == [1]  # the AP invoice's recnum
    with sage.connect() as connection:
        assert connection.exec_driver_sql("SELECT DISTINCT usrnme FROM acpinv").scalar() == (
            "sage-import"
        )
    assert import_batches(drop, sage) == []  # re-import is a no-op
    assert len(reader.read(AP_INVOICES)) == 1


def test_batches_are_imported_in_order(drop: Path, sage: Engine) -> None:
    sink = FilesPostingSink(drop)
    sink.stage("p-1", "create", VENDORS, vendor())
    sink.stage("p-2", "create", JOURNAL, journal())
    first = batch_of(sink.flush())
    sink.stage("p-3", "update", VENDORS, vendor(name="Ferguson Enterprises"))
    sink.stage("p-4", "replace", JOURNAL, journal(amount="20.00"), [1])
    second = batch_of(sink.flush())
    assert import_batches(drop, sage) == [first, second]
    reader = SageReader(sage, MAPPING)
    assert reader.read(VENDORS)[0].header["vndnme"] == "Ferguson Enterprises"
    entries = {d.sage_ref: d for d in reader.read_key(JOURNAL, journal().key)}
    assert entries[1].is_void and entries[2].tables == journal(amount="20.00").tables


def test_a_posting_sage_refuses_is_reported_and_the_rest_goes_in(drop: Path, sage: Engine) -> None:
    sink = FilesPostingSink(drop)
    sink.stage("p-gone", "void", AP_INVOICES, None, [42], key="PL-BILL-42")
    sink.stage("p-bill", "create", AP_INVOICES, bill())
    batch_id = batch_of(sink.flush())
    assert (sink.imported("p-gone"), sink.imported("p-bill")) == (None, None)  # pending
    assert import_batches(drop, sage) == [batch_id]
    # What the import did, as this sink and one a later process opens read it.
    for reading in (sink, FilesPostingSink(drop)):
        gone, taken = reading.imported("p-gone"), reading.imported("p-bill")
        assert gone is not None and gone.batch == batch_id and "record 42" in str(gone.error)
        assert taken == Imported(str(batch_id), None)
        assert reading.imported("p-never-staged") is None
    result = orjson.loads((drop / IMPORTED_FOLDER / str(batch_id) / RESULT).read_bytes())
    assert [(p["posting_id"], p["status"]) for p in result["postings"]] == [
        ("p-gone", "failed"),
        ("p-bill", "applied"),
    ]
    assert "record 42" in result["postings"][0]["error"]
    [got] = SageReader(sage, MAPPING).read(AP_INVOICES)
    assert got.tables == bill().tables


def test_an_import_interrupted_after_commit_is_not_applied_twice(drop: Path, sage: Engine) -> None:
    sink = FilesPostingSink(drop)
    stage_run(sink)
    batch_id = batch_of(sink.flush())
    with pytest.raises(Crash):
        import_batches(drop, sage, fault=Faults("after_write"))
    assert [p.name for p in pending_batches(drop)] == [batch_id]  # committed, not moved
    assert import_batches(drop, sage) == [batch_id]
    reader = SageReader(sage, MAPPING)
    for module in (AP_INVOICES, JOURNAL, JOB_COST, DAILY_PAYROLL):
        assert len(reader.read(module)) == 1, module


def test_an_import_that_fails_before_commit_writes_nothing(drop: Path, sage: Engine) -> None:
    sink = FilesPostingSink(drop)
    stage_run(sink)
    batch_id = batch_of(sink.flush())
    with pytest.raises(Crash):
        import_batches(drop, sage, fault=Faults("before_commit"))
    reader = SageReader(sage, MAPPING)
    assert reader.read(AP_INVOICES) == [] and reader.read(VENDORS) == []
    assert import_batches(drop, sage) == [batch_id]
    assert len(reader.read(AP_INVOICES)) == 1


def test_a_tampered_batch_stops_the_import(drop: Path, sage: Engine) -> None:
    sink = FilesPostingSink(drop)
    sink.stage("p-1", "create", VENDORS, vendor())
    first = batch_of(sink.flush())
    sink.stage("p-2", "create", VENDORS, vendor(2002))
    batch_of(sink.flush())
    path = drop / str(first) / "vendors.actpay.csv"
    path.write_bytes(path.read_bytes().replace(b"Ferguson", b"Fergusen"))
    with pytest.raises(SageDataError, match="SHA-256"):
        import_batches(drop, sage)
    assert SageReader(sage, MAPPING).read(VENDORS) == []  # nothing after it went in either
    assert len(pending_batches(drop)) == 2


def test_the_import_writes_only_a_sandbox(drop: Path) -> None:
    engine = create_engine(  # a company on SQL Server, never connected
        "mssql+pyodbc://recon:pw@sage\\SAGE100CON/Company?driver=ODBC+Driver+18+for+SQL+Server"
    )
    with pytest.raises(SageConfigError, match="sandbox"):
        import_batches(drop, engine)
