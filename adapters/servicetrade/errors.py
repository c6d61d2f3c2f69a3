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
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from typing import Any

import httpx


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


def error_for_response(
    response: httpx.Response, *, now: Callable[[], float] = time.time
) -> ServiceTradeError | None:
    """The adapter error for a non-2xx response (chained to httpx's), or None for 2xx."""
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        error = _status_error(response, now)
        error.__cause__ = exc
        return error
    return None


def _status_error(response: httpx.Response, now: Callable[[], float]) -> ServiceTradeError:
    status = response.status_code
    request = response.request
    messages = error_messages(response)
    said = "; ".join(messages) if messages else (response.reason_phrase or "no message")
    where = f"{request.method} {request.url}"
    context: dict[str, Any] = {
        "status_code": status,
        "messages": messages,
        "method": request.method,
        "url": str(request.url),
    }
    if status in (401, 403):
        return AuthError(
            f"{where}: expected an authenticated answer, got {status} ({said}); check the "
            "ServiceTrade credentials and the user's permissions",
            **context,
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now)
        return RateLimitedError(
            f"{where}: rate limited (429, {said}); retry after "
            f"{'an unspecified time' if retry_after is None else f'{retry_after:g} s'}",
            retry_after=retry_after,
            **context,
        )
    if status >= 500:
        return ServerError(f"{where}: expected a 2xx answer, got {status} ({said})", **context)
    if status == 404:
        return NotFoundError(f"{where}: not found (404, {said})", **context)
    if 400 <= status < 500:
        return BadRequestError(f"{where}: request refused with {status} ({said})", **context)
    return ServiceTradeError(f"{where}: expected a 2xx answer, got {status} ({said})", **context)


def error_for_transport(exc: httpx.HTTPError, request: httpx.Request | None) -> ServiceTradeError:
    """The adapter error for an httpx exception raised instead of a response (not chained yet)."""
    where = f"{request.method} {request.url}" if request is not None else "ServiceTrade request"
    context: dict[str, Any] = {
        "method": request.method if request is not None else "",
        "url": str(request.url) if request is not None else "",
    }
    if isinstance(exc, httpx.TimeoutException):
        return ServiceTradeTransportError(
            f"{where}: expected an answer within the timeout, got {type(exc).__name__} ({exc})",
            **context,
        )
    if isinstance(exc, httpx.TransportError):
        return ServiceTradeTransportError(
            f"{where}: expected an HTTP answer, got {type(exc).__name__} ({exc})", **context
        )
    return ServiceTradeError(f"{where}: {type(exc).__name__} ({exc})", **context)
