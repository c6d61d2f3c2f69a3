"""The simulator's HTTP server (stdlib ThreadingHTTPServer) and ways to run it."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulator.api import (
    HttpError,
    Request,
    Response,
    SimulatorApi,
    error_response,
    mutate,
)
from simulator.defaults import DEFAULT_SEED, DEFAULT_START, DEFAULT_TOKEN_TTL
from simulator.delivery import DeliveryPolicy
from simulator.model import Record
from simulator.partsledger import BASE_PATH as PL_BASE_PATH
from simulator.state import SimConfig, SimState

#: How often (real seconds) a paced simulator's clock thread moves the world on.
PACE_STEP_SECONDS = 0.2


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    timeout = 30  # idle keep-alive connections end after this many seconds
    server: SimulatorServer

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        query = {
            key: values[-1] for key, values in parse_qs(split.query, keep_blank_values=True).items()
        }
        headers = {key.lower(): value for key, value in self.headers.items()}
        request = Request(self.command, split.path, query, headers, body)
        try:
            response = self.server.api.handle(request)
        except Exception as exc:  # an API bug answers 500, as a real server would
            response = error_response(500, [f"internal error: {type(exc).__name__}: {exc}"])
        if response.delay > 0 and self.server.stopping.wait(response.delay):
            response = error_response(503, ["simulator shutting down"])
        if response.drop:
            self.close_connection = True
            return
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)


class SimulatorServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that can also close its open keep-alive connections on stop."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        state: SimState,
        *,
        quiet: bool = True,
        control_token: str | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.quiet = quiet
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        host, port = self.server_address[:2]
        self.api = SimulatorApi(state, f"{_url_host(str(host))}:{port}")
        # Reachable from other machines, the control API (which rewrites the world) needs it.
        self.api.control_token = control_token
        state.webhooks.base_uri = f"http://{_url_host(str(host))}:{port}/api"

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # a client hung up or went idle: normal for a server
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Wake handler threads waiting on idle keep-alive connections so they can finish."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class RunningSimulator:
    """Handle on a running simulator: URLs, credentials and direct control for tests."""

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.state = server.state
        host = _url_host(str(server.server_address[0]))
        self.root_url = f"http://{host}:{server.port}"
        #: What clients use as the ServiceTrade base URL (like https://api.servicetrade.com/api).
        self.base_url = f"{self.root_url}/api"
        #: The PartsLedger API base URL of the same world.
        self.partsledger_url = f"{self.root_url}{PL_BASE_PATH}"
        self.control_url = f"{self.root_url}/_sim"

    @property
    def config(self) -> SimConfig:
        return self.state.config

    def advance(self, days: int) -> dict[str, int]:
        """Same as POST /_sim/advance {"days": N}: finishes the day in progress, if any, and
        simulates whole days."""
        return self.state.advance_days(days)

    def advance_minutes(self, minutes: int) -> dict[str, int]:
        """Same as POST /_sim/advance {"minutes": N}."""
        return self.state.advance_minutes(minutes)

    def inject(self, faults: dict[str, Any]) -> dict[str, Any]:
        """Same as POST /_sim/faults; ValueError for a fault the simulator does not know."""
        try:
            return self.server.api.inject(faults)
        except HttpError as exc:
            raise ValueError("; ".join(exc.messages)) from exc

    def mutate(self, kind: str, record_id: int, fields: dict[str, Any]) -> None:
        """Same as POST /_sim/<kind>/<id>; ValueError for a change it cannot make."""
        with self.state.lock:
            record: Record = self.state.world.table(kind)[record_id]
            try:
                mutate(self.state.world, kind, record, fields)
            except HttpError as exc:
                raise ValueError("; ".join(exc.messages)) from exc
            self.state.observe()

    def delete(self, kind: str, record_id: int) -> None:
        """Same as DELETE /_sim/<kind>/<id>; KeyError for no such record, ValueError for one
        that cannot be deleted."""
        try:
            self.server.api.delete(kind, record_id)
        except HttpError as exc:
            if exc.status == 404:
                raise KeyError(f"{kind} {record_id}") from exc
            raise ValueError("; ".join(exc.messages)) from exc

    def webhook_faults(self, **knobs: Any) -> dict[str, Any]:
        """Same as POST /_sim/webhooks, with Python names: loss, duplicate, reorder, fail
        (probabilities), delay_seconds, fail_status. Answers the knobs and delivery stats;
        ValueError for a bad knob."""
        names = {"delay_seconds": "delaySeconds", "fail_status": "failStatus"}
        try:
            return self.server.api.webhook_knobs(
                {names.get(name, name): value for name, value in knobs.items()}
            )
        except HttpError as exc:
            raise ValueError("; ".join(exc.messages)) from exc

    def webhook_stats(self) -> dict[str, int]:
        """Delivery counts: events, messages, sent, delivered, failed, retried, discarded,
        lost, duplicated, reordered, and pending (not yet delivered, discarded or lost)."""
        return self.state.webhooks.stats()

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Send what is batched now and wait until every webhook message is delivered,
        discarded or lost; False if `timeout` seconds pass first."""
        return self.state.webhooks.wait(timeout)

    def summary(self) -> dict[str, Any]:
        return self.server.api.summary()

    def expire_auth(self, *, sessions: bool = True, tokens: bool = True) -> dict[str, int]:
        return self.state.expire_auth(sessions=sessions, tokens=tokens)

    def reset(self) -> None:
        self.state.reset()

    def save(self) -> Path | None:
        """Write the world to the state file now (it is also written when the simulator stops)."""
        return self.state.save()


