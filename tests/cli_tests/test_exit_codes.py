"""Every command's exit code as scripts read it (0 done, 1 differences, 2 usage or configuration,
3 could not run), said in one line on stderr with no traceback and no secret, through the
installed command's entry point (``python -m cli`` runs ``cli.main.main``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.config import default_config, write_config
from cli.errors import ReconGroup, classify, redact

#: Distinctive secrets in every configuration below: none may ever be printed.
SECRETS = (
    "ST-CLIENT-SECRET-7f3a",
    "PL-CLIENT-SECRET-9c1d",
    "SAGE-PASSWORD-4e8b",
    "STORE-PASSWORD-2a6c",
    "RELAY-TOKEN-5d0e-5d0e",
)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def recon(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def secret_config(folder: Path, port: int, **sage: str) -> dict:
    """A configuration whose sources are down (nothing listens on ``port``) and whose secrets
    are the distinctive strings above."""
    data = default_config(folder)
    data["servicetrade"].update(
        base_url=f"http://127.0.0.1:{port}/api",
        client_id="recon",
        client_secret=SECRETS[0],
        timeout_seconds=2,
    )
    data["partsledger"].update(
        base_url=f"http://127.0.0.1:{port}/pl", client_id="recon", client_secret=SECRETS[1]
    )
    data["relay"] = {"mode": "off", "token": SECRETS[4]}
    data["sage"].update(sage)
    return data


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exit-codes")
    port = closed_port()
    made = {}
    # Sources down, and no Sage sandbox where sage.url points.
    made["down"] = secret_config(folder, port, url=f"sqlite:///{folder / 'missing' / 'sage.db'}")
    # Sage on a database server that does not answer, its password in the URL.
    made["sage_down"] = secret_config(
        folder, port, url=f"postgresql://recon:{SECRETS[2]}@127.0.0.1:{port}/sage"
    )
    # The event store cannot be opened (its path is a folder).
    (folder / "store-folder").mkdir()
    made["no_store"] = secret_config(folder, port)
    made["no_store"]["store"]["url"] = f"sqlite:///{folder / 'store-folder'}"
    # A configuration error in a URL holding a password.
    made["bad"] = secret_config(folder, port)
    made["bad"]["store"]["url"] = f"mysql://recon:{SECRETS[3]}@db/recon"
    paths = {}
    for name, data in made.items():
        paths[name] = folder / f"{name}.toml"
        write_config(paths[name], data)
    paths["out"] = folder / "pack"
    return paths


def assert_said_in_one_line(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("recon: ")
    assert "Traceback" not in result.stderr
    assert_no_secret(result)


def assert_no_secret(result: subprocess.CompletedProcess[str]) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr, secret


@pytest.mark.parametrize(
    ("config", "args"),
    [
        ("down", ["ingest"]),
        ("down", ["status"]),
        ("down", ["reconcile"]),
        ("down", ["replay"]),
        ("down", ["resolve", "SAGE-acrinv-1", "--accept", "--why", "kept"]),
        ("down", ["report", "--period", "2026-10", "--out", "{out}"]),
        ("down", ["sandbox", "import"]),
        ("sage_down", ["status"]),
        ("sage_down", ["reconcile", "--apply"]),
        ("no_store", ["postings"]),
        ("no_store", ["approve", "--all", "--by", "tester", "--why", "checked"]),
        ("no_store", ["quarantine", "list"]),
        ("no_store", ["ingest"]),
    ],
)
def test_a_command_that_cannot_run_exits_3_in_one_line(
    configs: dict[str, Path], config: str, args: list[str]
) -> None:
    args = [arg.replace("{out}", str(configs["out"])) for arg in args]
    result = recon(*args, "--config", str(configs[config]))
    assert_said_in_one_line(result, 3)


def test_sync_once_that_cannot_reach_sage_exits_3(configs: dict[str, Path]) -> None:
    result = recon("sync", "--once", "--config", str(configs["down"]))
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("recon: could not use Sage")
    assert_no_secret(result)


def test_sandbox_commands_on_a_server_that_does_not_answer_exit_3() -> None:
    url = f"postgresql://recon:{SECRETS[2]}@127.0.0.1:{closed_port()}/sage"
    assert_said_in_one_line(recon("sandbox", "init", "--sage", url), 3)
    assert_said_in_one_line(recon("sandbox", "check", "--sage", url), 3)


def test_relay_whose_store_does_not_answer_exits_3() -> None:
    url = f"postgresql://recon:{SECRETS[3]}@127.0.0.1:{closed_port()}/relay"
    result = recon("relay", "serve", "--store", url, "--agent-token", f"site={SECRETS[4]}",
                   "--hook-port", "0", "--agent-port", "0")  # fmt: skip
    assert_said_in_one_line(result, 3)


def test_a_simulator_whose_port_is_taken_exits_3() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_said_in_one_line(recon("sim", "serve", "--port", str(port), "--quiet"), 3)


@pytest.mark.parametrize(
    "args",
    [
        ["reconcile", "--period", "2026-13"],
        ["reconcile", "--module", "payroll"],
        ["status", "--no-such-option"],
        ["sync", "--log-format", "xml"],
    ],
)
def test_a_usage_error_exits_2(configs: dict[str, Path], args: list[str]) -> None:
    result = recon(*args, "--config", str(configs["down"]))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert_no_secret(result)


def test_a_configuration_error_exits_2_and_never_shows_the_password(
    configs: dict[str, Path],
) -> None:
    result = recon("status", "--config", str(configs["bad"]))
    assert_said_in_one_line(result, 2)
    assert "store.url 'mysql://recon:***@db/recon'" in result.stderr


def test_debug_adds_the_traceback_and_keeps_the_exit_code(configs: dict[str, Path]) -> None:
    for run in (
        recon("--debug", "status", "--config", str(configs["sage_down"])),
        recon("status", "--config", str(configs["sage_down"]), env={"RECON_DEBUG": "1"}),
    ):
        assert run.returncode == 3
        assert "Traceback (most recent call last)" in run.stderr
        assert run.stderr.splitlines()[-1].startswith("recon: could not use Sage")
        assert_no_secret(run)


def test_a_command_that_runs_prints_no_secret(tmp_path: Path) -> None:
    data = default_config(tmp_path)  # embedded sources: the secrets are there, unused
    data["servicetrade"]["client_secret"] = SECRETS[0]
    data["partsledger"]["client_secret"] = SECRETS[1]
    data["relay"]["token"] = SECRETS[4]
    write_config(tmp_path / "recon.toml", data)
    for args in (["postings"], ["postings", "--json"], ["quarantine", "list"]):
        result = recon(*args, "--config", str(tmp_path / "recon.toml"))
        assert result.returncode == 0, result.stderr
        assert_no_secret(result)


# --- the policy itself, in process -----------------------------------------------------------


@pytest.fixture
def failing_app() -> Iterator[typer.Typer]:
    app = typer.Typer(cls=ReconGroup)

    @app.callback()
    def _root() -> None:
        """A command tree run by recon's error policy."""

    @app.command()
    def boom() -> None:
        raise RuntimeError(f"lost postgresql://recon:{SECRETS[3]}@db/recon")

    @app.command()
    def fine() -> None:
        typer.echo("done")

    yield app


