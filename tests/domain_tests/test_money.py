from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import CENT, ZERO, MoneyError, cents, money, to_str

amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False)


def test_money_reads_text_and_integers_exactly() -> None:
    assert money("12.30") == Decimal("12.30")
    assert money(" 7 ") == Decimal(7)
    assert money(5) == Decimal(5)


@pytest.mark.parametrize("bad", [1.5, True, None, "abc", "NaN", "Infinity", [1]])
def test_money_refuses_what_is_not_an_exact_amount(bad: object) -> None:
    with pytest.raises(MoneyError):
        money(bad)


def test_cents_rounds_half_up() -> None:
    assert cents(Decimal("0.005")) == Decimal("0.01")
    assert cents(Decimal("-0.005")) == Decimal("-0.01")
    assert cents(Decimal("2.344")) == Decimal("2.34")


@given(amounts)
def test_cents_is_within_half_a_cent_and_idempotent(value: Decimal) -> None:
    rounded = cents(value)
    assert abs(rounded - value) <= CENT / 2
    assert cents(rounded) == rounded


@given(amounts)
def test_text_form_round_trips(value: Decimal) -> None:
    text = to_str(value)
    assert money(text) == cents(value)
    assert "." in text and len(text.split(".")[1]) == 2


@given(st.lists(amounts, max_size=20))
def test_sum_of_rounded_parts_is_exact_text(values: list[Decimal]) -> None:
    total = sum((cents(v) for v in values), ZERO)
    assert money(to_str(total)) == total