class _Pacer:
    """The clock thread of a paced simulator: every `PACE_STEP_SECONDS` it moves the world on
    by the simulated time that passed (`pace` simulated minutes per real second)."""

    def __init__(self, state: SimState, pace: float) -> None:
        self.state = state
        self.pace = pace
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulator-pace", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join()

    def _run(self) -> None:
        last = time.monotonic()
        owed = 0.0  # simulated seconds not yet applied (steps are whole seconds)
        while not self.stopping.wait(PACE_STEP_SECONDS):
            now = time.monotonic()
            owed += (now - last) * self.pace * 60
            last = now
            seconds = int(owed)
            if seconds <= 0:
                continue
            owed -= seconds
            try:
                self.state.advance_seconds(seconds)
            except Exception as exc:  # a world that cannot go on stops its clock, not the API
                self.state.pace_error = f"{type(exc).__name__}: {exc}"
                return


def _pacer(state: SimState) -> _Pacer | None:
    pace = state.config.pace
    if pace <= 0:
        return None
    pacer = _Pacer(state, pace)
    pacer.start()
    return pacer


def _config(
    seed: int,
    start: date,
    scale: int,
    days: int | None,
    token_ttl: float,
    state_file: str | Path | None,
    pace: float | Decimal | None,
) -> SimConfig:
    if pace is not None and not pace >= 0:
        raise ValueError(f"pace must be a number of simulated minutes per second >= 0, got {pace}")
    return SimConfig(
        seed=seed,
        start=start,
        scale=scale,
        days=days,
        token_ttl=token_ttl,
        state_file=None if state_file is None or state_file == "" else Path(state_file),
        pace=float(pace or 0),  # a rate, not money: a Decimal or int from a config is fine
    )


@contextmanager
def run_simulator(
    seed: int = DEFAULT_SEED,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    start: date = DEFAULT_START,
    scale: int = 1,
    days: int | None = None,
    token_ttl: float = DEFAULT_TOKEN_TTL,
    state_file: str | Path | None = None,
    quiet: bool = True,
    pace: float | Decimal | None = None,
    webhook_policy: DeliveryPolicy | None = None,
    control_token: str | None = None,
) -> Iterator[RunningSimulator]:
    """Run the simulator on a background thread for the duration of the block.

    With `state_file`, the world is loaded from it when it exists (else generated) and written
    back when the block ends, so the next run continues where this one stopped. With `pace`,
    a clock thread runs the world live at `pace` simulated minutes per real second, with live
    activity (None or 0: the clock moves only when told). `webhook_policy` replaces the
    webhook delivery rules (timeout, attempts, waits, batching) — for tests. With
    `control_token`, the control API (/_sim/) answers only requests that carry it.
    """
    server = SimulatorServer(
        (host, port),
        SimState(
            _config(seed, start, scale, days, token_ttl, state_file, pace),
            webhook_policy=webhook_policy,
        ),
        quiet=quiet,
        control_token=control_token,
    )
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"source-simulator-{server.port}",
        daemon=True,
    )
    thread.start()
    pacer = _pacer(server.state)
    try:
        yield RunningSimulator(server)
    finally:
        if pacer is not None:
            pacer.stop()
        server.stopping.set()
        server.shutdown()
        thread.join()
        server.close_connections()
        server.server_close()
        server.state.close()
        server.state.save()


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    seed: int = DEFAULT_SEED,
    *,
    start: date = DEFAULT_START,
    scale: int = 1,
    days: int | None = None,
    token_ttl: float = DEFAULT_TOKEN_TTL,
    state_file: str | Path | None = None,
    quiet: bool = False,
    on_ready: Callable[[RunningSimulator], None] | None = None,
    pace: float | Decimal | None = None,
    control_token: str | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C); `on_ready` is called once the port is bound.

    With `state_file`, the world is loaded from it when present and saved to it on the way out.
    With `pace`, the world runs live at `pace` simulated minutes per real second. With
    `control_token`, the control API (/_sim/) answers only requests that carry it (as
    ``Authorization: Bearer <token>`` or ``X-Sim-Control-Token``).
    """
    server = SimulatorServer(
        (host, port),
        SimState(_config(seed, start, scale, days, token_ttl, state_file, pace)),
        quiet=quiet,
        control_token=control_token,
    )
    pacer: _Pacer | None = None
    try:
        if on_ready is not None:
            on_ready(RunningSimulator(server))
        pacer = _pacer(server.state)
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        if pacer is not None:
            pacer.stop()
        server.stopping.set()
        server.close_connections()
        server.server_close()
        server.state.close()
        server.state.save()
