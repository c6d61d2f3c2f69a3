"""ServiceTrade HTTP client: paging, reads and invoice write-back over an injected httpx.Client.

All failures leave as `adapters.servicetrade.errors` exceptions. Transient ones (429, 5xx,
timeouts, dropped connections) are retried with exponential backoff and jitter, honouring
`Retry-After`, up to `max_attempts` calls in all. A POST is only retried when the server
cannot have acted on it (429, 503, connection never made).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from adapters.http.client import DEFAULT_TIMEOUT, HttpSourceClient, new_http, parse_json
from adapters.http.errors import ErrorKinds
from adapters.servicetrade.auth import OAuth2ClientCredentials, SessionAuth
from adapters.servicetrade.errors import (
    SERVICETRADE_ERRORS,
    BadRequestError,
    NotFoundError,
    ResponseFormatError,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from adapters.http.client import ClientOptions

#: Entity kinds the adapter reads, with the key of their list in `data`.
LIST_KEYS = {
    "company": "companies",
    "location": "locations",
    "user": "users",
    "job": "jobs",
    "invoice": "invoices",
    "jobitem": "jobItems",
    "clockevent": "events",
}
#: URL path of a kind where it is not the kind's name.
RESOURCE_PATHS = {"clockevent": "clock"}
#: Page size asked for per kind: the documented maxima for job, invoice and location; the others
#: are undocumented (1000 is our guess; paging stays correct if the server clamps it).
PAGE_LIMITS = {"job": 2000, "invoice": 2000, "location": 5000, "company": 1000, "user": 1000,
               "jobitem": 1000, "clockevent": 1000}  # fmt: skip
#: Entity type integers for comments. Invoice's real number is not public; 30 is the simulator's.
COMMENT_ENTITY_TYPES = {"job": 3, "user": 4, "company": 5, "location": 11, "invoice": 30}
#: Entity type integers for webhook subscriptions (reference §8): job, user, company and
#: location are ServiceTrade's; jobitem 23 is one client's; invoice and clockevent have no
#: public number, so they are the simulator's (30, 31) until ServiceTrade's are known.
WEBHOOK_ENTITY_TYPES = {**COMMENT_ENTITY_TYPES, "jobitem": 23, "clockevent": 31}
WEBHOOK_ACTIONS = ("created", "updated", "deleted")
#: Job statuses fetched in separate passes: `status=all` omits canceled jobs.
JOB_STATUS_PASSES = ("all", "canceled")

USER_AGENT = "recon/0.1 (+servicetrade adapter)"


class ServiceTradeClient(HttpSourceClient):
    """The ServiceTrade API as recon uses it. Thread-compatible, not thread-safe.

    `options` are `adapters.http.client.ClientOptions`: max_attempts, backoff_base, backoff_cap,
    max_retry_wait, sleep, rng (the retry policy), clock, owns_http.
    """

    errors: ClassVar[ErrorKinds[Any]] = SERVICETRADE_ERRORS

    def __init__(
        self,
        http: httpx.Client,
        *,
        page_limits: Mapping[str, int] | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(http, **options)
        self._page_limits = {**PAGE_LIMITS, **(page_limits or {})}

    # --- reads ----------------------------------------------------------------------------

    def iter_pages(
        self, kind: str, updated_after: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every record of `kind` updated at or after `updated_after` (unix s), page by page.

        Jobs come in two passes (`status=all`, then `status=canceled`). A record changed while
        paging may appear twice; the caller de-duplicates. A list entry that is not a JSON
        object is passed on as ``{"_malformed_entry": entry}`` so the reader can reject it.
        """
        key = _list_key(kind)
        path = RESOURCE_PATHS.get(kind, kind)
        limit = self._page_limits[kind]
        passes: tuple[dict[str, Any], ...] = (
            tuple({"status": status} for status in JOB_STATUS_PASSES) if kind == "job" else ({},)
        )
        for extra in passes:
            page = 1
            while True:
                params: dict[str, Any] = {**extra, "page": page, "limit": limit}
                if updated_after is not None:
                    params["updatedAfter"] = updated_after
                data = self._call("GET", path, params=params)
                records, total_pages = _page(kind, key, data, page)
                if records:
                    yield records
                if total_pages is None:
                    if len(records) < limit:  # no totalPages: a short page is the last
                        break
                elif page >= total_pages:
                    break
                page += 1

    def get(self, kind: str, record_id: str | int) -> dict[str, Any]:
        """One record's raw wire object."""
        _list_key(kind)
        data = self._call("GET", f"{RESOURCE_PATHS.get(kind, kind)}/{record_id}")
        if not isinstance(data, dict):
            raise ResponseFormatError(
                f"GET {kind}/{record_id}: expected an object in data, got {type(data).__name__}"
            )
        return data

    def fetch(self, kind: str, record_id: str | int) -> dict[str, Any] | None:
        """One record's raw wire object, or None when ServiceTrade no longer has it (404)."""
        try:
            return self.get(kind, record_id)
        except NotFoundError:
            return None

    # --- webhooks (reference §7.1) --------------------------------------------------------

    def webhooks(self) -> list[dict[str, Any]]:
        """The account's webhook registrations."""
        data = self._call("GET", "webhook")
        hooks = data.get("webhooks") if isinstance(data, dict) else None
        if not isinstance(hooks, list):
            raise ResponseFormatError("GET webhook: expected a list in data.webhooks")
        return [hook for hook in hooks if isinstance(hook, dict)]

    def create_webhook(self, hook_url: str, kinds: Sequence[str]) -> dict[str, Any]:
        """Register ``hook_url`` for every action on ``kinds``; returns the registration."""
        body = {
            "hookUrl": hook_url,
            "enabled": True,
            "includeChangesets": False,
            "entityEvents": [
                {"entityType": WEBHOOK_ENTITY_TYPES[kind], "actions": list(WEBHOOK_ACTIONS)}
                for kind in kinds
            ],
        }
        data = self._call("POST", "webhook", json_body=body)
        if not isinstance(data, dict):
            raise ResponseFormatError("POST webhook: expected the webhook in data")
        return data

    def delete_webhook(self, webhook_id: str | int) -> None:
        """Remove a registration; one already gone is no error."""
        with suppress(NotFoundError):
            self._call("DELETE", f"webhook/{webhook_id}")

    # --- writes ---------------------------------------------------------------------------

    def set_invoice_status(
        self, invoice_id: str | int, status: str, comment: str | None = None
    ) -> dict[str, Any]:
        """Mark an invoice `processed` or `failed` (with a comment saying why); returns it.

        Idempotent: when the invoice already has `status` (an earlier attempt's answer was
        lost), the server's 400 is accepted and the comment is added only if not there yet.
        """
        try:
            data = self._call("PUT", f"invoice/{invoice_id}", json_body={"status": status})
        except BadRequestError:
            current = self.get("invoice", invoice_id)
            if current.get("status") != status:
                raise
            if comment and not self._has_comment("invoice", invoice_id, comment):
                self.add_comment("invoice", invoice_id, comment)
            return current
        if comment:
            self.add_comment("invoice", invoice_id, comment)
        if not isinstance(data, dict):
            raise ResponseFormatError(
                f"PUT invoice/{invoice_id}: expected the invoice in data, got {type(data).__name__}"
            )
        return data

    def add_comment(self, kind: str, record_id: str | int, content: str) -> dict[str, Any]:
        """POST /comment on a record; returns the comment."""
        body = {
            "entityType": _entity_type(kind),
            "entityId": _wire_id(record_id),
            "content": content,
        }
        data = self._call("POST", "comment", json_body=body)
        return data if isinstance(data, dict) else {}

    def comments(self, kind: str, record_id: str | int) -> list[dict[str, Any]]:
        """The comments on a record (every page)."""
        params = {"entityType": _entity_type(kind), "entityId": _wire_id(record_id)}
        result: list[dict[str, Any]] = []
        page = 1
        while True:
            data = self._call("GET", "comment", params={**params, "page": page})
            records, total_pages = _page("comment", "comments", data, page)
            result.extend(records)
            if total_pages is None or page >= total_pages:
                return result
            page += 1

    def _has_comment(self, kind: str, record_id: str | int, content: str) -> bool:
        return any(entry.get("content") == content for entry in self.comments(kind, record_id))

    # --- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """End a session login (DELETE /auth, best effort) and close an owned httpx.Client."""
        try:
            auth = self._http.auth
            if isinstance(auth, SessionAuth):
                request = auth.logout_request()
                if request is not None:
                    # Best effort: an orphaned session is evicted by ServiceTrade anyway.
                    with suppress(httpx.HTTPError):
                        self._http.send(request, auth=None).close()
        finally:
            super().close()

    # --- transport ------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> Any:
        """One API call with retries; returns the envelope's `data`."""
        return self._request(method, path, _data, params=params, json_body=json_body)


