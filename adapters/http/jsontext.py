"""JSON bodies as exact Python values, and one odd record never fails the page it came in.

Bodies are read with Python's json module, non-integers as exact ``Decimal`` (orjson would give
floats). That fast read refuses a whole body for one record's oddity: an integer of more than
4300 digits, a raw control character in a string, bytes that are not UTF-8, nesting deeper than
the interpreter's recursion limit, a number Decimal cannot hold. Then the tolerant read decodes
the same body again, keeping such values for the readers to refuse record by record:

- integers too long for ``int`` become ``Decimal`` (no reader takes one as an id or a stamp);
- a number Decimal cannot hold, and an array or object nested deeper than ``MAX_DEPTH``,
  becomes ``Unparsed`` holding its text (no reader takes one, and the raw payload keeps it);
- bytes that are not UTF-8 become lone surrogates, and control characters are taken as they
  are (the readers refuse both in any text they record).

What neither read can decode (a cut-off body, HTML) is not JSON: ``NotJson``.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

#: Nesting deeper than this is kept as text by the tolerant read (records nest a few levels).
MAX_DEPTH = 64
#: Python refuses int() of longer digit strings (sys.get_int_max_str_digits()).
_INT_DIGITS = 4300


class NotJson(ValueError):
    """A body neither read can decode; the message says where it stopped."""


@dataclass(frozen=True, slots=True)
class Unparsed:
    """JSON text the tolerant read kept as text: a number no Decimal holds, or a value nested
    deeper than ``MAX_DEPTH``."""

    text: str

    def __str__(self) -> str:
        return self.text


def loads(body: bytes | str) -> Any:
    """The JSON value of a body; non-integers as Decimal. Raises NotJson."""
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError, ArithmeticError):
        pass
    return tolerant_loads(body)


def tolerant_loads(body: bytes | str) -> Any:
    """The tolerant read (see the module's docstring). Raises NotJson."""
    text = body.decode("utf-8", "surrogateescape") if isinstance(body, bytes) else body
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return _decode(text)
    except RecursionError:
        pass
    except ValueError as exc:
        raise NotJson(str(exc)) from exc
    try:
        return _decode(_nest_within(text, MAX_DEPTH))
    except (ValueError, RecursionError) as exc:
        raise NotJson(f"{type(exc).__name__}: {exc}") from exc


def _decode(text: str) -> Any:
    return json.loads(
        text,
        parse_float=_number,
        parse_int=_integer,
        object_hook=_unparsed,
        strict=False,  # control characters inside strings: the readers refuse them per record
    )


def _integer(text: str) -> int | Decimal:
    limit = sys.get_int_max_str_digits() or _INT_DIGITS
    return int(text) if len(text.lstrip("-")) <= min(limit, _INT_DIGITS) else Decimal(text)


def _unparsed(value: dict[str, Any]) -> Any:
    kept = value.get(_UNPARSED)
    if len(value) == 1 and isinstance(kept, str):
        return Unparsed(kept)
    return value


def _number(text: str) -> Decimal | Unparsed:
    try:
        return Decimal(text)
    except InvalidOperation:
        return Unparsed(text)


_UNPARSED = "$unparsed"
#: Strings (their escapes included) and brackets: what the nesting pass looks at.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def _nest_within(text: str, depth: int) -> str:
    """``text`` with every array or object opened deeper than ``depth`` replaced by
    ``{"$unparsed": "<its JSON text>"}``. Brackets that do not match are left alone (the
    decoder then says what is wrong)."""
    parts: list[str] = []
    level = 0
    start: int | None = None
    done = 0
    for token in _TOKENS.finditer(text):
        mark = token.group()
        if mark in "[{":
            level += 1
            if level == depth + 1 and start is None:
                start = token.start()
        elif mark in "]}":
            if level == depth + 1 and start is not None:
                parts.append(text[done:start])
                kept = json.dumps(text[start : token.end()])
                parts.append(f'{{"{_UNPARSED}":{kept}}}')
                done = token.end()
                start = None
            level -= 1
    parts.append(text[done:])
    return "".join(parts)
