"""Tolerant reading of JSON payloads into domain snapshots: field helpers shared by the readers.

Each source's reader (`adapters.servicetrade.reader`, `adapters.partsledger.reader`) subclasses
`Fields` for its wire spelling and adds its own accessors; the checks and the
`domain.source.PayloadError` messages common to both are written once here. The bounds come from
`domain.bounds` (what Sage's columns hold): a value outside one is a PayloadError, so the record
is quarantined and never posted. Nothing here raises anything but PayloadError for any decoded
JSON value (`adapters.http.jsontext` may hand over Decimal for huge integers and `Unparsed` for
what could not be decoded).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from domain import bounds
from domain.bounds import MONEY, Bound
from domain.money import MoneyError, money
from domain.source import PayloadError

#: Integer ids are below this (64-bit, non-negative).
MAX_ID = bounds.MAX_INTEGER_ID + 1
_ID = re.compile(bounds.SOURCE_ID_PATTERN)
#: What no recorded text may hold: C0 controls but tab, newline and carriage return, DEL, and
#: lone surrogates (not UTF-8: the event store and projections could not store them; PostgreSQL
#: text holds no NUL).
_BAD_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
#: How much of a value an error message shows.
_SHOWN = 40


def _shortened(text: str) -> str:
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}… ({len(text)} characters)"


def kind_of(value: object) -> str:
    """What came, for an error message: its JSON kind, and its value (shortened)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, str):
        return f"string {value[:_SHOWN]!r}" + (
            f"… ({len(value)} characters)" if len(value) > _SHOWN else ""
        )
    if isinstance(value, int):
        if value.bit_length() > 1000:  # str() of a huge int is slow, and limited past 4300 digits
            return f"int of {value.bit_length()} bits"
        return f"int {_shortened(str(value))}"
    if isinstance(value, Decimal | float):
        return f"{type(value).__name__} {_shortened(str(value))}"
    return type(value).__name__


def bad_character(text: str) -> str | None:
    """Why ``text`` cannot be recorded as it is (a control character or a lone surrogate), or
    None when it can."""
    found = _BAD_CHARACTER.search(text)
    if found is None:
        return None
    code = ord(found.group())
    what = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    return f"{what} U+{code:04X} at character {found.start()}"


def id_value(value: object, where: str, *, length: int = bounds.SOURCE_ID_LENGTH) -> str:
    """An id as text: a 64-bit non-negative integer, or a string of letters, digits, ``.``,
    ``_`` and ``-`` starting with a letter or digit; at most ``length`` characters either way
    (``domain.bounds.SOURCE_ID_LENGTH``: every key made from it fits Sage and recon)."""
    if isinstance(value, bool):
        raise PayloadError(f"{where}: expected an integer id, got {kind_of(value)}")
    if isinstance(value, int):
        if not 0 <= value < MAX_ID:
            raise PayloadError(f"{where}: expected a 64-bit id, got {kind_of(value)}")
        text = str(value)
        if len(text) > length:
            raise PayloadError(f"{where}: expected an id of at most {length} digits, got {text}")
        return text
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if len(text) > length:
            raise PayloadError(
                f"{where}: expected an id of at most {length} characters, got a "
                f"{len(text)}-character string"
            )
        if not _ID.fullmatch(text):
            raise PayloadError(
                f"{where}: expected an id of letters, digits, '.', '_' and '-', got "
                f"{kind_of(value)}"
            )
        return text
    if value is None:
        raise PayloadError(f"{where}: missing (expected an integer id)")
    raise PayloadError(f"{where}: expected an integer id, got {kind_of(value)}")


def raw_id(raw: Mapping[str, Any], key: str) -> object:
    """The id under `key`, falling back to ``id`` (PartsLedger's `_id` records may say `id`)."""
    return raw.get(key, raw.get("id"))


def source_id_of(raw: object, key: str = "id") -> str | None:
    """The record's id as text when the payload has a usable one (also for malformed ones)."""
    if not isinstance(raw, Mapping):
        return None
    try:
        return id_value(raw_id(raw, key), key)
    except PayloadError:
        return None


def string_value(value: object, where: str, *, length: int = bounds.TEXT_LENGTH) -> str:
    """A present string (an integer is taken as its digits), stripped: at most ``length``
    characters, none of them a control character or a lone surrogate."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{where}: expected a string, got {kind_of(value)}")
    if isinstance(value, int) and value.bit_length() > length * 10 // 3:  # > `length` digits
        raise PayloadError(f"{where}: expected at most {length} characters, got {kind_of(value)}")
    text = str(value).strip()
    if len(text) > length:
        raise PayloadError(f"{where}: expected at most {length} characters, got {len(text)}")
    bad = bad_character(text)
    if bad is not None:
        raise PayloadError(f"{where}: expected text, got {bad}")
    return text


def exact_digits(value: Decimal, where: str, came: object) -> Decimal:
    """``value`` when Decimal's default precision holds it exactly (``bounds.MAX_DIGITS``)."""
    _sign, digits, exponent = value.as_tuple()
    if len(digits) > bounds.MAX_DIGITS or (
        isinstance(exponent, int) and exponent < -bounds.MAX_DIGITS
    ):
        raise PayloadError(
            f"{where}: expected at most {bounds.MAX_DIGITS} significant digits and decimal "
            f"places, got {kind_of(came)}"
        )
    return value


