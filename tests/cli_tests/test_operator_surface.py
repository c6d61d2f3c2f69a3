"""The operator's surface: `recon sync`'s log lines never carry a secret; a bad option says what
it takes; `recon --version`; tracebacks never show local variables."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from cli.config import default_config, parse_config
from cli.sync import Logger, secrets_of


def config_with_secrets(tmp_path: Path) -> dict:
    data = default_config(tmp_path)
    data["servicetrade"].update(base_url="https://api.example.com/api", client_id="id",
                                client_secret="st-s3cret-value")  # fmt: skip
    data["sage"]["url"] = "mssql+pyodbc://recon:P%40ssw0rd!@sage01\\SAGE100CON/Acme?driver=x"
    data["relay"] = {"mode": "remote", "url": "wss://relay.example.com:8781",
                     "token": "agent-token-0123456789", "hook_url": "https://r/hooks/x"}  # fmt: skip
    data["store"]["cipher_key"] = "Y2lwaGVyLWtleS1tYXRlcmlhbC0wMTIzNDU2Nzg5YWI="  # base64, 32 bytes
    return data


def test_no_log_line_carries_a_secret(tmp_path: Path) -> None:
    cfg = parse_config(config_with_secrets(tmp_path))
    secrets = secrets_of(cfg)
    leaky = " ".join(
        ["st-s3cret-value", "P@ssw0rd!", "P%40ssw0rd!", "agent-token-0123456789",
         "Y2lwaGVyLWtleS1tYXRlcmlhbC0wMTIzNDU2Nzg5YWI="]
    )  # fmt: skip
    for form in ("text", "json"):
        out = io.StringIO()
        log = Logger(form, secrets, stream=out)
        log("unavailable", part="sage", error=f"login failed: {leaky}", retry_in_seconds=2)
        log.hide("hook-secret-path-value")
        log("webhook", hook_url="http://127.0.0.1:1/hooks/hook-secret-path-value")
        text = out.getvalue()
        for secret in [*leaky.split(), "hook-secret-path-value"]:
            assert secret not in text, (form, secret)
        assert text.count("***") >= 6
        if form == "json":
            lines = [json.loads(line) for line in text.splitlines()]
            assert [line["event"] for line in lines] == ["unavailable", "webhook"]


def test_an_unknown_log_format_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli", "sync", "--log-format", "xml", "--config",
         str(tmp_path / "none.toml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "expected text or json" in result.stderr


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = subprocess.run(
        [sys.executable, "-m", "cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"recon {version('recon')}"


def test_tracebacks_never_show_local_variables() -> None:
    from cli.main import app

    assert app.pretty_exceptions_show_locals is False
