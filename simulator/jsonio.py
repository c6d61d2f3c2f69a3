"""Exact JSON for the simulator: decimals written as JSON numbers, read back as Decimal."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> str:
    """Encode plain JSON data; a Decimal becomes a JSON number with exactly its digits."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def loads(text: str | bytes) -> Any:
    """Decode JSON with every non-integer number as an exact Decimal."""
    return json.loads(text, parse_float=Decimal)


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write a non-finite decimal {value!r} as JSON")
        out.append(format(value, "f"))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON (floats are refused)")
