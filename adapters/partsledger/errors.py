"""PartsLedger adapter errors: the hierarchy httpx failures and HTTP statuses become.

Hierarchy (every error chains the httpx exception it came from), mirroring ServiceTrade's and
translated by the same code (`adapters.http.errors.translate_response`)::

    PartsLedgerError                  anything the adapter could not do
    ├── AuthError                     401/403, or client credentials/tokens refused or unusable
    ├── RateLimitedError              429 (``retry_after`` seconds when the server said)
    ├── ServerError                   5xx
    ├── NotFoundError                 404
    ├── BadRequestError               400 and other 4xx: the request was refused
    ├── ResponseFormatError           2xx whose body is not the documented shape
    └── PartsLedgerTransportError     timeouts, refused/dropped connections, protocol errors

`RateLimitedError`, `ServerError` and `PartsLedgerTransportError` are transient: the client
retries them with backoff before letting them out. `PartsLedgerError` is an
`adapters.http.errors.SourceApiError`.
"""

from __future__ import annotations

import httpx

from adapters.http.errors import ErrorKinds, SourceApiError, SourceRateLimited, json_object


class PartsLedgerError(SourceApiError):
    """A PartsLedger call failed; `status_code` and `messages` when the server answered."""


class AuthError(PartsLedgerError):
    """Not authenticated: client credentials refused, token expired or unusable."""


class RateLimitedError(PartsLedgerError, SourceRateLimited):
    """429 Too Many Requests; `retry_after` is the server's advice in seconds, if it gave one."""


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
    body = json_object(response)
    if body is None:
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
