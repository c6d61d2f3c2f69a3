"""One error policy for every command: an exit code scripts can rely on, one line on stderr."""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Iterable
from typing import Any

import typer
from typer.core import TyperGroup

# The click typer is built on (its own copy in newer typer versions, else the click package).
_click = sys.modules[typer.BadParameter.__module__]
#: Left to click: usage errors (exit 2), Ctrl-C, and a reader of the output gone away
#: (``recon status | head``). Exits (typer.Exit) are the commands' own.
PASSED_ON: tuple[type[BaseException], ...] = (
    _click.ClickException,
    typer.Abort,
    BrokenPipeError,
)

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2  # usage or configuration
EXIT_UNAVAILABLE = 3  # could not run: a source, Sage, the store, or another recon posting

DEBUG_ENV = "RECON_DEBUG"
#: Where ``recon --debug`` is kept for the command that runs (click's meta is shared by the
#: whole chain of contexts).
DEBUG_KEY = "recon.debug"
#: An error message longer than this is cut: a line on stderr, not a dump.
LONGEST = 600

# scheme://user:password@host: everything from the colon after the user to the last "@"
# of the URL (a password may itself hold "@").
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)\S*@")
# An ODBC connection string's password (PWD=...; or Password=...), percent-encoded or not.
# (no word boundary before it: in an encoded string it follows "%3B")
_ODBC_PASSWORD = re.compile(r"(?i)(pwd|password)(=|%3d)[^;&\s'\"]*")

_secrets: set[str] = set()


def remember_secrets(secrets: Iterable[str]) -> None:
    """Secrets this run holds (from the configuration): never printed, whatever says them."""
    _secrets.update(secret for secret in secrets if len(secret) >= 4)


def redact(text: str) -> str:
    """``text`` with every password in a URL, every ODBC password and every remembered
    secret replaced by ***."""
    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _ODBC_PASSWORD.sub(r"\1\2***", text)
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def one_line(text: str) -> str:
    """A message as one line: its lines joined, cut to LONGEST characters."""
    line = "; ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return line if len(line) <= LONGEST else line[: LONGEST - 1] + "…"


