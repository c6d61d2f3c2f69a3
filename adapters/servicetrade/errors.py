"""ServiceTrade adapter errors: httpx failures and HTTP statuses translated once, here.

Hierarchy (every error chains the httpx exception it came from)::

    ServiceTradeError                 anything the adapter could not do
    ├── AuthError                     401/403, or credentials/tokens refused or unusable
    ├── RateLimitedError              429 (``retry_after`` seconds when the server said)
    ├── ServerError                   5xx
    ├── NotFoundError                 404
    ├── BadRequestError               400, 409, 422 and other 4xx: the request was refused
    ├── ResponseFormatError           2xx whose body is not the documented envelope
    └── ServiceTradeTransportError    timeouts, refused/dropped connections, protocol errors

`RateLimitedError`, `ServerError` and `ServiceTradeTransportError` are transient: the client
retries them with backoff before letting them out.

The translation itself (`translate_response`, `translate_transport`) is written once for any
adapter's hierarchy of the same shape (an `ErrorKinds`); PartsLedger's adapter uses it too.
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


class ServiceTradeError(Exception):
    """A ServiceTrade call failed; `status_code` and `messages` when the server answered."""

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


class AuthError(ServiceTradeError):
    """Not authenticated or not allowed: bad credentials, expired session/token, no permission."""


class RateLimitedError(ServiceTradeError):
    """429 Too Many Requests; `retry_after` is the server's advice in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ServiceTradeError):
    """A 5xx answer: the server failed or is unavailable."""


class NotFoundError(ServiceTradeError):
    """404: no such record or path."""


class BadRequestError(ServiceTradeError):
    """The server refused the request as invalid (400, 409, 422, other 4xx)."""


class ResponseFormatError(ServiceTradeError):
    """A success status whose body is not JSON or not the `{data, messages}` envelope."""


class ServiceTradeTransportError(ServiceTradeError):
    """No usable HTTP answer: timeout, connection refused or dropped, protocol error."""


TRANSIENT_ERRORS = (RateLimitedError, ServerError, ServiceTradeTransportError)


def error_messages(response: httpx.Response) -> tuple[str, ...]:
    """The `messages.error` strings of an envelope (or an OAuth `error`), if any."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return ()
    if not isinstance(body, dict):
        return ()
    messages = body.get("messages")
    if isinstance(messages, dict) and isinstance(messages.get("error"), list):
        return tuple(str(message) for message in messages["error"])
    if isinstance(body.get("error"), str):  # OAuth2 token endpoint: {"error": "invalid_grant"}
        description = body.get("error_description")
        return (f"{body['error']}: {description}" if description else body["error"],)
    return ()


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


SERVICETRADE_ERRORS: ErrorKinds[ServiceTradeError] = ErrorKinds(
    system="ServiceTrade",
    base=ServiceTradeError,
    auth=AuthError,
    rate_limited=RateLimitedError,
    server=ServerError,
    not_found=NotFoundError,
    bad_request=BadRequestError,
    transport=ServiceTradeTransportError,
    messages=error_messages,
)


def error_for_response(
    response: httpx.Response, *, now: Callable[[], float] = time.time
) -> ServiceTradeError | None:
    """The ServiceTrade error for a non-2xx response (chained to httpx's), or None for 2xx."""
    return translate_response(response, SERVICETRADE_ERRORS, now=now)


def error_for_transport(exc: httpx.HTTPError, request: httpx.Request | None) -> ServiceTradeError:
    """The ServiceTrade error for an httpx exception raised instead of a response."""
    return translate_transport(exc, request, SERVICETRADE_ERRORS)
