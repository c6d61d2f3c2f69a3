"""Adopt, don't duplicate: records the office keyed into Sage before recon are linked, never
created a second time, overwritten or voided."""

from __future__ import annotations

from dataclasses import replace

from application.adopt import adopt
from application.post import apply
from application.reconcile import reconcile
from domain.documents import AR_INVOICES, CLIENTS, JOBS, Document
from domain.reconcile import AMBIGUOUS_MATCH, FIELD_DIFFERS, MISSING
from tests.application_tests.books import MAPPING, approve_waiting, label, world
from tests.fakes import FakeSage, FakeSink, memory_context


def recon_would_post() -> dict[str, Document]:
    """What recon expects for the books' source, built in a context of its own."""
    ctx = memory_context(MAPPING)
    world(ctx)
    found = {
        CLIENTS: ctx.read_model.expected_for(CLIENTS, "ST-CO-1"),
        JOBS: ctx.read_model.expected_for(JOBS, "JOB-5001"),
        AR_INVOICES: ctx.read_model.expected_for(AR_INVOICES, "ST-INV-100"),
    }
    assert all(found.values())
    return {module: document for module, document in found.items() if document is not None}


def keyed_by_office(document: Document, key: str, **columns: str) -> Document:
    """The document as a clerk keyed it: no link key, the given header columns changed."""
    tables = {}
    for table, rows in document.tables.items():
        changed = [dict(row) for row in rows]
        if table in ("reccln", "acrinv", "lgrtrn"):
            changed = [{**row, "usrdf1": ""} for row in changed]
        if table in ("reccln", "actrec", "acrinv"):
            changed[0].update(columns)
        tables[table] = tuple(changed)
    return replace(document, key=key, tables=tables)


def office_books(**invoice: str) -> list[Document]:
    """Customer 1 keyed in as client 1003, its site as job 5004, invoice INV-100 on it."""
    ours = recon_would_post()
    return [
        keyed_by_office(ours[CLIENTS], "SAGE-reccln-1003", recnum="1003"),
        keyed_by_office(ours[JOBS], "JOB-5004", recnum="5004", clnnum="1003"),
        keyed_by_office(ours[AR_INVOICES], "SAGE-acrinv-1", jobnum="5004", **invoice),
    ]


def test_records_keyed_by_hand_are_adopted_and_never_created_again() -> None:
    sage = FakeSage(office_books())
    sink = FakeSink(sage)
    ctx = memory_context(MAPPING, sage=sage, sink=sink)
    world(ctx)

    findings = reconcile(ctx)
    report = apply(ctx, findings)

    assert findings == []
    assert report.confirmed == [] and sink.writes == 0
    assert len(sage.documents) == 3  # 0 duplicates
    assert ctx.read_model.link_counts() == {CLIENTS: 1, JOBS: 1, AR_INVOICES: 1}
    # recon answers for them under its own keys, with the office's numbers
    expected = ctx.read_model.expected_for(AR_INVOICES, "ST-INV-100")
    assert expected is not None and expected.header["jobnum"] == "5004"
    assert [d.sage_ref for d in ctx.sage().read_key(AR_INVOICES, "ST-INV-100")] == [1]
    assert [d.key for d in ctx.sage().read(CLIENTS, None)] == ["ST-CO-1"]
    # adoption is recorded once: a second run links nothing more
    assert adopt(ctx).adopted == {m: 0 for m in adopt(ctx).adopted}
    assert reconcile(ctx) == []


def test_how_the_office_keyed_an_adopted_invoice_is_its_own() -> None:
    sage = FakeSage(office_books(dscrpt="keyed from the paper copy", duedte="2026-12-31"))
    ctx = memory_context(MAPPING, sage=sage, sink=FakeSink(sage))
    world(ctx)

    assert reconcile(ctx) == []


def test_an_adopted_invoice_that_differs_waits_for_a_person_and_is_replaced_not_doubled() -> None:
    sage = FakeSage(office_books(taxdst="9"))  # a figure the books carry: the tax district
    sink = FakeSink(sage)
    ctx = memory_context(MAPPING, sage=sage, sink=sink)
    world(ctx)

    findings = reconcile(ctx)
    assert [(f.kind, f.key, f.sage_refs) for f in findings] == [(FIELD_DIFFERS, "ST-INV-100", (1,))]
    first = apply(ctx, findings)
    assert first.waiting_for_approval == [label(AR_INVOICES, "ST-INV-100", "replace")]
    assert sink.writes == 0

    approve_waiting(ctx)
    second = apply(ctx, reconcile(ctx))

    assert second.confirmed == [label(AR_INVOICES, "ST-INV-100", "replace")]
    invoices = [d for d in sage.documents if d.module == AR_INVOICES]
    assert [(d.key, d.is_void) for d in invoices] == [
        ("SAGE-acrinv-1", True),
        ("ST-INV-100", False),
    ]
    assert reconcile(ctx) == []


