"""httpx.Auth for OAuth2 client credentials, shared by the ServiceTrade and PartsLedger adapters.

The token is renewed before it expires and after a 401 (the request is then retried once). When
the token request itself is refused, the flow stops and hands that response to the client, which
translates its status; a 2xx answer without a usable token raises the adapter's auth error.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from adapters.http.errors import SourceApiError

#: Refresh this long before the access token's expiry (the SDKs use 5 minutes) ...
REFRESH_MARGIN = 300.0
#: ... but never more than this fraction of the token's lifetime (short-lived tokens).
REFRESH_MARGIN_FRACTION = 0.1
DEFAULT_TOKEN_LIFETIME = 3600.0


def json_body(response: httpx.Response, error: Callable[..., Exception]) -> dict[str, Any]:
    """An auth answer's JSON object; ``error`` (an adapter's AuthError) when it is not one."""
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise error(
            f"{response.request.method} {response.request.url}: expected a JSON body, got "
            f"{response.content[:80]!r}",
            status_code=response.status_code,
        ) from exc
    if not isinstance(body, dict):
        raise error(
            f"{response.request.url}: expected a JSON object, got {type(body).__name__}",
            status_code=response.status_code,
        )
    return body


@dataclass(frozen=True)
class _Token:
    access: str
    refresh: str | None
    expires_at: float
    lifetime: float


def _jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT-shaped token, read without verifying (we are its bearer)."""
    parts = token.split(".")
    if len(parts) < 2:
        return None
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


class ClientCredentials(httpx.Auth):
    """OAuth2 client credentials with refresh-token rotation, as ServiceTrade's SDKs do it
    (PartsLedger's token endpoint is served by the same flow).

    The access token is refreshed shortly before its `exp` (5 minutes, or a tenth of its
    lifetime when that is shorter) and after a 401; a refused refresh falls back to a fresh
    client-credentials grant. The request is retried once. Tokens that are not JWTs expire after
    `expires_in`; a server without refresh tokens gets a new grant each time. `auth_error` is
    the error class for an unusable token answer (default: the class's `default_auth_error`).
    """

    requires_response_body = True
    #: The error class for an unusable token answer when no `auth_error` is given.
    default_auth_error: ClassVar[Callable[..., Exception]] = SourceApiError

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        refresh_margin: float = REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
        auth_error: Callable[..., Exception] | None = None,
    ) -> None:
        self.token_url = token_url
        self._auth_error = auth_error if auth_error is not None else self.default_auth_error
        self._client_id = client_id
        self._client_secret = client_secret
        self._margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _Token | None = None

    @property
    def access_token(self) -> str | None:
        token = self._token
        return None if token is None else token.access

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            token = self._token
        if token is None or self._expiring(token):
            token = yield from self._renew(token)
            if token is None:
                return
        request.headers["Authorization"] = f"Bearer {token.access}"
        response = yield request
        if response.status_code != 401:
            return
        token = yield from self._renew(token)
        if token is None:
            return
        request.headers["Authorization"] = f"Bearer {token.access}"
        yield request

    def _expiring(self, token: _Token) -> bool:
        margin = min(self._margin, token.lifetime * REFRESH_MARGIN_FRACTION)
        return self._clock() >= token.expires_at - margin

    def _renew(
        self, current: _Token | None
    ) -> Generator[httpx.Request, httpx.Response, _Token | None]:
        """Refresh if we hold a refresh token, else (or if refused) a client-credentials grant."""
        if current is not None and current.refresh:
            response = yield self._token_request(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": current.refresh,
                    "client_id": self._client_id,
                }
            )
            if response.is_success:
                return self._accept(response)
        response = yield self._token_request(
            {
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            }
        )
        if not response.is_success:
            with self._lock:
                self._token = None
            return None  # the client translates the refused grant's status
        return self._accept(response)

    def _token_request(self, form: dict[str, str]) -> httpx.Request:
        return httpx.Request(
            "POST", self.token_url, data=form, headers={"Accept": "application/json"}
        )

    def _accept(self, response: httpx.Response) -> _Token:
        body = json_body(response, self._auth_error)
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise self._auth_error(
                f"POST {self.token_url}: expected an access_token in the token answer, got "
                f"keys {sorted(body)}",
                status_code=response.status_code,
            )
        now = self._clock()
        expires_in = body.get("expires_in")
        expires_at = _jwt_expiry(access)
        if expires_at is None:
            seconds = (
                float(expires_in)
                if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
                else DEFAULT_TOKEN_LIFETIME
            )
            expires_at = now + seconds
        refresh = body.get("refresh_token")
        token = _Token(
            access=access,
            refresh=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=expires_at,
            lifetime=max(0.0, expires_at - now),
        )
        with self._lock:
            self._token = token
        return token
