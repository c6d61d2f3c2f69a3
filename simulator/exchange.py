"""The simulator's framework-free HTTP exchange: a request in, a response out, JSON bodies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from simulator import jsonio


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0  # seconds to wait before answering (slow fault)
    drop: bool = False  # close the connection without answering


class HttpError(Exception):
    """Raised inside a handler: answered in the API's error shape with these messages."""

    def __init__(self, status: int, *messages: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(status, messages)
        self.status = status
        self.messages = list(messages)
        self.headers = headers or []


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    body = jsonio.dumps(payload).encode()
    return Response(status, body, [("Content-Type", "application/json"), *(headers or [])])


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body ({} when empty); 400 when it is not one."""
    try:
        data = jsonio.loads(request.body or b"{}")
    except ValueError as exc:
        raise HttpError(400, f"request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise HttpError(400, f"request body must be a JSON object, got {type(data).__name__}")
    return data


def form_body(request: Request) -> dict[str, str]:
    """A token request's fields: a JSON object, or a form (the last value of a repeated name)."""
    if "json" in request.headers.get("content-type", ""):
        try:
            data = jsonio.loads(request.body or b"{}")
        except ValueError as exc:
            raise HttpError(400, f"request body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise HttpError(400, "request body must be a JSON object")
        return {str(key): str(value) for key, value in data.items()}
    try:
        pairs = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise HttpError(400, "form body is not UTF-8") from exc
    return {key: values[-1] for key, values in pairs.items()}
