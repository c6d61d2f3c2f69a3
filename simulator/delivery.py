"""Webhook delivery (reference §7.3): batching, three attempts, and seeded delivery faults.

`Outbox` is the sans-I/O core (it is given the time and the answers); `WebhookHub` is the
shell: one dispatcher thread, and a short-lived thread per HTTP attempt, so a slow or dead
receiver never holds up the API, the world, or another webhook.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from simulator import jsonio
from simulator.model import Webhook
from simulator.webhooks import EntityEvent

USER_AGENT = "ServiceTrade-Simulator-Webhooks/1"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How messages are made and sent. The defaults are ServiceTrade's rules; tests shorten
    the times."""

    timeout: float = 5.0  # seconds a receiver has to answer
    attempts: int = 3  # then the message is discarded
    retry_waits: tuple[float, ...] = (0.5, 1.0)  # before the 2nd and 3rd attempt
    batch_window: float = 0.2  # events gathered this long (from the first) into one message
    batch_size: int = 100  # at most this many events in one message
    hold_seconds: float = 1.0  # the longest a reordered message waits for a later one


# --- fault knobs ------------------------------------------------------------------------------

#: Knobs that are probabilities: per message (loss, duplicate, reorder) or per attempt (fail).
PROBABILITY_KNOBS = ("loss", "duplicate", "reorder", "fail")
MAX_DELAY_SECONDS = Decimal(60)


class KnobError(ValueError):
    """Knob settings the control API refuses (400)."""


@dataclass(frozen=True)
class Knobs:
    """Delivery faults, all off by default. Durations and shares, not money; Decimal so they
    are written to JSON exactly as given."""

    loss: Decimal = Decimal(0)  # a message silently never sent
    duplicate: Decimal = Decimal(0)  # a message sent twice
    reorder: Decimal = Decimal(0)  # a message held back and sent after a later one
    delay_seconds: Decimal = Decimal(0)  # every message waits this long before its first try
    fail: Decimal = Decimal(0)  # an attempt that never reaches the hook, answered fail_status
    fail_status: int = 503

    def describe(self) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "duplicate": self.duplicate,
            "reorder": self.reorder,
            "delaySeconds": self.delay_seconds,
            "fail": self.fail,
            "failStatus": self.fail_status,
        }


def parse_knobs(current: Knobs, body: Mapping[str, Any]) -> Knobs:
    """`current` with the knobs of `body` (wire names) changed; the rest stay as they are."""
    names = (*PROBABILITY_KNOBS, "delaySeconds", "failStatus")
    unknown = sorted(set(body) - set(names))
    if unknown:
        raise KnobError(f"unknown webhook knobs {unknown}; expected any of {list(names)}")
    changes: dict[str, Any] = {}
    for name in PROBABILITY_KNOBS:
        if name in body:
            changes[name] = _number(body[name], name, Decimal(1))
    if "delaySeconds" in body:
        changes["delay_seconds"] = _number(body["delaySeconds"], "delaySeconds", MAX_DELAY_SECONDS)
    if "failStatus" in body:
        status = body["failStatus"]
        if not isinstance(status, int) or isinstance(status, bool) or not 500 <= status <= 599:
            raise KnobError(f"failStatus must be a 5xx status (retried), got {status!r}")
        changes["fail_status"] = status
    return replace(current, **changes)


def _number(value: Any, name: str, maximum: Decimal) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise KnobError(f"{name} must be a number from 0 to {maximum}, got {value!r}")
    try:
        number = Decimal(str(value))  # a float from the Python API, by its shortest repr
    except InvalidOperation as exc:
        raise KnobError(f"{name} must be a number from 0 to {maximum}, got {value!r}") from exc
    if not number.is_finite() or not 0 <= number <= maximum:
        raise KnobError(f"{name} must be a number from 0 to {maximum}, got {value!r}")
    return number


# --- the sans-I/O core ------------------------------------------------------------------------


@dataclass
class Delivery:
    """One message on its way to one webhook (a duplicate is a second Delivery)."""

    webhook_id: int
    url: str
    message_id: str
    body: bytes
    events: int
    generation: int
    attempts: int = 0


@dataclass
class _Batch:
    url: str
    opened: float  # when its first event came (real time)
    clock: int  # the world's clock at its last event
    entries: list[dict[str, Any]] = field(default_factory=list)


STAT_NAMES = ("events", "messages", "sent", "delivered", "failed", "retried", "discarded",
              "lost", "duplicated", "reordered")  # fmt: skip


