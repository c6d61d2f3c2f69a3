"""The simulator's mutable state: the world, sessions and tokens, queued faults, and the
webhooks' change tracker and outbox."""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from simulator.defaults import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_PL_CLIENT_ID,
    DEFAULT_PL_CLIENT_SECRET,
    DEFAULT_SEED,
    DEFAULT_START,
    DEFAULT_TOKEN_TTL,
    DEFAULT_USERNAME,
)
from simulator.delivery import DeliveryPolicy, WebhookHub
from simulator.model import World
from simulator.persist import load_world, save_world
from simulator.raw import RawRecords
from simulator.scenario import advance, advance_minutes, advance_to, generate
from simulator.webhooks import ChangeTracker

#: ServiceTrade keeps a few live sessions per user and silently drops the oldest.
SESSION_CAP = 5
REFRESH_TOKEN_TTL = 30 * 86_400

FAULT_KINDS = ("rate_limit", "server_error", "slow", "drop")
#: The APIs a fault can be aimed at; a fault without one hits the next request to either.
SYSTEMS = ("servicetrade", "partsledger")


@dataclass(frozen=True)
class SimConfig:
    """How a simulator instance is set up; `reset` rebuilds the world from this."""

    seed: int = DEFAULT_SEED
    start: date = DEFAULT_START
    scale: int = 1
    days: int | None = None  # None: to the end of the start month
    token_ttl: float = DEFAULT_TOKEN_TTL
    username: str = DEFAULT_USERNAME
    password: str = DEFAULT_PASSWORD
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    pl_client_id: str = DEFAULT_PL_CLIENT_ID
    pl_client_secret: str = DEFAULT_PL_CLIENT_SECRET
    #: When set and present, the world is loaded from this file instead of generated, and
    #: `SimState.save` writes it back (run_simulator and serve do so when they stop).
    state_file: Path | None = None
    #: Simulated minutes per real second when a clock thread runs the world live (0: no clock
    #: thread). A paced world also has live activity (mistakes entered and deleted again).
    pace: float = 0.0


@dataclass
class Fault:
    kind: str  # one of FAULT_KINDS
    remaining: int
    status: int = 503
    retry_after: str = "1"
    seconds: float = 0.0
    system: str | None = None  # servicetrade | partsledger | None (either)

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"kind": self.kind, "remaining": self.remaining}
        if self.system is not None:
            described["system"] = self.system
        return described


@dataclass
class AccessToken:
    client_id: str
    expires_at: float


