"""The relay: a webhook listener and an agent WebSocket listener on one asyncio event loop."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import http
import json
import logging
import os
import re
import signal
import ssl
import sys
import threading
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as serve_websockets
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from adapters.relay.errors import RelayBindError, RelayConfigError, RelayError, RelayStoreError
from adapters.relay.protocol import (
    Ack,
    BadFrame,
    Gap,
    Hello,
    MalformedWebhook,
    Start,
    decode_agent_frame,
    encode_gap,
    encode_notice,
    parse_webhook,
    start_position,
)
from adapters.relay.store import DEFAULT_BACKLOG, Appended, RelayStore

log = logging.getLogger("recon.relay")

T = TypeVar("T")

HOOK_PREFIX = "/hooks/"
HEALTH_PATH = "/healthz"
#: At most this many notices sent and not yet acknowledged, per connection.
DEFAULT_WINDOW = 1000
DEFAULT_PING_INTERVAL = 20.0
#: Largest webhook body accepted (a message batches entity events; ids only).
DEFAULT_MAX_BODY = 1 << 20
#: The store write must finish within this, so the answer beats ServiceTrade's 5 s; a slower
#: write is answered 503 (ServiceTrade retries; the write, if it lands, makes the retry a repeat).
DEFAULT_HOOK_TIMEOUT = 4.0
#: How long a new agent connection waits for its hello before resuming after the stored ack.
DEFAULT_HELLO_TIMEOUT = 1.0
#: How long a closing agent connection (a keepalive timeout included) may wait for the peer
#: before its socket is cut.
DEFAULT_CLOSE_TIMEOUT = 5.0
#: Close code sent to an agent's connection when a newer one of the same agent takes over.
REPLACED = 4000
MIN_SECRET = 32
MIN_TOKEN = 16
_SECRET = re.compile(rf"[A-Za-z0-9_-]{{{MIN_SECRET},}}")
_AGENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_TOKEN = re.compile(r"[\x21-\x7e]+")
_REQUEST_TIMEOUT = 10.0
_HEAD_LIMIT = 64 * 1024
#: A body over the limit but under this is read and dropped before the 413 is sent.
_DISCARD_LIMIT = 16 << 20
_PAGE = 200
_AGENT_FRAME_LIMIT = 64 * 1024
_STOP_TIMEOUT = 5.0


def check_hook_secret(secret: str) -> str:
    """The hook secret, if it is at least 32 URL-safe characters."""
    if not _SECRET.fullmatch(secret):
        raise RelayConfigError(
            "hook_secret",
            f"expected at least {MIN_SECRET} URL-safe characters (A-Z a-z 0-9 - _), "
            "got one that is not",
        )
    return secret


def check_agent_tokens(tokens: Mapping[str, str]) -> dict[str, str]:
    """``{token: agent name}``, each token at least 16 printable characters, each name once."""
    if not tokens:
        raise RelayConfigError("agent_tokens", "expected at least one agent's token")
    checked: dict[str, str] = {}
    names: set[str] = set()
    for token, name in tokens.items():
        if not _AGENT_NAME.fullmatch(name):
            raise RelayConfigError(
                "agent_tokens",
                f"agent name {name!r:.60}: expected letters, digits, '.', '_' or '-' "
                "(up to 128, starting with a letter or digit)",
            )
        if len(token) < MIN_TOKEN or not _TOKEN.fullmatch(token):
            raise RelayConfigError(
                "agent_tokens",
                f"agent {name!r}: expected a token of at least {MIN_TOKEN} printable characters "
                "without spaces",
            )
        if name in names:
            raise RelayConfigError(
                "agent_tokens", f"agent {name!r}: expected one token per agent, got two"
            )
        names.add(name)
        checked[token] = name
    return checked


def tls_context(certfile: str | None, keyfile: str | None) -> ssl.SSLContext | None:
    """The server TLS context of a certificate (and key) file, or None without one."""
    if certfile is None:
        if keyfile is not None:
            raise RelayConfigError("keyfile", "given without a certfile")
        return None
    for setting, path in (("certfile", certfile), ("keyfile", keyfile)):
        if path is not None and not os.path.isfile(path):
            raise RelayConfigError(setting, f"expected a PEM file, found no file at {path!r}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        detail = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        raise RelayConfigError(
            "keyfile" if keyfile is not None and "KEY" in str(detail).upper() else "certfile",
            f"cannot load the certificate {certfile!r}"
            + (f" with the key {keyfile!r}" if keyfile else "")
            + f" ({detail})",
        ) from exc
    return context


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class RelayOptions:
    """How a relay runs; ``agent_tokens`` maps each token to its agent's name."""

    store_url: str
    agent_tokens: Mapping[str, str]
    host: str = "127.0.0.1"
    hook_port: int = 0
    agent_port: int = 0
    hook_secret: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    backlog: int = DEFAULT_BACKLOG
    ping_interval: float = DEFAULT_PING_INTERVAL
    ping_timeout: float | None = None
    window: int = DEFAULT_WINDOW
    max_body: int = DEFAULT_MAX_BODY
    hook_timeout: float = DEFAULT_HOOK_TIMEOUT
    hello_timeout: float = DEFAULT_HELLO_TIMEOUT
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT


