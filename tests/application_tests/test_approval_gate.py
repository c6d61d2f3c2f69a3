"""The approval gate through the fakes: what posts unattended, what waits, and deciding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from adapters.store import Store
from application.approve import ApprovalError, approve, postings, reject
from application.context import Context
from application.ingest import ingest
from application.post import apply
from application.reconcile import reconcile
from domain.documents import AR_INVOICES
from domain.money import to_str
from domain.policy import (
    DEFAULT_POLICY,
    EDITED,
    NO_PERIODS,
    OVER_THRESHOLD,
    PERIOD_LOCKED,
    POLICY,
    Periods,
    Policy,
    needs_person,
)
from domain.posting import Posting
from domain.reconcile import DUPLICATE, MISSING
from tests.application_tests.books import KEYS, MAPPING, held, label, world
from tests.fakes import FakeSage, FakeSink, ListFeed, memory_context
from tests.projections_tests.test_store_contract import invoice

INVOICE = "ST-INV-100"


@dataclass
class Books:
    ctx: Context
    sage: FakeSage
    sink: FakeSink
    feed: ListFeed


def books_for(policy: Policy = DEFAULT_POLICY, periods: Periods = NO_PERIODS) -> Books:
    sage = FakeSage()
    sink = FakeSink(sage)
    ctx = memory_context(MAPPING, sage=sage, sink=sink, policy=policy, periods=periods)
    return Books(ctx, sage, sink, world(ctx))


@pytest.fixture
def books() -> Iterator[Books]:
    made = books_for()
    yield made
    made.ctx.read_model.engine.dispose()


@pytest.fixture
def posted(books: Books) -> Books:
    """Sage holds what recon expects: every creation posted."""
    apply(books.ctx, reconcile(books.ctx))
    return books


def waiting(ctx: Context) -> list[dict[str, Any]]:
    return postings(ctx, "proposed")


def duplicate(books: Books) -> None:
    """A clerk keys the invoice in a second time."""
    [mine] = books.sage.read_key(AR_INVOICES, INVOICE)
    books.sage.add(replace(mine, sage_ref=None))


def expected_amount(ctx: Context) -> str:
    document = ctx.read_model.expected_for(AR_INVOICES, INVOICE)
    assert document is not None and document.amount is not None
    return to_str(document.amount)


def events_of(ctx: Context, posting_id: str) -> list[Any]:
    """A posting's events as recorded, oldest first."""
    assert isinstance(ctx.store, Store)
    assert isinstance(ctx.store.get(UUID(posting_id)), Posting)
    return list(ctx.store.events.get(UUID(posting_id)))


def test_the_default_policy_posts_creations_unattended(books: Books) -> None:
    ctx = books.ctx

    report = apply(ctx, reconcile(ctx))

    assert len(report.confirmed) == 3 and report.waiting_for_approval == []
    assert reconcile(ctx) == []
    rows = postings(ctx, "all")
    assert {(r["state"], r["decided_by"], r["by_policy"]) for r in rows} == {
        ("confirmed", POLICY, True)
    }
    assert all(r["decided_at"] and r["decided_why"] for r in rows)
    kinds = [type(e).__name__ for e in events_of(ctx, rows[0]["id"])]
    assert kinds == ["Proposed", "Approved", "Submitted", "Confirmed"]


def test_a_void_waits_for_a_person_and_nothing_is_written(posted: Books) -> None:
    ctx, sage, sink = posted.ctx, posted.sage, posted.sink
    duplicate(posted)
    writes, documents = sink.writes, list(sage.documents)
    assert [f.kind for f in reconcile(ctx)] == [DUPLICATE]

    report = apply(ctx, reconcile(ctx))

    assert report.waiting_for_approval == [label(AR_INVOICES, INVOICE, "void")]
    assert report.confirmed == []
    assert (sink.writes, sage.documents) == (writes, documents)
    [row] = waiting(ctx)
    assert (row["action"], row["waits_because"]) == ("void", [needs_person("void")])
    assert row["finding"] == f"{DUPLICATE} {INVOICE}"
    assert (row["sage_table"], row["sage_refs"]) == ("acrinv", [documents[-1].sage_ref])
    assert (row["amount"], row["period"]) == (to_str(documents[-1].amount or 0), "2026-10")
    # the next run neither writes it nor proposes it again
    again = apply(ctx, reconcile(ctx))
    assert again.waiting_for_approval == report.waiting_for_approval
    assert len(postings(ctx, "all")) == 4
    assert sink.writes == writes


