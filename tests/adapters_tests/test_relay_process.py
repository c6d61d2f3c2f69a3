"""`recon relay serve` as a process: a webhook answered 200 survives a kill -9 of the relay,
and so does an agent's ack; SIGTERM stops it cleanly."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from websockets.sync.client import connect as ws_connect

from adapters.relay.client import RelayConnection
from adapters.relay.protocol import Notice

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "process-test-token-0123456789"
#: The relay command as `recon relay` runs it (its typer app, straight from cli/relay.py).
COMMAND = [sys.executable, "-c", "from cli.relay import app; app(prog_name='recon relay')"]


@dataclass
class Relay:
    process: subprocess.Popen[str]
    hook_url: str
    agent_url: str


@contextmanager
def relay_process(store: Path) -> Iterator[Relay]:
    """The relay in a process of its own on the SQLite store, on free ports."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "RECON_RELAY_AGENT_TOKENS": ""}
    process = subprocess.Popen(
        [
            *COMMAND,
            "serve",
            "--store",
            f"sqlite:///{store}",
            "--hook-port",
            "0",
            "--agent-port",
            "0",
            "--agent-token",
            f"sage-office={TOKEN}",
            "--quiet",
            "--show-hook-url",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        urls: dict[str, str] = {}
        assert process.stdout is not None
        for line in process.stdout:
            label, _, rest = line.strip().partition(":  ")
            if label in ("webhooks", "agents"):
                urls[label] = rest.split()[0]
            if "agents" in urls:
                break
        assert set(urls) == {"webhooks", "agents"}, process.communicate(timeout=10)
        yield Relay(process, urls["webhooks"], urls["agents"])
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def deliver(hook_url: str, *entity_ids: int, message_id: str | None = None) -> int:
    parts = urlsplit(hook_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    body = {
        "messageId": message_id or str(uuid.uuid4()),
        "timestamp": "1700000000",
        "data": [
            {
                "action": "updated",
                "timestamp": 1_700_000_000,
                "userId": None,
                "entity": {"type": "invoice", "id": i, "uri": f"https://x/invoice/{i}"},
            }
            for i in entity_ids
        ],
    }
    try:
        connection.request("POST", parts.path, body=json.dumps(body).encode())
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def resumes_after(agent_url: str) -> int:
    """The first seq a new connection that leaves its position to the relay is sent."""
    with ws_connect(agent_url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as raw:
        raw.send(json.dumps({"type": "hello", "after": None}))
        return int(json.loads(raw.recv(timeout=5))["seq"])


def take(connection: RelayConnection, count: int) -> list[Notice]:
    taken: list[Notice] = []
    for _ in range(100):
        if len(taken) >= count:
            break
        taken += connection.take(0.1)
    assert len(taken) == count, (len(taken), connection.state, connection.last_error)
    return taken


def test_a_kill_9_between_answer_and_forward_loses_nothing(tmp_path: Path) -> None:
    store = tmp_path / "relay" / "relay.db"
    with relay_process(store) as relay:
        statuses = [deliver(relay.hook_url, i, i + 100) for i in range(10)]
        statuses.append(deliver(relay.hook_url, 5, message_id="repeated"))
        statuses.append(deliver(relay.hook_url, 5, message_id="repeated"))
        assert statuses == [200] * 12
        first_hook = relay.hook_url
        relay.process.kill()  # SIGKILL: no shutdown, no checkpoint
        relay.process.wait(timeout=10)
        assert relay.process.returncode == -signal.SIGKILL

    with relay_process(store) as relay:
        assert urlsplit(relay.hook_url).path == urlsplit(first_hook).path  # the same secret
        with RelayConnection(relay.agent_url, TOKEN) as agent:
            notices = take(agent, 21)
            assert agent.take(0.3) == []
            assert [n.seq for n in notices] == list(range(1, 22))
            pairs = sorted(int(n.entity_id) for n in notices if n.message_id != "repeated")
            assert pairs == sorted([*range(10), *range(100, 110)])
            agent.ack(12)
        for _ in range(
            100
        ):  # the relay has stored the ack once a fresh connection resumes after it
            if resumes_after(relay.agent_url) == 13:
                break
        assert resumes_after(relay.agent_url) == 13
        relay.process.kill()
        relay.process.wait(timeout=10)

    with relay_process(store) as relay, RelayConnection(relay.agent_url, TOKEN) as agent:
        # The ack survived the kill too: a new connection resumes after it.
        assert [n.seq for n in take(agent, 9)] == list(range(13, 22))


def test_sigterm_stops_the_relay_cleanly(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("SIGTERM is not deliverable to a process on Windows")
    with relay_process(tmp_path / "relay.db") as relay:
        assert deliver(relay.hook_url, 1) == 200
        relay.process.send_signal(signal.SIGTERM)
        stdout, _ = relay.process.communicate(timeout=10)
        assert relay.process.returncode == 0
        assert "recon relay: stopped" in stdout
        assert TOKEN not in stdout