@dataclass
class _Session:
    """One agent connection's place in the stream."""

    name: str
    position: int  # the highest seq sent (or skipped by an ack)
    acked: int | None
    announced: int = 0  # the pruned_through a gap already told this connection about
    inflight: deque[int] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class _HttpError(Exception):
    def __init__(self, status: http.HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class RelayHandle:
    """A running relay: its URLs and counters (call its methods from outside the relay's loop)."""

    def __init__(self, relay: _Relay, loop: asyncio.AbstractEventLoop) -> None:
        self._relay = relay
        self._loop = loop
        scheme = "https" if relay.tls else "http"
        host = _url_host(relay.options.host)
        self.hook_secret = relay.hook_secret
        self.hook_path = f"{HOOK_PREFIX}{relay.hook_secret}"
        self.hook_port = relay.hook_port
        self.agent_port = relay.agent_port
        self.hook_url = f"{scheme}://{host}:{relay.hook_port}{self.hook_path}"
        self.agent_url = f"{'wss' if relay.tls else 'ws'}://{host}:{relay.agent_port}/"
        self.agent_names = tuple(sorted(set(relay.tokens.values())))

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def stats(self) -> dict[str, Any]:
        """Retained notices, counters since start, and each agent's position and connection."""
        return self._call(self._relay.stats())

    def disconnect(self, agent: str, *, abort: bool = False) -> bool:
        """Close agent ``agent``'s live connection (``abort``: drop it without a closing
        handshake, as a network failure would); whether it had one."""
        return self._call(self._relay.disconnect(agent, abort=abort))


class _Relay:
    """Both listeners, the store they share, and the agents' live connections.

    A webhook is stored, then answered 200, within ServiceTrade's 5 seconds (the store write
    runs on a thread, so the loop stays responsive). An agent resumes after a seq and gets
    notices in seq order, at most a window of unacknowledged ones at a time."""

    def __init__(self, options: RelayOptions) -> None:
        self.options = options
        self.tokens = check_agent_tokens(options.agent_tokens)
        given = None if options.hook_secret is None else check_hook_secret(options.hook_secret)
        if options.window < 1:
            raise RelayConfigError("window", f"expected a whole number >= 1, got {options.window}")
        if options.ping_interval <= 0:
            raise RelayConfigError(
                "ping_interval", f"expected seconds > 0, got {options.ping_interval}"
            )
        self.ssl = tls_context(options.certfile, options.keyfile)
        self.tls = self.ssl is not None
        self.store = RelayStore(options.store_url, backlog=options.backlog)
        try:
            self.hook_secret = self.store.hook_secret(given)
            bounds = self.store.bounds()
        except RelayError:
            self.store.close()
            raise
        self._last = bounds.last
        self._hook_path = f"{HOOK_PREFIX}{self.hook_secret}".encode()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="relay-store-write")
        self._reader = ThreadPoolExecutor(4, thread_name_prefix="relay-store-read")
        self._waiters: set[asyncio.Event] = set()
        self._live: dict[str, ServerConnection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._counters: Counter[str] = Counter()
        self._http: asyncio.Server | None = None
        self._ws: Server | None = None
        self.hook_port = 0
        self.agent_port = 0

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        options = self.options
        try:
            self._http = await asyncio.start_server(
                self._serve_http,
                options.host,
                options.hook_port,
                ssl=self.ssl,
                limit=_HEAD_LIMIT,
                ssl_handshake_timeout=_REQUEST_TIMEOUT if self.ssl else None,
            )
        except OSError as exc:
            raise RelayBindError(
                f"cannot listen for webhooks on {options.host}:{options.hook_port}: "
                f"{exc.strerror or exc}"
            ) from exc
        self.hook_port = self._http.sockets[0].getsockname()[1]
        try:
            self._ws = await serve_websockets(
                self._serve_agent,
                options.host,
                options.agent_port,
                process_request=self._authenticate,
                ssl=self.ssl,
                compression=None,
                server_header=None,
                ping_interval=options.ping_interval,
                ping_timeout=options.ping_timeout or options.ping_interval,
                close_timeout=options.close_timeout,
                max_size=_AGENT_FRAME_LIMIT,
            )
        except OSError as exc:
            self._http.close()
            await self._http.wait_closed()
            raise RelayBindError(
                f"cannot listen for agents on {options.host}:{options.agent_port}: "
                f"{exc.strerror or exc}"
            ) from exc
        self.agent_port = self._ws.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, close agent connections, finish the webhooks being answered (their
        appends included), then close the store."""
        if self._http is not None:
            self._http.close()
        if self._ws is not None:
            self._ws.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ws.wait_closed(), _STOP_TIMEOUT)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=_STOP_TIMEOUT)
        for task in set(self._tasks):
            task.cancel()
        if self._http is not None:
            await self._http.wait_closed()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._writer.shutdown)
        await loop.run_in_executor(None, self._reader.shutdown)
        self.store.close()

    def discard(self) -> None:
        """Release what the constructor took, for a relay that never started."""
        self._writer.shutdown()
        self._reader.shutdown()
        self.store.close()

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reader, call)

    async def _write(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, call)

    # -- webhooks ------------------------------------------------------------------------------

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            answer = await self._answer(reader, writer)
            if answer is not None:
                status, payload = answer
                body = json.dumps(payload).encode()
                writer.write(
                    (
                        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
                        "Content-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n"
                        "Cache-Control: no-store\r\n"
                        "Connection: close\r\n\r\n"
                    ).encode()
                    + body
                )
                await writer.drain()
        except (ConnectionError, TimeoutError, ssl.SSLError):
            pass  # the sender went away; a webhook it did not see answered is resent
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError, ssl.SSLError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            if task is not None:
                self._tasks.discard(task)

    async def _answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[http.HTTPStatus, dict[str, Any]] | None:
        """The status and JSON body to answer a request with (None: no answer, it went away)."""
        try:
            async with asyncio.timeout(_REQUEST_TIMEOUT):
                method, path, headers = await _read_head(reader)
                if path == HEALTH_PATH and method == "GET":
                    return http.HTTPStatus.OK, {"ok": True}
                if not hmac.compare_digest(path.encode(), self._hook_path):
                    self._counters["not_found"] += 1
                    return http.HTTPStatus.NOT_FOUND, {"error": "not found"}
                if method != "POST":
                    return http.HTTPStatus.METHOD_NOT_ALLOWED, {"error": "expected POST"}
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    await writer.drain()
                body = await _read_body(reader, headers, self.options.max_body)
        except _HttpError as exc:
            log.warning("webhook listener: answered %d: %s", exc.status.value, exc)
            return exc.status, {"error": str(exc)}
        except TimeoutError:
            return http.HTTPStatus.REQUEST_TIMEOUT, {"error": "request not received in time"}
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return await self._receive_webhook(body)

    async def _receive_webhook(self, body: bytes) -> tuple[http.HTTPStatus, dict[str, Any]]:
        self._counters["webhooks"] += 1
        try:
            webhook = parse_webhook(body)
        except MalformedWebhook as exc:
            self._counters["rejected"] += 1
            log.warning(
                "refused a webhook (400; ServiceTrade counts it delivered and will not resend "
                "it, so only polling finds what it announced): %s",
                exc,
            )
            return http.HTTPStatus.BAD_REQUEST, {"ok": False, "error": str(exc)}
        for reason in webhook.skipped:
            self._counters["skipped"] += 1
            log.warning("webhook %s: left out an entry: %s", webhook.message_id, reason)
        if not webhook.changes:
            return http.HTTPStatus.OK, {"ok": True, "stored": 0, "duplicates": 0}
        loop = asyncio.get_running_loop()
        pending = loop.run_in_executor(self._writer, self.store.append, webhook.changes)
        pending.add_done_callback(self._appended)
        try:
            appended = await asyncio.wait_for(asyncio.shield(pending), self.options.hook_timeout)
        except TimeoutError:
            self._counters["unavailable"] += 1
            log.error(
                "webhook %s: the store did not finish the write within %.1f s; answered 503 "
                "so ServiceTrade resends it",
                webhook.message_id,
                self.options.hook_timeout,
            )
            return http.HTTPStatus.SERVICE_UNAVAILABLE, {"ok": False, "error": "store busy"}
        except RelayStoreError as exc:
            self._counters["unavailable"] += 1
            log.error(
                "webhook %s: answered 503 so ServiceTrade resends it: %s", webhook.message_id, exc
            )
            return http.HTTPStatus.SERVICE_UNAVAILABLE, {"ok": False, "error": "store unavailable"}
        log.info(
            "webhook %s: %d new notice(s), %d seen before",
            webhook.message_id,
            len(appended.notices),
            appended.duplicates,
        )
        return http.HTTPStatus.OK, {
            "ok": True,
            "stored": len(appended.notices),
            "duplicates": appended.duplicates,
        }

    def _appended(self, pending: asyncio.Future[Appended]) -> None:
        """Once an append committed: count it and wake every connection waiting for notices."""
        if pending.cancelled() or pending.exception() is not None:
            return
        appended = pending.result()
        self._counters["appended"] += len(appended.notices)
        self._counters["duplicates"] += appended.duplicates
        self._last = max(self._last, appended.last)
        if appended.notices:
            for wake in self._waiters:
                wake.set()

    # -- agents --------------------------------------------------------------------------------

    def _agent_for(self, token: str) -> str | None:
        found = None
        for known, name in self.tokens.items():
            # Every token is compared, in constant time, so timing says nothing about them.
            if hmac.compare_digest(token.encode(), known.encode()):
                found = name
        return found

    def _authenticate(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse, before the upgrade, a connection without a known agent token."""
        values = request.headers.get_all("Authorization")
        scheme, _, token = values[0].partition(" ") if len(values) == 1 else ("", "", "")
        name = self._agent_for(token.strip()) if scheme.lower() == "bearer" else None
        if name is None:
            self._counters["refused"] += 1
            log.warning(
                "refused an agent connection from %s: %s",
                _peer(connection),
                "unknown token" if scheme.lower() == "bearer" else "no bearer token",
            )
            response = connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
            response.headers["WWW-Authenticate"] = 'Bearer realm="recon relay"'
            return response
        connection.username = name
        return None

    async def _serve_agent(self, connection: ServerConnection) -> None:
        name = connection.username
        previous = self._live.get(name)
        self._live[name] = connection
        self._counters["connections"] += 1
        if previous is not None:
            log.info("agent %s: a new connection replaces the previous one", name)
            self._spawn(previous.close(REPLACED, "replaced by a newer connection of this agent"))
        log.info("agent %s: connected from %s", name, _peer(connection))
        try:
            await self._stream(name, connection)
        except ConnectionClosed:
            pass
        except BadFrame as exc:
            log.warning("agent %s: %s; closing the connection", name, exc)
            await connection.close(1008, str(exc)[:120])
        except RelayStoreError as exc:
            log.error("agent %s: %s; closing the connection", name, exc)
            await connection.close(1011, "relay store unavailable")
        finally:
            if self._live.get(name) is connection:
                del self._live[name]
            log.info("agent %s: disconnected", name)

    async def _first_frame(self, connection: ServerConnection) -> Hello | Ack | None:
        try:
            message = await asyncio.wait_for(connection.recv(), self.options.hello_timeout)
        except TimeoutError:
            return None
        return decode_agent_frame(message)

    async def _stream(self, name: str, connection: ServerConnection) -> None:
        first = await self._first_frame(connection)
        stored = await self._read(partial(self.store.acked, name))
        bounds = await self._read(self.store.bounds)
        requested = first.after if isinstance(first, Hello) else None
        start: Start = start_position(
            requested, stored, last=max(bounds.last, self._last), oldest=bounds.oldest
        )
        await self._write(partial(self.store.touch, name))
        session = _Session(name, start.after, stored)
        if start.gap is not None:
            log.warning(
                "agent %s: asked for notices after %s, beyond the last seq %d (the store "
                "started over); sending every retained notice",
                name,
                requested if requested is not None else stored,
                bounds.last,
            )
            session.announced = bounds.pruned_through
            await connection.send(encode_gap(start.gap))
        elif requested is not None and (stored is None or requested > stored):
            session.acked = await self._write(partial(self.store.ack, name, requested))
        if isinstance(first, Ack):
            await self._on_ack(session, first.seq)
        self._waiters.add(session.wake)
        forward = asyncio.ensure_future(self._forward(connection, session))
        receive = asyncio.ensure_future(self._receive(connection, session))
        try:
            await asyncio.wait({forward, receive}, return_when=asyncio.FIRST_COMPLETED)
            if forward.done() and not forward.cancelled() and not receive.done():
                # Sending failed as the connection closed: the acks that came before the close
                # are still to be read (and stored).
                await asyncio.wait({receive}, timeout=self.options.close_timeout)
        finally:
            self._waiters.discard(session.wake)
            for task in (forward, receive):
                task.cancel()
            results = await asyncio.gather(forward, receive, return_exceptions=True)
        for result in results:
            if isinstance(result, (BadFrame, RelayStoreError)):
                raise result

    async def _receive(self, connection: ServerConnection, session: _Session) -> None:
        async for message in connection:
            frame = decode_agent_frame(message)
            if isinstance(frame, Hello):
                raise BadFrame("hello: expected only as the first frame")
            await self._on_ack(session, frame.seq)

    async def _on_ack(self, session: _Session, seq: int) -> None:
        if seq > max(self._last, session.position):
            raise BadFrame(f"ack.seq: {seq} is beyond the last seq {self._last}")
        if session.acked is not None and seq <= session.acked:
            return
        session.acked = await self._write(partial(self.store.ack, session.name, seq))
        while session.inflight and session.inflight[0] <= seq:
            session.inflight.popleft()
        session.position = max(session.position, seq)
        session.wake.set()

    async def _forward(self, connection: ServerConnection, session: _Session) -> None:
        window = self.options.window
        while True:
            session.wake.clear()
            room = window - len(session.inflight)
            if room <= 0:
                await session.wake.wait()
                continue
            notices, pruned_through = await self._read(
                partial(self.store.read_after, session.position, min(room, _PAGE))
            )
            if pruned_through > session.position and pruned_through > session.announced:
                oldest = notices[0].seq if notices else pruned_through + 1
                log.warning(
                    "agent %s: notices after %d were pruned from the backlog; sent a gap "
                    "(oldest %d) so it polls everything",
                    session.name,
                    session.position,
                    oldest,
                )
                session.announced = pruned_through
                await connection.send(encode_gap(Gap(oldest)))
            if not notices:
                await session.wake.wait()
                continue
            self._last = max(self._last, notices[-1].seq)
            for notice in notices:
                if notice.seq <= session.position:
                    continue  # an ack from the agent skipped past it meanwhile
                await connection.send(encode_notice(notice))
                session.inflight.append(notice.seq)
                session.position = notice.seq

    async def disconnect(self, agent: str, *, abort: bool = False) -> bool:
        connection = self._live.get(agent)
        if connection is None:
            return False
        if abort:
            connection.transport.abort()
        else:
            await connection.close(1001, "closed by the relay")
        return True

    async def stats(self) -> dict[str, Any]:
        bounds = await self._read(self.store.bounds)
        positions = {agent.name: agent for agent in await self._read(self.store.agents)}
        names = sorted(set(self.tokens.values()) | set(positions))
        agents: dict[str, dict[str, Any]] = {}
        for name in names:
            position = positions.get(name)
            live = self._live.get(name)
            agents[name] = {
                "connected": live is not None,
                "acked": position.acked_seq if position else None,
                "last_seen": position.last_seen if position else None,
                "latency": live.latency if live is not None else None,
            }
        counters = ("webhooks", "appended", "duplicates", "rejected", "skipped", "unavailable")
        more = ("not_found", "refused", "connections")
        return {
            "notices": bounds.count,
            "oldest": bounds.oldest,
            "last": bounds.last,
            "pruned_through": bounds.pruned_through,
            **{name: self._counters[name] for name in (*counters, *more)},
            "agents": agents,
        }


def _peer(connection: ServerConnection) -> str:
    address = connection.remote_address
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]]:
    """The method, path (without the query) and lower-cased headers of one HTTP/1.1 request."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise _HttpError(
            http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request head too large"
        ) from exc
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _HttpError(http.HTTPStatus.BAD_REQUEST, "expected an HTTP/1.1 request line")
    method, target, _ = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise _HttpError(http.HTTPStatus.BAD_REQUEST, "malformed header line")
        key = name.lower()
        if key in headers and key in ("content-length", "transfer-encoding"):
            raise _HttpError(http.HTTPStatus.BAD_REQUEST, f"repeated {name} header")
        headers[key] = value.strip()
    return method, target.split("?", 1)[0], headers


async def _read_body(reader: asyncio.StreamReader, headers: Mapping[str, str], limit: int) -> bytes:
    too_large = _HttpError(
        http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body larger than {limit} bytes"
    )
    encoding = headers.get("transfer-encoding")
    if encoding is not None:
        if "content-length" in headers or encoding.lower() != "chunked":
            raise _HttpError(http.HTTPStatus.BAD_REQUEST, "expected chunked or Content-Length")
        return await _read_chunked(reader, limit, too_large)
    length = headers.get("content-length")
    if length is None:
        raise _HttpError(http.HTTPStatus.LENGTH_REQUIRED, "expected a Content-Length")
    if not length.isdigit():
        raise _HttpError(http.HTTPStatus.BAD_REQUEST, "Content-Length: expected a number")
    if int(length) > limit:
        if int(length) <= _DISCARD_LIMIT:
            # Read it away, so closing does not reset the connection before the answer is read.
            remaining = int(length)
            while remaining:
                remaining -= len(await reader.readexactly(min(remaining, 1 << 16)))
        raise too_large
    return await reader.readexactly(int(length))


async def _read_chunked(reader: asyncio.StreamReader, limit: int, too_large: _HttpError) -> bytes:
    body = bytearray()
    while True:
        try:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";", 1)[0].strip(), 16)
        except (ValueError, asyncio.LimitOverrunError) as exc:
            raise _HttpError(http.HTTPStatus.BAD_REQUEST, "malformed chunk size") from exc
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers
            return bytes(body)
        if size < 0 or len(body) + size > limit:
            raise too_large
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise _HttpError(http.HTTPStatus.BAD_REQUEST, "malformed chunk")


# -- running a relay ---------------------------------------------------------------------------


def _options(
    store_url: str,
    *,
    host: str,
    hook_port: int,
    agent_port: int,
    agent_tokens: Mapping[str, str],
    hook_secret: str | None,
    certfile: str | None,
    keyfile: str | None,
    backlog: int,
    ping_interval: float,
) -> RelayOptions:
    return RelayOptions(
        store_url=store_url,
        agent_tokens=dict(agent_tokens),
        host=host,
        hook_port=hook_port,
        agent_port=agent_port,
        hook_secret=hook_secret,
        certfile=certfile,
        keyfile=keyfile,
        backlog=backlog,
        ping_interval=ping_interval,
    )


class _Runner:
    """A relay's event loop on a thread of its own."""

    def __init__(self, relay: _Relay) -> None:
        self._relay = relay
        self._thread = threading.Thread(target=self._run, name="recon-relay", daemon=True)
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._halt: asyncio.Event | None = None
        self.handle: RelayHandle | None = None

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._halt = asyncio.Event()
        try:
            await self._relay.start()
        except BaseException as exc:
            self._failure = exc
            self._relay.discard()
            self._ready.set()
            return
        self.handle = RelayHandle(self._relay, self._loop)
        self._ready.set()
        try:
            await self._halt.wait()
        finally:
            await self._relay.stop()

    def begin(self) -> RelayHandle:
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            raise self._failure
        if self.handle is None:
            raise RuntimeError("the relay stopped before it started")
        return self.handle

    def end(self) -> None:
        if self._loop is not None and self._halt is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._halt.set)
        self._thread.join()