class Outbox:
    """Messages waiting for their webhooks: per webhook, one attempt in flight at a time.

    Times are real seconds (any monotonic clock), given by the caller. Fault draws come from a
    generator of their own seeded from the world's seed, so they never disturb the world.
    """

    def __init__(self, seed: int, policy: DeliveryPolicy) -> None:
        self.policy = policy
        self._seed = seed
        self.generation = 0
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """Drop every message, the knobs and the stats (answers still on their way are then
        ignored); with `seed`, the fault draws follow that seed from now on."""
        if seed is not None:
            self._seed = seed
        self.generation += 1
        self.knobs = Knobs()
        self.stats: Counter[str] = Counter()
        self._rng = random.Random(f"{self._seed}:webhooks")
        self._batches: dict[int, _Batch] = {}
        self._queue: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._held: dict[int, tuple[float, Delivery]] = {}
        self._busy: set[int] = set()
        self._gone: set[int] = set()

    # --- in ------------------------------------------------------------------------------

    def add(
        self, webhook_id: int, url: str, entries: list[dict[str, Any]], clock: int, now: float
    ) -> None:
        """Events for one webhook; they wait for the batch window, or go at a full batch."""
        batch = self._batches.get(webhook_id)
        if batch is None:
            batch = self._batches[webhook_id] = _Batch(url, now, clock)
        batch.entries.extend(entries)
        batch.clock = clock
        size = self.policy.batch_size
        while len(batch.entries) >= size:
            self._enqueue(webhook_id, batch, batch.entries[:size], now)
            del batch.entries[:size]
            batch.opened = now
        if not batch.entries:
            del self._batches[webhook_id]

    def flush(self, now: float, *, force: bool = False) -> None:
        """Turn batches whose window has passed (all of them with `force`) into messages."""
        for webhook_id, batch in list(self._batches.items()):
            if force or now >= batch.opened + self.policy.batch_window:
                del self._batches[webhook_id]
                self._enqueue(webhook_id, batch, batch.entries, now)

    def forget(self, webhook_id: int) -> None:
        """A deleted webhook: nothing more is sent to it."""
        self._gone.add(webhook_id)
        self._batches.pop(webhook_id, None)
        dropped = int(self._held.pop(webhook_id, None) is not None)
        kept = [entry for entry in self._queue if entry[2].webhook_id != webhook_id]
        dropped += len(self._queue) - len(kept)
        self._queue = kept
        heapq.heapify(self._queue)
        self.stats["discarded"] += dropped

    def _enqueue(
        self, webhook_id: int, batch: _Batch, entries: list[dict[str, Any]], now: float
    ) -> None:
        message_id = str(uuid.uuid4())
        message = {"messageId": message_id, "timestamp": str(batch.clock), "data": entries}
        delivery = Delivery(
            webhook_id,
            batch.url,
            message_id,
            jsonio.dumps(message).encode(),
            len(entries),
            self.generation,
        )
        self.stats["messages"] += 1
        lose, twice, hold = self._rng.random(), self._rng.random(), self._rng.random()
        knobs = self.knobs
        if lose < float(knobs.loss):
            self.stats["lost"] += 1
            return
        due = now + float(knobs.delay_seconds)
        if hold < float(knobs.reorder) and webhook_id not in self._held:
            self._held[webhook_id] = (due + self.policy.hold_seconds, delivery)
            self.stats["reordered"] += 1
        else:
            self._push(due, delivery)
        if twice < float(knobs.duplicate):
            self._push(due, replace(delivery))
            self.stats["duplicated"] += 1

    def _push(self, due: float, delivery: Delivery) -> None:
        heapq.heappush(self._queue, (due, next(self._order), delivery))

    # --- out -----------------------------------------------------------------------------

    def ready(self, now: float) -> list[Delivery]:
        """Deliveries to attempt now (at most one per webhook, none for a webhook with one in
        flight); their webhooks count as busy until `finished`."""
        for webhook_id, (release, delivery) in list(self._held.items()):
            if release <= now:
                del self._held[webhook_id]
                self._push(now, delivery)
        chosen: list[Delivery] = []
        waiting: list[tuple[float, int, Delivery]] = []
        while self._queue and self._queue[0][0] <= now:
            entry = heapq.heappop(self._queue)
            delivery = entry[2]
            if delivery.webhook_id in self._busy:
                waiting.append(entry)
                continue
            self._busy.add(delivery.webhook_id)
            chosen.append(delivery)
        for entry in waiting:
            heapq.heappush(self._queue, entry)
        return chosen

    def injected_failure(self) -> int | None:
        """The status an attempt is answered with without being sent (the `fail` knob)."""
        if self._rng.random() < float(self.knobs.fail):
            return self.knobs.fail_status
        return None

    def finished(self, delivery: Delivery, status: int | None, now: float, *, sent: bool) -> None:
        """An attempt's outcome: the status answered, or None (timeout, connection error).
        200-499 is delivered; anything else is tried again until the attempts run out."""
        if delivery.generation != self.generation:
            return
        self._busy.discard(delivery.webhook_id)
        delivery.attempts += 1
        if sent:
            self.stats["sent"] += 1
        if status is not None and 200 <= status <= 499:
            self.stats["delivered"] += 1
        else:
            self.stats["failed"] += 1
            if delivery.webhook_id in self._gone:
                self.stats["discarded"] += 1
            elif delivery.attempts < self.policy.attempts:
                waits = self.policy.retry_waits
                wait = waits[min(delivery.attempts, len(waits)) - 1] if waits else 0.0
                self._push(now + wait, delivery)
                self.stats["retried"] += 1
            else:
                self.stats["discarded"] += 1
        held = self._held.get(delivery.webhook_id)
        if held is not None and delivery.attempts == 1:  # the later one went: now the held one
            del self._held[delivery.webhook_id]
            self._push(now, held[1])

    # --- waiting -------------------------------------------------------------------------

    def wakeup(self) -> float | None:
        """When something is next due (None: nothing waits, or only on answers in flight)."""
        moments = [batch.opened + self.policy.batch_window for batch in self._batches.values()]
        moments += [release for release, _ in self._held.values()]
        moments += [due for due, _, d in self._queue if d.webhook_id not in self._busy]
        return min(moments, default=None)

    def pending(self) -> int:
        """Messages (and open batches) not yet delivered, discarded or lost."""
        return len(self._batches) + len(self._queue) + len(self._held) + len(self._busy)

    def describe(self) -> dict[str, Any]:
        return {
            "knobs": self.knobs.describe(),
            "stats": {**{name: self.stats[name] for name in STAT_NAMES}, "pending": self.pending()},
        }


