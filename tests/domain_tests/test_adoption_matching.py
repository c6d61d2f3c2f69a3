"""Matching the office's Sage records to source records: one to one, or a finding."""

from __future__ import annotations

from domain.adoption import Candidate, match, normalise
from domain.documents import AR_INVOICES, CLIENTS
from domain.reconcile import AMBIGUOUS_MATCH


def client(key: str, name: str, street: str = "", ref: int | None = None) -> Candidate:
    return Candidate(key, (normalise(name),), tiebreak=normalise(street), ref=ref, shown=name)


def invoice(key: str, number: str, client_number: str, amount: str, ref: int | None = None):
    return Candidate(key, (client_number, normalise(number)), amount, ref=ref)


def test_names_are_compared_case_folded_without_punctuation_or_extra_blanks() -> None:
    assert normalise("  ACME  Heating, Inc.") == "acme heating inc"
    assert normalise("Café-Bar\tLtd") == normalise("cafe bar ltd")
    assert normalise(None) == ""


def test_a_unique_match_links_the_two_records() -> None:
    found = match(
        CLIENTS,
        [client("ST-CO-1", "Acme Heating"), client("ST-CO-2", "Blue Sky")],
        [client("SAGE-reccln-1005", "ACME HEATING.", ref=1005), client("SAGE-reccln-9", "Office")],
    )
    assert [(m.source.key, m.sage.key) for m in found.matches] == [("ST-CO-1", "SAGE-reccln-1005")]
    assert found.unsettled == ()
    assert [c.key for c in found.unmatched] == ["SAGE-reccln-9"]
    assert found.findings() == []


def test_a_sage_record_matching_two_source_records_is_a_finding_naming_both_sides() -> None:
    found = match(
        CLIENTS,
        [client("ST-CO-1", "Acme"), client("ST-CO-2", "ACME")],
        [client("SAGE-reccln-1005", "Acme", ref=1005)],
    )
    assert found.matches == ()
    findings = found.findings()
    assert [(f.kind, f.key) for f in findings] == [
        (AMBIGUOUS_MATCH, "ST-CO-1"),
        (AMBIGUOUS_MATCH, "ST-CO-2"),
    ]
    assert [s["key"] for s in findings[0].expected["source"]] == ["ST-CO-1", "ST-CO-2"]
    assert findings[0].actual["sage"] == [
        {"key": "SAGE-reccln-1005", "sage_ref": 1005, "what": "Acme"}
    ]
    assert findings[0].sage_refs == (1005,)
    assert found.held_back() == ({"ST-CO-1", "ST-CO-2"}, {"SAGE-reccln-1005"})


def test_a_source_record_matching_two_sage_records_is_a_finding_never_a_guess() -> None:
    found = match(
        CLIENTS,
        [client("ST-CO-1", "Acme")],
        [
            client("SAGE-reccln-1005", "Acme", ref=1005),
            client("SAGE-reccln-1007", "acme", ref=1007),
        ],
    )
    assert found.matches == ()
    (finding,) = found.findings()
    assert finding.key == "ST-CO-1"
    assert finding.sage_refs == (1005, 1007)


def test_an_address_parts_records_of_one_name_one_to_one() -> None:
    found = match(
        CLIENTS,
        [client("ST-CO-1", "Acme", "1 Main St"), client("ST-CO-2", "Acme", "9 Oak Ave")],
        [
            client("SAGE-reccln-1005", "Acme", "9 OAK AVE.", ref=1005),
            client("SAGE-reccln-1006", "Acme", "1 Main St", ref=1006),
        ],
    )
    assert sorted((m.source.key, m.sage.ref) for m in found.matches) == [
        ("ST-CO-1", 1006),
        ("ST-CO-2", 1005),
    ]


def test_an_invoice_matches_on_number_client_and_amount() -> None:
    found = match(
        AR_INVOICES,
        [invoice("ST-INV-7", "INV-7", "1005", "107.00")],
        [invoice("SAGE-acrinv-41", "inv-7", "1005", "107.00", ref=41)],
    )
    assert [(m.source.key, m.sage.ref) for m in found.matches] == [("ST-INV-7", 41)]


def test_an_amount_mismatch_is_no_match_but_a_finding_where_a_link_was_expected() -> None:
    found = match(
        AR_INVOICES,
        [invoice("ST-INV-7", "INV-7", "1005", "107.00")],
        [invoice("SAGE-acrinv-41", "INV-7", "1005", "170.00", ref=41)],
    )
    assert found.matches == ()
    (finding,) = found.findings()
    assert finding.kind == AMBIGUOUS_MATCH and finding.key == "ST-INV-7"
    assert "amounts differ" in finding.expected["why"]
    assert finding.sage_refs == (41,)


def test_another_clients_invoice_of_the_same_number_is_no_match_and_no_finding() -> None:
    found = match(
        AR_INVOICES,
        [invoice("ST-INV-7", "INV-7", "1005", "107.00")],
        [invoice("SAGE-acrinv-41", "INV-7", "1006", "107.00", ref=41)],
    )
    assert found.matches == () and found.unsettled == ()


def test_a_record_with_an_empty_natural_key_never_matches() -> None:
    found = match(
        AR_INVOICES,
        [invoice("ST-INV-7", "INV-7", "", "107.00")],
        [invoice("SAGE-acrinv-41", "INV-7", "", "107.00", ref=41)],
    )
    assert found.matches == () and found.unsettled == ()


def test_an_adopted_invoice_is_held_to_its_figures_not_to_how_it_was_keyed() -> None:
    from dataclasses import replace as changed

    from domain.documents import AR_INVOICES, Document
    from domain.reconcile import diff

    header = {"invnum": "INV-1", "jobnum": "5001", "invttl": "107.25", "slstax": "7.25"}
    expected = Document(
        AR_INVOICES,
        "ST-INV-1",
        {
            "acrinv": ({**header, "dscrpt": "ServiceTrade invoice INV-1", "status": "1"},),
            "arivln": ({"linnum": "1", "dscrpt": "Labor", "extprc": "100.00"},),
        },
        "2026-10",
    )
    keyed = {**header, "dscrpt": "Service call", "status": "1"}
    office = Document(
        AR_INVOICES,
        "ST-INV-1",
        {
            "acrinv": (keyed,),
            "arivln": ({"linnum": "1", "dscrpt": "service", "extprc": "100.00"},),
        },
        "2026-10",
        sage_ref=7,
    )
    assert diff(AR_INVOICES, [expected], [office], adopted={"ST-INV-1"}) == []

    other_total = changed(
        office, tables={**office.tables, "acrinv": ({**keyed, "invttl": "110.00"},)}
    )
    found = diff(AR_INVOICES, [expected], [other_total], adopted={"ST-INV-1"})
    assert [f.kind for f in found] == ["amount_differs"]
