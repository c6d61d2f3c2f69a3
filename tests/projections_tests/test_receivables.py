"""The receivables projection: what ServiceTrade billed becomes the document, or the reason not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from application.context import Context
from application.ingest import ingest
from domain.documents import AR_INVOICES
from domain.documents import JOBS as JOBS_MODULE
from tests.fakes import ListFeed, memory_context
from tests.projections_tests.test_store_contract import MAPPING, company, invoice, location


def billed(i: int, total: str | None, tax: str | None, **changes: Any) -> dict[str, Any]:
    """Invoice ``i`` at site 10 (labor 190.00, a taxable part 100.00 at 4.75 %) with the
    totals ServiceTrade sent, and any other field changed."""
    payload = {**invoice(i, 10, 1), "total_price": total, "tax_total": tax, **changes}
    return payload


@pytest.fixture
def ctx() -> Iterator[Context]:
    ctx = memory_context(MAPPING)
    yield ctx
    ctx.read_model.engine.dispose()


def record(ctx: Context, *invoices: dict[str, Any]) -> None:
    report = ingest(
        ctx,
        ListFeed({"company": [company(1)], "location": [location(10, 1)], "invoice": [*invoices]}),
    )
    assert sum(report.rejected.values()) == 0


def test_the_document_carries_servicetrades_total_and_tax(ctx: Context) -> None:
    record(ctx, billed(100, "294.75", "4.75"))

    document = ctx.read_model.expected_for(AR_INVOICES, "ST-INV-100")

    assert document is not None
    assert (document.header["invttl"], document.header["slstax"]) == ("294.75", "4.75")


def test_totals_that_disagree_with_the_lines_are_a_problem_with_the_reason(ctx: Context) -> None:
    record(ctx, billed(100, "300.00", "4.75"))

    assert ctx.read_model.expected_for(AR_INVOICES, "ST-INV-100") is None
    problem = ctx.read_model.problems(AR_INVOICES)["ST-INV-100"]
    assert problem.startswith("invoice INV-100: ServiceTrade's subtotal 295.25")
    assert "correct the invoice in ServiceTrade" in problem


def test_types_recon_does_not_post_make_no_document_and_no_problem(ctx: Context) -> None:
    record(
        ctx,
        billed(100, "294.75", "4.75", invoice_type="vendorbill"),
        billed(101, "294.75", "4.75", invoice_type="external"),
        billed(102, "294.75", "4.75", partial=True),
        billed(103, "-294.75", "-4.75", items=_negated(invoice(103, 10, 1)["items"])),
    )

    expected, problems = ctx.read_model.expected(AR_INVOICES, None)

    assert sorted(d.key for d in expected) == ["ST-INV-102", "ST-INV-103"]
    assert problems == {}
    credit = next(d for d in expected if d.key == "ST-INV-103")
    assert (credit.header["invttl"], credit.header["slstax"]) == ("-294.75", "-4.75")


def test_a_payload_recorded_before_totals_were_read_still_builds(ctx: Context) -> None:
    record(ctx, invoice(100, 10, 1))  # no total_price / tax_total keys at all

    document = ctx.read_model.expected_for(AR_INVOICES, "ST-INV-100")

    assert document is not None and document.header["invttl"] == "294.75"


def _negated(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**item, "price": f"-{item['price']}"} for item in items]


def test_an_invoice_without_a_job_is_a_problem_when_jobs_are_numbered_per_job() -> None:
    from dataclasses import replace

    from domain.mapping import JOB_PER_JOB

    ctx = memory_context(replace(MAPPING, job_numbering=JOB_PER_JOB))
    try:
        record(ctx, billed(100, "294.75", "4.75"))  # job_id ""

        assert ctx.read_model.expected_for(AR_INVOICES, "ST-INV-100") is None
        problem = ctx.read_model.problems(AR_INVOICES)["ST-INV-100"]
        assert "acrinv.jobnum is NOT NULL" in problem
    finally:
        ctx.read_model.engine.dispose()


def _job_client(ctx: Context, key: str) -> str | None:
    document = ctx.read_model.expected_for(JOBS_MODULE, key)
    assert document is not None
    return document.header["clnnum"]


def test_a_site_recorded_before_its_company_gets_the_client_number_when_the_company_comes(
    ctx: Context,
) -> None:
    ingest(ctx, ListFeed({"location": [location(10, 1)]}))
    (job,) = ctx.read_model.expected(JOBS_MODULE, None)[0]
    assert job.header["clnnum"] is None

    ingest(ctx, ListFeed({"company": [company(1, updated=200)]}))

    client = ctx.read_model.sage_numbers()[("client", "1")]
    assert _job_client(ctx, job.key) == str(client)


def test_a_company_that_stops_being_a_customer_leaves_its_jobs_without_a_client(
    ctx: Context,
) -> None:
    ingest(ctx, ListFeed({"company": [company(1)], "location": [location(10, 1)]}))
    (job,) = ctx.read_model.expected(JOBS_MODULE, None)[0]
    assert job.header["clnnum"] is not None

    ingest(ctx, ListFeed({"company": [{**company(1, updated=200), "customer": False}]}))

    assert _job_client(ctx, job.key) is None


def test_per_job_numbering_gives_a_job_its_customers_client_number_when_it_comes() -> None:
    from dataclasses import replace

    from domain.mapping import JOB_PER_JOB

    ctx = memory_context(replace(MAPPING, job_numbering=JOB_PER_JOB))
    try:
        site_job = {
            "id": "500",
            "number": "J-500",
            "name": "Roof unit",
            "status": "scheduled",
            "job_type": "repair",
            "customer_id": "1",
            "location_id": "10",
            "updated": 100,
        }
        ingest(ctx, ListFeed({"location": [location(10, 1)], "job": [site_job]}))
        (job,) = ctx.read_model.expected(JOBS_MODULE, None)[0]
        assert job.header["clnnum"] is None

        ingest(ctx, ListFeed({"company": [company(1, updated=200)]}))

        client = ctx.read_model.sage_numbers()[("client", "1")]
        assert _job_client(ctx, job.key) == str(client)
    finally:
        ctx.read_model.engine.dispose()