# --- the shell --------------------------------------------------------------------------------

#: POST a JSON body with a timeout; the status answered (raises on timeouts and I/O errors).
Post = Callable[[str, bytes, float], int]


def post_json(url: str, body: bytes, timeout: float) -> int:
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "POST",
            target,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


class WebhookHub:
    """Routes entity events to the webhooks that want them and delivers the messages."""

    def __init__(
        self,
        seed: int,
        policy: DeliveryPolicy | None = None,
        *,
        post: Post = post_json,
        base_uri: str = "http://127.0.0.1/api",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_uri = base_uri
        self._outbox = Outbox(seed, policy or DeliveryPolicy())
        self._post = post
        self._clock = clock
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def policy(self) -> DeliveryPolicy:
        return self._outbox.policy

    def route(self, webhooks: Iterable[Webhook], events: list[EntityEvent], clock: int) -> None:
        """Queue `events` (of one scan, oldest first) for every enabled webhook that wants
        them; `clock` is the world's now (the messages' timestamp)."""
        with self._changed:
            self._outbox.stats["events"] += len(events)
            now = self._clock()
            added = False
            for webhook in webhooks:
                entries = [
                    event.payload(self.base_uri, include_changeset=webhook.include_changesets)
                    for event in events
                    if webhook.wants(event.kind, event.action)
                ]
                if entries:
                    self._outbox.add(webhook.id, webhook.hook_url, entries, clock, now)
                    added = True
            if added:
                self._start()
                self._changed.notify_all()

    def forget(self, webhook_id: int) -> None:
        with self._changed:
            self._outbox.forget(webhook_id)
            self._changed.notify_all()

    def set_knobs(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Change knobs (wire names; KnobError for a bad one); answers knobs and stats."""
        with self._changed:
            self._outbox.knobs = parse_knobs(self._outbox.knobs, body)
            return self._outbox.describe()

    def clear_knobs(self) -> dict[str, Any]:
        with self._changed:
            self._outbox.knobs = Knobs()
            return self._outbox.describe()

    def describe(self) -> dict[str, Any]:
        with self._changed:
            return self._outbox.describe()

    def stats(self) -> dict[str, int]:
        with self._changed:
            described: dict[str, int] = self._outbox.describe()["stats"]
            return described

    def flush(self) -> None:
        """Send what is batched now instead of at the end of its window."""
        with self._changed:
            self._outbox.flush(self._clock(), force=True)
            self._start()
            self._changed.notify_all()

    def wait(self, timeout: float) -> bool:
        """Flush, then wait until every message is delivered, discarded or lost; False when
        `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self._outbox.flush(self._clock(), force=True)
            self._start()
            self._changed.notify_all()
            while self._outbox.pending():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def reset(self, seed: int | None = None) -> None:
        with self._changed:
            self._outbox.reset(seed)
            self._changed.notify_all()

    def close(self) -> None:
        """Stop the dispatcher (attempts in flight finish on their own daemon threads)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def _start(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(
                target=self._dispatch, name="simulator-webhooks", daemon=True
            )
            self._thread.start()

    def _dispatch(self) -> None:
        with self._changed:
            while not self._closed:
                now = self._clock()
                self._outbox.flush(now)
                for delivery in self._outbox.ready(now):
                    threading.Thread(
                        target=self._attempt,
                        args=(delivery,),
                        name=f"simulator-webhook-{delivery.webhook_id}",
                        daemon=True,
                    ).start()
                wakeup = self._outbox.wakeup()
                self._changed.wait(None if wakeup is None else max(0.0, wakeup - self._clock()))

    def _attempt(self, delivery: Delivery) -> None:
        with self._changed:
            status = self._outbox.injected_failure()
            timeout = self._outbox.policy.timeout
        sent = status is None
        if sent:
            try:
                status = self._post(delivery.url, delivery.body, timeout)
            except Exception:  # any failure to get an answer is a failed attempt, retried
                status = None
        with self._changed:
            self._outbox.finished(delivery, status, self._clock(), sent=sent)
            self._changed.notify_all()