def _loaded(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """Exception classes of ``module`` when it is loaded: an error of a library never
    imported cannot have been raised, and classifying must not import one."""
    loaded = sys.modules.get(module)
    if loaded is None:
        return ()
    found = (getattr(loaded, name, None) for name in names)
    return tuple(kind for kind in found if isinstance(kind, type))


def _orig(exc: BaseException) -> BaseException:
    """The driver's error behind SQLAlchemy's: its text carries no SQL and no parameters."""
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


def classify(exc: BaseException) -> tuple[int, str]:
    """The exit code and the line (without "recon: ") for an error that ended a command."""
    said = str(exc) or type(exc).__name__
    # Configuration and usage: fix recon.toml or the command line.
    config_errors = (
        *_loaded("cli.config", "ConfigError"),
        *_loaded("adapters.store", "StoreConfigError"),
        *_loaded("adapters.sage.errors", "SageConfigError", "SandboxExistsError"),
        *_loaded("adapters.relay.errors", "RelayConfigError"),
        *_loaded("domain.mapping", "MappingError"),
        *_loaded("domain.policy", "PolicyError", "PeriodError"),
        *_loaded("simulator.persist", "StateFileError"),
    )
    if config_errors and isinstance(exc, config_errors):
        return EXIT_ERROR, f"{said}; fix the configuration and run again"
    sources = _loaded("adapters.http.errors", "SourceApiError")
    if sources and isinstance(exc, sources):
        return EXIT_UNAVAILABLE, _source_line(exc, said)
    if sage_unreachable(exc):
        return EXIT_UNAVAILABLE, (
            f"could not use Sage: {said}; check sage.url and that the database answers, "
            "then run again"
        )
    sage = _loaded("adapters.sage.errors", "SageError")
    if sage and isinstance(exc, sage):
        return EXIT_UNAVAILABLE, f"could not use Sage: {said}"
    lease = _loaded("adapters.lease", "LeaseHeld", "LeaseError")
    if lease and isinstance(exc, lease):
        return EXIT_UNAVAILABLE, f"{said}; wait for it or run again with --wait"
    relay = _loaded("adapters.relay.errors", "RelayError")
    if relay and isinstance(exc, relay):
        return EXIT_UNAVAILABLE, f"the relay could not run: {said}"
    store = (
        *_loaded("eventsourcing.persistence", "PersistenceError"),
        *_loaded("sqlalchemy.exc", "SQLAlchemyError"),
        *_loaded("sqlite3", "Error"),
        *_loaded("psycopg", "Error"),
    )
    if store and isinstance(exc, store):
        said = str(_orig(exc)) or type(exc).__name__
        return EXIT_UNAVAILABLE, (
            f"could not use the event store: {type(_orig(exc)).__name__}: {said}; check "
            "store.url and that the database answers, then run again"
        )
    network = (
        *_loaded("httpx", "HTTPError"),
        *_loaded("websockets.exceptions", "WebSocketException"),
    )
    if network and isinstance(exc, network):
        return EXIT_UNAVAILABLE, f"a connection failed: {type(exc).__name__}: {said}"
    if isinstance(exc, OSError):
        return EXIT_UNAVAILABLE, f"could not run: {type(exc).__name__}: {said}"
    return EXIT_UNAVAILABLE, (
        f"internal error: {type(exc).__name__}: {said}; run again with --debug for the traceback"
    )


def sage_unreachable(exc: BaseException) -> bool:
    """A Sage error that says the database did not answer: SageUnavailableError, or one
    whose driver error came on connecting (before any statement ran)."""
    unavailable = _loaded("adapters.sage.errors", "SageUnavailableError")
    if unavailable and isinstance(exc, unavailable):
        return True
    sage = _loaded("adapters.sage.errors", "SageError")
    connecting = _loaded("sqlalchemy.exc", "OperationalError", "InterfaceError")
    cause = exc.__cause__
    return bool(
        sage
        and connecting
        and isinstance(exc, sage)
        and isinstance(cause, connecting)
        and getattr(cause, "statement", None) is None
    )


def _source_line(exc: BaseException, said: str) -> str:
    system = (
        "PartsLedger"
        if type(exc).__module__.startswith("adapters.partsledger")
        else ("ServiceTrade")
    )
    key = system.lower()
    status = getattr(exc, "status_code", None)
    if status in (401, 403) or type(exc).__name__ == "AuthError":
        advice = f"check {key}.client_id/client_secret (or username/password) in recon.toml"
    elif status is None:
        advice = f"check {key}.base_url and the network, then run again"
    else:
        advice = f"{system} is failing; run again later"
    return f"{system} could not be used: {said}; {advice}"


def debugging(ctx: Any = None) -> bool:
    if ctx is not None and ctx.meta.get(DEBUG_KEY):
        return True
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def say(line: str) -> None:
    """One line on stderr, every secret hidden."""
    typer.echo(f"recon: {one_line(redact(line))}", err=True)


def show_traceback(exc: BaseException) -> None:
    """The traceback (``--debug``): frames and messages, never local variables."""
    text = "".join(traceback.format_exception(exc))
    sys.stderr.write(redact(text))
    sys.stderr.flush()


class ReconGroup(TyperGroup):
    """The ``recon`` command tree, whose commands all end by the same policy: recon's files
    private to their owner, and any error escaping a command classified (exit 2 or 3) and
    said in one line, the traceback only with ``--debug``."""

    def invoke(self, ctx: Any) -> Any:
        previous = os.umask(0o077)  # files recon writes: 0600; folders it makes: 0700
        try:
            return super().invoke(ctx)
        except PASSED_ON:
            raise
        except typer.Exit as exc:
            if debugging(ctx) and exc.__cause__ is not None:
                show_traceback(exc.__cause__)
            raise
        except Exception as exc:
            code, line = classify(exc)
            if debugging(ctx):
                show_traceback(exc)
            say(line)
            raise typer.Exit(code) from None
        finally:
            os.umask(previous)
