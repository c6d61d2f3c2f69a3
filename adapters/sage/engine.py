"""Engines for Sage databases: SQL Server over pyodbc (production), and the sandbox on SQLite
(the embedded default) or PostgreSQL.

SQL Server: Sage's ``SageApplicationsOnly`` logon trigger rejects programs that send no
application name, so every connection string carries ``APP=<name>`` (reference §4.2).
SQLite: WAL journal, a busy timeout, foreign keys on (the few Sage enforces, reference §8), and
transactions begun explicitly so a read sees one snapshot and a posting holds the write lock
from its first statement (``BEGIN IMMEDIATE``), which makes max+1 line numbers safe.
PostgreSQL (``postgresql://``, driven by psycopg 3) is always a sandbox: it sends the
application name as ``application_name``.
Both sandboxes refuse RETURNING on Sage's tables, as SQL Server refuses ``OUTPUT inserted`` on a
table with triggers (error 334): a write that passes a sandbox this way passes the server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, make_url

from adapters.sage.errors import SageConfigError, SageSchemaError, translating
from adapters.sage.schema import TABLES

DEFAULT_APP_NAME = "recon"
#: Execution option the posting sink sets: on SQLite its transactions start ``BEGIN IMMEDIATE``.
WRITE_OPTION = "sage_write"
SQLITE_BUSY_TIMEOUT_S = 30
_APP_IN_ODBC = re.compile(r"(^|;)\s*app\s*=", re.IGNORECASE)
_MEMORY = ("", ":memory:")
POSTGRES_DRIVER = "postgresql+psycopg"
#: Tables with triggers, on which SQL Server refuses OUTPUT inserted: every Sage table.
TRIGGER_TABLES = frozenset(TABLES)
_DML_TARGET = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[\"\[`]?(\w+)", re.IGNORECASE
)
_RETURNING = re.compile(r"\b(?:RETURNING|OUTPUT\s+inserted|OUTPUT\s+deleted)\b", re.IGNORECASE)
ERROR_334 = (
    "The target table '{table}' of the DML statement cannot have any enabled triggers if the "
    "statement contains an OUTPUT clause without INTO clause (SQL Server error 334, emulated by "
    "the sandbox: read generated values back with a SELECT)"
)


class OutputOnTriggerTableError(Exception):
    """The sandbox's stand-in for SQL Server error 334 (the DBAPI error it is raised as)."""


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL of a Sage database, or a SageConfigError saying what was expected."""
    try:
        return make_url(url)
    except sa_exc.ArgumentError as exc:
        raise SageConfigError(
            f"expected a database URL such as 'mssql+pyodbc://user:pass@host\\SAGE100CON/Company"
            f"?driver=ODBC+Driver+18+for+SQL+Server' or 'sqlite:///sage-sandbox.db', got {url!r}"
        ) from exc


def _check_app_name(app_name: str) -> str:
    name = app_name.strip()
    if not name or len(name) > 128:
        raise SageConfigError(
            f"expected an application name of 1 to 128 characters for APP=, got {app_name!r}"
        )
    return name


def with_app_name(url: URL, app_name: str = DEFAULT_APP_NAME) -> URL:
    """``url`` with the ODBC application name set; a name already in the URL is kept.

    The name goes in as the ``APP`` query key, which SQLAlchemy's pyodbc dialect copies into the
    ODBC connection string (quoted when needed); a raw ``odbc_connect`` string gets ``;APP=...``.
    """
    name = _check_app_name(app_name)
    query = dict(url.query)
    if any(key.lower() == "app" for key in query):
        return url
    raw = query.get("odbc_connect")
    if raw is not None:
        raw_text = raw if isinstance(raw, str) else ";".join(raw)
        if _APP_IN_ODBC.search(raw_text):
            return url
        quoted = "{" + name.replace("}", "}}") + "}" if ";" in name or "}" in name else name
        query["odbc_connect"] = raw_text.rstrip(";") + f";APP={quoted}"
        return url.set(query=query)
    return url.update_query_dict({"APP": name})


def odbc_connection_string(url: str, *, app_name: str = DEFAULT_APP_NAME) -> str:
    """The ODBC connection string recon sends for an ``mssql+pyodbc`` URL (no driver loaded)."""
    parsed = _mssql_url(parse_url(url))
    dialect = parsed.get_dialect()()
    args, _ = dialect.create_connect_args(with_app_name(parsed, app_name))
    return str(args[0])


def _mssql_url(url: URL) -> URL:
    if url.get_driver_name() != "pyodbc":
        raise SageConfigError(
            f"expected an 'mssql+pyodbc://' URL for SQL Server, got driver "
            f"{url.get_driver_name()!r} ({url.render_as_string(hide_password=True)})"
        )
    return url


def create_sage_engine(url: str, *, app_name: str = DEFAULT_APP_NAME) -> Engine:
    """An engine for a Sage company database: ``mssql+pyodbc`` (production), or a sandbox on
    ``sqlite`` or ``postgresql``.

    No connection is opened here. A SQLite sandbox file must already exist (``recon sandbox
    init`` makes one); SQL Server connections send ``APP=<app_name>``, PostgreSQL ones
    ``application_name``.
    """
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend == "mssql":
        return _mssql_engine(_mssql_url(parsed), app_name)
    if backend == "sqlite":
        return sqlite_engine(parsed, must_exist=True)
    if backend == "postgresql":
        return postgres_engine(parsed, app_name=app_name)
    raise SageConfigError(
        f"expected a Sage database URL starting 'mssql+pyodbc://', or for a sandbox "
        f"'sqlite:///' or 'postgresql://', got {parsed.render_as_string(hide_password=True)!r}"
    )


def is_sandbox(engine: Engine) -> bool:
    """Whether ``engine`` is a sandbox (SQLite or PostgreSQL), not a Sage company on SQL Server."""
    return engine.dialect.name in ("sqlite", "postgresql")


def postgres_url(url: URL) -> URL:
    """A PostgreSQL sandbox URL driven by psycopg 3 (``postgresql://`` is made
    ``postgresql+psycopg://``); another driver is refused."""
    driver = url.drivername
    if driver in ("postgresql", POSTGRES_DRIVER):
        return url.set(drivername=POSTGRES_DRIVER)
    raise SageConfigError(
        f"expected a 'postgresql://' or '{POSTGRES_DRIVER}://' URL for a PostgreSQL sandbox "
        f"(psycopg 3), got driver {driver!r}"
    )


def postgres_engine(url: URL, *, app_name: str = DEFAULT_APP_NAME) -> Engine:
    """An engine for a PostgreSQL-hosted sandbox, refusing RETURNING on Sage's tables."""
    name = _check_app_name(app_name)
    normalised = postgres_url(url)
    connect_args = {} if "application_name" in normalised.query else {"application_name": name}
    try:
        engine = create_engine(normalised, pool_pre_ping=True, connect_args=connect_args)
    except ImportError as exc:
        raise SageConfigError(f"expected psycopg 3 to reach PostgreSQL ({exc})") from exc
    refuse_output_on_trigger_tables(engine)
    return engine


def refuse_output_on_trigger_tables(engine: Engine) -> None:
    """Refuse an INSERT/UPDATE/DELETE with RETURNING (or OUTPUT) on a Sage table, as SQL Server
    refuses OUTPUT inserted on a table with triggers (error 334). Raised as a DBAPI error, so
    ``errors.translating`` turns it into the action's SageError (SageWriteError for postings)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _refuse(
        _connection: Connection,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        target = _DML_TARGET.match(statement)
        if target is None or not _RETURNING.search(statement):
            return
        table = target.group(1).lower()
        if table in TRIGGER_TABLES:
            raise sa_exc.DBAPIError(
                statement, parameters, OutputOnTriggerTableError(ERROR_334.format(table=table))
            )


def _mssql_engine(url: URL, app_name: str) -> Engine:
    named = with_app_name(url, app_name)
    try:
        return create_engine(named, pool_pre_ping=True, fast_executemany=True)
    except ImportError as exc:
        raise SageConfigError(
            "expected pyodbc with an ODBC driver manager to reach SQL Server: install unixODBC "
            f"(libodbc) and 'ODBC Driver 18 for SQL Server' ({exc})"
        ) from exc


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory or URI-style database."""
    database = url.database or ""
    if database in _MEMORY or database.startswith("file:") or "uri" in url.query:
        return None
    return Path(database)


def sqlite_engine(url: URL, *, must_exist: bool) -> Engine:
    """A SQLite engine set up for the sandbox (WAL, busy timeout, foreign keys, explicit
    transactions, RETURNING refused on Sage's tables)."""
    path = sqlite_path(url)
    if must_exist and path is not None and not path.exists():
        raise SageSchemaError(
            f"expected a Sage sandbox database at {path}, found no file; "
            "run `recon sandbox init` to create it"
        )
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    wal = path is not None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below start transactions instead of pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    refuse_output_on_trigger_tables(engine)
    return engine


def missing_tables(engine: Engine) -> list[str]:
    """Sage tables recon uses that the database lacks (empty when all are there)."""
    with translating("checking the Sage tables"), engine.connect() as connection:
        present = {name.lower() for name in inspect(connection).get_table_names()}
    return [name for name in TABLES if name not in present]


def check_schema(engine: Engine) -> None:
    """Raise SageSchemaError naming every Sage table recon needs that the database lacks."""
    missing = missing_tables(engine)
    if missing:
        raise SageSchemaError(
            f"expected Sage tables {', '.join(missing)} in "
            f"{engine.url.render_as_string(hide_password=True)}; "
            "for a sandbox run `recon sandbox init`"
        )
