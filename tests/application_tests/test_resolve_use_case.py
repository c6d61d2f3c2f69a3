"""resolve: a person keeps or voids a document in Sage recon did not expect."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from application.context import Context
from application.post import apply
from application.reconcile import reconcile
from application.resolve import ResolveError, resolve
from domain.documents import AR_INVOICES
from domain.reconcile import UNEXPECTED
from tests.application_tests.books import MAPPING, label, postings, world
from tests.fakes import FakeSage, FakeSink, memory_context

STRAY = "SAGE-acrinv-7"


@dataclass
class Books:
    ctx: Context
    sage: FakeSage
    sink: FakeSink


@pytest.fixture
def books() -> Iterator[Books]:
    """Sage holds what recon expects, and one more receivable invoice nobody expects."""
    sage = FakeSage()
    sink = FakeSink(sage)
    ctx = memory_context(MAPPING, sage=sage, sink=sink)
    world(ctx)
    apply(ctx, reconcile(ctx))
    [ours] = sage.read_key(AR_INVOICES, "ST-INV-100")
    header = {**ours.header, "usrdf1": "", "invnum": "HAND-7"}
    sage.add(replace(ours, key=STRAY, tables={**ours.tables, "acrinv": (header,)}))
    yield Books(ctx, sage, sink)
    ctx.read_model.engine.dispose()


def stray_findings(ctx: Context) -> list[tuple[str, str]]:
    return [(f.kind, f.key) for f in reconcile(ctx)]


def test_the_stray_is_reported_until_resolved(books: Books) -> None:
    assert stray_findings(books.ctx) == [(UNEXPECTED, STRAY)]


def test_accept_keeps_the_document_and_stops_it_being_reported(books: Books) -> None:
    ctx, sage, sink = books.ctx, books.sage, books.sink
    writes = sink.writes

    report = resolve(ctx, STRAY, "accept", "ana", "a hand-entered invoice we keep")

    assert report.to_json() == {
        "confirmed": [],
        "failed": [],
        "left_for_people": [],
        "why_left": {},
        "waiting_for_sage": [],
        "waiting_for_approval": [],
        "rejected": [],
        "withdrawn": [],
    }
    assert reconcile(ctx) == []
    assert [d.is_void for d in sage.read_key(AR_INVOICES, STRAY)] == [False]
    assert sink.writes == writes
    assert STRAY in ctx.read_model.settled_keys()
    with pytest.raises(ResolveError, match="already settled"):
        resolve(ctx, STRAY, "accept", "ana", "again")


def test_void_posts_the_void_of_the_document(books: Books) -> None:
    ctx, sage = books.ctx, books.sage
    [stray] = sage.read_key(AR_INVOICES, STRAY)

    report = resolve(ctx, STRAY, "void", "ana", "entered twice")

    assert report.confirmed == [label(AR_INVOICES, STRAY, "void")]
    assert report.failed == []
    [voided] = sage.read_key(AR_INVOICES, STRAY)
    assert (voided.sage_ref, voided.is_void) == (stray.sage_ref, True)
    [posted] = [p for p in postings(ctx) if p["key"] == STRAY]
    assert (posted["action"], posted["state"], posted["reason"]) == (
        "void",
        "confirmed",
        "resolved by ana: entered twice",
    )
    assert reconcile(ctx) == []
    # the documents recon expects are untouched
    assert [d.is_void for d in sage.read_key(AR_INVOICES, "ST-INV-100")] == [False]


def test_a_void_sage_refuses_leaves_the_document_reported(books: Books) -> None:
    ctx, sage, sink = books.ctx, books.sage, books.sink
    sink.refuse = {STRAY}

    report = resolve(ctx, STRAY, "void", "ana", "entered twice")

    assert report.failed == [label(AR_INVOICES, STRAY, "void")]
    assert [d.is_void for d in sage.read_key(AR_INVOICES, STRAY)] == [False]
    assert stray_findings(ctx) == [(UNEXPECTED, STRAY)]


def test_a_key_with_nothing_unexpected_cannot_be_resolved(books: Books) -> None:
    ctx = books.ctx
    before = ctx.store.max_position()
    with pytest.raises(ResolveError, match="Sage holds what recon expects"):
        resolve(ctx, "ST-INV-100", "accept", "ana", "why not")
    with pytest.raises(ResolveError, match="no unexpected_in_sage finding"):
        resolve(ctx, "SAGE-acrinv-99", "void", "ana", "not there at all")
    assert ctx.store.max_position() == before


@pytest.mark.parametrize("key", ["XX-1", "ST-INV-", "", "st-inv-100"])
def test_a_key_of_no_known_form_is_refused(books: Books, key: str) -> None:
    ctx = books.ctx
    before = ctx.store.max_position()
    with pytest.raises(ResolveError, match="is not a finding key"):
        resolve(ctx, key, "accept", "ana", "why")
    assert ctx.store.max_position() == before


def test_an_unknown_decision_is_refused(books: Books) -> None:
    with pytest.raises(ResolveError, match="expected one of accept, void"):
        resolve(books.ctx, STRAY, "delete", "ana", "why")
    assert stray_findings(books.ctx) == [(UNEXPECTED, STRAY)]
