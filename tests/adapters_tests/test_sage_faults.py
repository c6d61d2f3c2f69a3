"""The sql sink under faults: each action is all-or-nothing, even when the process dies."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine

from adapters.sage.engine import create_sage_engine
from adapters.sage.reader import SageReader
from adapters.sage.sandbox import init_sandbox
from adapters.sage.sql_sink import FAULT_STEPS, SqlPostingSink
from domain.builders import ar_invoice_document
from domain.documents import AR_INVOICES, Document
from domain.mapping import Mapping
from domain.source import Invoice, InvoiceItem

MAPPING = Mapping(ar_control_account=1200, default_income_account=4000)
REPO = Path(__file__).resolve().parents[2]


class Crash(Exception):
    """Stands for the process dying at a step."""


def bill(invoice_id: str = "1", amount: str = "100") -> Document:
    item = InvoiceItem("1", "Service call", Decimal(1), Decimal(amount), False, "labor")
    source = Invoice(
        invoice_id,
        f"INV-{invoice_id}",
        "processed",
        "invoice",
        "2026-02-03",
        "5",
        "77",
        "31",
        (item,),
    )
    return ar_invoice_document(source, job_number=5001, location=None, mapping=MAPPING)


@pytest.fixture
def sage(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'sage.db'}"
    init_sandbox(url, MAPPING)
    engine = create_sage_engine(url)
    yield engine
    engine.dispose()


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            for table in ("acrinv", "arivln", "lgrtrn", "lgtnln")
        }


class Faults:
    """A fault hook that records every step and crashes at one of them."""

    def __init__(self, step: str | None = None) -> None:
        self.step = step
        self.seen: list[str] = []

    def __call__(self, step: str) -> None:
        self.seen.append(step)
        if step == self.step:
            raise Crash(step)


def crash_at(step: str) -> Faults:
    return Faults(step)


def test_every_action_passes_the_documented_steps_in_order(sage: Engine) -> None:
    fault = Faults()
    sink = SqlPostingSink(sage, fault=fault)
    ref = sink.create(bill())
    sink.replace(bill(amount="90"), ref)
    sink.void(AR_INVOICES, ref + 1)
    assert fault.seen == list(FAULT_STEPS) * 3
    assert FAULT_STEPS == ("before_write", "before_commit", "after_write")


@pytest.mark.parametrize("step", ["before_write", "before_commit"])
def test_a_crash_before_commit_leaves_sage_untouched(sage: Engine, step: str) -> None:
    before = counts(sage)
    with pytest.raises(Crash):
        SqlPostingSink(sage, fault=crash_at(step)).create(bill())
    assert counts(sage) == before
    assert SqlPostingSink(sage).create(bill()) == 1  # no record number was used up


def test_a_crash_after_commit_leaves_the_posting_for_the_next_read_to_find(sage: Engine) -> None:
    with pytest.raises(Crash):
        SqlPostingSink(sage, fault=crash_at("after_write")).create(bill("7"))
    [found] = SageReader(sage, MAPPING).read_key(AR_INVOICES, "ST-INV-7")
    assert found.tables == bill("7").tables


def test_a_replace_that_crashes_before_commit_does_not_void_the_original(sage: Engine) -> None:
    ref = SqlPostingSink(sage).create(bill())
    with pytest.raises(Crash):
        SqlPostingSink(sage, fault=crash_at("before_commit")).replace(bill(amount="90"), ref)
    [only] = SageReader(sage, MAPPING).read(AR_INVOICES, None)
    assert only.sage_ref == ref and not only.is_void


_KILLED_POSTING = """
import os, sys
from adapters.sage.engine import create_sage_engine
from adapters.sage.sql_sink import SqlPostingSink
from domain.documents import Document
import orjson

url, step, payload = sys.argv[1], sys.argv[2], sys.argv[3]
doc = Document.from_json(orjson.loads(payload))

def die(at):
    if at == step:
        os._exit(9)

SqlPostingSink(create_sage_engine(url), fault=die).create(doc)
"""


def _post_in_a_process_killed_at(sage: Engine, step: str, doc: Document) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            _KILLED_POSTING,
            str(sage.url),
            step,
            orjson.dumps(doc.to_json()).decode(),
        ],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return completed.returncode


def _integrity(sage: Engine) -> str:
    with sqlite3.connect(str(sage.url.database)) as connection:
        result = str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    connection.close()
    return result


def test_a_process_killed_before_commit_writes_nothing(sage: Engine) -> None:
    before = counts(sage)
    assert _post_in_a_process_killed_at(sage, "before_commit", bill("8")) == 9
    assert counts(sage) == before
    assert _integrity(sage) == "ok"
    assert SqlPostingSink(sage).create(bill("8")) == 1


def test_a_process_killed_after_commit_has_posted_exactly_once(sage: Engine) -> None:
    assert _post_in_a_process_killed_at(sage, "after_write", bill("9")) == 9
    assert _integrity(sage) == "ok"
    found = SageReader(sage, MAPPING).read_key(AR_INVOICES, "ST-INV-9")
    assert [d.tables for d in found] == [bill("9").tables]
