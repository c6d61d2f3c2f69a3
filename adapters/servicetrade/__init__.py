"""ServiceTrade adapter: HTTP client with retries and auth, plus the tolerant payload reader."""

from adapters.servicetrade.auth import OAuth2ClientCredentials, SessionAuth
from adapters.servicetrade.client import (
    COMMENT_ENTITY_TYPES,
    LIST_KEYS,
    PAGE_LIMITS,
    ServiceTradeClient,
    build_client,
)
from adapters.servicetrade.errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
    ServiceTradeError,
    ServiceTradeTransportError,
)
from adapters.servicetrade.reader import KINDS, read_record, source_id_of, updated_of

__all__ = [
    "COMMENT_ENTITY_TYPES",
    "KINDS",
    "LIST_KEYS",
    "PAGE_LIMITS",
    "AuthError",
    "BadRequestError",
    "NotFoundError",
    "OAuth2ClientCredentials",
    "RateLimitedError",
    "ResponseFormatError",
    "ServerError",
    "ServiceTradeClient",
    "ServiceTradeError",
    "ServiceTradeTransportError",
    "SessionAuth",
    "build_client",
    "read_record",
    "source_id_of",
    "updated_of",
]
