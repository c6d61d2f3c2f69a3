"""A webhook receiver for tests: a real HTTP server on 127.0.0.1, port 0, that keeps what it is
sent and answers as told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the simulator hung up on a slow answer: expected in timeout tests


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = receiver.received(body, dict(self.headers.items()))
        if receiver.delay and receiver.stopping.wait(receiver.delay):
            return
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """Answers the given statuses to the first requests, then `then`; waits `delay` seconds
    before answering."""

    def __init__(self, statuses: Iterable[int] = (), *, then: int = 200, delay: float = 0.0):
        self._statuses = list(statuses)
        self._then = then
        self.delay = delay
        self.stopping = threading.Event()
        self._lock = threading.Condition()
        #: Every request body as JSON, in arrival order, with when it came (monotonic).
        self.requests: list[dict[str, Any]] = []
        self.arrived: list[float] = []
        self.headers: list[dict[str, str]] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/st"

    def received(self, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            self.requests.append(json.loads(body, parse_float=Decimal))
            self.arrived.append(time.monotonic())
            self.headers.append(headers)
            self._lock.notify_all()
            return self._statuses.pop(0) if self._statuses else self._then

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Until at least `count` requests came; False if `timeout` passes first."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True

    def events(self) -> list[dict[str, Any]]:
        """Every entity event of every request, in arrival order."""
        return [event for message in self.requests for event in message["data"]]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
