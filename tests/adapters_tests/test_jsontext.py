"""Decoding source bodies: exact numbers, and one odd record never fails the page it is on."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.http import jsontext
from adapters.http.client import parse_json
from adapters.http.jsontext import NotJson, Unparsed
from adapters.servicetrade.client import ServiceTradeClient
from adapters.servicetrade.errors import ResponseFormatError


def page(*records: bytes) -> bytes:
    return b'{"data": {"companies": [' + b",".join(records) + b'], "totalPages": 1}}'


def test_ordinary_bodies_keep_their_numbers_exact() -> None:
    assert jsontext.loads(b'{"a": 1.10, "b": 7, "c": 1e2}') == {
        "a": Decimal("1.10"),
        "b": 7,
        "c": Decimal("1E+2"),
    }


def test_an_integer_of_5000_digits_is_kept_as_a_decimal_and_its_page_read() -> None:
    body = jsontext.loads(page(b'{"id": 1, "n": ' + b"9" * 5000 + b"}", b'{"id": 2}'))
    first, second = body["data"]["companies"]
    assert first["n"] == Decimal("9" * 5000) and second == {"id": 2}


def test_integers_beyond_64_bits_stay_integers() -> None:
    assert jsontext.loads(b'{"id": 18446744073709551616}') == {"id": 2**64}


def test_lone_surrogates_and_bytes_that_are_not_utf8_come_through_as_surrogates() -> None:
    body = jsontext.loads(page(b'{"name": "\\ud800"}', b'{"name": "caf\xe9"}'))
    first, second = body["data"]["companies"]
    assert first["name"] == "\ud800" and second["name"] == "caf\udce9"


def test_a_raw_control_character_in_a_string_does_not_fail_the_page() -> None:
    assert jsontext.loads(page(b'{"name": "a\x01b"}'))["data"]["companies"] == [{"name": "a\x01b"}]


def test_nan_and_infinity_tokens_are_read_as_the_floats_no_reader_takes() -> None:
    value = jsontext.loads(b'{"a": NaN, "b": -Infinity}')
    assert value["a"] != value["a"] and value["b"] == float("-inf")


def test_a_number_no_decimal_holds_is_kept_as_its_text() -> None:
    assert jsontext.loads(b'{"x": 1e99999999999999999999}') == {
        "x": Unparsed("1e99999999999999999999")
    }


def test_nesting_deeper_than_python_reads_is_kept_as_text_below_the_limit() -> None:
    junk = b"[" * 5000 + b"]" * 5000
    body = jsontext.loads(page(b'{"id": 1, "junk": ' + junk + b"}", b'{"id": 2}'))
    first, second = body["data"]["companies"]
    assert second == {"id": 2} and first["id"] == 1
    value: Any = first["junk"]
    depth = 0
    while isinstance(value, list):
        value, depth = value[0], depth + 1
    assert isinstance(value, Unparsed) and depth + 4 == jsontext.MAX_DEPTH  # data, list, record
    assert len(str(value)) == 2 * (5000 - depth)


@pytest.mark.parametrize("body", [b'{"data": [', b"<html>busy</html>", b"", b'{"a": 1} trailing'])
def test_what_is_not_json_at_all_fails_the_page(body: bytes) -> None:
    with pytest.raises(NotJson):
        jsontext.loads(body)


def test_the_clients_say_a_body_is_not_json_as_their_format_error() -> None:
    request = httpx.Request("GET", "https://st.invalid/api/company")
    with pytest.raises(ResponseFormatError, match="expected a JSON body"):
        parse_json(httpx.Response(200, content=b"<html>", request=request), ResponseFormatError)


def test_a_page_with_odd_records_reaches_the_reader_record_by_record() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=page(b'{"id": ' + b"1" * 5000 + b"}", b'{"id": 7}'))

    client = ServiceTradeClient(
        httpx.Client(base_url="https://st.invalid/api/", transport=httpx.MockTransport(answer))
    )
    (records,) = list(client.iter_pages("company"))
    assert records[0]["id"] == Decimal("1" * 5000) and records[1] == {"id": 7}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200)
@given(json_values)
def test_any_json_text_reads_back_as_what_was_written(value: Any) -> None:
    text = json.dumps(value, default=str)
    assert jsontext.loads(text.encode()) == json.loads(text, parse_float=Decimal)


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_any_bytes_either_decode_or_raise_not_json(body: bytes) -> None:
    with contextlib.suppress(NotJson):
        jsontext.loads(body)