def test_approve_then_apply_posts_it(posted: Books) -> None:
    ctx, sage = posted.ctx, posted.sage
    duplicate(posted)
    apply(ctx, reconcile(ctx))
    [row] = waiting(ctx)

    [decided] = approve(ctx, [row["short_id"]], "ana", "keyed twice by the office")

    assert (decided["state"], decided["decided_by"], decided["by_policy"]) == (
        "approved",
        "ana",
        False,
    )
    assert decided["decided_why"] == "keyed twice by the office" and decided["decided_at"]
    report = apply(ctx, reconcile(ctx))
    assert report.confirmed == [label(AR_INVOICES, INVOICE, "void")]
    assert held(sage)[(AR_INVOICES, INVOICE, True)] == 1
    assert reconcile(ctx) == []
    kinds = [type(e).__name__ for e in events_of(ctx, row["id"])]
    assert kinds == ["Proposed", "Referred", "Approved", "Submitted", "Confirmed"]


def test_reject_drops_it_with_an_event_and_it_is_not_proposed_again(posted: Books) -> None:
    ctx, sage, sink = posted.ctx, posted.sage, posted.sink
    duplicate(posted)
    apply(ctx, reconcile(ctx))
    [row] = waiting(ctx)
    writes = sink.writes

    [decided] = reject(ctx, [row["id"]], "ana", "the second one is a deposit")

    assert (decided["state"], decided["decided_by"]) == ("rejected", "ana")
    rejected = events_of(ctx, row["id"])[-1]
    assert type(rejected).__name__ == "Rejected"
    assert (rejected.by, rejected.why) == ("ana", "the second one is a deposit")
    assert rejected.timestamp is not None
    report = apply(ctx, reconcile(ctx))
    assert report.rejected == [label(AR_INVOICES, INVOICE, "void")]
    assert report.waiting_for_approval == [] and waiting(ctx) == []
    assert sink.writes == writes
    assert [f.kind for f in reconcile(ctx)] == [DUPLICATE]  # still reported
    assert held(sage)[(AR_INVOICES, INVOICE, False)] == 2


def test_a_replacement_of_a_document_edited_in_sage_waits(posted: Books) -> None:
    ctx, sage = posted.ctx, posted.sage
    sage.edit(AR_INVOICES, INVOICE, "acrinv", "dscrpt", "typed over in Sage")

    report = apply(ctx, reconcile(ctx))

    assert report.waiting_for_approval == [label(AR_INVOICES, INVOICE, "replace")]
    [row] = waiting(ctx)
    assert row["waits_because"] == [needs_person("replace"), EDITED]


def test_a_policy_may_let_upstream_changes_replace_unattended_but_never_edits(
    posted: Books,
) -> None:
    ctx, sage, feed = posted.ctx, posted.sage, posted.feed
    ctx.policy = Policy(frozenset({"create", "replace"}))
    feed.records["invoice"][0] = invoice(100, 10, 1, price="200.00", updated=200)
    ingest(ctx, feed)

    report = apply(ctx, reconcile(ctx))

    assert report.confirmed == [label(AR_INVOICES, INVOICE, "replace")]
    sage.edit(AR_INVOICES, INVOICE, "acrinv", "dscrpt", "typed over in Sage")
    again = apply(ctx, reconcile(ctx))
    assert again.waiting_for_approval == [label(AR_INVOICES, INVOICE, "replace")]
    assert waiting(ctx)[0]["waits_because"] == [EDITED]


def test_a_waiting_posting_whose_correction_changed_is_withdrawn_and_proposed_anew(
    posted: Books,
) -> None:
    ctx, feed = posted.ctx, posted.feed
    sage = posted.sage
    sage.edit(AR_INVOICES, INVOICE, "acrinv", "dscrpt", "typed over in Sage")
    apply(ctx, reconcile(ctx))
    [first] = waiting(ctx)
    feed.records["invoice"][0] = invoice(100, 10, 1, price="200.00", updated=200)
    ingest(ctx, feed)

    report = apply(ctx, reconcile(ctx))

    assert report.withdrawn == [label(AR_INVOICES, INVOICE, "replace")]
    [second] = waiting(ctx)
    assert second["id"] != first["id"] and second["amount"] == expected_amount(ctx)
    assert first["amount"] != second["amount"]
    [gone] = [p for p in postings(ctx, "withdrawn")]
    assert gone["id"] == first["id"] and gone["note"].startswith("superseded")


def test_a_waiting_posting_sage_no_longer_needs_is_withdrawn(posted: Books) -> None:
    ctx, sage = posted.ctx, posted.sage
    [mine] = sage.read_key(AR_INVOICES, INVOICE)
    sage.edit(AR_INVOICES, INVOICE, "acrinv", "dscrpt", "typed over in Sage")
    apply(ctx, reconcile(ctx))
    sage.edit(AR_INVOICES, INVOICE, "acrinv", "dscrpt", mine.header["dscrpt"])  # put back

    report = apply(ctx, reconcile(ctx))

    assert report.withdrawn == [label(AR_INVOICES, INVOICE, "replace")]
    assert waiting(ctx) == [] and reconcile(ctx) == []


