"""What every command shares: the common options, exit codes, errors and JSON output."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from adapters.lease import Lease
    from cli.config import Config

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_UNAVAILABLE = 3  # could not run: a source, Sage, the store, or another recon posting

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="RECON_CONFIG", help="recon.toml (made by recon demo)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="Wait for another recon posting to this Sage company to finish "
        "(without it, exit 3 naming the other).",
    ),
]
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


def posting_lease(config: Config, command: str, *, wait: bool) -> Lease:
    """The Sage company's one-writer lease, taken for ``command`` (e.g. "reconcile --apply");
    held by another recon, exit 3 naming it, or with ``wait`` say so and wait for it."""
    from adapters.lease import LeaseError, LeaseHeld, acquire_lease

    def waiting(held: LeaseHeld) -> None:
        typer.echo(f"recon: {held}; waiting for it to finish", err=True)

    try:
        return acquire_lease(config.store_url, config.sage.url, command, wait=wait, on_wait=waiting)
    except LeaseHeld as exc:
        raise fail(f"{exc}; wait for it or run again with --wait", EXIT_UNAVAILABLE) from exc
    except LeaseError as exc:
        raise fail(str(exc), EXIT_UNAVAILABLE) from exc


def lease_if_free(config: Config, command: str, *, otherwise: str) -> Lease | None:
    """The lease when no other recon holds it; held, None, after one line on stderr naming
    the holder and saying what this run does ``otherwise``. Never waits."""
    from adapters.lease import LeaseError, LeaseHeld, acquire_lease

    try:
        return acquire_lease(config.store_url, config.sage.url, command, wait=False)
    except LeaseHeld as exc:
        typer.echo(f"recon: {exc}: {otherwise}", err=True)
        return None
    except LeaseError as exc:
        raise fail(str(exc), EXIT_UNAVAILABLE) from exc
