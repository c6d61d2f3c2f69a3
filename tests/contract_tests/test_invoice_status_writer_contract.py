"""The InvoiceStatusWriter contract, for the fake writer and the ServiceTrade feed against the
simulator: the status set is the status read back, a comment is added once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from adapters.servicetrade.feed import ServiceTradeFeed
from domain import ports
from domain.source import Invoice
from tests.fakes import FakeStatusWriter

PENDING = "pending_accounting"


@dataclass
class Rig:
    writer: ports.InvoiceStatusWriter
    pending: Callable[[], list[str]]  # invoices waiting in pending_accounting
    status_of: Callable[[str], str | None]
    comments_of: Callable[[str], list[str]]


def fake_rig() -> Rig:
    writer = FakeStatusWriter()
    invoices = {str(n): PENDING for n in range(1, 6)}

    def status_of(invoice_id: str) -> str | None:
        return writer.statuses.get(invoice_id, invoices.get(invoice_id))

    return Rig(
        writer,
        lambda: sorted(i for i in invoices if status_of(i) == PENDING),
        status_of,
        lambda invoice_id: list(writer.comments.get(invoice_id, [])),
    )


def servicetrade_rig(feed: ServiceTradeFeed) -> Rig:
    def invoices() -> dict[str, Invoice]:
        """Every invoice, read back through the feed."""
        read = (feed.read("invoice", raw) for page in feed.pages("invoice", None) for raw in page)
        return {snapshot.id: snapshot for snapshot in read if isinstance(snapshot, Invoice)}

    def status_of(invoice_id: str) -> str | None:
        found = invoices().get(invoice_id)
        return None if found is None else found.status

    def comments_of(invoice_id: str) -> list[str]:
        return [str(c.get("content")) for c in feed.client.comments("invoice", invoice_id)]

    return Rig(
        feed,
        lambda: sorted(i for i, s in invoices().items() if s.status == PENDING),
        status_of,
        comments_of,
    )


@pytest.fixture(params=["fake", "servicetrade"])
def rig(request: pytest.FixtureRequest) -> Rig:
    if request.param == "fake":
        return fake_rig()
    return servicetrade_rig(request.getfixturevalue("servicetrade_feed"))


def test_a_processed_invoice_reads_back_processed(rig: Rig) -> None:
    invoice_id, *others = rig.pending()
    comments = rig.comments_of(invoice_id)

    rig.writer.set_invoice_status(invoice_id, "processed")

    assert rig.status_of(invoice_id) == "processed"
    assert rig.comments_of(invoice_id) == comments
    assert invoice_id not in rig.pending()
    assert all(rig.status_of(other) == PENDING for other in others[:2])


def test_a_failed_invoice_reads_back_failed_with_the_comment(rig: Rig) -> None:
    invoice_id = rig.pending()[0]
    comment = f"recon: tax group of invoice {invoice_id} is not mapped"

    rig.writer.set_invoice_status(invoice_id, "failed", comment)

    assert rig.status_of(invoice_id) == "failed"
    assert rig.comments_of(invoice_id).count(comment) == 1


def test_telling_the_same_status_again_changes_nothing(rig: Rig) -> None:
    """A run whose answer was lost tells ServiceTrade again."""
    invoice_id = rig.pending()[0]
    comment = f"recon: invoice {invoice_id} needs a mapping"
    rig.writer.set_invoice_status(invoice_id, "failed", comment)

    rig.writer.set_invoice_status(invoice_id, "failed", comment)

    assert rig.status_of(invoice_id) == "failed"
    assert rig.comments_of(invoice_id).count(comment) == 1
