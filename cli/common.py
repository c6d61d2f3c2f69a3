"""What every command shares: the common options, exit codes, errors and JSON output."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import unquote, urlsplit

import typer

from cli.errors import EXIT_ERROR as EXIT_ERROR
from cli.errors import EXIT_FINDINGS as EXIT_FINDINGS
from cli.errors import EXIT_OK as EXIT_OK
from cli.errors import EXIT_UNAVAILABLE as EXIT_UNAVAILABLE
from cli.errors import one_line, redact, remember_secrets

if TYPE_CHECKING:
    from adapters.lease import Lease
    from cli.config import Config

CONFIG_ENV = "RECON_CONFIG"
DEFAULT_CONFIG = Path("recon.toml")

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar=CONFIG_ENV, help="recon.toml (made by recon demo)."),
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
    """Say what failed on stderr, every secret hidden; the caller raises the returned exit.

    A could-not-run failure (exit 3) is one line; a configuration error may list one problem
    a line."""
    text = redact(message)
    if code != EXIT_ERROR:
        text = one_line(text)
    typer.echo(f"recon: {text}", err=True)
    return typer.Exit(code)


def load(path: Path) -> Config:
    """The configuration at ``path``, its secrets remembered so no message prints them; a
    missing file names the configurations nearby (exit 2)."""
    from cli.config import ConfigError, load_config

    if not path.is_file():
        raise fail(missing_config(path))
    try:
        config = load_config(path)
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    remember_secrets(secrets_of(config))
    keep_private(config)
    return config


PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private(path: Path, mode: int = PRIVATE_FILE) -> None:
    """Make ``path`` (when it exists and is this user's) readable by its owner only; files
    recon writes hold secrets, customers and payroll."""
    try:
        status = path.stat()
        if status.st_uid == os.getuid() and status.st_mode & 0o777 & ~mode:
            path.chmod(status.st_mode & 0o777 & mode)
    except (OSError, AttributeError):  # gone meanwhile, not ours, or no getuid (Windows)
        return


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for any other database)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :].split("?", 1)[0]
    return Path(unquote(path)) if path and path != ":memory:" else None


def keep_private(config: Config) -> None:
    """recon's files made by an earlier version, or by hand, are made private too (0600,
    their folders 0700): the configuration, a SQLite store and sandbox, the drop folder."""
    files = [config.path] if config.path is not None else []
    for url in (config.store_url, config.sage.url):
        found = sqlite_file(url)
        if found is not None:
            files += [found, *(found.with_name(found.name + end) for end in ("-wal", "-shm"))]
    for path in files:
        private(path)
    if config.sage.drop_folder:
        folder = Path(config.sage.drop_folder)
        private(folder, PRIVATE_DIR)
        if folder.is_dir():
            for batch in folder.rglob("*"):
                private(batch, PRIVATE_DIR if batch.is_dir() else PRIVATE_FILE)


def missing_config(path: Path, here: Path | None = None) -> str:
    """Why ``path`` cannot be read as recon.toml, and what to run instead: the recon.toml
    files in ``here`` (default: the current folder) and one level down, else recon demo."""
    here = Path.cwd() if here is None else here
    if path.is_dir():
        inside = path / DEFAULT_CONFIG.name
        if inside.is_file():
            return f"{path} is a folder: run with --config {inside}"
        return f"{path} is a folder, not a configuration file (expected a recon.toml)"
    given = path != DEFAULT_CONFIG or os.environ.get(CONFIG_ENV)
    what = (
        f"{path}: no such configuration file"
        if given
        else f"no such configuration file {DEFAULT_CONFIG} in {here} (and no --config or "
        f"{CONFIG_ENV})"
    )
    found = sorted(p.relative_to(here) for p in here.glob(f"*/{DEFAULT_CONFIG.name}"))
    if (here / DEFAULT_CONFIG.name).is_file() and given:
        found.insert(0, DEFAULT_CONFIG)
    if not found:
        return f"{what}; run recon demo to make one, or give --config PATH"
    listed = ", ".join(str(p) for p in found[:5]) + (", …" if len(found) > 5 else "")
    return f"{what}; found {listed}: run with --config {found[0]}"


def secrets_of(cfg: Config) -> list[str]:
    """Every secret the configuration holds, so no message or log line can carry one."""
    found = [
        cfg.servicetrade.client_secret,
        cfg.servicetrade.password,
        cfg.partsledger.client_secret,
        cfg.relay.token,
        cfg.cipher_key or "",
    ]
    for url in (cfg.sage.url, cfg.store_url, cfg.relay.url, cfg.relay.hook_url):
        password = urlsplit(url).password if "://" in url else None
        if password:
            found += [password, unquote(password)]
    hook_secret = urlsplit(cfg.relay.hook_url).path.rstrip("/").rsplit("/", 1)[-1]
    if cfg.relay.hook_url and len(hook_secret) >= 16:  # the unguessable part of the hook URL
        found.append(hook_secret)
    return [s for s in found if len(s) >= 4]


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
