"""The relay over real sockets on loopback: webhooks in, notices out to agents, acks kept."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect
from websockets.uri import parse_uri

from adapters.relay.client import RelayConnection
from adapters.relay.errors import RelayBindError, RelayConfigError
from adapters.relay.protocol import Notice
from adapters.relay.server import REPLACED, RelayHandle, run_relay

TOKEN = "agent-one-token-0123456789"
OTHER = "agent-two-token-9876543210"
TOKENS = {TOKEN: "one", OTHER: "two"}


def message(*entity_ids: int, message_id: str | None = None, action: str = "updated") -> bytes:
    return json.dumps(
        {
            "messageId": message_id or str(uuid.uuid4()),
            "timestamp": "1700000000",
            "data": [
                {
                    "action": action,
                    "timestamp": 1_700_000_000,
                    "userId": None,
                    "entity": {"type": "invoice", "id": i, "uri": f"https://x/invoice/{i}"},
                }
                for i in entity_ids
            ],
        }
    ).encode()


def request(
    url: str,
    body: bytes | None = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, Any]:
    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=5, context=context
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request(method, parts.path, body=body, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()


def post(handle: RelayHandle, body: bytes) -> tuple[int, Any]:
    return request(handle.hook_url, body, headers={"Content-Type": "application/json"})


def raw_http(handle: RelayHandle, data: bytes) -> bytes:
    """Send ``data`` as is to the webhook port; what comes back."""
    with socket.create_connection(("127.0.0.1", handle.hook_port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def take_until(connection: RelayConnection, count: int, timeout: float = 10.0) -> list[Notice]:
    """Take notices until ``count`` came (failing after ``timeout`` s)."""
    taken: list[Notice] = []
    deadline = time.monotonic() + timeout
    while len(taken) < count and time.monotonic() < deadline:
        taken += connection.take(0.2)
    assert len(taken) == count, (len(taken), count, connection.state, connection.last_error)
    return taken


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def frames(connection: ClientConnection, timeout: float = 2.0) -> list[dict[str, Any]]:
    """Every frame the relay sends until it has been quiet for ``timeout`` s."""
    found = []
    while True:
        try:
            found.append(json.loads(connection.recv(timeout=timeout)))
        except TimeoutError:
            return found


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'relay.db'}"


@pytest.fixture
def relay(store_url: str) -> Iterator[RelayHandle]:
    with run_relay(store_url, agent_tokens=TOKENS) as handle:
        yield handle


@pytest.fixture
def agent(relay: RelayHandle) -> Iterator[RelayConnection]:
    connection = RelayConnection(relay.agent_url, TOKEN, min_delay=0.05, max_delay=0.2)
    yield connection
    connection.close()


# -- webhooks ----------------------------------------------------------------------------------


def test_a_webhook_is_stored_then_answered_200(relay: RelayHandle) -> None:
    assert post(relay, message(1, 2)) == (200, {"ok": True, "stored": 2, "duplicates": 0})
    stats = relay.stats()
    assert (stats["notices"], stats["last"], stats["webhooks"]) == (2, 2, 1)


def test_a_repeated_delivery_records_one_notice(relay: RelayHandle) -> None:
    body = message(7, message_id="msg-1")
    assert post(relay, body)[0] == 200
    assert post(relay, body) == (200, {"ok": True, "stored": 0, "duplicates": 1})
    assert relay.stats()["notices"] == 1


def test_the_same_entity_in_another_message_is_another_notice(relay: RelayHandle) -> None:
    post(relay, message(7, message_id="msg-1"))
    post(relay, message(7, message_id="msg-2"))
    post(relay, message(7, message_id="msg-1", action="deleted"))
    assert relay.stats()["notices"] == 3


def test_reordered_deliveries_are_all_kept(relay: RelayHandle, agent: RelayConnection) -> None:
    for message_id, entity in (("m3", 3), ("m1", 1), ("m2", 2), ("m1", 1)):
        post(relay, message(entity, message_id=message_id))
    taken = take_until(agent.start(), 3)
    assert [(n.message_id, n.entity_id) for n in taken] == [("m3", "3"), ("m1", "1"), ("m2", "2")]


def test_any_other_path_is_404_and_says_nothing(relay: RelayHandle) -> None:
    base = relay.hook_url.removesuffix(relay.hook_path)
    for path in ("/hooks/wrong-secret-wrong-secret-wrong-secret", "/hooks/", "/", "/admin"):
        assert request(base + path, message(1)) == (404, {"error": "not found"})
    near = relay.hook_path[:-1] + ("A" if relay.hook_path[-1] != "A" else "B")
    assert request(base + near, message(1))[0] == 404
    assert relay.stats()["notices"] == 0


def test_bad_json_or_shape_is_400_and_stores_nothing(relay: RelayHandle) -> None:
    status, payload = post(relay, b'{"messageId": ')
    assert status == 400 and "invalid JSON" in payload["error"]
    assert post(relay, json.dumps({"messageId": "m", "data": "x"}).encode())[0] == 400
    stats = relay.stats()
    assert (stats["notices"], stats["rejected"]) == (0, 2)


def test_the_hook_takes_post_only_and_health_answers_get(relay: RelayHandle) -> None:
    assert request(relay.hook_url, method="GET")[0] == 405
    base = relay.hook_url.removesuffix(relay.hook_path)
    assert request(base + "/healthz", method="GET") == (200, {"ok": True})


def test_a_query_string_does_not_change_the_hook_path(relay: RelayHandle) -> None:
    assert request(relay.hook_url + "?source=st", message(1))[0] == 200


def test_a_chunked_body_is_read(relay: RelayHandle) -> None:
    body = message(5)
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]) if part
    )
    answer = raw_http(
        relay,
        b"POST " + relay.hook_path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert relay.stats()["notices"] == 1


def test_expect_continue_is_answered_before_the_body(relay: RelayHandle) -> None:
    body = message(6)
    with socket.create_connection(("127.0.0.1", relay.hook_port), timeout=5) as sock:
        sock.sendall(
            b"POST " + relay.hook_path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        assert sock.recv(100).startswith(b"HTTP/1.1 200 ")


def test_a_body_over_the_limit_is_refused(store_url: str) -> None:
    with run_relay(store_url, agent_tokens=TOKENS, max_body=300) as relay:
        assert post(relay, message(*range(20)))[0] == 413
        assert relay.stats()["notices"] == 0
        assert post(relay, message(1))[0] == 200


def test_a_request_without_a_length_is_411(relay: RelayHandle) -> None:
    answer = raw_http(relay, b"POST " + relay.hook_path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 411 ")


def test_garbage_is_400(relay: RelayHandle) -> None:
    assert raw_http(relay, b"HELLO\r\n\r\n").startswith(b"HTTP/1.1 400 ")


def test_a_slow_store_never_delays_the_answer_past_the_limit(store_url: str) -> None:
    """A write that takes too long is answered 503 (so ServiceTrade resends), in time."""
    with run_relay(store_url, agent_tokens=TOKENS, hook_timeout=0.2) as relay:
        store = relay._relay.store
        original = store.append

        def slow(changes: Any) -> Any:
            time.sleep(0.6)
            return original(changes)

        store.append = slow  # type: ignore[method-assign]
        started = time.monotonic()
        assert post(relay, message(1, message_id="slow"))[0] == 503
        assert time.monotonic() - started < 0.5
        store.append = original  # type: ignore[method-assign]
        wait_for(lambda: relay.stats()["notices"] == 1)  # the late write still landed
        assert post(relay, message(1, message_id="slow"))[1]["duplicates"] == 1


def test_the_hook_secret_is_kept_across_restarts(store_url: str) -> None:
    with run_relay(store_url, agent_tokens=TOKENS) as relay:
        first = relay.hook_secret
    assert len(first) >= 32
    with run_relay(store_url, agent_tokens=TOKENS) as relay:
        assert relay.hook_secret == first
        assert relay.hook_url.endswith(f"/hooks/{first}")


def test_a_given_hook_secret_must_be_long_and_url_safe(store_url: str) -> None:
    for bad in ("short", "x" * 31, "y" * 40 + "/"):
        with (
            pytest.raises(RelayConfigError, match="hook_secret"),
            run_relay(store_url, agent_tokens=TOKENS, hook_secret=bad),
        ):
            pass
    secret = "s" * 40
    with run_relay(store_url, agent_tokens=TOKENS, hook_secret=secret) as relay:
        assert relay.hook_path == f"/hooks/{secret}"


def test_agent_tokens_are_checked(store_url: str) -> None:
    for tokens in ({}, {"short": "a"}, {TOKEN: "bad name"}, {TOKEN: "a", OTHER: "a"}):
        with (
            pytest.raises(RelayConfigError, match="agent_tokens"),
            run_relay(store_url, agent_tokens=tokens),
        ):
            pass


def test_a_port_in_use_is_a_bind_error(store_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with (
            pytest.raises(RelayBindError, match="cannot listen for agents"),
            run_relay(store_url, agent_tokens=TOKENS, agent_port=port),
        ):
            pass


# -- agents: authentication --------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-known-token-at-all"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
)
def test_an_agent_without_a_known_token_is_refused_before_the_upgrade(
    relay: RelayHandle, headers: dict[str, str]
) -> None:
    post(relay, message(1))
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(relay.agent_url, additional_headers=headers, open_timeout=5)
    assert refused.value.response.status_code == 401
    assert TOKEN not in refused.value.response.body.decode()
    stats = relay.stats()
    assert (stats["connections"], stats["refused"]) == (0, 1)


def test_a_refused_client_says_so_and_keeps_trying_slowly(relay: RelayHandle) -> None:
    secret = "wrong-token-that-must-not-leak"
    connection = RelayConnection(relay.agent_url, secret, refused_delay=0.3).start()
    try:
        wait_for(lambda: connection.state == "refused")
        error = connection.last_error or ""
        assert "401" in error and secret not in error
        wait_for(lambda: relay.stats()["refused"] >= 2, timeout=3)  # it retried
        assert connection.take(0.1) == []
    finally:
        connection.close()
    assert connection.state == "closed"


# -- agents: delivery --------------------------------------------------------------------------


def test_notices_stored_before_the_agent_connects_arrive_in_seq_order(
    relay: RelayHandle, agent: RelayConnection
) -> None:
    post(relay, message(1, 2))
    post(relay, message(3))
    taken = take_until(agent.start(), 3)
    assert [n.seq for n in taken] == [1, 2, 3]
    assert [n.entity_id for n in taken] == ["1", "2", "3"]
    assert taken[0].entity_type == "invoice" and taken[0].action == "updated"
    assert agent.state == "connected" and agent.gaps() == 0


def test_live_notices_arrive_as_they_are_stored(relay: RelayHandle, agent: RelayConnection) -> None:
    agent.start()
    wait_for(lambda: agent.state == "connected")
    assert agent.take(0.2) == []
    started = time.monotonic()
    post(relay, message(9))
    assert [n.entity_id for n in take_until(agent, 1)] == ["9"]
    assert time.monotonic() - started < 2


def test_acks_are_durable_and_a_new_connection_resumes_after_them(store_url: str) -> None:
    with run_relay(store_url, agent_tokens=TOKENS) as relay:
        for i in range(5):
            post(relay, message(i))
        with RelayConnection(relay.agent_url, TOKEN) as first:
            taken = take_until(first, 5)
            first.ack(taken[2].seq)
            assert first.last_acked == 3
        wait_for(lambda: relay.stats()["agents"]["one"]["acked"] == 3)
    with run_relay(store_url, agent_tokens=TOKENS) as relay:  # a restarted relay
        post(relay, message(99))
        with RelayConnection(relay.agent_url, TOKEN) as second:  # hello after=null
            assert [n.seq for n in take_until(second, 3)] == [4, 5, 6]
            assert second.take(0.3) == []
        with RelayConnection(relay.agent_url, OTHER) as other:  # positions are per agent
            assert len(take_until(other, 6)) == 6


def test_a_hello_after_overrides_the_stored_position(relay: RelayHandle) -> None:
    for i in range(4):
        post(relay, message(i))
    with ws_connect(relay.agent_url, additional_headers=auth(TOKEN)) as connection:
        connection.send(json.dumps({"type": "hello", "after": 2}))
        assert [f["seq"] for f in frames(connection, 0.5)] == [3, 4]
    assert relay.stats()["agents"]["one"]["acked"] == 2  # the hello's position is an ack


def test_without_a_hello_the_relay_resumes_after_the_stored_ack(store_url: str) -> None:
    with run_relay(store_url, agent_tokens=TOKENS, hello_timeout=0.2) as relay:
        for i in range(3):
            post(relay, message(i))
        with ws_connect(relay.agent_url, additional_headers=auth(TOKEN)) as connection:
            assert [f["seq"] for f in frames(connection, 0.5)] == [1, 2, 3]
            connection.send(json.dumps({"type": "ack", "seq": 2}))
            time.sleep(0.2)
        with ws_connect(relay.agent_url, additional_headers=auth(TOKEN)) as connection:
            assert [f["seq"] for f in frames(connection, 0.5)] == [3]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_client_resumes_after_a_drop_with_no_gap_and_no_repeat(store_url: str) -> None:
    with run_relay(store_url, agent_tokens=TOKENS, window=4) as relay:
        for i in range(10):
            post(relay, message(i))
        connection = RelayConnection(relay.agent_url, TOKEN, min_delay=0.05, max_delay=0.2)
        with connection:
            seen = take_until(connection, 4)  # the window: 4 in flight, none acked
            connection.ack(seen[1].seq)  # acked 2; 3 and 4 delivered but not acked
            wait_for(lambda: relay.stats()["agents"]["one"]["acked"] == 2)
            assert relay.disconnect("one", abort=True)  # the server side drops it mid-stream
            # It reconnects after its ack (2), so the relay sends 3 and 4 again: not handed over.
            wait_for(lambda: relay.stats()["connections"] == 2)
            for i in range(10, 15):
                post(relay, message(i))
            while len(seen) < 15:
                batch = connection.take(0.2)
                if batch:
                    seen += batch
                    connection.ack(batch[-1].seq)
                assert connection.state != "closed"
            assert connection.take(0.3) == []
            assert [n.seq for n in seen] == list(range(1, 16))  # each once, none missing
            assert connection.gaps() == 0
            assert relay.stats()["connections"] == 2
            wait_for(lambda: relay.stats()["agents"]["one"]["acked"] == 15)


def test_the_window_limits_notices_in_flight(store_url: str) -> None:
    with run_relay(store_url, agent_tokens=TOKENS, window=3) as relay:
        for i in range(7):
            post(relay, message(i))
        with RelayConnection(relay.agent_url, TOKEN) as connection:
            first = take_until(connection, 3)
            assert connection.take(0.4) == []  # nothing more until an ack
            connection.ack(first[0].seq)
            assert [n.seq for n in take_until(connection, 1)] == [4]
            connection.ack(4)
            assert [n.seq for n in take_until(connection, 3)] == [5, 6, 7]


def test_an_ack_beyond_the_last_seq_closes_the_connection(relay: RelayHandle) -> None:
    post(relay, message(1))
    with ws_connect(relay.agent_url, additional_headers=auth(TOKEN)) as connection:
        connection.send(json.dumps({"type": "hello", "after": 0}))
        connection.recv(timeout=2)
        connection.send(json.dumps({"type": "ack", "seq": 50}))
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert relay.stats()["agents"]["one"]["acked"] == 0  # the hello's, not the bogus ack


def test_a_new_connection_of_the_same_agent_replaces_the_old(relay: RelayHandle) -> None:
    with ws_connect(relay.agent_url, additional_headers=auth(TOKEN)) as old:
        old.send(json.dumps({"type": "hello", "after": None}))
        wait_for(lambda: relay.stats()["agents"]["one"]["connected"])
        with ws_connect(relay.agent_url, additional_headers=auth(TOKEN)) as new:
            new.send(json.dumps({"type": "hello", "after": None}))
            with pytest.raises(ConnectionClosed) as closed:
                old.recv(timeout=3)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == REPLACED
            post(relay, message(1))
            assert json.loads(new.recv(timeout=3))["seq"] == 1
            assert relay.stats()["agents"]["one"]["connected"]


# -- backlog -----------------------------------------------------------------------------------


def test_an_agent_behind_the_backlog_gets_a_gap_then_what_is_kept(store_url: str) -> None:
    with run_relay(store_url, agent_tokens=TOKENS, backlog=5) as relay:
        for i in range(12):
            post(relay, message(i))
        assert relay.stats()["notices"] == 5
        with RelayConnection(relay.agent_url, TOKEN, after=2) as connection:
            assert [n.seq for n in take_until(connection, 5)] == [8, 9, 10, 11, 12]
            assert connection.gaps() == 1
            assert connection.gaps() == 0  # counted once, cleared by reading
        with ws_connect(relay.agent_url, additional_headers=auth(TOKEN)) as raw:
            raw.send(json.dumps({"type": "hello", "after": 3}))
            sent = frames(raw, 0.5)
            assert sent[0] == {"type": "gap", "oldest": 8}
            assert [f["seq"] for f in sent[1:]] == [8, 9, 10, 11, 12]


def test_a_connected_agent_that_falls_behind_the_backlog_gets_a_gap(store_url: str) -> None:
    with run_relay(store_url, agent_tokens=TOKENS, backlog=5, window=2) as relay:
        post(relay, message(0))
        post(relay, message(1))
        with RelayConnection(relay.agent_url, TOKEN) as connection:
            assert [n.seq for n in take_until(connection, 2)] == [1, 2]
            for i in range(2, 12):  # seqs 3..12; 8..12 kept
                post(relay, message(i))
            assert connection.gaps() == 0
            connection.ack(2)
            assert [n.seq for n in take_until(connection, 2)] == [8, 9]
            assert connection.gaps() == 1


def test_a_store_that_started_over_sends_a_restart_gap_and_everything(
    store_url: str, tmp_path: Path
) -> None:
    with run_relay(store_url, agent_tokens=TOKENS) as relay:
        for i in range(6):
            post(relay, message(i))
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    with run_relay(fresh, agent_tokens=TOKENS) as relay:
        post(relay, message(100))
        post(relay, message(101))
        with RelayConnection(relay.agent_url, TOKEN, after=6) as connection:
            assert [n.entity_id for n in take_until(connection, 2)] == ["100", "101"]
            assert connection.gaps() == 1


# -- keepalive ---------------------------------------------------------------------------------


def test_keepalive_pings_keep_an_idle_connection_open(store_url: str) -> None:
    with (
        run_relay(store_url, agent_tokens=TOKENS, ping_interval=0.2) as relay,
        RelayConnection(relay.agent_url, TOKEN, ping_interval=0.2) as connection,
    ):
        wait_for(lambda: connection.state == "connected")
        time.sleep(1.5)  # several ping intervals, no traffic
        stats = relay.stats()
        assert stats["connections"] == 1 and stats["agents"]["one"]["connected"]
        assert stats["agents"]["one"]["latency"] > 0  # a ping went and its pong came
        post(relay, message(1))
        assert len(take_until(connection, 1)) == 1
        assert relay.stats()["connections"] == 1


def test_a_peer_that_stops_answering_pings_is_dropped(store_url: str) -> None:
    with run_relay(store_url, agent_tokens=TOKENS, ping_interval=0.2, close_timeout=0.3) as relay:
        protocol = ClientProtocol(parse_uri(relay.agent_url))
        handshake = protocol.connect()
        handshake.headers["Authorization"] = f"Bearer {TOKEN}"
        protocol.send_request(handshake)
        with socket.create_connection(("127.0.0.1", relay.agent_port), timeout=5) as sock:
            sock.sendall(b"".join(protocol.data_to_send()))
            assert b" 101 " in sock.recv(4096).split(b"\r\n")[0]
            wait_for(lambda: relay.stats()["agents"]["one"]["connected"])
            # This peer never reads again, so it never answers a ping.
            wait_for(lambda: not relay.stats()["agents"]["one"]["connected"], timeout=5)


# -- the client --------------------------------------------------------------------------------


def test_close_is_prompt_while_connected_and_while_retrying(relay: RelayHandle) -> None:
    connection = RelayConnection(relay.agent_url, TOKEN).start()
    wait_for(lambda: connection.state == "connected")
    started = time.monotonic()
    connection.close()
    assert time.monotonic() - started < 1.0 and connection.state == "closed"
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    retrying = RelayConnection(f"ws://127.0.0.1:{port}/", TOKEN, min_delay=5).start()
    wait_for(lambda: retrying.last_error is not None)
    assert retrying.state == "connecting" and "cannot reach the relay" in (
        retrying.last_error or ""
    )
    started = time.monotonic()
    retrying.close()
    assert time.monotonic() - started < 1.0 and retrying.state == "closed"


def test_close_sends_the_last_ack(relay: RelayHandle) -> None:
    post(relay, message(1, 2))
    connection = RelayConnection(relay.agent_url, TOKEN).start()
    taken = take_until(connection, 2)
    connection.ack(taken[-1].seq)
    connection.close()
    wait_for(lambda: relay.stats()["agents"]["one"]["acked"] == 2)


def test_the_client_acks_only_what_it_delivered(relay: RelayHandle) -> None:
    with RelayConnection(relay.agent_url, TOKEN) as connection, pytest.raises(ValueError):
        connection.ack(1)


@pytest.mark.parametrize(
    ("url", "kwargs"),
    [
        ("http://127.0.0.1:1/", {}),
        ("ws://127.0.0.1:1/", {"ca_file": "ca.pem"}),
        ("ws://127.0.0.1:1/", {"after": -1}),
    ],
)
def test_the_client_refuses_settings_it_cannot_use(url: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RelayConnection(url, TOKEN, **kwargs)
    with pytest.raises(ValueError, match="token"):
        RelayConnection("ws://127.0.0.1:1/", "two words")


# -- TLS ---------------------------------------------------------------------------------------


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    cert, key = folder / "relay.pem", folder / "relay.key"
    try:
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        try:
            subprocess.run(
                [
                    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert),
                ],
                check=True,
                capture_output=True,
            )  # fmt: skip
        except FileNotFoundError:
            pytest.skip("neither the cryptography package nor openssl is available")
        return cert, key
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


def test_tls_on_both_listeners(store_url: str, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with run_relay(store_url, agent_tokens=TOKENS, certfile=str(cert), keyfile=str(key)) as relay:
        assert relay.hook_url.startswith("https://") and relay.agent_url.startswith("wss://")
        trusted = ssl.create_default_context(cafile=str(cert))
        assert request(relay.hook_url, message(1), context=trusted)[0] == 200
        with pytest.raises(ssl.SSLError):  # not trusted without the CA
            request(relay.hook_url, message(2))
        with RelayConnection(relay.agent_url, TOKEN, ca_file=str(cert)) as connection:
            assert [n.entity_id for n in take_until(connection, 1)] == ["1"]
        untrusting = RelayConnection(relay.agent_url, TOKEN, min_delay=5).start()
        try:
            wait_for(lambda: untrusting.last_error is not None)
            assert "TLS" in (untrusting.last_error or "")
            assert untrusting.state == "connecting"
        finally:
            untrusting.close()
        try:  # plain HTTP to the TLS listener is not answered as HTTP
            answer = raw_http(relay, b"POST " + relay.hook_path.encode() + b" HTTP/1.1\r\n\r\n")
        except OSError:
            answer = b""
        assert not answer.startswith(b"HTTP/")
        assert relay.stats()["notices"] == 1


def test_a_certificate_it_cannot_load_names_the_file(store_url: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    with (
        pytest.raises(RelayConfigError, match="certfile") as raised,
        run_relay(store_url, agent_tokens=TOKENS, certfile=missing),
    ):
        pass
    assert raised.value.setting == "certfile"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with (
        pytest.raises(RelayConfigError, match="cannot load the certificate"),
        run_relay(store_url, agent_tokens=TOKENS, certfile=str(garbage)),
    ):
        pass
    with (
        pytest.raises(RelayConfigError, match="keyfile"),
        run_relay(store_url, agent_tokens=TOKENS, keyfile=str(garbage)),
    ):
        pass