def _list_key(kind: str) -> str:
    try:
        return LIST_KEYS[kind]
    except KeyError:
        raise ValueError(
            f"unknown ServiceTrade kind {kind!r}; expected one of {sorted(LIST_KEYS)}"
        ) from None


def _entity_type(kind: str) -> int:
    try:
        return COMMENT_ENTITY_TYPES[kind]
    except KeyError:
        raise ValueError(
            f"cannot comment on {kind!r}; expected one of {sorted(COMMENT_ENTITY_TYPES)}"
        ) from None


def _wire_id(record_id: str | int) -> int | str:
    text = str(record_id)
    return int(text) if text.isascii() and text.isdigit() else text


def _data(response: httpx.Response) -> Any:
    request = response.request
    if not response.content:
        return None
    body = parse_json(response, ResponseFormatError)
    if not isinstance(body, dict):
        raise ResponseFormatError(
            f"{request.method} {request.url}: expected the {{data, messages}} envelope, got "
            f"a JSON {type(body).__name__}",
            status_code=response.status_code,
        )
    return body.get("data")


def _page(kind: str, key: str, data: Any, page: int) -> tuple[list[dict[str, Any]], int | None]:
    """(records, totalPages or None) from a list answer's `data`."""
    if not isinstance(data, dict):
        raise ResponseFormatError(
            f"GET {kind} page {page}: expected an object with {key!r} in data, got "
            f"{type(data).__name__}"
        )
    raw = data.get(key, [])
    if not isinstance(raw, list):
        raise ResponseFormatError(
            f"GET {kind} page {page}: expected a list in data.{key}, got {type(raw).__name__}"
        )
    records = [entry if isinstance(entry, dict) else {"_malformed_entry": entry} for entry in raw]
    total = data.get("totalPages")
    total_pages = total if isinstance(total, int) and not isinstance(total, bool) else None
    return records, total_pages


def build_client(
    base_url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
    **options: Any,
) -> ServiceTradeClient:
    """A client for the composition root: session auth (username/password) or OAuth2.

    `base_url` is the API root, e.g. ``https://api.servicetrade.com/api``. `options` go to
    `ServiceTradeClient` (max_attempts, sleep, rng, page_limits, ...). The returned client owns
    its httpx.Client: close it (or use it as a context manager).
    """
    root = base_url.rstrip("/")
    auth: httpx.Auth
    if username is not None and password is not None and client_id is None:
        auth = SessionAuth(f"{root}/auth", username, password)
    elif client_id is not None and client_secret is not None and username is None:
        auth = OAuth2ClientCredentials(f"{root}/oauth2/token", client_id, client_secret)
    else:
        raise ValueError(
            "expected either username and password (session login) or client_id and "
            "client_secret (OAuth2), not both and not neither"
        )
    http = new_http(root, auth, timeout=timeout, transport=transport, user_agent=USER_AGENT)
    return ServiceTradeClient(http, owns_http=True, **options)
