from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.documents import AR_INVOICES, CLIENTS, Document
from domain.reconcile import (
    AMOUNT_DIFFERS,
    DUPLICATE,
    FIELD_DIFFERS,
    MISSING,
    UNEXPECTED,
    UNMAPPED,
    diff,
)

cents = st.decimals(min_value=-100000, max_value=100000, places=2, allow_nan=False)


def invoice(
    key: str, total: Decimal, *, job: str = "5001", status: str = "1", ref: int | None = None
) -> Document:
    header = {
        "invnum": key[-6:],
        "jobnum": job,
        "status": status,
        "invttl": f"{total:.2f}",
        "usrdf1": key,
    }
    lines = ({"linnum": "1", "extprc": f"{total:.2f}"},)
    return Document(AR_INVOICES, key, {"acrinv": (header,), "arivln": lines}, "2026-10", ref)


documents = st.dictionaries(
    st.integers(min_value=1, max_value=10**6).map(lambda n: f"ST-INV-{n}"), cents, max_size=25
).map(lambda d: [invoice(k, v, ref=i) for i, (k, v) in enumerate(sorted(d.items()), start=1)])


@given(documents)
def test_a_set_reconciled_with_itself_has_no_findings(docs: list[Document]) -> None:
    assert diff(AR_INVOICES, docs, docs) == []


@given(documents, documents)
def test_swapping_sides_swaps_missing_and_unexpected(
    left: list[Document], right: list[Document]
) -> None:
    forward = diff(AR_INVOICES, left, right)
    backward = diff(AR_INVOICES, right, left)
    assert {f.key for f in forward if f.kind == MISSING} == {
        f.key for f in backward if f.kind == UNEXPECTED
    }
    assert {f.key for f in forward if f.kind == UNEXPECTED} == {
        f.key for f in backward if f.kind == MISSING
    }
    amounts = {f.key: f.difference for f in forward if f.kind == AMOUNT_DIFFERS}
    for f in backward:
        if f.kind == AMOUNT_DIFFERS:
            assert amounts[f.key] == -f.difference  # type: ignore[operator]


@given(cents, cents)
def test_amount_difference_is_actual_minus_expected(want: Decimal, have: Decimal) -> None:
    findings = diff(AR_INVOICES, [invoice("ST-INV-1", want)], [invoice("ST-INV-1", have, ref=9)])
    amount = [f for f in findings if f.kind == AMOUNT_DIFFERS]
    if want == have:
        assert findings == []
    else:
        assert amount[0].difference == have - want
        assert amount[0].sage_refs == (9,)
        assert amount[0].to_json()["difference"] == f"{have - want:.2f}"


def test_a_changed_field_is_named_by_path() -> None:
    [finding] = diff(
        AR_INVOICES,
        [invoice("ST-INV-1", Decimal("10"))],
        [invoice("ST-INV-1", Decimal("10"), job="5002")],
    )
    assert finding.kind == FIELD_DIFFERS
    assert finding.expected == {"acrinv.jobnum": "5001"}
    assert finding.actual == {"acrinv.jobnum": "5002"}


def test_two_active_documents_with_one_key_are_a_duplicate() -> None:
    want = invoice("ST-INV-1", Decimal("10"))
    [finding] = diff(
        AR_INVOICES,
        [want],
        [invoice("ST-INV-1", Decimal("10"), ref=4), invoice("ST-INV-1", Decimal("10"), ref=3)],
    )
    assert finding.kind == DUPLICATE
    assert finding.sage_refs == (3, 4)
    assert finding.difference == Decimal("10")


def test_void_documents_count_only_when_nothing_active_holds_the_key() -> None:
    want = invoice("ST-INV-1", Decimal("10"))
    voided = invoice("ST-INV-1", Decimal("12"), status="5", ref=1)
    assert diff(AR_INVOICES, [want], [voided, invoice("ST-INV-1", Decimal("10"), ref=2)]) == []
    [missing] = diff(AR_INVOICES, [want], [voided])
    assert missing.kind == MISSING


def test_an_expected_void_is_satisfied_by_nothing_active() -> None:
    want = invoice("ST-INV-1", Decimal("10"), status="5")
    assert diff(AR_INVOICES, [want], []) == []
    [finding] = diff(AR_INVOICES, [want], [invoice("ST-INV-1", Decimal("10"), ref=7)])
    assert finding.kind == FIELD_DIFFERS and finding.sage_refs == (7,)


def test_out_of_scope_and_accepted_documents_are_not_reported() -> None:
    stray = Document(CLIENTS, "SAGE-reccln-12", {"reccln": ({"recnum": "12"},)}, None, 12)
    kept = Document(CLIENTS, "SAGE-reccln-1500", {"reccln": ({"recnum": "1500"},)}, None, 1500)
    scope = lambda d: (d.sage_ref or 0) >= 1001  # noqa: E731
    assert [f.key for f in diff(CLIENTS, [], [stray, kept], in_scope=scope)] == ["SAGE-reccln-1500"]
    assert diff(CLIENTS, [], [stray, kept], in_scope=scope, accepted={"SAGE-reccln-1500"}) == []


def test_unmapped_keys_are_findings_with_the_reason() -> None:
    [finding] = diff(AR_INVOICES, [], [], unmapped={"ST-INV-9": "tax group 'X' has no district"})
    assert finding.kind == UNMAPPED and "tax group" in finding.expected