def test_an_unexpected_error_is_an_internal_error_in_one_line(failing_app: typer.Typer) -> None:
    result = CliRunner().invoke(failing_app, ["boom"], env={"RECON_DEBUG": ""})
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "recon: internal error: RuntimeError: lost postgresql://recon:***@db/recon; "
        "run again with --debug for the traceback"
    ]
    debug = CliRunner().invoke(failing_app, ["boom"], env={"RECON_DEBUG": "1"})
    assert debug.exit_code == 3
    assert "Traceback (most recent call last)" in debug.stderr
    assert SECRETS[3] not in debug.stderr
    assert CliRunner().invoke(failing_app, ["fine"]).exit_code == 0


def test_errors_are_classified_by_type() -> None:
    from adapters.lease import LeaseError
    from adapters.servicetrade.errors import AuthError, ServiceTradeTransportError
    from adapters.store import StoreConfigError
    from cli.config import ConfigError

    assert classify(ConfigError("sage.url is missing"))[0] == 2
    assert classify(StoreConfigError("store.url 'x': expected sqlite:///"))[0] == 2
    code, line = classify(AuthError("POST /oauth2/token: 401", status_code=401))
    assert code == 3 and "check servicetrade.client_id" in line
    code, line = classify(ServiceTradeTransportError("GET /api/job: ConnectError"))
    assert code == 3 and "servicetrade.base_url" in line
    assert classify(LeaseError("could not take the lease file"))[0] == 3
    assert classify(ConnectionRefusedError(111, "refused"))[0] == 3
    assert classify(KeyError("x"))[1].startswith("internal error: KeyError")


def test_redact_hides_passwords_in_urls_and_connection_strings() -> None:
    text = (
        "a mssql+pyodbc://sa:p@ss:w0rd@sage01/Acme?driver=x and "
        "odbc_connect=DRIVER%3D{x}%3BPWD%3Dhunter22%3B and postgresql://u@h/db"
    )
    shown = redact(text)
    assert "p@ss" not in shown and "w0rd" not in shown and "hunter22" not in shown
    assert "mssql+pyodbc://sa:***@sage01/Acme" in shown
    assert "postgresql://u@h/db" in shown  # no password: nothing to hide
