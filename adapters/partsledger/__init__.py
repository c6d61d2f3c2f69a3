"""PartsLedger adapter: cursor-paging HTTP client, tolerant payload reader, source feed."""

from adapters.partsledger.auth import PartsLedgerTokenAuth
from adapters.partsledger.client import PAGE_LIMIT, RESOURCES, PartsLedgerClient, build_client
from adapters.partsledger.errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    PartsLedgerError,
    PartsLedgerTransportError,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
)
from adapters.partsledger.feed import KINDS, PartsLedgerFeed
from adapters.partsledger.reader import read_record, source_id_of, updated_of

__all__ = [
    "KINDS",
    "PAGE_LIMIT",
    "RESOURCES",
    "AuthError",
    "BadRequestError",
    "NotFoundError",
    "PartsLedgerClient",
    "PartsLedgerError",
    "PartsLedgerFeed",
    "PartsLedgerTokenAuth",
    "PartsLedgerTransportError",
    "RateLimitedError",
    "ResponseFormatError",
    "ServerError",
    "build_client",
    "read_record",
    "source_id_of",
    "updated_of",
]
