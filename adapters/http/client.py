"""Scaffolding shared by the HTTP source clients: retried calls over an injected httpx.Client.

A client subclasses `HttpSourceClient`, names its error translation (`errors`) and parses its
answers; this module turns httpx failures and statuses into the adapter's errors (once, through
`adapters.http.errors`), retries the transient ones with `adapters.http.retry.Backoff`, and owns the
client's lifecycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import httpx

from adapters.http import jsontext
from adapters.http.errors import (
    ErrorKinds,
    SourceApiError,
    SourceRateLimited,
    request_of,
    translate_response,
    translate_transport,
)
from adapters.http.retry import Backoff, Retry, RetryOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
IDEMPOTENT_METHODS = ("GET", "PUT", "DELETE", "HEAD")

_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


class ClientOptions(RetryOptions, total=False):
    """Keyword arguments every HTTP source client takes (besides its own)."""

    clock: Callable[[], float]
    owns_http: bool


def new_http(
    root: str,
    auth: httpx.Auth,
    *,
    timeout: float | httpx.Timeout,
    transport: httpx.BaseTransport | None,
    user_agent: str,
) -> httpx.Client:
    """The httpx.Client a composition root builds for an API rooted at `root` (no slash)."""
    return httpx.Client(
        base_url=root + "/",
        auth=auth,
        timeout=timeout,
        transport=transport,
        headers={"Accept": "application/json", "User-Agent": user_agent},
    )


def parse_json(response: httpx.Response, format_error: Callable[..., Exception]) -> Any:
    """The body as JSON (non-integers as exact Decimal); `format_error` when it is not JSON.

    One odd record does not fail the body: ``adapters.http.jsontext`` keeps what it cannot
    decode for the readers to refuse, record by record.
    """
    request = response.request
    try:
        return jsontext.loads(response.content)
    except jsontext.NotJson as exc:
        raise format_error(
            f"{request.method} {request.url}: expected a JSON body, got {response.content[:80]!r}",
            status_code=response.status_code,
        ) from exc


class HttpSourceClient:
    """An injected httpx.Client, retried calls and the lifecycle. Not thread-safe."""

    #: The adapter's error classes, for translating failures.
    errors: ClassVar[ErrorKinds[Any]]

    def __init__(
        self,
        http: httpx.Client,
        *,
        clock: Callable[[], float] = time.time,
        owns_http: bool = False,
        **retry: Unpack[RetryOptions],
    ) -> None:
        self._http = http
        self._backoff = Backoff(**retry)
        self._clock = clock
        self._owns_http = owns_http

    def close(self) -> None:
        """Close the httpx.Client if this client owns it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _request(
        self,
        method: str,
        path: str,
        parse: Callable[[httpx.Response], T],
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> T:
        """One call with retries; `parse` reads a 2xx answer.

        Transient failures (429, 5xx, timeouts, dropped connections) are retried; for a method
        that is not idempotent only when the server cannot have acted (429, 503, never sent).
        """
        idempotent = method in IDEMPOTENT_METHODS

        def attempt() -> T:
            error: SourceApiError
            try:
                response = self._http.request(method, path, params=params, json=json_body)
            except httpx.HTTPError as exc:
                error = translate_transport(exc, request_of(exc), self.errors)
                error.__cause__ = exc
                retryable = isinstance(exc, _RETRYABLE_TRANSPORT) and (
                    idempotent or isinstance(exc, _NEVER_SENT)
                )
            else:
                found = translate_response(response, self.errors, now=self._clock)
                if found is None:
                    return parse(response)
                error = found
                status = error.status_code
                retryable = isinstance(error, SourceRateLimited) or (
                    status is not None and status >= 500 and (idempotent or status == 503)
                )
            if not retryable:
                raise error from error.__cause__
            advice = error.retry_after if isinstance(error, SourceRateLimited) else None
            raise Retry(error, advice)

        return self._backoff.run(attempt)
