"""Tolerant reading of JSON payloads into domain snapshots: field helpers shared by the readers.

Each source's reader (`adapters.servicetrade.reader`, `adapters.partsledger.reader`) subclasses
`Fields` for its wire spelling and adds its own accessors; the checks and the
`domain.source.PayloadError` messages common to both are written once here.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from domain.money import MoneyError, money
from domain.source import PayloadError

#: Ids are 64-bit on the wire; anything outside is not an id.
MAX_ID = 2**63
#: Amounts and quantities beyond this are refused as nonsense (and keep Decimal math bounded).
MAX_AMOUNT = Decimal(10) ** 12


def kind_of(value: object) -> str:
    """What came, for an error message: its JSON kind, and its value when short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    if isinstance(value, int | Decimal | float):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__


def id_value(value: object, where: str) -> str:
    """An id as text: a 64-bit non-negative integer, or a non-empty string of up to 64 chars."""
    if isinstance(value, bool):
        raise PayloadError(f"{where}: expected an integer id, got {kind_of(value)}")
    if isinstance(value, int):
        if not 0 <= value < MAX_ID:
            raise PayloadError(f"{where}: expected a 64-bit id, got {value!r}")
        return str(value)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if len(text) > 64:
            raise PayloadError(f"{where}: expected an id, got a {len(text)}-character string")
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


def string_value(value: object, where: str) -> str:
    """A present string (an integer is taken as its digits), stripped."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{where}: expected a string, got {kind_of(value)}")
    return str(value).strip()


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

    def __init__(self, kind: str, raw: Mapping[str, Any], path: str = "") -> None:
        self.kind = kind
        self.raw = raw
        self.path = path or kind
        self.id = id_value(raw_id(raw, self.id_key), f"{self.path}.{self.id_key}")

    def where(self, name: str) -> str:
        return f"{self.path} {self.id}: {name}"

    def text(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self.raw.get(name)
        if value is None:
            if required:
                raise PayloadError(f"{self.where(name)}: missing (expected a non-empty string)")
            return default
        text = string_value(value, self.where(name))
        if required and not text:
            raise PayloadError(f"{self.where(name)}: expected a non-empty string, got ''")
        return text

    def flag(self, name: str, *, default: bool) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise PayloadError(f"{self.where(name)}: expected true or false, got {kind_of(value)}")
        return value

    def amount(self, name: str, *, default: Decimal | None = None) -> Decimal:
        """An exact, plausible decimal: Decimal, int or numeric string; floats refused."""
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
        try:
            result = money(value)
        except MoneyError as exc:
            raise PayloadError(f"{self.where(name)}: {exc}") from exc
        if abs(result) >= MAX_AMOUNT:
            raise PayloadError(f"{self.where(name)}: expected a plausible amount, got {value!r}")
        return result
