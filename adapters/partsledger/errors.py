"""PartsLedger adapter errors: httpx failures and HTTP statuses translated once, here.

Hierarchy (every error chains the httpx exception it came from), mirroring ServiceTrade's and
translated by the same code (`adapters.servicetrade.errors.translate_response`)::

    PartsLedgerError                  anything the adapter could not do
    ├── AuthError                     401/403, or client credentials/tokens refused or unusable
    ├── RateLimitedError              429 (``retry_after`` seconds when the server said)
    ├── ServerError                   5xx
    ├── NotFoundError                 404
    ├── BadRequestError               400 and other 4xx: the request was refused
    ├── ResponseFormatError           2xx whose body is not the documented shape
    └── PartsLedgerTransportError     timeouts, refused/dropped connections, protocol errors

`RateLimitedError`, `ServerError` and `PartsLedgerTransportError` are transient: the client
retries them with backoff before letting them out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from adapters.servicetrade.errors import ErrorKinds, translate_response, translate_transport


class PartsLedgerError(Exception):
    """A PartsLedger call failed; `status_code` and `messages` when the server answered."""

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


class AuthError(PartsLedgerError):
    """Not authenticated: client credentials refused, token expired or unusable."""


class RateLimitedError(PartsLedgerError):
    """429 Too Many Requests; `retry_after` is the server's advice in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(PartsLedgerError):
    """A 5xx answer: the server failed or is unavailable."""


class NotFoundError(PartsLedgerError):
    """404: no such record or path."""


class BadRequestError(PartsLedgerError):
    """The server refused the request as invalid (400, other 4xx)."""


class ResponseFormatError(PartsLedgerError):
    """A success status whose body is not JSON or not the documented shape."""


class PartsLedgerTransportError(PartsLedgerError):
    """No usable HTTP answer: timeout, connection refused or dropped, protocol error."""


TRANSIENT_ERRORS = (RateLimitedError, ServerError, PartsLedgerTransportError)


def error_messages(response: httpx.Response) -> tuple[str, ...]:
    """The messages of an error body: ``{"error": code, "message": text}`` (or a list)."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return ()
    if not isinstance(body, dict):
        return ()
    message, code = body.get("message"), body.get("error")
    if isinstance(message, list):
        return tuple(str(entry) for entry in message)
    if isinstance(message, str) and message:
        return (f"{code}: {message}" if isinstance(code, str) and code else message,)
    if isinstance(code, str) and code:
        return (code,)
    return ()


PARTSLEDGER_ERRORS: ErrorKinds[PartsLedgerError] = ErrorKinds(
    system="PartsLedger",
    base=PartsLedgerError,
    auth=AuthError,
    rate_limited=RateLimitedError,
    server=ServerError,
    not_found=NotFoundError,
    bad_request=BadRequestError,
    transport=PartsLedgerTransportError,
    messages=error_messages,
)


def error_for_response(
    response: httpx.Response, *, now: Callable[[], float] = time.time
) -> PartsLedgerError | None:
    """The PartsLedger error for a non-2xx response (chained to httpx's), or None for 2xx."""
    return translate_response(response, PARTSLEDGER_ERRORS, now=now)


def error_for_transport(exc: httpx.HTTPError, request: httpx.Request | None) -> PartsLedgerError:
    """The PartsLedger error for an httpx exception raised instead of a response."""
    return translate_transport(exc, request, PARTSLEDGER_ERRORS)