def check_bound(value: Decimal, bound: Bound, where: str) -> Decimal:
    """``value`` when it fits ``bound`` (a Sage column); PayloadError naming the column when not."""
    if not bound.fits(value):
        raise PayloadError(f"{where}: {_shortened(str(value))} does not fit: {bound.describe()}")
    return value


def business_date(day: date, where: str) -> str:
    """A business date as ISO text, when it is within ``bounds.FIRST_DATE`` to ``LAST_DATE``."""
    if not bounds.FIRST_DATE <= day <= bounds.LAST_DATE:
        raise PayloadError(
            f"{where}: expected a date from {bounds.FIRST_DATE} to {bounds.LAST_DATE}, got {day}"
        )
    return day.isoformat()


def stamp_value(value: object) -> int | None:
    """Unix seconds within ``bounds.FIRST_STAMP`` to ``LAST_STAMP``; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if bounds.FIRST_STAMP <= value <= bounds.LAST_STAMP else None


def stamp_expected() -> str:
    return (
        f"Unix seconds from {bounds.FIRST_STAMP} to {bounds.LAST_STAMP} (2000-01-01 to "
        "2099-12-31 UTC)"
    )


class Fields:
    """Typed access to one record's (or line's) fields, with error messages that name the field.

    Subclasses say where the id is (`id_key`) and how amounts are described in messages.
    """

    #: The record's id field.
    id_key: ClassVar[str] = "id"
    #: What a missing amount should have been.
    amount_expected: ClassVar[str] = "a decimal number"
    #: What a float amount should have been, and advice appended to that message.
    exact_expected: ClassVar[str] = "an exact decimal"
    float_advice: ClassVar[str] = ""

    def __init__(
        self,
        kind: str,
        raw: Mapping[str, Any],
        path: str = "",
        *,
        id_length: int = bounds.SOURCE_ID_LENGTH,
    ) -> None:
        self.kind = kind
        self.raw = raw
        self.path = path or kind
        self.id = id_value(raw_id(raw, self.id_key), f"{self.path}.{self.id_key}", length=id_length)

    def where(self, name: str) -> str:
        return f"{self.path} {self.id}: {name}"

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        default: str = "",
        length: int = bounds.TEXT_LENGTH,
    ) -> str:
        value = self.raw.get(name)
        if value is None:
            if required:
                raise PayloadError(f"{self.where(name)}: missing (expected a non-empty string)")
            return default
        text = string_value(value, self.where(name), length=length)
        if required and not text:
            raise PayloadError(f"{self.where(name)}: expected a non-empty string, got ''")
        return text

    def number(self, name: str, *, required: bool = False) -> str:
        """A number that names a document in Sage (invoice, bill, PO number): at most
        ``bounds.NUMBER_LENGTH`` characters, as Sage's str(20) columns hold it whole."""
        return self.text(name, required=required, length=bounds.NUMBER_LENGTH)

    def flag(self, name: str, *, default: bool) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise PayloadError(f"{self.where(name)}: expected true or false, got {kind_of(value)}")
        return value

    def amount(self, name: str, *, default: Decimal | None = None, bound: Bound = MONEY) -> Decimal:
        """An exact decimal that fits ``bound`` (its Sage column): Decimal, int or numeric
        string; floats refused."""
        value = self.raw.get(name)
        if value is None:
            if default is not None:
                return default
            raise PayloadError(f"{self.where(name)}: missing (expected {self.amount_expected})")
        if isinstance(value, float):
            raise PayloadError(
                f"{self.where(name)}: expected {self.exact_expected}, got float {value!r}"
                f"{self.float_advice}"
            )
        if isinstance(value, str) and len(value) > 200:  # no number of ours is that long
            raise PayloadError(
                f"{self.where(name)}: expected {self.amount_expected}, got {kind_of(value)}"
            )
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
            raise PayloadError(
                f"{self.where(name)}: {kind_of(value)} does not fit: {bound.describe()}"
            )
        try:
            result = money(value)
        except MoneyError as exc:
            raise PayloadError(f"{self.where(name)}: {_shortened(str(exc))}") from exc
        exact_digits(result, self.where(name), value)
        return check_bound(result, bound, self.where(name))
