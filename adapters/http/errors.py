"""HTTP failures of the source APIs translated into adapter errors, written once for all.

Each HTTP source adapter (`adapters.servicetrade.errors`, `adapters.partsledger.errors`)
documents its own small hierarchy under `SourceApiError`, with the same shape::

    SourceApiError                    anything a source adapter could not do
    └── <System>Error                 the adapter's base: ServiceTradeError, PartsLedgerError
        ├── AuthError                 401/403, or credentials/tokens refused or unusable
        ├── RateLimitedError          429 (also a `SourceRateLimited`: ``retry_after``)
        ├── ServerError               5xx
        ├── NotFoundError             404
        ├── BadRequestError           other 4xx: the request was refused
        ├── ResponseFormatError       2xx whose body is not the documented shape
        └── <System>TransportError    timeouts, refused/dropped connections, protocol errors

and hands its classes to `translate_response` / `translate_transport` as an `ErrorKinds`.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

E = TypeVar("E", bound=Exception)


class SourceApiError(Exception):
    """A source API call failed; `status_code` and `messages` when the server answered."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        messages: tuple[str, ...] = (),
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.messages = messages
        self.method = method
        self.url = url


class SourceRateLimited(SourceApiError):
    """429 Too Many Requests; `retry_after` is the server's advice in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The response body when it is a JSON object (for reading error messages), else None."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def request_of(exc: httpx.HTTPError) -> httpx.Request | None:
    """The request an httpx exception is about, or None when it carries none."""
    try:
        return exc.request
    except RuntimeError:  # httpx raises when the exception carries no request
        return None


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - now()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class ErrorKinds(Generic[E]):
    """One adapter's error classes (constructed with a message and keyword context) and how to
    read the messages out of its error bodies."""

    system: str  # named in messages: "ServiceTrade", "PartsLedger"
    base: Callable[..., E]
    auth: Callable[..., E]
    rate_limited: Callable[..., E]  # also takes retry_after
    server: Callable[..., E]
    not_found: Callable[..., E]
    bad_request: Callable[..., E]
    transport: Callable[..., E]
    messages: Callable[[httpx.Response], tuple[str, ...]]


def translate_response(
    response: httpx.Response, kinds: ErrorKinds[E], *, now: Callable[[], float] = time.time
) -> E | None:
    """The adapter error for a non-2xx response (chained to httpx's), or None for 2xx."""
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        error = _status_error(response, kinds, now)
        error.__cause__ = exc
        return error
    return None


def _status_error(response: httpx.Response, kinds: ErrorKinds[E], now: Callable[[], float]) -> E:
    status = response.status_code
    request = response.request
    messages = kinds.messages(response)
    said = "; ".join(messages) if messages else (response.reason_phrase or "no message")
    where = f"{request.method} {request.url}"
    context: dict[str, Any] = {
        "status_code": status,
        "messages": messages,
        "method": request.method,
        "url": str(request.url),
    }
    if status in (401, 403):
        return kinds.auth(
            f"{where}: expected an authenticated answer, got {status} ({said}); check the "
            f"{kinds.system} credentials and the user's permissions",
            **context,
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now)
        return kinds.rate_limited(
            f"{where}: rate limited (429, {said}); retry after "
            f"{'an unspecified time' if retry_after is None else f'{retry_after:g} s'}",
            retry_after=retry_after,
            **context,
        )
    if status >= 500:
        return kinds.server(f"{where}: expected a 2xx answer, got {status} ({said})", **context)
    if status == 404:
        return kinds.not_found(f"{where}: not found (404, {said})", **context)
    if 400 <= status < 500:
        return kinds.bad_request(f"{where}: request refused with {status} ({said})", **context)
    return kinds.base(f"{where}: expected a 2xx answer, got {status} ({said})", **context)


def translate_transport(
    exc: httpx.HTTPError, request: httpx.Request | None, kinds: ErrorKinds[E]
) -> E:
    """The adapter error for an httpx exception raised instead of a response (not chained yet)."""
    where = f"{request.method} {request.url}" if request is not None else f"{kinds.system} request"
    context: dict[str, Any] = {
        "method": request.method if request is not None else "",
        "url": str(request.url) if request is not None else "",
    }
    if isinstance(exc, httpx.TimeoutException):
        return kinds.transport(
            f"{where}: expected an answer within the timeout, got {type(exc).__name__} ({exc})",
            **context,
        )
    if isinstance(exc, httpx.TransportError):
        return kinds.transport(
            f"{where}: expected an HTTP answer, got {type(exc).__name__} ({exc})", **context
        )
    return kinds.base(f"{where}: {type(exc).__name__} ({exc})", **context)
