"""post.apply through the fakes: create, replace, refusals, batches, crashes and open postings.

Replacements wait for a person under the default policy: these tests approve them as a person
would (``approve_waiting``); tests/application_tests/test_approval_gate.py tests the gate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest

from application.context import Context
from application.ingest import ingest
from application.post import FAULT_STEPS, apply
from application.reconcile import reconcile
from domain.documents import AR_INVOICES, CLIENTS, JOBS
from domain.reconcile import AMOUNT_DIFFERS, FIELD_DIFFERS, MISSING, UNEXPECTED
from tests.application_tests.books import (
    KEYS,
    MAPPING,
    approve_waiting,
    held,
    label,
    postings,
    source,
    world,
)
from tests.fakes import FakeSage, FakeSink, ListFeed, memory_context, restarted
from tests.projections_tests.test_store_contract import invoice

CREATED = [label(m, k, "create") for m in (CLIENTS, JOBS, AR_INVOICES) for k in KEYS[m]]
EVERY_KEY = Counter({(str(m), k, False): 1 for m, keys in KEYS.items() for k in keys})


@dataclass
class Books:
    ctx: Context
    sage: FakeSage
    sink: FakeSink
    feed: ListFeed


@pytest.fixture(params=["direct", "batched"])
def sink_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def books_for(batched: bool = False) -> Books:
    sage = FakeSage()
    sink = FakeSink(sage, batched=batched)
    ctx = memory_context(MAPPING, sage=sage, sink=sink)
    return Books(ctx, sage, sink, world(ctx))


@pytest.fixture
def books() -> Iterator[Books]:
    made = books_for()
    yield made
    made.ctx.read_model.engine.dispose()


@pytest.fixture
def batched() -> Iterator[Books]:
    made = books_for(batched=True)
    yield made
    made.ctx.read_model.engine.dispose()


class Crash(Exception):
    """A crash on purpose at a fault step."""


def crash_at(step: str) -> Callable[[str], None]:
    def fault(at: str) -> None:
        if at == step:
            raise Crash(at)

    return fault


def settle(ctx: Context) -> list[str]:
    """Runs until nothing is left to post, a person approving what waits and batches being
    imported in between; the labels of the postings confirmed."""
    confirmed = []
    for _ in range(3):
        confirmed += apply(ctx, reconcile(ctx)).confirmed
        approve_waiting(ctx)
        assert isinstance(ctx.sink, FakeSink)
        ctx.sink.import_batches()
    return confirmed


NOTHING_DONE = {
    "confirmed": [],
    "failed": [],
    "left_for_people": [],
    "why_left": {},
    "waiting_for_sage": [],
    "waiting_for_approval": [],
    "rejected": [],
    "withdrawn": [],
}


def expected_tables(ctx: Context, module: str, key: str) -> object:
    document = ctx.read_model.expected_for(module, key)
    assert document is not None, f"recon expects no {module} {key}"
    return document.tables


def test_missing_documents_are_created_and_confirmed(books: Books) -> None:
    ctx, sage, sink = books.ctx, books.sage, books.sink
    findings = reconcile(ctx)
    assert sorted((f.kind, f.key) for f in findings) == sorted(
        (MISSING, k) for keys in KEYS.values() for k in keys
    )

    report = apply(ctx, findings)

    assert sorted(report.confirmed) == sorted(CREATED)
    assert (report.failed, report.waiting, report.left_for_people) == ([], [], [])
    assert held(sage) == EVERY_KEY
    for document in sage.documents:
        assert document.tables == expected_tables(ctx, document.module, document.key)
    assert sink.writes == 3
    assert ctx.read_model.counts()["postings"] == {"confirmed": 3}
    assert reconcile(ctx) == []
    # a second run has nothing to do and writes nothing
    again = apply(ctx, reconcile(ctx))
    assert again.to_json() == NOTHING_DONE
    assert sink.writes == 3


def test_a_document_changed_in_sage_is_replaced_the_old_one_voided(books: Books) -> None:
    ctx, sage = books.ctx, books.sage
    apply(ctx, reconcile(ctx))
    [original] = sage.read_key(AR_INVOICES, "ST-INV-100")
    sage.edit(AR_INVOICES, "ST-INV-100", "acrinv", "dscrpt", "typed over in Sage")
    findings = reconcile(ctx)
    assert [(f.kind, f.key, f.sage_refs) for f in findings] == [
        (FIELD_DIFFERS, "ST-INV-100", (original.sage_ref,))
    ]

    waits = apply(ctx, findings)
    assert waits.waiting_for_approval == [label(AR_INVOICES, "ST-INV-100", "replace")]
    assert approve_waiting(ctx) == waits.waiting_for_approval

    report = apply(ctx, reconcile(ctx))

    assert report.confirmed == [label(AR_INVOICES, "ST-INV-100", "replace")]
    documents = sage.read_key(AR_INVOICES, "ST-INV-100")
    assert [(d.sage_ref == original.sage_ref, d.is_void) for d in documents] == [
        (True, True),
        (False, False),
    ]
    active = [d for d in documents if not d.is_void]
    assert active[0].tables == expected_tables(ctx, AR_INVOICES, "ST-INV-100")
    assert reconcile(ctx) == []
    assert ctx.read_model.counts()["postings"] == {"confirmed": 4}


@pytest.mark.parametrize(
    "sink_kind",
    [
        "direct",
        "batched",
    ],
)
def test_an_invoice_changed_upstream_is_replaced_once(sink_kind: str) -> None:
    """A new total makes two findings for one key (amount_differs and field_differs): Sage
    still gets one replacement."""
    books = books_for(batched=sink_kind == "batched")
    ctx, sage, sink, feed = books.ctx, books.sage, books.sink, books.feed
    settle(ctx)
    feed.records["invoice"][0] = invoice(100, 10, 1, price="200.00", updated=200)
    ingest(ctx, feed)
    findings = reconcile(ctx)
    assert sorted(f.kind for f in findings if f.key == "ST-INV-100") == [
        AMOUNT_DIFFERS,
        FIELD_DIFFERS,
    ]

    report = settle(ctx)

    assert held(sage) == EVERY_KEY + Counter({(str(AR_INVOICES), "ST-INV-100", True): 1})
    [active] = [d for d in sage.read_key(AR_INVOICES, "ST-INV-100") if not d.is_void]
    assert active.tables == expected_tables(ctx, AR_INVOICES, "ST-INV-100")
    assert sink.writes == 4
    assert reconcile(ctx) == []
    assert set(report) == {label(AR_INVOICES, "ST-INV-100", "replace")}
    ctx.read_model.engine.dispose()


def test_one_run_proposes_one_posting_per_key(books: Books) -> None:
    ctx, feed = books.ctx, books.feed
    apply(ctx, reconcile(ctx))
    feed.records["invoice"][0] = invoice(100, 10, 1, price="200.00", updated=200)
    ingest(ctx, feed)

    apply(ctx, reconcile(ctx))
    approve_waiting(ctx)
    report = apply(ctx, reconcile(ctx))

    assert report.confirmed == [label(AR_INVOICES, "ST-INV-100", "replace")]
    assert Counter(p["key"] for p in postings(ctx))["ST-INV-100"] == 2  # the create, then one


def test_a_posting_sage_refuses_fails_with_the_reason_and_the_others_post(books: Books) -> None:
    ctx, sage, sink = books.ctx, books.sage, books.sink
    world(ctx, source(invoice(100, 10, 1), invoice(102, 10, 1)))
    sink.refuse = {"ST-INV-100"}

    report = apply(ctx, reconcile(ctx))

    assert report.failed == [label(AR_INVOICES, "ST-INV-100", "create")]
    assert sorted(report.confirmed) == sorted(
        [*CREATED[:2], label(AR_INVOICES, "ST-INV-102", "create")]
    )
    [refused] = [p for p in postings(ctx) if p["key"] == "ST-INV-100"]
    assert (refused["state"], refused["note"]) == ("failed", "Sage refused ST-INV-100")
    assert sage.read_key(AR_INVOICES, "ST-INV-100") == []
    assert [d.key for d in sage.read(AR_INVOICES, None)] == ["ST-INV-102"]
    assert [(f.kind, f.key) for f in reconcile(ctx)] == [(MISSING, "ST-INV-100")]

    # a failed posting is not open: once Sage takes it, the next run posts it anew
    sink.refuse.clear()
    again = apply(ctx, reconcile(ctx))
    assert again.confirmed == [label(AR_INVOICES, "ST-INV-100", "create")]
    assert ctx.read_model.counts()["postings"] == {"confirmed": 4, "failed": 1}
    assert reconcile(ctx) == []


def test_batched_postings_wait_for_the_import_then_confirm_without_writing_again(
    batched: Books,
) -> None:
    ctx, sage, sink = batched.ctx, batched.sage, batched.sink

    report = apply(ctx, reconcile(ctx))

    assert sorted(report.waiting) == sorted(CREATED)
    assert report.to_json()["waiting_for_sage"] == report.waiting
    assert (report.confirmed, report.failed) == ([], [])
    assert (sink.writes, sage.documents) == (0, [])
    assert list(sink.batches) == ["batch-1"]
    assert ctx.read_model.counts()["postings"] == {"submitted": 3}
    assert {p["note"] for p in postings(ctx)} == {"in batch batch-1"}

    # Sage has not imported: the next run still waits, and writes no second batch
    still = apply(ctx, reconcile(ctx))
    assert sorted(still.waiting) == sorted(CREATED)
    assert list(sink.batches) == ["batch-1"]

    assert sink.import_batches() == ["batch-1"]
    assert sink.writes == 3
    assert held(sage) == EVERY_KEY

    done = apply(ctx, reconcile(ctx))

    assert sorted(done.confirmed) == sorted(CREATED)
    assert (done.waiting, done.failed) == ([], [])
    assert sink.writes == 3
    assert ctx.read_model.counts()["postings"] == {"confirmed": 3}
    assert reconcile(ctx) == []


def test_a_batched_posting_sage_refuses_at_import_is_failed(batched: Books) -> None:
    ctx, sink = batched.ctx, batched.sink
    sink.refuse = {"ST-INV-100"}
    apply(ctx, reconcile(ctx))
    sink.import_batches()
    assert list(sink.import_errors.values()) == ["Sage refused ST-INV-100"]

    report = apply(ctx, reconcile(ctx))

    assert report.failed == [label(AR_INVOICES, "ST-INV-100", "create")]
    assert report.waiting == []
    [refused] = [p for p in postings(ctx) if p["key"] == "ST-INV-100"]
    assert refused["note"].endswith("refused it: Sage refused ST-INV-100")

    # failed, not open: once Sage takes it, the next run writes it in a new batch
    sink.refuse.clear()
    again = apply(ctx, reconcile(ctx))
    assert again.waiting == [label(AR_INVOICES, "ST-INV-100", "create")]
    sink.import_batches()
    assert apply(ctx, reconcile(ctx)).confirmed == [label(AR_INVOICES, "ST-INV-100", "create")]
    assert reconcile(ctx) == []


def test_an_open_posting_for_a_key_blocks_a_second_posting(batched: Books) -> None:
    ctx, sink = batched.ctx, batched.sink
    apply(ctx, reconcile(ctx))
    findings = reconcile(ctx)  # Sage has not imported the batch: still missing
    assert sorted(f.key for f in findings) == sorted(k for keys in KEYS.values() for k in keys)

    apply(ctx, findings)
    apply(ctx, findings)

    per_key = Counter((p["module"], p["key"]) for p in postings(ctx))
    assert per_key == Counter({(str(m), k): 1 for m, keys in KEYS.items() for k in keys})
    assert len(sink.carried) == 3
    assert list(sink.batches) == ["batch-1"]


def test_a_proposed_posting_left_open_is_carried_on_not_proposed_again(books: Books) -> None:
    ctx, sage, sink = books.ctx, books.sage, books.sink
    ctx.fault = crash_at("after_proposed")
    findings = reconcile(ctx)
    with pytest.raises(Crash):
        apply(ctx, findings)
    # recorded with the policy's approval, not yet written
    assert [(p["state"], p["decided_by"]) for p in postings(ctx)] == [("approved", "policy")]
    ctx.fault = lambda _step: None

    report = apply(ctx, findings)  # the same findings again: the open one is carried

    assert sorted(report.confirmed) == sorted(CREATED)
    assert Counter(p["key"] for p in postings(ctx)) == Counter(
        k for keys in KEYS.values() for k in keys
    )
    assert held(sage) == EVERY_KEY
    assert sink.writes == 3


def test_a_finding_only_a_person_may_settle_is_left_for_people(books: Books) -> None:
    ctx, sage = books.ctx, books.sage
    apply(ctx, reconcile(ctx))
    [mine] = sage.read_key(AR_INVOICES, "ST-INV-100")
    sage.add(replace(mine, key="SAGE-acrinv-7"))
    findings = reconcile(ctx)
    assert [(f.kind, f.key) for f in findings] == [(UNEXPECTED, "SAGE-acrinv-7")]

    report = apply(ctx, findings)

    assert report.left_for_people == ["SAGE-acrinv-7"]
    assert report.confirmed == []
    assert len(sage.documents) == 4


@pytest.mark.parametrize("step", FAULT_STEPS)
def test_a_crash_at_any_step_then_a_rerun_posts_each_document_exactly_once(
    step: str, sink_kind: str
) -> None:
    books = books_for(batched=sink_kind == "batched")
    ctx, sage = books.ctx, books.sage
    ctx.fault = crash_at(step)
    with pytest.raises(Crash):
        apply(ctx, reconcile(ctx))

    after = restarted(ctx)
    settle(after)

    assert held(sage) == EVERY_KEY
    assert isinstance(after.sink, FakeSink)
    assert after.sink.writes == 3  # nothing written twice
    states = after.read_model.counts()["postings"]
    assert "proposed" not in states and "submitted" not in states
    assert states["confirmed"] == 3
    assert reconcile(after) == []
    after.read_model.engine.dispose()
    ctx.read_model.engine.dispose()


@pytest.mark.parametrize("step", FAULT_STEPS)
def test_a_crash_while_replacing_then_a_rerun_leaves_one_active_document(
    step: str, sink_kind: str
) -> None:
    books = books_for(batched=sink_kind == "batched")
    ctx, sage = books.ctx, books.sage
    settle(ctx)
    sage.edit(AR_INVOICES, "ST-INV-100", "acrinv", "dscrpt", "typed over in Sage")
    ctx.fault = crash_at(step)
    try:  # proposes the replacement, which waits for a person
        apply(ctx, reconcile(ctx))
    except Crash:
        assert step == "after_proposed"
    else:
        approve_waiting(ctx)
        with pytest.raises(Crash):
            apply(ctx, reconcile(ctx))

    after = restarted(ctx)
    settle(after)

    assert held(sage) == EVERY_KEY + Counter({(str(AR_INVOICES), "ST-INV-100", True): 1})
    assert isinstance(after.sink, FakeSink)
    assert after.sink.writes == 4
    states = after.read_model.counts()["postings"]
    assert states == {"confirmed": 4}
    assert reconcile(after) == []
    after.read_model.engine.dispose()
    ctx.read_model.engine.dispose()
