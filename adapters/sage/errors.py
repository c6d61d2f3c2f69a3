"""The errors the Sage adapter raises; SQLAlchemy and pyodbc errors are translated here, once.

Hierarchy::

    SageError
    ├── SageConfigError          the URL, driver or arguments cannot work (fix the config)
    ├── SageUnavailableError     the database cannot be reached or refused the login
    │   └── SageLogonRejectedError   Sage's logon trigger refused this application name
    ├── SageSchemaError          a table or column recon needs is missing
    ├── SandboxExistsError       init would overwrite a sandbox that holds data
    ├── SageDataError            rows that cannot mean what recon expects
    └── SageWriteError           a posting could not be written (nothing was committed)
        └── SageRecordNotFoundError  the record to void, replace or update is not there

Every translated error chains the original (``raise ... from exc``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc


class SageError(Exception):
    """Anything that went wrong talking to a Sage 100 Contractor database."""


class SageConfigError(SageError):
    """The URL, driver or arguments cannot work; the message says what was expected."""


class SageUnavailableError(SageError):
    """The database could not be reached, opened or logged in to."""


class SageLogonRejectedError(SageUnavailableError):
    """Sage's ``SageApplicationsOnly`` logon trigger refused the connection."""


class SageSchemaError(SageError):
    """A table or column recon reads or writes is missing from the database."""


class SandboxExistsError(SageError):
    """``init_sandbox`` found a sandbox holding data and was not told to reset it."""


class SageDataError(SageError):
    """Rows in Sage that cannot be read as what recon expects (e.g. a district's unknown entity)."""


class SageWriteError(SageError):
    """A posting failed; its transaction was rolled back."""


class SageRecordNotFoundError(SageWriteError):
    """The record a void, replace or update names does not exist."""


_SANDBOX_HINT = "for a sandbox run `recon sandbox init`; for production check the company database"
_MISSING_TABLE = ("no such table", "invalid object name")
_MISSING_COLUMN = ("no such column", "invalid column name", "has no column named")
_LOGON_REJECTED = ("50004", "17892", "due to trigger execution", "not allowed to connect")
_UNREACHABLE = (
    "unable to open database file",
    "database is locked",
    "08001",
    "08s01",
    "hyt00",
    "login timeout",
    "tcp provider",
    "named pipes provider",
    "could not open a connection",
    "server was not found",
    "login failed",
    "communication link failure",
    # PostgreSQL (a sandbox hosted there), as psycopg says it on connecting
    "connection refused",
    "could not connect to server",
    "could not translate host name",
    "password authentication failed",
    "timeout expired",
    "the database system is starting up",
    "the database system is shutting down",
)


def translate(
    exc: sa_exc.SQLAlchemyError, action: str, fallback: type[SageError] = SageError
) -> SageError:
    """The Sage error for a SQLAlchemy/DBAPI error raised while doing ``action``.

    Missing tables/columns, refused logons and unreachable servers get their own classes;
    anything else becomes ``fallback`` (e.g. ``SageWriteError`` for postings).
    """
    text = str(exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc)
    lowered = text.lower()
    if any(marker in lowered for marker in _MISSING_TABLE):
        return SageSchemaError(
            f"{action}: expected Sage's tables but the database has none of that name ({text}); "
            + _SANDBOX_HINT
        )
    if any(marker in lowered for marker in _MISSING_COLUMN):
        return SageSchemaError(
            f"{action}: expected a Sage column that the database lacks ({text}); "
            "compare the table with adapters/sage/schema.py (docs/sage.md)"
        )
    if any(marker in lowered for marker in _LOGON_REJECTED):
        return SageLogonRejectedError(
            f"{action}: Sage's logon trigger refused this program ({text}); approve the "
            "application name recon sends (APP=) under Database Administration > Advanced SQL "
            "Server Settings > Limit access to approved applications, or use a sysadmin login"
        )
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return SageUnavailableError(f"{action}: the connection to Sage was lost ({text})")
    if any(marker in lowered for marker in _UNREACHABLE):
        return SageUnavailableError(f"{action}: expected a reachable Sage database, got: {text}")
    if isinstance(exc, sa_exc.InterfaceError):
        return SageUnavailableError(f"{action}: the database driver failed: {text}")
    if isinstance(exc, sa_exc.DBAPIError) and exc.statement is not None:
        return fallback(f"{action}: Sage rejected the statement: {text}")
    return fallback(f"{action}: {text}")


@contextmanager
def translating(action: str, fallback: type[SageError] = SageError) -> Iterator[None]:
    """Raise SQLAlchemy errors from the block as Sage errors, chained, naming ``action``."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        raise translate(exc, action, fallback) from exc
