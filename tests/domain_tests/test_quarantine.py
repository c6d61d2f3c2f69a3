"""A quarantine keeps the raw payload whole and a reason of at most 1 kB, both storable."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import bounds
from domain.keys import BILL_LINK, LINK_KEY_LENGTH, adjustment_key, bill_key
from domain.records import REASON_BYTES, SourceRecord, bounded_reason, raw_text, reject


def test_a_long_reason_is_cut_to_1024_bytes_of_utf8_and_marked() -> None:
    reason = bounded_reason("é" * 5000)
    assert len(reason.encode("utf-8")) <= REASON_BYTES and reason.endswith(" …")
    assert bounded_reason("short") == "short"


def test_a_reason_spells_out_what_no_store_keeps() -> None:
    assert bounded_reason("a\x00b\ud800c\nd\te") == "a\\x00b\\ud800c\nd\te"


@settings(max_examples=300)
@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=3000))
def test_any_reason_is_bounded_and_storable(reason: str) -> None:
    bounded = bounded_reason(reason)
    assert len(bounded.encode("utf-8")) <= REASON_BYTES
    assert "\x00" not in bounded
    if len(reason.encode("utf-8", "surrogatepass")) <= REASON_BYTES // 4 and reason.isprintable():
        assert bounded == reason  # short, printable reasons are kept as they are


def test_the_quarantine_event_carries_the_bounded_reason_and_the_whole_raw() -> None:
    raw = raw_text({"id": 1, "name": "x" * 100_000})
    event = reject(None, "servicetrade", "company", "1", "why " * 1000, raw)
    assert isinstance(event, SourceRecord.Quarantined)
    assert len(event.reason.encode()) <= REASON_BYTES and event.raw == raw
    assert len(event.raw) > 100_000


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def test_raw_text_writes_what_orjson_refuses() -> None:
    assert (
        raw_text({"b": 2**70, "a": Decimal("1.50")}) == '{"a": "1.50", "b": 1180591620717411303424}'
    )
    assert raw_text({"name": "\ud800"}) == '{"name": "\\ud800"}'
    assert raw_text({"\udcff": 1}) == '{"\\udcff": 1}'
    assert json.loads(raw_text({"deep": _deep(600)})) == {"deep": _deep(600)}
    shallow = json.loads(raw_text({"deep": _deep(5000)}))
    assert "nested deeper than 64 levels" in json.dumps(shallow)


def test_raw_text_of_ordinary_payloads_is_orjson_sorted_as_before() -> None:
    assert raw_text({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


@settings(max_examples=200)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(st.characters(codec=None, exclude_categories=()))
        | st.decimals()
        | st.floats(),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.text(st.characters(codec=None, exclude_categories=())), inner, max_size=3
            )
        ),
        max_leaves=10,
    )
)
def test_raw_text_is_always_json_a_store_can_keep(value: Any) -> None:
    text = raw_text(value)
    text.encode("utf-8")  # no lone surrogate left raw
    assert "\x00" not in text
    json.loads(text)


def test_bounds_round_as_sage_does_before_they_compare() -> None:
    assert bounds.QUANTITY.fits(Decimal("99999.994"))
    assert not bounds.QUANTITY.fits(Decimal("99999.995"))
    assert bounds.MONEY.fits(Decimal("-9999999999.99"))
    assert not bounds.MONEY.fits(Decimal("1E+24"))
    assert not bounds.MONEY.fits(Decimal("NaN"))
    assert bounds.PRICE.fits(Decimal("9999999999.99994"))
    assert not bounds.PRICE.fits(Decimal("9999999999.99995"))


def test_the_longest_id_makes_keys_that_fit_usrdf1_with_adjustments() -> None:
    longest = "x" * bounds.SOURCE_ID_LENGTH
    assert len(adjustment_key(bill_key(longest), 99)) <= LINK_KEY_LENGTH
    assert len(BILL_LINK) + bounds.SOURCE_ID_LENGTH + len("~A99") == LINK_KEY_LENGTH
