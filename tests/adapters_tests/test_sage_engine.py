"""Engines for Sage: the APP= name on SQL Server, the SQLite sandbox setup, translated errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from adapters.sage.engine import (
    check_schema,
    create_sage_engine,
    missing_tables,
    odbc_connection_string,
    sqlite_engine,
    with_app_name,
)
from adapters.sage.errors import (
    SageConfigError,
    SageError,
    SageLogonRejectedError,
    SageSchemaError,
    SageUnavailableError,
    SageWriteError,
    translate,
)
from adapters.sage.reader import SageReader
from domain.documents import AR_INVOICES, CLIENTS
from domain.mapping import Mapping

PRODUCTION = (
    "mssql+pyodbc://recon_reader:s3cret@sage-host\\SAGE100CON/AFT%20Mechanical"
    "?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes"
)


def test_sql_server_connection_string_names_the_application() -> None:
    odbc = odbc_connection_string(PRODUCTION)
    assert odbc.startswith("DRIVER={ODBC Driver 18 for SQL Server};Server=sage-host\\SAGE100CON")
    assert "Database=AFT Mechanical" in odbc
    assert odbc.endswith(";APP=recon")


def test_a_chosen_application_name_is_sent() -> None:
    assert "APP=recon-reconcile" in odbc_connection_string(PRODUCTION, app_name="recon-reconcile")


def test_an_application_name_already_in_the_url_is_kept() -> None:
    odbc = odbc_connection_string(PRODUCTION + "&app=Approved+Recon")
    assert "app=Approved Recon" in odbc
    assert "APP=recon" not in odbc


def test_an_application_name_with_a_semicolon_is_quoted() -> None:
    assert "APP={recon;site}" in odbc_connection_string(PRODUCTION, app_name="recon;site")


def test_a_raw_odbc_connect_string_gets_app_appended() -> None:
    url = make_url(
        "mssql+pyodbc:///?odbc_connect="
        "DRIVER%3D%7BODBC+Driver+18+for+SQL+Server%7D%3BSERVER%3Dsage-host%3BDATABASE%3DCo%3B"
    )
    named = with_app_name(url, "recon")
    assert str(named.query["odbc_connect"]).endswith("DATABASE=Co;APP=recon")
    assert with_app_name(named, "other") == named  # an APP already there is kept


def test_a_dsn_url_gets_app_too() -> None:
    assert (
        odbc_connection_string("mssql+pyodbc://u:p@SageDSN") == "dsn=SageDSN;UID=u;PWD=p;APP=recon"
    )


def test_an_empty_application_name_is_refused() -> None:
    with pytest.raises(SageConfigError, match="application name"):
        odbc_connection_string(PRODUCTION, app_name="  ")


def test_creating_a_sql_server_engine_sends_app_or_says_the_odbc_driver_is_missing() -> None:
    # Where pyodbc cannot load (no libodbc), the error says what to install; where it can, the
    # engine's URL carries APP. No server is contacted either way.
    try:
        engine = create_sage_engine(PRODUCTION)
    except SageConfigError as exc:
        assert "ODBC" in str(exc) and isinstance(exc.__cause__, ImportError)
    else:
        try:
            assert engine.url.query["APP"] == "recon"
        finally:
            engine.dispose()


def test_other_drivers_and_databases_are_refused_with_what_was_expected() -> None:
    with pytest.raises(SageConfigError, match=r"mssql\+pyodbc"):
        create_sage_engine("mssql+pymssql://u:p@host/Co")
    with pytest.raises(SageConfigError, match="expected a Sage database URL"):
        create_sage_engine("oracle://u:p@host/db")
    with pytest.raises(SageConfigError, match="psycopg 3"):
        create_sage_engine("postgresql+psycopg2://u:p@host/db")


def test_a_postgresql_sandbox_url_is_driven_by_psycopg_3_and_named() -> None:
    engine = create_sage_engine("postgresql://u:p@host/sandbox", app_name="recon-test")
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.dialect.name == "postgresql"
    finally:
        engine.dispose()
    with pytest.raises(SageConfigError, match="expected a database URL"):
        create_sage_engine("not a url")


def test_a_missing_sandbox_file_says_to_run_sandbox_init(tmp_path: Path) -> None:
    with pytest.raises(SageSchemaError, match="recon sandbox init"):
        create_sage_engine(f"sqlite:///{tmp_path / 'nowhere.db'}")


def test_sqlite_engines_use_wal_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = sqlite_engine(make_url(f"sqlite:///{tmp_path / 's.db'}"), must_exist=False)
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA busy_timeout").scalar() == 30000
            assert pragma("PRAGMA foreign_keys").scalar() == 1  # the few FKs Sage has (§8)
    finally:
        engine.dispose()


def test_an_empty_database_lacks_every_table_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    engine = sqlite_engine(make_url(f"sqlite:///{path}"), must_exist=False)
    try:
        assert "acrinv" in missing_tables(engine)
        with pytest.raises(SageSchemaError, match=r"acrinv.*recon sandbox init"):
            check_schema(engine)
        reader = SageReader(engine, Mapping(1100, 4100))
        with pytest.raises(SageSchemaError, match="recon sandbox init") as raised:
            reader.read(AR_INVOICES, None)
        assert isinstance(raised.value.__cause__, sa_exc.OperationalError)
    finally:
        engine.dispose()


def test_an_unopenable_database_is_unavailable(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    engine = create_sage_engine(f"sqlite:///{folder}")
    try:
        with pytest.raises(SageUnavailableError, match="expected a reachable Sage database"):
            SageReader(engine, Mapping(1100, 4100)).read(CLIENTS, None)
    finally:
        engine.dispose()


def _dbapi_error(message: str) -> sa_exc.DBAPIError:
    return sa_exc.OperationalError("SELECT 1", {}, Exception(message))


def test_the_logon_trigger_refusal_names_the_approved_applications_setting() -> None:
    error = translate(
        _dbapi_error("[42000] SAGE ERROR 50004 - recon is not allowed to connect (17892)"),
        "reading Sage clients",
    )
    assert isinstance(error, SageLogonRejectedError)
    assert "approved applications" in str(error) and "APP=" in str(error)


def test_unclassified_errors_fall_back_to_the_callers_class() -> None:
    error = translate(_dbapi_error("arithmetic overflow"), "posting", SageWriteError)
    assert type(error) is SageWriteError and "posting" in str(error)
    assert isinstance(translate(_dbapi_error("odd"), "reading"), SageError)


def test_a_postgresql_sandbox_that_does_not_answer_is_unavailable() -> None:
    # A port nothing listens on: psycopg's "Connection refused", read as Sage being down.
    engine = create_sage_engine("postgresql+psycopg://recon:recon@127.0.0.1:9/recon_sandbox")
    try:
        with pytest.raises(SageUnavailableError, match="Connection refused"):
            SageReader(engine, Mapping(1100, 4100)).read(CLIENTS, None)
    finally:
        engine.dispose()
