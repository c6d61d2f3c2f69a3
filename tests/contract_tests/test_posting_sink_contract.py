"""The PostingSink contract, for every sink: the fake (direct and batched), the sql sink on a
SQLite sandbox, and the files sink with the simulated Sage-side import."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from adapters.sage.files_sink import FilesPostingSink, import_batches, pending_batches
from adapters.sage.reader import SageReader
from adapters.sage.sql_sink import SqlPostingSink
from domain import ports
from domain.documents import AP_INVOICES, JOURNAL, VENDORS, Document
from domain.posting import CREATE, REPLACE, UPDATE, VOID
from tests.adapters_tests.test_sage_costs import MAPPING, bill, journal, vendor
from tests.fakes import FakeSage, FakeSink

DIRECT = ("fake", "sql")
BATCHED = ("fake-batched", "files")


@dataclass
class Rig:
    """A sink, the reader of the Sage it writes, and Sage's import of its batches."""

    sink: ports.PostingSink
    reader: ports.SageReader
    batches: bool
    import_batches: Callable[[], list[str]]


def rig_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Rig:
    if kind.startswith("fake"):
        sage = FakeSage()
        fake = FakeSink(sage, batched=kind == "fake-batched")
        return Rig(fake, sage, fake.batched, fake.import_batches)
    engine: Engine = request.getfixturevalue("sandbox")
    reader = SageReader(engine, MAPPING)
    if kind == "sql":
        return Rig(SqlPostingSink(engine, user="contract"), reader, False, list)
    drop = tmp_path / "drop"
    return Rig(FilesPostingSink(drop), reader, True, lambda: import_batches(drop, engine))


@pytest.fixture(params=[*DIRECT, *BATCHED])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    yield rig_for(request.param, request, tmp_path)


@pytest.fixture(params=BATCHED)
def batch_rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    yield rig_for(request.param, request, tmp_path)


def write(
    rig: Rig, postings: list[tuple[str, str, str, Document | None, tuple[Any, ...]]]
) -> list[ports.Written]:
    """Stage postings (id, action, module, document, refs), flush, and let Sage import."""
    for posting_id, action, module, document, refs in postings:
        key = document.key if document is not None else "PL-BILL-7"
        rig.sink.stage(posting_id, action, module, document, refs, key=key)
    written = list(rig.sink.flush())
    rig.import_batches()
    return written


def only(rig: Rig, module: str, key: str) -> Document:
    [held] = rig.reader.read_key(module, key)
    return held


def test_flush_reports_each_staged_posting_once(rig: Rig) -> None:
    rig.sink.stage("p-vendor", CREATE, VENDORS, vendor())
    rig.sink.stage("p-bill", CREATE, AP_INVOICES, bill())
    rig.sink.stage("p-bill", CREATE, AP_INVOICES, bill())  # staged again: replaces

    written = list(rig.sink.flush())

    assert [w.posting_id for w in written] == ["p-vendor", "p-bill"]
    assert [w.error for w in written] == [None, None]
    if rig.batches:
        [batch] = {w.batch for w in written}
        assert isinstance(batch, str) and batch
        assert [w.refs for w in written] == [(), ()]
        assert rig.import_batches() == [batch]
    else:
        assert [w.batch for w in written] == [None, None]
        assert [w.refs for w in written] == [
            (only(rig, VENDORS, "VND-2001").sage_ref,),
            (only(rig, AP_INVOICES, "PL-BILL-7").sage_ref,),
        ]
    assert len(rig.reader.read(AP_INVOICES, None)) == 1


def test_after_the_write_and_the_import_the_reader_shows_the_documents(rig: Rig) -> None:
    documents = [vendor(), bill(), journal()]
    for n, document in enumerate(documents):
        rig.sink.stage(f"p{n}", CREATE, document.module, document)
    list(rig.sink.flush())
    shown_before_import = [rig.reader.read_key(d.module, d.key) for d in documents]

    rig.import_batches()

    if rig.batches:
        assert shown_before_import == [[], [], []]
    for document in documents:
        held = only(rig, document.module, document.key)
        assert held.tables == document.tables
        assert not held.is_void
        assert [d.key for d in rig.reader.read(document.module, None)] == [document.key]


def test_written_names_the_batch_of_a_batch_sink_and_nothing_for_a_direct_one(rig: Rig) -> None:
    rig.sink.stage("p-vendor", CREATE, VENDORS, vendor())
    assert rig.sink.written("p-vendor") is None  # staged is not written

    [written] = list(rig.sink.flush())

    if rig.batches:
        assert written.batch is not None
        assert rig.sink.written("p-vendor") == written.batch
        rig.import_batches()
        assert rig.sink.written("p-vendor") == written.batch  # imported batches too
    else:
        assert rig.sink.written("p-vendor") is None
    assert rig.sink.written("p-never-staged") is None


def test_a_direct_sink_skips_a_posting_sage_shows_when_its_turn_comes(rig: Rig) -> None:
    """``needed`` is asked just before each write: the second of two postings of one bill
    finds the first one's write in Sage."""
    asked = []

    def needed(posting_id: str) -> bool:
        asked.append(posting_id)
        return rig.reader.read_key(AP_INVOICES, "PL-BILL-7") == []

    rig.sink.stage("p1", CREATE, AP_INVOICES, bill())
    rig.sink.stage("p2", CREATE, AP_INVOICES, bill())

    written = list(rig.sink.flush(needed))
    rig.import_batches()

    assert [w.posting_id for w in written] == ["p1", "p2"]
    assert [w.error for w in written] == [None, None]
    if rig.batches:  # nothing is in Sage until the import: every posting goes in the batch
        assert [w.skipped for w in written] == [False, False]
        assert len({w.batch for w in written}) == 1
    else:
        assert asked == ["p1", "p2"]
        assert [w.skipped for w in written] == [False, True]
        assert written[1].refs == ()
        assert len(rig.reader.read_key(AP_INVOICES, "PL-BILL-7")) == 1


