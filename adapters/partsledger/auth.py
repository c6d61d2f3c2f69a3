"""httpx.Auth for PartsLedger: client credentials traded for a bearer token.

The reference says PartsLedger (SoftLedger-backed) trades a ServiceTrade session for an API
token; recon uses the simpler client-credentials exchange the simulator offers:
``POST <base>/auth/token`` (form-encoded ``grant_type=client_credentials``, ``client_id``,
``client_secret``) answering ``{access_token, token_type, expires_in}``. The token is renewed
shortly before it expires and after a 401 (the request is then retried once) — the same flow as
ServiceTrade's OAuth2, so it is that class, with PartsLedger's error for unusable answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from adapters.partsledger.errors import AuthError
from adapters.servicetrade.auth import REFRESH_MARGIN, OAuth2ClientCredentials

#: Path of the token endpoint under the API base URL.
TOKEN_PATH = "auth/token"


class PartsLedgerTokenAuth(OAuth2ClientCredentials):
    """Bearer tokens from PartsLedger's token endpoint; renewed before expiry and on 401."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        refresh_margin: float = REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            token_url,
            client_id,
            client_secret,
            refresh_margin=refresh_margin,
            clock=clock,
            auth_error=AuthError,
        )