@contextlib.contextmanager
def run_relay(
    store_url: str,
    *,
    host: str = "127.0.0.1",
    hook_port: int = 0,
    agent_port: int = 0,
    agent_tokens: Mapping[str, str],
    hook_secret: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    backlog: int = DEFAULT_BACKLOG,
    ping_interval: float = DEFAULT_PING_INTERVAL,
    **tuning: Any,
) -> Iterator[RelayHandle]:
    """Run a relay on a background thread while the block runs (``agent_tokens``: token →
    agent name; ``tuning``: further RelayOptions fields, such as ``window``)."""
    options = _options(
        store_url,
        host=host,
        hook_port=hook_port,
        agent_port=agent_port,
        agent_tokens=agent_tokens,
        hook_secret=hook_secret,
        certfile=certfile,
        keyfile=keyfile,
        backlog=backlog,
        ping_interval=ping_interval,
    )
    runner = _Runner(_Relay(replace(options, **tuning)))
    handle = runner.begin()
    try:
        yield handle
    finally:
        runner.end()


def serve(
    store_url: str,
    *,
    host: str = "127.0.0.1",
    hook_port: int = 0,
    agent_port: int = 0,
    agent_tokens: Mapping[str, str],
    hook_secret: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    backlog: int = DEFAULT_BACKLOG,
    ping_interval: float = DEFAULT_PING_INTERVAL,
    on_ready: Callable[[RelayHandle], None] | None = None,
) -> None:
    """Run a relay in this thread until SIGTERM or SIGINT, then stop cleanly (the webhooks being
    answered are finished first). ``on_ready`` runs on the relay's loop once both listen."""
    relay = _Relay(
        _options(
            store_url,
            host=host,
            hook_port=hook_port,
            agent_port=agent_port,
            agent_tokens=agent_tokens,
            hook_secret=hook_secret,
            certfile=certfile,
            keyfile=keyfile,
            backlog=backlog,
            ping_interval=ping_interval,
        )
    )
    asyncio.run(_serve_until_signalled(relay, on_ready))


async def _serve_until_signalled(
    relay: _Relay, on_ready: Callable[[RelayHandle], None] | None
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    try:
        await relay.start()
    except BaseException:
        relay.discard()
        raise
    restore: list[tuple[signal.Signals, Any]] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):
            # Windows' loops have no add_signal_handler: a plain handler hands over to the loop.
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                restore.append(
                    (signum, signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set)))
                )
    try:
        if on_ready is not None:
            on_ready(RelayHandle(relay, loop))
        await stop.wait()
        log.info("stopping: finishing the webhooks being answered")
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            if sys.platform != "win32":
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(signum)
        for signum, previous in restore:
            signal.signal(signum, previous)
        await relay.stop()


__all__ = [
    "DEFAULT_PING_INTERVAL",
    "DEFAULT_WINDOW",
    "REPLACED",
    "RelayHandle",
    "RelayOptions",
    "check_agent_tokens",
    "check_hook_secret",
    "run_relay",
    "serve",
    "tls_context",
]
