"""The SageReader contract, for the fake Sage and the reader of a SQLite sandbox: what was
written reads back exactly, by module and by key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import Engine

from adapters.sage.reader import SageReader
from adapters.sage.sql_sink import SqlPostingSink
from domain import ports
from domain.documents import (
    AP_INVOICES,
    DAILY_PAYROLL,
    JOB_COST,
    JOURNAL,
    VENDORS,
    Document,
    ref_order,
)
from domain.reconcile import position
from tests.adapters_tests.test_sage_costs import MAPPING, bill, everything, journal, vendor
from tests.fakes import FakeSage


@dataclass
class Rig:
    """A reader and how its Sage takes a document in (returning its reference) or voids one."""

    reader: ports.SageReader
    write: Callable[[Document], int | str]
    void: Callable[[str, int | str], None]


def fake_rig() -> Rig:
    sage = FakeSage()

    def write(document: Document) -> int | str:
        ref = sage.add(document).sage_ref
        assert ref is not None
        return ref

    return Rig(sage, write, sage.void)


@pytest.fixture(params=["fake", "sandbox"])
def rig(request: pytest.FixtureRequest) -> Rig:
    if request.param == "fake":
        return fake_rig()
    engine: Engine = request.getfixturevalue("sandbox")
    sink = SqlPostingSink(engine, user="contract")
    return Rig(SageReader(engine, MAPPING, chunk=2), sink.create, sink.void)


def test_what_was_written_reads_back_by_module_and_by_key(rig: Rig) -> None:
    refs = {module: rig.write(document) for module, document in everything().items()}

    for module, document in everything().items():
        [by_module] = rig.reader.read(module, None)
        [by_key] = rig.reader.read_key(module, document.key)
        for held in (by_module, by_key):
            assert (held.module, held.key, held.period) == (
                document.module,
                document.key,
                document.period,
            )
            assert held.tables == document.tables
            assert held.sage_ref == refs[module]
            assert not held.is_void


def test_a_master_record_reads_back_under_its_own_number(rig: Rig) -> None:
    ref = rig.write(vendor(2042, "Raleigh Motor Rewind"))

    [held] = rig.reader.read_key(VENDORS, "VND-2042")

    assert ref == held.sage_ref == 2042


def test_an_unknown_key_reads_as_nothing(rig: Rig) -> None:
    for document in everything().values():
        rig.write(document)

    assert rig.reader.read_key(AP_INVOICES, "PL-BILL-404") == []
    assert rig.reader.read_key(VENDORS, "VND-9999") == []
    assert rig.reader.read_key(DAILY_PAYROLL, "ST-LB-404") == []
    # a key of another module is not found in this one
    assert rig.reader.read_key(JOURNAL, bill().key) == []
    assert rig.reader.read_key(AP_INVOICES, journal().key) == []


def test_read_keeps_to_the_period_asked(rig: Rig) -> None:
    for document in everything().values():
        rig.write(document)
    rig.write(bill("8", day="2026-04-02"))

    assert [d.key for d in rig.reader.read(AP_INVOICES, "2026-03")] == ["PL-BILL-7"]
    assert [d.key for d in rig.reader.read(AP_INVOICES, "2026-04")] == ["PL-BILL-8"]
    assert rig.reader.read(JOB_COST, "2026-05") == []
    # masters have no period: every period shows them
    assert [d.key for d in rig.reader.read(VENDORS, "2026-05")] == ["VND-2001"]


def test_a_voided_document_reads_back_void_under_its_key(rig: Rig) -> None:
    ref = rig.write(bill())
    rig.void(AP_INVOICES, ref)

    [held] = rig.reader.read_key(AP_INVOICES, "PL-BILL-7")

    assert (held.sage_ref, held.is_void) == (ref, True)
    assert held.header["status"] == "5"
    assert [d.is_void for d in rig.reader.read(AP_INVOICES, None)] == [True]


def test_two_documents_under_one_key_both_read_back(rig: Rig) -> None:
    first, second = rig.write(bill()), rig.write(bill())

    held = rig.reader.read_key(AP_INVOICES, "PL-BILL-7")

    assert first != second
    assert sorted(str(d.sage_ref) for d in held) == sorted([str(first), str(second)])
    assert all(d.tables == bill().tables for d in held)


def test_a_stream_reads_what_read_does_in_key_order(rig: Rig) -> None:
    for document in everything().values():
        rig.write(document)
    # More documents than a chunk holds, whose record numbers run against their keys' order,
    # one of them twice, and an adjusting bill that sorts after PL-BILL-10 as text.
    for bill_id in ("9", "10", "1", "1~A1", "2", "10", "8"):
        rig.write(bill(bill_id, day="2026-04-02"))

    for module in everything():
        for period in (None, "2026-04"):
            held = rig.reader.read(module, period)
            streamed = list(rig.reader.stream(module, period))
            order = [(position(d.key), ref_order(d.sage_ref or 0)) for d in streamed]
            assert order == sorted(order)
            assert sorted((d.key, str(d.sage_ref)) for d in streamed) == sorted(
                (d.key, str(d.sage_ref)) for d in held
            )
            assert {d.sage_ref: d.tables for d in streamed} == {d.sage_ref: d.tables for d in held}
            assert rig.reader.keys(module, period) == {d.key for d in held}
    keys = [d.key for d in rig.reader.stream(AP_INVOICES, "2026-04")]
    assert keys == ["PL-BILL-1", "PL-BILL-1~A1", "PL-BILL-10", "PL-BILL-10", "PL-BILL-2",
                    "PL-BILL-8", "PL-BILL-9"]  # fmt: skip


def test_a_stream_takes_the_order_it_is_given(rig: Rig) -> None:
    for bill_id in ("1", "2", "3"):
        rig.write(bill(bill_id))

    def backwards(key: str) -> tuple[int, ...]:
        return tuple(-ord(c) for c in key)

    streamed = [d.key for d in rig.reader.stream(AP_INVOICES, None, backwards)]

    assert streamed == ["PL-BILL-3", "PL-BILL-2", "PL-BILL-1"]


def test_an_unlinked_stream_holds_only_records_that_carry_no_link_key(rig: Rig) -> None:
    rig.write(bill("1"))
    keyed_by_hand = bill("2")
    header = {**keyed_by_hand.header, "usrdf1": "keyed by hand"}
    ref = rig.write(replace(keyed_by_hand, key="SAGE-acpinv-0", tables={
        **keyed_by_hand.tables, "acpinv": (header,)}))  # fmt: skip

    [unlinked] = rig.reader.stream(AP_INVOICES, None, unlinked=True)

    assert unlinked.sage_ref == ref
    assert unlinked.key.startswith("SAGE-acpinv-")
