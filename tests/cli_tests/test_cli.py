"""The recon command's surface: help, validation at the edge, exit codes, config errors."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli.config import ConfigError, default_config, load_config, parse_config, write_config
from cli.main import app

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "demo",
        "sim",
        "sandbox",
        "ingest",
        "reconcile",
        "resolve",
        "postings",
        "approve",
        "reject",
        "status",
        "quarantine",
        "replay",
    ):
        assert command in result.output


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "recon.toml"
    write_config(path, default_config(tmp_path))
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reconcile", "--period", "2026-13"], "expected YYYY-MM"),
        (["reconcile", "--module", "payroll"], "expected one of clients"),
        (["resolve", "SAGE-acrinv-1", "--accept"], "say why"),
        (["resolve", "SAGE-acrinv-1", "--why", "x"], "exactly one of --accept or --void"),
    ],
)
def test_bad_arguments_exit_2_and_say_what_was_expected(
    config: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, [*args, "--config", str(config)])
    assert result.exit_code == 2
    assert message in result.output


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "no such configuration file" in result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["store"].update(url="mysql://x"),
            "store.url 'mysql://x': expected sqlite:///",
        ),
        (
            lambda d: d["mapping"].update(ar_control_account="1200"),
            "mapping.ar_control_account = '1200': expected a whole number",
        ),
        (
            lambda d: d["mapping"]["tax_groups"].update({"Wake County NC": 77}),
            "expected the number of a district",
        ),
        (
            lambda d: d["tax"]["districts"]["1"]["entities"][0].update(rate=4.75),
            "tax.districts.1.entities[0].rate = 4.75: expected a text string",
        ),
        (
            lambda d: d["tax"]["districts"]["1"]["entities"][0].update(rate="4,75"),
            'expected a decimal in quotes, e.g. "4.75"',
        ),
        (
            lambda d: d["mapping"].update(job_numbering="per_site"),
            "expected one of per_location, per_job",
        ),
        (
            lambda d: d["servicetrade"].update(base_url="https://api.servicetrade.com/api"),
            "servicetrade.client_id is missing",
        ),
        (lambda d: d.pop("sage"), "sage is missing: expected a table"),
        (
            lambda d: d["mapping"]["pay_types"].update({"Regular Labor": 12}),
            "expected a Sage pay type 1-9",
        ),
        (
            lambda d: d["mapping"]["cost_codes"].update(labor="100"),
            'expected {code = "1.100", type = 1}',
        ),
        (
            lambda d: d["mapping"]["employees"].update({"Ana": "101"}),
            "mapping.employees.'Ana' = '101': expected a whole number",
        ),
        (lambda d: d["sage"].update(sink="files", drop_folder=""), "sage.drop_folder is missing"),
        (
            lambda d: d["partsledger"].update(base_url="https://pl.example"),
            "partsledger.client_id is missing",
        ),
        (
            lambda d: d["sage"].update(url="odbc://x"),
            "sage.url 'odbc://x': expected mssql+pyodbc://",
        ),
    ],
)
def test_a_bad_config_value_names_the_key_and_the_form_expected(
    tmp_path: Path, change, message: str
) -> None:  # type: ignore[no-untyped-def]
    data = default_config(tmp_path)
    change(data)
    path = tmp_path / "recon.toml"
    write_config(path, data)
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    assert message in str(error.value)
    result = runner.invoke(app, ["status", "--config", str(path)])
    assert result.exit_code == 2 and message in result.output


def test_the_default_config_round_trips(tmp_path: Path, config: Path) -> None:
    assert load_config(config).mapping == parse_config(default_config(tmp_path)).mapping


def test_sim_serve_runs_a_real_server_on_loopback(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "sim", "serve", "--port", "0", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = ""
        deadline = time.monotonic() + 30
        while not url and time.monotonic() < deadline:
            line = process.stdout.readline()
            for word in line.split():
                if word.startswith("http://127.0.0.1:") and word.rstrip("/").endswith("/api"):
                    url = word.rstrip("/")
        assert url, "the simulator did not print its base URL"
        token = httpx.post(
            f"{url}/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "recon",
                "client_secret": "recon-sim-secret",
            },
        ).json()
        response = httpx.get(
            f"{url}/company", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert response.status_code == 200
        assert response.json()["data"]["companies"]
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
