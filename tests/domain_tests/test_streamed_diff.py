"""The streamed diff (``merged``) against the dict-based diff it replaced, on varied inputs."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.documents import AR_INVOICES, CLIENTS, HEADER_TABLE, VOID_MARK, Document, ref_order
from domain.keys import ADJUSTMENT_MARK, adjusted_key
from domain.reconcile import (
    ADJUSTABLE,
    DUPLICATE,
    FIELD_DIFFERS,
    MISSING,
    UNEXPECTED,
    UNMAPPED,
    Finding,
    OutOfOrder,
    _compare,
    _extra,
    _neg,
    as_adopted,
    diff,
    folded,
    merged,
    position,
    summary,
)

# -- the dict-based diff as it was before the streams: the reference -----------------------


def dict_diff(
    module: str,
    expected: Iterable[Document],
    actual: Iterable[Document],
    *,
    in_scope: Callable[[Document], bool] = lambda _document: True,
    accepted: Collection[str] = (),
    unmapped: Mapping[str, str] | None = None,
    adopted: Collection[str] = (),
) -> list[Finding]:
    """Pair expected and actual documents by key and say how they differ.

    ``adopted`` are the keys of documents recon adopted: compared as ``as_adopted`` says.

    - an expected void document is satisfied by no active document in Sage;
    - void documents in Sage only count when nothing active carries their key;
    - a Sage document nobody expects is reported when it is in scope (the module's share of
      Sage that recon answers for) and its key has not been accepted by a person;
    - ``unmapped`` holds keys recon could not build a document for, with the reason.
    """
    active: dict[str, list[Document]] = defaultdict(list)
    for document in actual:
        if not document.is_void:
            active[document.key].append(document)
    # Adjusting documents count with the original they adjust, when Sage holds it.
    adjustments: dict[str, list[Document]] = defaultdict(list)
    if module in ADJUSTABLE:
        for key in [k for k in active if ADJUSTMENT_MARK in k]:
            original = adjusted_key(key)
            if original is not None and original in active:
                adjustments[original].extend(active.pop(key))
    findings: list[Finding] = []
    for key, reason in sorted((unmapped or {}).items()):
        findings.append(Finding(module, UNMAPPED, key, reason, None))
    for want in expected:
        have = active.pop(want.key, [])
        adjusting = adjustments.pop(want.key, [])
        if want.is_void:
            if have:
                column = f"{HEADER_TABLE[module]}.{VOID_MARK[module][0]}"
                findings.append(
                    Finding(
                        module,
                        FIELD_DIFFERS,
                        want.key,
                        {column: want.header.get(VOID_MARK[module][0])},
                        {column: have[0].header.get(VOID_MARK[module][0])},
                        None,
                        tuple(d.sage_ref for d in have if d.sage_ref is not None),
                    )
                )
            continue
        if not have:
            findings.append(Finding(module, MISSING, want.key, summary(want), None, _neg(want)))
        elif len(have) > 1:
            refs = tuple(
                sorted((d.sage_ref for d in have if d.sage_ref is not None), key=ref_order)
            )
            findings.append(
                Finding(
                    module,
                    DUPLICATE,
                    want.key,
                    {"count": 1},
                    {"count": len(have), "sage_refs": list(refs)},
                    _extra(want, have),
                    refs,
                )
            )
        else:
            held = as_adopted(want, have[0]) if want.key in adopted else have[0]
            if adjusting:
                held = folded(want, held, adjusting)
            findings.extend(_compare(want, held))
    for stray_adjustments in adjustments.values():  # adjusting a document nobody expects
        for document in stray_adjustments:
            active[document.key].append(document)
    for key, stray in active.items():
        if key in accepted:
            continue
        for document in stray:
            if in_scope(document):
                findings.append(
                    Finding(
                        module,
                        UNEXPECTED,
                        key,
                        None,
                        summary(document),
                        document.amount,
                        () if document.sage_ref is None else (document.sage_ref,),
                    )
                )
    return findings


# -- inputs ---------------------------------------------------------------------------------

#: Keys whose text order differs from the merge's (``ST-INV-1~A1`` sorts after ``ST-INV-10``
#: as text), adjustments with and without their original, Sage's own keys.
KEYS = (
    "ST-INV-1",
    "ST-INV-1~A1",
    "ST-INV-1~A2",
    "ST-INV-10",
    "ST-INV-10~A1",
    "ST-INV-2",
    "ST-INV-2~A1",
    "SAGE-acrinv-5",
    "SAGE-acrinv-50",
)


def invoice(key: str, total: int, status: str, job: str, ref: int | None) -> Document:
    header = {
        "invnum": key[-6:],
        "jobnum": job,
        "status": status,
        "invttl": f"{total}.00",
        "taxabl": "0.00",
        "nontax": f"{total}.00",
        "slstax": "0.00",
        "usrdf1": key,
    }
    lines = ({"linnum": "1", "extprc": f"{total}.00"},)
    return Document(AR_INVOICES, key, {"acrinv": (header,), "arivln": lines}, "2026-10", ref)


def client(key: str, name: str, inactive: str, ref: int | None) -> Document:
    header = {"recnum": str(ref or 0), "clnnme": name, "inactv": inactive, "usrdf1": key}
    return Document(CLIENTS, key, {"reccln": (header,)}, None, ref)


def documents(module: str, sage: bool) -> st.SearchStrategy[list[Document]]:
    key = st.sampled_from(KEYS)
    if module == AR_INVOICES:
        one = st.tuples(
            key,
            st.integers(-3, 3),
            st.sampled_from(("1", "1", "4", "5")),
            st.sampled_from(("5001", "5002")),
        )
        made = one.map(lambda t: (t[0], lambda ref: invoice(t[0], t[1], t[2], t[3], ref)))
    else:
        one = st.tuples(
            st.sampled_from([k for k in KEYS if ADJUSTMENT_MARK not in k]),
            st.sampled_from(("Acme", "Bolt")),
            st.sampled_from(("0", "0", "1")),
        )
        made = one.map(lambda t: (t[0], lambda ref: client(t[0], t[1], t[2], ref)))
    return st.lists(made, max_size=12).map(
        lambda found: [build(i if sage else None) for i, (_key, build) in enumerate(found, 1)]
    )


def canonical(findings: Iterable[Finding]) -> list[str]:
    return sorted(json.dumps(f.to_json(), sort_keys=True, default=str) for f in findings)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, list[Document], list[Document], dict[str, object]]:
    module = draw(st.sampled_from((AR_INVOICES, CLIENTS)))
    expected = draw(documents(module, sage=False))
    actual = draw(documents(module, sage=True))
    rules: dict[str, object] = {
        "accepted": set(draw(st.lists(st.sampled_from(KEYS), max_size=3))),
        "adopted": set(draw(st.lists(st.sampled_from(KEYS), max_size=3))),
        "unmapped": {k: "no district" for k in draw(st.lists(st.sampled_from(KEYS), max_size=2))},
    }
    odd = draw(st.booleans())
    rules["in_scope"] = lambda d: not odd or (d.sage_ref or 0) % 2 == 1
    return module, expected, actual, rules


# -- properties -----------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(cases())
def test_the_streamed_diff_finds_what_the_dict_based_diff_found(
    case: tuple[str, list[Document], list[Document], dict[str, object]],
) -> None:
    module, expected, actual, rules = case
    reference = canonical(dict_diff(module, expected, actual, **rules))  # type: ignore[arg-type]
    assert canonical(diff(module, expected, actual, **rules)) == reference  # type: ignore[arg-type]
    streamed = merged(
        module,
        iter(sorted(expected, key=lambda d: position(d.key))),
        iter(sorted(actual, key=lambda d: position(d.key))),
        **rules,  # type: ignore[arg-type]
    )
    assert canonical(streamed) == reference


@settings(max_examples=200, deadline=None)
@given(cases())
def test_diff_lists_findings_about_documents_nobody_expects_last(
    case: tuple[str, list[Document], list[Document], dict[str, object]],
) -> None:
    module, expected, actual, rules = case
    kinds = [f.kind for f in diff(module, expected, actual, **rules)]  # type: ignore[arg-type]
    assert kinds == sorted(kinds, key=lambda kind: kind == UNEXPECTED)


def test_adjustments_sort_right_after_their_original() -> None:
    keys = ["ST-INV-10", "ST-INV-1~A2", "ST-INV-1", "ST-INV-1~A1", "ST-INV-100"]
    assert sorted(keys, key=position) == [
        "ST-INV-1",
        "ST-INV-1~A1",
        "ST-INV-1~A2",
        "ST-INV-10",
        "ST-INV-100",
    ]


def test_the_streamed_diff_reads_its_inputs_lazily() -> None:
    pulled: list[str] = []

    def stream(count: int) -> Iterator[Document]:
        for n in range(count):
            key = f"ST-INV-{n:06d}"
            pulled.append(key)
            yield invoice(key, n, "1", "5001", n + 1)

    findings = merged(AR_INVOICES, iter(()), stream(100_000))
    first = next(findings)
    assert (first.kind, first.key) == (UNEXPECTED, "ST-INV-000000")
    assert len(pulled) <= 2  # the key reported, and the one that closed its group
    second = next(findings)
    assert second.key == "ST-INV-000001" and len(pulled) <= 3


def test_a_stream_out_of_order_is_refused() -> None:
    unsorted = [invoice("ST-INV-2", 1, "1", "5001", 1), invoice("ST-INV-1", 1, "1", "5001", 2)]
    with pytest.raises(OutOfOrder, match="ST-INV-1"):
        list(merged(AR_INVOICES, [], unsorted))
    with pytest.raises(OutOfOrder):
        list(merged(AR_INVOICES, unsorted, []))


def test_the_observer_sees_every_key_group_of_both_sides_once_in_merge_order() -> None:
    expected = [
        invoice("ST-INV-1", 10, "1", "5001", None),
        invoice("ST-INV-3", 30, "1", "5001", None),
    ]
    adjusting = "ST-INV-3" + ADJUSTMENT_MARK + "1"
    actual = [
        invoice("ST-INV-2", 20, "1", "5001", 2),
        invoice("ST-INV-3", 30, "1", "5001", 3),
        invoice(adjusting, 5, "1", "5001", 4),
    ]
    seen: list[tuple[list[str], list[str]]] = []

    list(
        merged(
            AR_INVOICES,
            expected,
            actual,
            observe=lambda want, have: seen.append(([d.key for d in want], [d.key for d in have])),
        )
    )

    assert seen == [
        (["ST-INV-1"], []),
        ([], ["ST-INV-2"]),
        (["ST-INV-3"], ["ST-INV-3", adjusting]),
    ]
