"""What every command shares: the common options, exit codes, errors and JSON output."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from cli.config import Config

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="RECON_CONFIG", help="recon.toml (made by recon demo)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    """Say what failed on stderr; the caller raises the returned exit."""
    typer.echo(f"recon: {message}", err=True)
    return typer.Exit(code)


def load(path: Path) -> Config:
    from cli.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise fail(str(exc)) from exc


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def check_period(period: str | None) -> str | None:
    if period is not None and not PERIOD.match(period):
        raise typer.BadParameter(f"{period!r}: expected YYYY-MM", param_hint="--period")
    return period