def test_an_office_client_in_recons_range_is_never_overwritten_and_its_number_skipped() -> None:
    office = [
        Document(
            CLIENTS,
            "SAGE-reccln-1001",
            {"reccln": ({"recnum": "1001", "clnnme": "Office Only Co", "usrdf1": "Net 30"},)},
        ),
        Document(
            JOBS,
            "JOB-5001",
            {"actrec": ({"recnum": "5001", "jobnme": "Yard", "clnnum": "1001", "status": "4"},)},
        ),
    ]
    sage = FakeSage(office)
    sink = FakeSink(sage)
    ctx = memory_context(MAPPING, sage=sage, sink=sink)
    world(ctx)

    findings = reconcile(ctx)

    assert sorted((f.kind, f.key) for f in findings) == [
        (MISSING, "JOB-5002"),
        (MISSING, "ST-CO-1"),
        (MISSING, "ST-INV-100"),
    ]
    client = ctx.read_model.expected_for(CLIENTS, "ST-CO-1")
    assert client is not None and client.header["recnum"] == "1002"
    job = ctx.read_model.expected_for(JOBS, "JOB-5002")
    assert job is not None and job.header["clnnum"] == "1002"
    apply(ctx, findings)
    assert [d for d in sage.documents if d.key in ("SAGE-reccln-1001", "JOB-5001")] == [
        replace(office[0], sage_ref=1001),
        replace(office[1], sage_ref=5001),
    ]
    assert reconcile(ctx) == []


def test_a_sage_record_matching_two_source_records_is_a_finding_and_nothing_is_created() -> None:
    ours = recon_would_post()
    sage = FakeSage(
        [
            keyed_by_office(ours[CLIENTS], "SAGE-reccln-1003", recnum="1003"),
            keyed_by_office(ours[CLIENTS], "SAGE-reccln-1004", recnum="1004"),
        ]
    )
    sink = FakeSink(sage)
    ctx = memory_context(MAPPING, sage=sage, sink=sink)
    world(ctx)

    findings = reconcile(ctx)
    ambiguous = [f for f in findings if f.kind == AMBIGUOUS_MATCH]

    assert [(f.module, f.key, f.sage_refs) for f in ambiguous] == [
        (CLIENTS, "ST-CO-1", (1003, 1004))
    ]
    assert [s["key"] for s in ambiguous[0].actual["sage"]] == [
        "SAGE-reccln-1003",
        "SAGE-reccln-1004",
    ]
    assert (MISSING, "ST-CO-1") not in {(f.kind, f.key) for f in findings}
    report = apply(ctx, findings)
    assert "ST-CO-1" in report.left_for_people
    assert [d.key for d in sage.documents if d.module == CLIENTS] == [
        "SAGE-reccln-1003",
        "SAGE-reccln-1004",
    ]
    assert ctx.read_model.link_counts() == {}


def test_an_invoice_of_the_same_number_and_client_but_another_amount_is_a_finding() -> None:
    sage = FakeSage(office_books(invttl="999.00"))
    sink = FakeSink(sage)
    ctx = memory_context(MAPPING, sage=sage, sink=sink)
    world(ctx)

    findings = reconcile(ctx)

    assert [(f.kind, f.key, f.sage_refs) for f in findings] == [
        (AMBIGUOUS_MATCH, "ST-INV-100", (1,))
    ]
    assert "amounts differ" in findings[0].expected["why"]
    apply(ctx, findings)
    assert sink.writes == 0
    assert len([d for d in sage.documents if d.module == AR_INVOICES]) == 1


def test_a_rebuild_gives_every_record_the_number_it_had() -> None:
    office = office_books()
    office.append(
        Document(
            CLIENTS,
            "SAGE-reccln-1001",
            {"reccln": ({"recnum": "1001", "clnnme": "Office Only Co", "usrdf1": ""},)},
        )
    )
    sage = FakeSage(office)
    ctx = memory_context(MAPPING, sage=sage, sink=FakeSink(sage))
    world(ctx)
    reconcile(ctx)
    numbers = ctx.read_model.sage_numbers()
    expected = ctx.read_model.expected(AR_INVOICES, None)

    ctx.read_model.rebuild(ctx.store)

    assert numbers == {("client", "1"): 1003, ("job", "10"): 5004}
    assert ctx.read_model.sage_numbers() == numbers
    assert ctx.read_model.expected(AR_INVOICES, None) == expected
    assert ctx.read_model.taken_numbers("client") == {1001}
