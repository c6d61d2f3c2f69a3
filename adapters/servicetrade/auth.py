"""httpx.Auth for ServiceTrade: legacy session login, and OAuth2 client credentials (the flow
shared with PartsLedger, `adapters/http/oauth2.py`).

Both re-authenticate and retry once on 401. When a login or token request itself is refused,
the flow stops and hands that response to the client, which translates its status (so a 429 or
503 from the auth endpoint is retried like any other). A 2xx auth answer without a usable token
raises `AuthError` here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import ClassVar

import httpx

from adapters.http.oauth2 import ClientCredentials, json_body
from adapters.servicetrade.errors import AuthError

SESSION_COOKIE = "PHPSESSID"


class SessionAuth(httpx.Auth):
    """POST /auth with username and password; send the session as the PHPSESSID cookie.

    ServiceTrade keeps a few sessions per user and silently evicts the oldest, so a 401 leads to
    one fresh login and one retry of the request.
    """

    requires_response_body = True

    def __init__(self, auth_url: str, username: str, password: str) -> None:
        self.auth_url = auth_url
        self._username = username
        self._password = password
        self._lock = threading.Lock()
        self._token: str | None = None

    @property
    def token(self) -> str | None:
        return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            token = self._token
        if token is None:
            login = yield self._login_request()
            token = self._accept_login(login)
            if token is None:
                return  # the client translates the refused login's status
        self._apply(request, token)
        response = yield request
        if response.status_code != 401:
            return
        with self._lock:
            if self._token == token:
                self._token = None
        login = yield self._login_request()
        token = self._accept_login(login)
        if token is None:
            return
        self._apply(request, token)
        yield request

    def _login_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.auth_url,
            json={"username": self._username, "password": self._password},
            headers={"Accept": "application/json"},
        )

    def _accept_login(self, response: httpx.Response) -> str | None:
        if not response.is_success:
            return None
        body = json_body(response, AuthError)
        data = body.get("data")
        token = data.get("authToken") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            token = response.cookies.get(SESSION_COOKIE)
        if not token:
            raise AuthError(
                f"POST {self.auth_url}: expected data.authToken or a {SESSION_COOKIE} cookie in "
                f"the login answer, got neither",
                status_code=response.status_code,
            )
        with self._lock:
            self._token = token
        return token

    @staticmethod
    def _apply(request: httpx.Request, token: str) -> None:
        request.headers["Cookie"] = f"{SESSION_COOKIE}={token}"

    def logout_request(self) -> httpx.Request | None:
        """DELETE /auth for the current session (and forget it); None when not logged in."""
        with self._lock:
            token, self._token = self._token, None
        if token is None:
            return None
        request = httpx.Request("DELETE", self.auth_url, headers={"Accept": "application/json"})
        self._apply(request, token)
        return request


class OAuth2ClientCredentials(ClientCredentials):
    """ServiceTrade's OAuth2 client credentials; an unusable token answer raises its
    `AuthError`."""

    default_auth_error: ClassVar[Callable[..., Exception]] = AuthError
