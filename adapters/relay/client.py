"""The agent's side of the relay: a WebSocket kept open on a thread, for a synchronous caller."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from typing import Literal
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from adapters.relay.protocol import (
    BadFrame,
    Cursor,
    Gap,
    Notice,
    decode_relay_frame,
    encode_ack,
    encode_hello,
)

log = logging.getLogger("recon.relay.client")

State = Literal["connecting", "connected", "refused", "closed"]
Outcome = Literal["refused", "retry"]

MIN_DELAY = 0.5
MAX_DELAY = 30.0
#: After the relay refused the token: retry this seldom (an operator may be fixing it).
REFUSED_DELAY = 60.0
#: A connection that stayed up this long resets the backoff.
STABLE_AFTER = 5.0
_CLOSE_TIMEOUT = 0.4
#: On close: how long a connection may take to send its last ack and close before it is cut.
_CLOSE_GRACE = 0.6
_OPEN_TIMEOUT = 10.0

__all__ = ["Notice", "RelayConnection", "backoff_delay", "classify"]


def classify(exc: BaseException) -> Outcome:
    """Whether a failed connection attempt was the relay refusing the token (retry seldom) or
    anything else (retry with backoff)."""
    if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403):
        return "refused"
    return "retry"


def backoff_delay(
    attempt: int,
    outcome: Outcome,
    *,
    min_delay: float = MIN_DELAY,
    max_delay: float = MAX_DELAY,
    refused_delay: float = REFUSED_DELAY,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before attempt ``attempt + 1``: doubling from ``min_delay`` up to
    ``max_delay`` with jitter (between half and all of it); ``refused_delay`` after a refusal."""
    if outcome == "refused":
        return refused_delay
    ceiling: float = min(max_delay, min_delay * 2.0 ** min(attempt, 32))
    return ceiling * (0.5 + jitter() / 2)


def describe(exc: BaseException) -> str:
    """What went wrong, in one line that names no secret."""
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status in (401, 403):
            return f"the relay refused the agent token (HTTP {status})"
        return f"the relay answered HTTP {status} instead of opening the WebSocket"
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd is not None else None
        reason = exc.rcvd.reason if exc.rcvd is not None else ""
        if code is None:
            return "the connection to the relay dropped"
        return f"the relay closed the connection ({code}{': ' + reason if reason else ''})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with the relay failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return "the relay did not complete the handshake in time"
    if isinstance(exc, OSError):
        return f"cannot reach the relay: {exc.strerror or exc}"
    if isinstance(exc, BadFrame):
        return f"the relay sent a frame this agent cannot read: {exc}"
    return f"{type(exc).__name__}: {exc}"


