"""Reconcile and adoption read Sage as streams: no module is read whole as a list, and
adoption takes only the records that carry no link key."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any

from application.adopt import adopt
from application.reconcile import reconcile
from domain.documents import AR_INVOICES, CLIENTS, JOBS, Document
from domain.reconcile import position
from tests.application_tests.books import MAPPING, world
from tests.application_tests.test_adopt_use_case import office_books, recon_would_post
from tests.fakes import FakeSage, memory_context


class StreamingOnly(FakeSage):
    """A Sage that answers streams and keys only, noting each stream asked for."""

    def __init__(self, documents: list[Document]) -> None:
        super().__init__(documents)
        self.streams: list[tuple[str, bool]] = []

    def read(self, module: str, period: str | None) -> list[Document]:
        raise AssertionError(f"{module} read whole")

    def stream(
        self,
        module: str,
        period: str | None = None,
        order: Callable[[str], Any] = position,
        *,
        unlinked: bool = False,
        only: Collection[int] | None = None,
    ) -> Iterator[Document]:
        self.streams.append((module, unlinked))
        return super().stream(module, period, order, unlinked=unlinked, only=only)


def test_reconcile_and_adoption_stream_every_module() -> None:
    sage = StreamingOnly(office_books())
    ctx = memory_context(MAPPING, sage=sage)
    world(ctx)

    assert reconcile(ctx) == []

    assert ctx.read_model.link_counts() == {CLIENTS: 1, JOBS: 1, AR_INVOICES: 1}
    # adoption streamed the unlinked records of each module before the diff streamed them all
    assert (CLIENTS, True) in sage.streams and (AR_INVOICES, True) in sage.streams
    assert (AR_INVOICES, False) in sage.streams


def test_adoption_passes_over_records_that_carry_recon_links() -> None:
    ours = recon_would_post()
    sage = StreamingOnly([ours[CLIENTS], ours[JOBS], ours[AR_INVOICES]])
    ctx = memory_context(MAPPING, sage=sage)
    world(ctx)

    report = adopt(ctx)

    assert report.adopted[CLIENTS] == report.adopted[AR_INVOICES] == 0
    assert report.findings() == []