@dataclass
class Sessions:
    """Session tokens per user (oldest first) plus OAuth2 access and refresh tokens."""

    by_user: dict[str, deque[str]] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, tuple[str, float]] = field(default_factory=dict)
    partsledger: dict[str, AccessToken] = field(default_factory=dict)


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SimState:
    """Everything one simulator serves, guarded by one lock (the server is threaded)."""

    def __init__(
        self,
        config: SimConfig,
        *,
        clock: Callable[[], float] = time.time,
        webhook_policy: DeliveryPolicy | None = None,
    ) -> None:
        self.config = config
        self.lock = threading.RLock()
        self._wall = clock  # auth token lifetimes are real seconds; data time is simulated
        self.world: World = self._generate()
        self.sessions = Sessions()
        self.faults: list[Fault] = []
        #: What happened on the auth side: logins, token grants by type, 401 answers.
        self.stats: Counter[str] = Counter()
        self.tracker = ChangeTracker(self.world)
        self.webhooks = WebhookHub(config.seed, webhook_policy)
        #: Why a paced world's clock thread stopped, if it did.
        self.pace_error: str | None = None
        #: Record text injected by tests, served as it came (see simulator/raw.py).
        self.raw = RawRecords()

    def count(self, event: str) -> None:
        with self.lock:
            self.stats[event] += 1

    def _generate(self, *, fresh: bool = False) -> World:
        path = self.config.state_file
        if path is not None and path.exists() and not fresh:
            world = load_world(path)
        else:
            world = generate(
                self.config.seed,
                start=self.config.start,
                scale=self.config.scale,
                days=self.config.days,
            )
        world.live = self.config.pace > 0
        return world

    def reset(self, config: SimConfig | None = None) -> None:
        """Regenerate the world from the seed (a state file is not read; `save` overwrites it)."""
        with self.lock:
            if config is not None:
                self.config = config
            self.world = self._generate(fresh=True)
            self.sessions = Sessions()
            self.faults = []
            self.stats = Counter()
            self.tracker.reset(self.world)
            self.webhooks.reset(self.config.seed)
            self.raw.clear()

    def save(self) -> Path | None:
        """Write the world to the configured state file; returns the path (None: no file).

        A day in progress is saved as it will be at its end (see `persist.world_to_data`)."""
        path = self.config.state_file
        if path is None:
            return None
        with self.lock:
            save_world(self.world, path)
        return path

    def close(self) -> None:
        """Stop delivering webhooks (the world and its state file stay as they are)."""
        self.webhooks.close()

    # --- time and changes -----------------------------------------------------------------

    def observe(self, actor: int | None = None) -> int:
        """Turn what changed in the world since the last look into webhook events (call it
        after anything that may change the world); returns how many. `actor`: the user an API
        write acts as."""
        with self.lock:
            events = self.tracker.scan(self.world, actor)
            if events:
                self.webhooks.route(self.world.webhooks.values(), events, self.world.clock)
            return len(events)

    def advance_days(self, days: int) -> dict[str, int]:
        with self.lock:
            counts = advance(self.world, days)
            self.observe()
            return counts

    def advance_minutes(self, minutes: int) -> dict[str, int]:
        with self.lock:
            counts = advance_minutes(self.world, minutes)
            self.observe()
            return counts

    def advance_seconds(self, seconds: int) -> dict[str, int]:
        """The pace thread's step."""
        with self.lock:
            counts = advance_to(self.world, self.world.clock + seconds)
            self.observe()
            return counts

    # --- session auth ---------------------------------------------------------------------

    def login(self, username: str, password: str) -> str | None:
        """A new session token, evicting the user's oldest beyond the cap; None if refused."""
        if username != self.config.username or not secrets.compare_digest(
            password, self.config.password
        ):
            return None
        token = secrets.token_hex(16)
        with self.lock:
            tokens = self.sessions.by_user.setdefault(username, deque())
            tokens.append(token)
            self.sessions.users[token] = username
            while len(tokens) > SESSION_CAP:
                self.sessions.users.pop(tokens.popleft(), None)
        return token

    def logout(self, token: str) -> bool:
        with self.lock:
            username = self.sessions.users.pop(token, None)
            if username is None:
                return False
            tokens = self.sessions.by_user.get(username)
            if tokens is not None and token in tokens:
                tokens.remove(token)
            return True

    def session_user(self, token: str) -> str | None:
        with self.lock:
            return self.sessions.users.get(token)

    # --- OAuth2 ---------------------------------------------------------------------------

    def client_ok(self, client_id: str, client_secret: str) -> bool:
        return client_id == self.config.client_id and secrets.compare_digest(
            client_secret, self.config.client_secret
        )

    def issue_tokens(self, client_id: str) -> dict[str, Any]:
        now = self._wall()
        expires_at = math.ceil(now + self.config.token_ttl)
        claims = {
            "iss": "servicetrade-simulator",
            "sub": str(self.world.api_user_id),
            "client_id": client_id,
            "iat": int(now),
            "exp": int(expires_at),
            "jti": secrets.token_hex(8),
        }
        access = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
        refresh = secrets.token_hex(24)
        with self.lock:
            self.sessions.access[access] = AccessToken(client_id, expires_at)
            self.sessions.refresh[refresh] = (client_id, now + REFRESH_TOKEN_TTL)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(expires_at - int(now)),
            "refresh_token": refresh,
        }

    def use_refresh_token(self, refresh_token: str, client_id: str | None) -> str | None:
        """Consume (rotate) a refresh token; its client id, or None when it is not valid."""
        with self.lock:
            entry = self.sessions.refresh.pop(refresh_token, None)
        if entry is None:
            return None
        owner, expires_at = entry
        if (client_id and client_id != owner) or self._wall() >= expires_at:
            return None
        return owner

    def revoke(self, token: str) -> None:
        with self.lock:
            self.sessions.refresh.pop(token, None)
            self.sessions.access.pop(token, None)

    def bearer_ok(self, token: str) -> bool:
        with self.lock:
            entry = self.sessions.access.get(token)
        return entry is not None and self._wall() < entry.expires_at

    # --- PartsLedger ----------------------------------------------------------------------

    def pl_client_ok(self, client_id: str, client_secret: str) -> bool:
        return client_id == self.config.pl_client_id and secrets.compare_digest(
            client_secret, self.config.pl_client_secret
        )

    def issue_pl_token(self, client_id: str) -> dict[str, Any]:
        """An opaque PartsLedger access token (no refresh token: ask again when it expires)."""
        now = self._wall()
        expires_at = math.ceil(now + self.config.token_ttl)
        token = "pl_" + secrets.token_hex(20)
        with self.lock:
            self.sessions.partsledger[token] = AccessToken(client_id, expires_at)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(expires_at - int(now)),
        }

    def pl_bearer_ok(self, token: str) -> bool:
        with self.lock:
            entry = self.sessions.partsledger.get(token)
        return entry is not None and self._wall() < entry.expires_at

    def expire_auth(self, *, sessions: bool, tokens: bool) -> dict[str, int]:
        """Drop live sessions and/or access tokens of both APIs (ServiceTrade refresh tokens
        survive), as an outage would."""
        with self.lock:
            dropped = {"sessions": 0, "tokens": 0}
            if sessions:
                dropped["sessions"] = len(self.sessions.users)
                self.sessions.users.clear()
                self.sessions.by_user.clear()
            if tokens:
                dropped["tokens"] = len(self.sessions.access) + len(self.sessions.partsledger)
                self.sessions.access.clear()
                self.sessions.partsledger.clear()
            return dropped

    # --- faults ---------------------------------------------------------------------------

    def queue_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, system: str = "servicetrade") -> Fault | None:
        """The fault the next request to `system` suffers, if any (first queued first)."""
        with self.lock:
            self.faults = [fault for fault in self.faults if fault.remaining > 0]
            for index, fault in enumerate(self.faults):
                if fault.system is None or fault.system == system:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.pop(index)
                    return fault
            return None
