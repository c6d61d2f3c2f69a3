"""The simulator's defaults: its seed, first day, time zone and the credentials it accepts."""

from __future__ import annotations

from datetime import date

DEFAULT_SEED = 7
DEFAULT_START = date(2026, 10, 1)
#: The simulated account's time zone (ServiceTrade reports dates in the account's zone).
TIMEZONE = "America/New_York"
DEFAULT_USERNAME = "recon"
DEFAULT_PASSWORD = "recon-sim"
DEFAULT_CLIENT_ID = "recon"
DEFAULT_CLIENT_SECRET = "recon-sim-secret"
#: PartsLedger's API client credentials (its own, traded for a bearer token).
DEFAULT_PL_CLIENT_ID = "recon-partsledger"
DEFAULT_PL_CLIENT_SECRET = "recon-pl-secret"
DEFAULT_TOKEN_TTL = 3600
