"""PartsLedger HTTP client: cursor paging over an injected httpx.Client, with retries.

All failures leave as `adapters.partsledger.errors` exceptions. Transient ones (429, 5xx,
timeouts, dropped connections) are retried with exponential backoff and jitter, honouring
`Retry-After` (the same policy as the ServiceTrade client: `adapters.http.client`).
The client only reads, so every call may be retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from adapters.http.client import DEFAULT_TIMEOUT, HttpSourceClient, new_http, parse_json
from adapters.http.errors import ErrorKinds
from adapters.partsledger.auth import TOKEN_PATH, PartsLedgerTokenAuth
from adapters.partsledger.errors import PARTSLEDGER_ERRORS, ResponseFormatError

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from adapters.http.client import ClientOptions

#: Record kinds recon reads, with their resource path under the API base URL.
RESOURCES = {
    "vendor": "vendors",
    "item": "items",
    "warehouse": "warehouses",
    "purchase_order": "purchase-orders",
    "receipt": "shipment-receipts",
    "bill": "bills",
}
#: Records per page asked for: the documented default and maximum.
PAGE_LIMIT = 1000

USER_AGENT = "recon/0.1 (+partsledger adapter)"


def iso_utc(moment: int) -> str:
    """Unix seconds as the ISO 8601 UTC time PartsLedger's `updatedAfter` takes."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PartsLedgerClient(HttpSourceClient):
    """The PartsLedger API as recon uses it (reads only). Thread-compatible, not thread-safe.

    `options` are `adapters.http.client.ClientOptions`: max_attempts, backoff_base, backoff_cap,
    max_retry_wait, sleep, rng (the retry policy), clock, owns_http.
    """

    errors: ClassVar[ErrorKinds[Any]] = PARTSLEDGER_ERRORS

    def __init__(
        self, http: httpx.Client, *, page_limit: int = PAGE_LIMIT, **options: Unpack[ClientOptions]
    ) -> None:
        if page_limit < 1:
            raise ValueError(f"page_limit must be at least 1, got {page_limit}")
        super().__init__(http, **options)
        self._page_limit = page_limit

    # --- reads ----------------------------------------------------------------------------

    def iter_pages(
        self, kind: str, updated_after: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every record of `kind` updated at or after `updated_after` (unix s), page by page.

        Follows `cursor` while `hasNextPage`. A record changed while paging may appear twice
        (the cursor orders by update time); the caller de-duplicates. A list entry that is not
        a JSON object is passed on as ``{"_malformed_entry": entry}`` so the reader rejects it.
        """
        path = _resource(kind)
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": self._page_limit}
            if updated_after is not None:
                params["updatedAfter"] = iso_utc(updated_after)
            if cursor is not None:
                params["cursor"] = cursor
            body = self._call(path, params)
            records, more, following = _page(kind, body)
            if records:
                yield records
            if not more:
                return
            if following is None or following == cursor:
                raise ResponseFormatError(
                    f"GET {path}: hasNextPage is true but the cursor "
                    f"{'is missing' if following is None else 'did not move'}"
                )
            cursor = following

    def get(self, kind: str, record_id: str | int) -> dict[str, Any]:
        """One record's raw wire object."""
        path = f"{_resource(kind)}/{record_id}"
        body = self._call(path, None)
        if not isinstance(body, dict):
            raise ResponseFormatError(
                f"GET {path}: expected a JSON object, got {type(body).__name__}"
            )
        return body

    # --- transport ------------------------------------------------------------------------

    def _call(self, path: str, params: dict[str, Any] | None) -> Any:
        """One GET with retries (every call may be retried); returns the parsed JSON body."""
        return self._request("GET", path, _json, params=params)


def _resource(kind: str) -> str:
    try:
        return RESOURCES[kind]
    except KeyError:
        raise ValueError(
            f"unknown PartsLedger kind {kind!r}; expected one of {sorted(RESOURCES)}"
        ) from None


def _json(response: httpx.Response) -> Any:
    return parse_json(response, ResponseFormatError)


def _page(kind: str, body: Any) -> tuple[list[dict[str, Any]], bool, str | None]:
    """(records, hasNextPage, cursor) from a list answer."""
    where = f"GET {RESOURCES[kind]}"
    if not isinstance(body, dict):
        raise ResponseFormatError(
            f"{where}: expected {{hasNextPage, cursor, data}}, got a JSON {type(body).__name__}"
        )
    raw = body.get("data", [])
    if not isinstance(raw, list):
        raise ResponseFormatError(f"{where}: expected a list in data, got {type(raw).__name__}")
    more = body.get("hasNextPage", False)
    if not isinstance(more, bool):
        raise ResponseFormatError(f"{where}: expected hasNextPage true or false, got {more!r}")
    cursor = body.get("cursor")
    records = [entry if isinstance(entry, dict) else {"_malformed_entry": entry} for entry in raw]
    return records, more, cursor if isinstance(cursor, str) and cursor else None


def build_client(
    base_url: str,
    *,
    client_id: str,
    client_secret: str,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    **options: Any,
) -> PartsLedgerClient:
    """A client for the composition root, authenticated with client credentials.

    `base_url` is the API root, e.g. ``http://127.0.0.1:8765/partsledger/api``. `options` go to
    `PartsLedgerClient` (max_attempts, sleep, rng, page_limit, ...). The returned client owns
    its httpx.Client: close it (or use it as a context manager).
    """
    if not client_id or not client_secret:
        raise ValueError("PartsLedger needs a client_id and a client_secret")
    root = base_url.rstrip("/")
    auth = PartsLedgerTokenAuth(f"{root}/{TOKEN_PATH}", client_id, client_secret, clock=clock)
    http = new_http(root, auth, timeout=timeout, transport=transport, user_agent=USER_AGENT)
    return PartsLedgerClient(http, owns_http=True, clock=clock, **options)
