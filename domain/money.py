"""Money and hours: exact decimals made in one place, rounded only at boundaries."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal("0")
CENT = Decimal("0.01")
HUNDRED = Decimal("100")


class MoneyError(ValueError):
    """A value that cannot be read as an exact decimal amount."""


def money(value: object) -> Decimal:
    """Read an exact decimal from str, int or Decimal; floats are refused (they are not exact)."""
    if isinstance(value, bool):
        raise MoneyError(f"expected a decimal amount, got a boolean {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise MoneyError(f"expected a decimal amount, got {value!r}") from exc
    else:
        raise MoneyError(
            f"expected a decimal amount as str, int or Decimal, got {type(value).__name__}"
        )
    if not result.is_finite():
        raise MoneyError(f"expected a finite decimal amount, got {value!r}")
    return result


def cents(value: Decimal) -> Decimal:
    """Round to the cent, half up: the rule Sage's decimal(12,2) columns are filled with.

    A result of zero is always positive zero (no decimal column holds -0.00).
    """
    result = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return result if result else abs(result)


def to_str(value: Decimal) -> str:
    """The persisted and JSON form of an amount: a plain decimal string to the cent."""
    return format(cents(value), "f")


def qty_str(value: Decimal) -> str:
    """The persisted form of a quantity or hours: two places, as Sage's decimal(7,2)."""
    return format(cents(value), "f")
