"""ServiceTrade adapter errors: the hierarchy httpx failures and HTTP statuses become.

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

`ServiceTradeError` is a `adapters.http.errors.SourceApiError`, and the translation itself
(`translate_response`, `translate_transport`) is written once there for every HTTP source.
"""

from __future__ import annotations

import httpx

from adapters.http.errors import ErrorKinds, SourceApiError, SourceRateLimited, json_object


class ServiceTradeError(SourceApiError):
    """A ServiceTrade call failed; `status_code` and `messages` when the server answered."""


class AuthError(ServiceTradeError):
    """Not authenticated or not allowed: bad credentials, expired session/token, no permission."""


class RateLimitedError(ServiceTradeError, SourceRateLimited):
    """429 Too Many Requests; `retry_after` is the server's advice in seconds, if it gave one."""


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
    body = json_object(response)
    if body is None:
        return ()
    messages = body.get("messages")
    if isinstance(messages, dict) and isinstance(messages.get("error"), list):
        return tuple(str(message) for message in messages["error"])
    if isinstance(body.get("error"), str):  # OAuth2 token endpoint: {"error": "invalid_grant"}
        description = body.get("error_description")
        return (f"{body['error']}: {description}" if description else body["error"],)
    return ()


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
