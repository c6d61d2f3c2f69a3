"""`recon relay serve` refuses what it cannot use with one line naming the option (exit 2), says
in one line why it cannot run (exit 3), and never prints a token."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.relay import app, is_loopback, parse_agent_tokens

TOKEN = "cli-test-token-0123456789"
runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'relay.db'}"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        yield taken.getsockname()[1]


def serve(*args: str, env: dict[str, str] | None = None, code: int) -> str:
    """Run `recon relay serve ARGS`; its stderr, one line."""
    result = runner.invoke(
        app, ["serve", *args], env={"RECON_RELAY_AGENT_TOKENS": "", **(env or {})}
    )
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("recon: "), result.stderr
    return lines[0]


def test_no_agent_token_refuses_to_start(store: str) -> None:
    assert "no agent tokens" in serve("--store", store, code=2)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--agent-token", TOKEN], "--agent-token"),
        (["--agent-token", f"={TOKEN}"], "--agent-token"),
        (["--agent-token", "name="], "--agent-token"),
        (["--agent-token", "a=short"], "--agent-token"),
        (["--agent-token", f"a={TOKEN}", "--agent-token", f"b={TOKEN}"], "--agent-token"),
        (["--agent-token", f"a={TOKEN}", "--agent-token", f"a={TOKEN}x"], "--agent-token"),
        (["--agent-token", f"a b={TOKEN}"], "--agent-token"),
        (["--agent-token", f"a={TOKEN}", "--hook-secret", "tooshort"], "--hook-secret"),
        (["--agent-token", f"a={TOKEN}", "--hook-port", "70000"], "--hook-port"),
        (["--agent-token", f"a={TOKEN}", "--agent-port", "-1"], "--agent-port"),
        (["--agent-token", f"a={TOKEN}", "--backlog", "0"], "--backlog"),
        (["--agent-token", f"a={TOKEN}", "--ping-interval", "0"], "--ping-interval"),
        (["--agent-token", f"a={TOKEN}", "--keyfile", "key.pem"], "--keyfile"),
        (["--agent-token", f"a={TOKEN}", "--certfile", "/nonexistent.pem"], "--certfile"),
    ],
)
def test_a_bad_value_names_the_option_and_exits_2(store: str, args: list[str], option: str) -> None:
    line = serve("--store", store, "--hook-port", "0", "--agent-port", "0", *args, code=2)
    assert line.startswith(f"recon: {option}: "), line
    assert TOKEN not in line


def test_a_store_url_it_cannot_use_names_the_option() -> None:
    line = serve("--store", "mysql://u:secretpw@h/db", "--agent-token", f"a={TOKEN}", code=2)
    assert line.startswith("recon: --store: ") and "secretpw" not in line


def test_a_hook_secret_from_the_environment_is_checked(store: str) -> None:
    env = {"RECON_RELAY_HOOK_SECRET": "bad/secret"}
    line = serve("--store", store, "--agent-token", f"a={TOKEN}", env=env, code=2)
    assert line.startswith("recon: --hook-secret: ") and "bad/secret" not in line


def test_a_store_it_cannot_open_exits_3(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = serve(
        "--store", f"sqlite:///{blocker / 'relay.db'}", "--agent-token", f"a={TOKEN}", code=3
    )
    assert "cannot open the relay store" in line


def test_a_port_it_cannot_bind_exits_3(store: str, busy_port: int) -> None:
    line = serve(
        "--store", store, "--agent-token", f"a={TOKEN}", "--hook-port", str(busy_port), code=3
    )
    assert f"cannot listen for webhooks on 127.0.0.1:{busy_port}" in line


def test_tokens_from_the_environment_count(store: str, busy_port: int) -> None:
    env = {"RECON_RELAY_AGENT_TOKENS": f" a={TOKEN} , b={TOKEN}-2 "}
    line = serve("--store", store, "--hook-port", str(busy_port), env=env, code=3)
    assert "cannot listen" in line  # it got past the token check


def test_a_public_host_without_tls_is_warned_about(store: str, busy_port: int) -> None:
    args = ["--store", store, "--agent-token", f"a={TOKEN}", "--hook-port", str(busy_port)]
    result = runner.invoke(
        app, ["serve", *args, "--host", "0.0.0.0"], env={"RECON_RELAY_AGENT_TOKENS": ""}
    )
    assert result.exit_code == 3
    warning, failure = result.stderr.strip().splitlines()
    assert "warning: listening on 0.0.0.0 without --certfile" in warning
    assert "unencrypted" in warning and "cannot listen" in failure


def test_agent_tokens_parse_from_options_and_the_variable() -> None:
    assert parse_agent_tokens(["one=aaaa", "two = bbbb"], "three=cccc, ,four=dd=dd") == {
        "aaaa": "one",
        "bbbb": "two",
        "cccc": "three",
        "dd=dd": "four",
    }


def test_loopback_hosts() -> None:
    assert all(is_loopback(host) for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "::", "10.0.0.1", "relay.example"))


def test_the_relay_commands_import_no_heavy_library() -> None:
    probe = "import sys, json, cli.relay; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    loaded = set(json.loads(result.stdout))
    assert "typer" in loaded
    heavy = ("websockets", "sqlalchemy", "psycopg", "adapters.relay")
    assert sorted(m for m in loaded if m.split(".")[0] in heavy or m in heavy) == []


def test_serve_is_a_command_of_the_relay_group() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--store", "--hook-port", "--agent-port", "--agent-token", "--hook-secret"):
        assert option in result.output
