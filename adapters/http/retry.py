"""Retries with exponential backoff and equal jitter, honouring a server's Retry-After.

Shared by the ServiceTrade and PartsLedger clients: each translates its own failures into its
own errors and says which are worth another try; this module only decides how long to wait and
when to give up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypedDict, TypeVar

T = TypeVar("T")


class RetryOptions(TypedDict, total=False):
    """`Backoff`'s keyword arguments, as the clients take them through."""

    max_attempts: int
    backoff_base: float
    backoff_cap: float
    max_retry_wait: float
    sleep: Callable[[float], None]
    rng: random.Random | None


class Retry(Exception):
    """Raised by an attempt to ask for another one; `error` is raised if none is left.

    `retry_after` is the server's advice in seconds (None: use backoff).
    """

    def __init__(self, error: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class Backoff:
    """Up to `max_attempts` attempts in all; waits ``base * 2**(n-1)`` (capped) with equal
    jitter, or the server's Retry-After; gives up when a wait would exceed `max_retry_wait`."""

    def __init__(
        self,
        *,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        max_retry_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()

    def run(self, attempt: Callable[[], T]) -> T:
        """Call `attempt` until it returns, raises anything but Retry, or the tries run out."""
        count = 0
        while True:
            count += 1
            try:
                return attempt()
            except Retry as retry:
                error = retry.error
                if count >= self.max_attempts:
                    raise error from error.__cause__
                delay = self.delay(count, retry.retry_after)
                if delay > self.max_retry_wait:
                    raise error from error.__cause__
            self._sleep(delay)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))
        return float(ceiling * (0.5 + 0.5 * self._rng.random()))  # equal jitter