def test_every_sink_skips_a_posting_sage_already_shows(rig: Rig) -> None:
    """A posting written before a crash but never recorded: the sink asks, and writes only
    what Sage lacks (into Sage, or into the batch)."""
    rig.sink.stage("shown", CREATE, VENDORS, vendor())
    rig.sink.stage("lacking", CREATE, VENDORS, vendor(2002))

    written = list(rig.sink.flush(lambda posting_id: posting_id == "lacking"))
    rig.import_batches()

    assert {w.posting_id: w.skipped for w in written} == {"shown": True, "lacking": False}
    assert [d.key for d in rig.reader.read(VENDORS, None)] == ["VND-2002"]


def test_a_posting_a_batch_carries_is_never_written_again(batch_rig: Rig) -> None:
    rig = batch_rig
    rig.sink.stage("p-vendor", CREATE, VENDORS, vendor())
    [first] = list(rig.sink.flush())

    rig.sink.stage("p-vendor", CREATE, VENDORS, vendor())
    assert list(rig.sink.flush()) == []
    assert rig.import_batches() == [first.batch]
    rig.sink.stage("p-vendor", CREATE, VENDORS, vendor())
    assert list(rig.sink.flush()) == []
    assert rig.import_batches() == []
    assert len(rig.reader.read_key(VENDORS, "VND-2001")) == 1


def test_replace_voids_the_old_document_and_enters_the_new_one(rig: Rig) -> None:
    write(rig, [("p1", CREATE, AP_INVOICES, bill(), ())])
    old = only(rig, AP_INVOICES, "PL-BILL-7")
    new = bill(freight="25.00")

    written = write(rig, [("p2", REPLACE, AP_INVOICES, new, (old.sage_ref,))])

    assert [w.error for w in written] == [None]
    held = rig.reader.read_key(AP_INVOICES, "PL-BILL-7")
    assert sorted((d.sage_ref == old.sage_ref, d.is_void) for d in held) == [
        (False, False),
        (True, True),
    ]
    [active] = [d for d in held if not d.is_void]
    assert active.tables == new.tables


def test_void_voids_the_records_named(rig: Rig) -> None:
    write(rig, [("p1", CREATE, AP_INVOICES, bill(), ())])
    ref = only(rig, AP_INVOICES, "PL-BILL-7").sage_ref

    written = write(rig, [("p2", VOID, AP_INVOICES, None, (ref,))])

    assert [w.error for w in written] == [None]
    if not rig.batches:
        assert [w.refs for w in written] == [(ref,)]
    voided = only(rig, AP_INVOICES, "PL-BILL-7")
    assert (voided.sage_ref, voided.is_void) == (ref, True)


def test_a_write_sage_refuses_leaves_the_others_written(rig: Rig) -> None:
    written = write(
        rig,
        [
            ("p-gone", VOID, AP_INVOICES, None, (404,)),
            ("p-vendor", CREATE, VENDORS, vendor(), ()),
        ],
    )

    errors = {w.posting_id: w.error for w in written}
    assert set(errors) == {"p-gone", "p-vendor"}
    assert errors["p-vendor"] is None
    if rig.batches:
        assert errors["p-gone"] is None  # Sage refuses it at import, not here
    else:
        assert errors["p-gone"] is not None and "404" in errors["p-gone"]
    assert only(rig, VENDORS, "VND-2001").tables == vendor().tables
    assert rig.reader.read(AP_INVOICES, None) == []


#: What Sage would refuse, staged: (name, action, module, document, refs).
REFUSED: list[tuple[str, str, str, Document | None, tuple[Any, ...]]] = [
    ("an unknown action", "upsert", VENDORS, vendor(), ()),
    ("an unknown module", VOID, "payroll_taxes", None, (1,)),
    ("a void naming no record", VOID, AP_INVOICES, None, ()),
    ("a create without a document", CREATE, AP_INVOICES, None, ()),
    ("a document of another module", CREATE, AP_INVOICES, vendor(), ()),
    ("an update of a posted document", UPDATE, AP_INVOICES, bill(), ()),
    ("a replace of two records", REPLACE, AP_INVOICES, bill(), (1, 2)),
    (
        "a document of unknown tables",
        CREATE,
        JOURNAL,
        replace(journal(), tables={"acpinv": ()}),
        (),
    ),
    (
        "a document without its header",
        CREATE,
        VENDORS,
        replace(vendor(), tables={"actpay": ()}),
        (),
    ),
]


def test_staging_what_sage_would_refuse_raises_value_error(rig: Rig) -> None:
    accepted = []
    for name, action, module, document, refs in REFUSED:
        try:
            rig.sink.stage(f"p-{name}", action, module, document, refs, key="PL-BILL-7")
        except ValueError:
            continue
        accepted.append(name)

    assert accepted == []
    assert list(rig.sink.flush()) == []  # nothing refused was held for the flush


def test_flushing_nothing_yields_nothing(rig: Rig, tmp_path: Path) -> None:
    assert list(rig.sink.flush()) == []
    assert rig.import_batches() == []
    assert pending_batches(tmp_path / "drop") == []
    for module in (VENDORS, AP_INVOICES, JOURNAL):
        assert rig.reader.read(module, None) == []
