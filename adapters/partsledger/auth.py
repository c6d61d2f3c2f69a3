"""httpx.Auth for PartsLedger: client credentials traded for a bearer token.

The reference says PartsLedger (SoftLedger-backed) trades a ServiceTrade session for an API
token; recon uses the simpler client-credentials exchange the simulator offers:
``POST <base>/auth/token`` (form-encoded ``grant_type=client_credentials``, ``client_id``,
``client_secret``) answering ``{access_token, token_type, expires_in}``. The token is renewed
shortly before it expires and after a 401 (the request is then retried once) — the same flow as
ServiceTrade's OAuth2 (``adapters.http.oauth2``), with PartsLedger's error for unusable answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from adapters.http.oauth2 import ClientCredentials
from adapters.partsledger.errors import AuthError

#: Path of the token endpoint under the API base URL.
TOKEN_PATH = "auth/token"


class PartsLedgerTokenAuth(ClientCredentials):
    """Bearer tokens from PartsLedger's token endpoint; renewed before expiry and on 401.

    Takes `ClientCredentials`' arguments (token_url, client_id, client_secret,
    refresh_margin, clock); an unusable token answer raises PartsLedger's `AuthError`.
    """

    default_auth_error: ClassVar[Callable[..., Exception]] = AuthError