class RelayConnection:
    """An agent's connection to the relay (``ws://`` or ``wss://``), kept open in the background.

    ``take`` returns the notices received since the last call, in seq order, each seq once;
    ``ack`` acknowledges cumulatively (sent now if connected, else on reconnect, where the
    hello carries it as the position to resume after). ``after`` overrides, for the first
    connection, the position the relay keeps for this agent.

    It reconnects after any drop with a capped backoff, resumes after the last seq the caller
    acked (never one merely received), and hands each seq to the caller once.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        after: int | None = None,
        ca_file: str | None = None,
        ping_interval: float = 20.0,
        min_delay: float = MIN_DELAY,
        max_delay: float = MAX_DELAY,
        refused_delay: float = REFUSED_DELAY,
    ) -> None:
        scheme = urlsplit(url).scheme
        if scheme not in ("ws", "wss"):
            raise ValueError(f"relay URL: expected ws:// or wss://, got {scheme or 'none'}://")
        if ca_file is not None and scheme != "wss":
            raise ValueError("ca_file: given for a ws:// URL; expected a wss:// URL")
        if not token or any(ch.isspace() or not ch.isprintable() for ch in token):
            raise ValueError("token: expected printable characters without spaces")
        if after is not None and (isinstance(after, bool) or after < 0):
            raise ValueError(f"after: expected a seq >= 0 or None, got {after!r}")
        if ping_interval <= 0:
            raise ValueError(f"ping_interval: expected seconds > 0, got {ping_interval}")
        self._url = url
        self._token = token
        # A wss:// URL without a CA file trusts the system's certificate authorities.
        self._ssl: ssl.SSLContext | bool | None = (
            ssl.create_default_context(cafile=ca_file) if ca_file else scheme == "wss" or None
        )
        self._ping_interval = ping_interval
        self._min_delay = min_delay
        self._max_delay = max_delay
        self._refused_delay = refused_delay
        self._lock = threading.Condition()
        self._cursor = Cursor.resuming(after)
        self._pending: list[Notice] = []
        self._gaps = 0
        self._state: State = "connecting"
        self._last_error: str | None = None
        self._closing = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ack_ready: asyncio.Event | None = None
        self._started = threading.Event()

    # -- the caller's side ---------------------------------------------------------------------

    def start(self) -> RelayConnection:
        """Connect in the background (returns at once; see ``state``)."""
        with self._lock:
            if self._thread is not None or self._closing:
                raise RuntimeError("RelayConnection.start: already started or closed")
            self._thread = threading.Thread(target=self._run, name="recon-relay-agent", daemon=True)
        self._thread.start()
        self._started.wait()
        return self

    def take(self, timeout: float) -> list[Notice]:
        """Every notice received and not yet taken, in seq order, waiting up to ``timeout``
        seconds for the first (an empty list when none came, or once closed)."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._lock:
            while not self._pending and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            taken, self._pending = self._pending, []
        return taken

    def ack(self, seq: int) -> None:
        """Acknowledge every notice up to and including ``seq`` (a seq already taken)."""
        with self._lock:
            moved = self._cursor.ack(seq)
        if moved:
            self._signal_ack()

    def gaps(self) -> int:
        """How many gap messages came since the last call: each means notices were lost to the
        relay's backlog bound (or its store started over), so poll everything."""
        with self._lock:
            count, self._gaps = self._gaps, 0
        return count

    def close(self) -> None:
        """Stop: send a pending ack if connected, close the connection, end the thread."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=_CLOSE_GRACE + 0.3)
        with self._lock:
            self._state = "closed"

    def __enter__(self) -> RelayConnection:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def state(self) -> State:
        with self._lock:
            return self._state

    @property
    def last_acked(self) -> int | None:
        with self._lock:
            return self._cursor.acked

    @property
    def last_error(self) -> str | None:
        with self._lock:
            return self._last_error

    # -- the connection's thread ---------------------------------------------------------------

    def _signal_ack(self) -> None:
        loop, ready = self._loop, self._ack_ready
        if loop is not None and ready is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(ready.set)

    def _set(self, state: State, error: str | None = None) -> None:
        with self._lock:
            if self._state != "closed":
                self._state = state
            if error is not None:
                self._last_error = error.replace(self._token, "<token>")

    def _run(self) -> None:
        asyncio.run(self._main())
        self._set("closed")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ack_ready = asyncio.Event()
        self._started.set()
        with self._lock:
            if self._closing:
                return
        attempt = 0
        while not self._stop.is_set():
            opened = time.monotonic()
            try:
                await self._attempt()
            except Exception as exc:
                outcome = classify(exc)
                message = describe(exc).replace(self._token, "<token>")
                self._set("refused" if outcome == "refused" else "connecting", message)
                log.warning("relay connection: %s", message)
                if time.monotonic() - opened >= STABLE_AFTER:
                    attempt = 0
                delay = backoff_delay(
                    attempt,
                    outcome,
                    min_delay=self._min_delay,
                    max_delay=self._max_delay,
                    refused_delay=self._refused_delay,
                )
                attempt += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)

    async def _attempt(self) -> None:
        """One connection, until it drops or close() is called (which cuts a connection attempt
        still opening, and gives an open one a moment to send its last ack and close)."""
        stop = self._stop
        if stop is None:
            raise RuntimeError("RelayConnection: the loop is not running")
        attempt = asyncio.ensure_future(self._connect_once())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({attempt, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not attempt.done():
                await asyncio.wait({attempt}, timeout=_CLOSE_GRACE)
        finally:
            for task in (attempt, stopping):
                task.cancel()
            await asyncio.gather(stopping, return_exceptions=True)
        if stop.is_set():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await attempt
            return
        await attempt

    async def _connect_once(self) -> None:
        async with connect(
            self._url,
            additional_headers={"Authorization": f"Bearer {self._token}"},
            ssl=self._ssl,
            compression=None,
            open_timeout=_OPEN_TIMEOUT,
            close_timeout=_CLOSE_TIMEOUT,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_interval,
        ) as connection:
            with self._lock:
                after = self._cursor.acked
            await connection.send(encode_hello(after))
            self._set("connected")
            log.info("relay connection: connected, resuming after %s", after)
            await self._session(connection, after)

    async def _session(self, connection: ClientConnection, after: int | None) -> None:
        stop = self._stop
        if stop is None:
            raise RuntimeError("RelayConnection: the loop is not running")
        receiving = asyncio.ensure_future(self._receive(connection))
        sending = asyncio.ensure_future(self._send_acks(connection, after))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({receiving, sending, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (receiving, sending, stopping):
                task.cancel()
            results = await asyncio.gather(receiving, sending, stopping, return_exceptions=True)
        if stop.is_set():
            with contextlib.suppress(ConnectionClosed):
                await self._flush_ack(connection)
            return
        for result in results[:2]:
            if isinstance(result, Exception):
                raise result
        raise ConnectionClosed(None, None)

    async def _receive(self, connection: ClientConnection) -> None:
        async for message in connection:
            frame = decode_relay_frame(message)
            if frame is None:
                continue  # a frame type this agent does not know
            with self._lock:
                if isinstance(frame, Gap):
                    self._gaps += 1
                    self._cursor.on_gap(frame)
                    log.warning(
                        "relay connection: gap (notices lost; oldest retained %d)", frame.oldest
                    )
                elif self._cursor.accept(frame):
                    self._pending.append(frame)
                    self._lock.notify_all()
        raise ConnectionClosed(connection.protocol.close_rcvd, connection.protocol.close_sent)

    async def _send_acks(self, connection: ClientConnection, sent: int | None) -> None:
        """Send the caller's ack whenever it moves (the hello already carried ``sent``)."""
        ready = self._ack_ready
        if ready is None:
            raise RuntimeError("RelayConnection: the loop is not running")
        while True:
            ready.clear()
            sent = await self._flush_ack(connection, sent)
            await ready.wait()

    async def _flush_ack(self, connection: ClientConnection, sent: int | None = None) -> int | None:
        with self._lock:
            acked = self._cursor.acked
        if acked is not None and acked != sent:
            await connection.send(encode_ack(acked))
            return acked
        return sent