def test_an_amount_over_the_threshold_waits_even_for_a_creation() -> None:
    books = books_for(policy=Policy(max_amount=Decimal("100.00")))
    ctx = books.ctx

    report = apply(ctx, reconcile(ctx))

    assert report.waiting_for_approval == [label(AR_INVOICES, INVOICE, "create")]
    assert len(report.confirmed) == 2  # the client and the job carry no amount
    [row] = waiting(ctx)
    assert row["waits_because"] == [OVER_THRESHOLD] and row["amount"] == expected_amount(ctx)
    books.ctx.read_model.engine.dispose()


def test_a_locked_period_posting_is_never_written_even_when_approved() -> None:
    books = books_for(periods=Periods(current="2026-11", locked_through="2026-10"))
    ctx, sage, sink = books.ctx, books.sage, books.sink

    report = apply(ctx, reconcile(ctx))

    assert report.waiting_for_approval == [label(AR_INVOICES, INVOICE, "create")]
    [row] = waiting(ctx)
    assert row["waits_because"] == [PERIOD_LOCKED] and row["period"] == "2026-10"
    approve(ctx, [row["id"]], "ana", "post it anyway")

    again = apply(ctx, reconcile(ctx))

    assert again.failed == [label(AR_INVOICES, INVOICE, "create")]
    [failed] = postings(ctx, "failed")
    assert "period 2026-10 is locked" in failed["note"]
    assert "nothing is written into a locked period" in failed["note"]
    assert sage.read_key(AR_INVOICES, INVOICE) == []
    assert sink.writes == 2
    assert [(f.kind, f.key) for f in reconcile(ctx)] == [(MISSING, INVOICE)]
    books.ctx.read_model.engine.dispose()


def test_a_period_locked_after_approval_is_still_never_written(posted: Books) -> None:
    ctx, sage, sink = posted.ctx, posted.sage, posted.sink
    duplicate(posted)
    apply(ctx, reconcile(ctx))
    approve(ctx, [], "ana", "keyed twice", every=True)
    ctx.periods = Periods(current="2026-11", locked_through="2026-10")
    writes = sink.writes

    report = apply(ctx, reconcile(ctx))

    assert report.failed == [label(AR_INVOICES, INVOICE, "void")]
    assert sink.writes == writes
    assert held(sage)[(AR_INVOICES, INVOICE, False)] == 2


def test_approve_all_approves_every_posting_that_waits(posted: Books) -> None:
    ctx = posted.ctx
    duplicate(posted)
    posted.sage.edit(AR_INVOICES, "ST-INV-100", "acrinv", "dscrpt", "x")
    apply(ctx, reconcile(ctx))
    assert len(waiting(ctx)) == 1  # one posting per key

    decided = approve(ctx, [], "ana", "all checked", every=True)

    assert [d["state"] for d in decided] == ["approved"]
    assert waiting(ctx) == []
    assert approve(ctx, [], "ana", "nothing left", every=True) == []


def test_unknown_ambiguous_or_settled_postings_are_refused_and_nothing_is_recorded(
    posted: Books,
) -> None:
    ctx = posted.ctx
    duplicate(posted)
    apply(ctx, reconcile(ctx))
    [row] = waiting(ctx)
    [done, *_] = postings(ctx, "confirmed")
    before = ctx.store.max_position()

    with pytest.raises(ApprovalError, match="no posting has this id"):
        approve(ctx, ["00000000"], "ana", "why")
    with pytest.raises(ApprovalError, match="expected a posting id"):
        approve(ctx, ["zz"], "ana", "why")
    with pytest.raises(ApprovalError, match=r"is confirmed, not waiting for approval"):
        approve(ctx, [row["short_id"], done["short_id"]], "ana", "why")
    with pytest.raises(ApprovalError, match=r"is confirmed, not waiting to be written"):
        reject(ctx, [done["id"]], "ana", "why")
    with pytest.raises(ApprovalError, match="say who"):
        approve(ctx, [row["id"]], "", "why")
    with pytest.raises(ApprovalError, match="expected one of proposed"):
        postings(ctx, "waiting")

    assert ctx.store.max_position() == before
    assert [r["id"] for r in waiting(ctx)] == [row["id"]]


def test_replay_after_a_restore_re_enters_creations_unattended(posted: Books) -> None:
    ctx, sage = posted.ctx, posted.sage
    sage.documents.clear()  # Sage restored from a backup older than every posting

    ctx.read_model.rebuild(ctx.store)
    report = apply(ctx, reconcile(ctx))

    assert sorted(report.confirmed) == sorted(
        label(m, k, "create") for m, keys in KEYS.items() for k in keys
    )
    assert report.waiting_for_approval == []
    assert reconcile(ctx) == []


def test_a_creation_of_a_document_voided_in_sage_waits(posted: Books) -> None:
    ctx, sage = posted.ctx, posted.sage
    [mine] = sage.read_key(AR_INVOICES, INVOICE)
    sage.void(AR_INVOICES, mine.sage_ref or 0)

    report = apply(ctx, reconcile(ctx))

    assert report.waiting_for_approval == [label(AR_INVOICES, INVOICE, "create")]
    assert waiting(ctx)[0]["waits_because"] == [EDITED]
