"""The site check: what a Sage database enforces, read from its catalogs, and what it means."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Identity,
    MetaData,
    Numeric,
    Table,
    Unicode,
    Uuid,
    create_engine,
)
from sqlalchemy.dialects import mssql, postgresql
from sqlalchemy.engine import make_url

from adapters.sage.check import (
    BLOCK,
    CHECK,
    DELETED_TABLES,
    MSSQL_STATEMENTS,
    OK,
    POSTGRES_STATEMENTS,
    WRITTEN_TABLES,
    Catalog,
    CheckItem,
    ColumnFact,
    ForeignKeyFact,
    SiteCheck,
    TriggerFact,
    assess,
    catalog_from_rows,
    check_site,
    redact,
    render_text,
    safe_url,
    sent_app_name,
    sqlite_catalog,
)
from adapters.sage.errors import SageConfigError, SageUnavailableError
from adapters.sage.sandbox import init_sandbox
from domain.mapping import Mapping

# recon's model, small: acrinv's recnum is left to IDENTITY, jobcst's recon numbers itself.
_md = MetaData()
Table(
    "acrinv",
    _md,
    Column("_idnum", Uuid(), primary_key=True),
    Column("recnum", BigInteger(), Identity()),
    Column("invnum", Unicode(20), nullable=False),
    Column("vodrec", BigInteger()),
    Column("pchord", Unicode(20)),
)
Table(
    "jobcst",
    _md,
    Column("_idnum", Uuid(), primary_key=True),
    Column("recnum", BigInteger(), nullable=False),
    Column("empnum", BigInteger()),
    Column("cstamt", Numeric(12, 2), nullable=False),
)
Table("employ", _md, Column("_idnum", Uuid(), primary_key=True), Column("recnum", BigInteger()))
MODEL = dict(_md.tables)
WRITTEN = ("acrinv", "jobcst")
EVERY = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})


def _col(table: str, name: str, *, nullable: bool = False, **kw: Any) -> ColumnFact:
    return ColumnFact(table, name, nullable, **kw)


GOOD_COLUMNS = (
    _col("acrinv", "_idnum"),
    _col("acrinv", "recnum", identity=True),
    _col("acrinv", "invnum"),
    _col("acrinv", "vodrec", nullable=True),
    _col("acrinv", "pchord", nullable=True),
    _col("acrinv", "insdte", default="(getutcdate())"),
    _col("jobcst", "_idnum"),
    _col("jobcst", "recnum"),
    _col("jobcst", "empnum", nullable=True),
    _col("jobcst", "cstamt"),
)


def _catalog(**changes: Any) -> Catalog:
    base: dict[str, Any] = {
        "dialect": "mssql",
        "database": "mssql+pyodbc://recon:***@sage/AFT",
        "tables": frozenset(MODEL),
        "columns": GOOD_COLUMNS,
        "privileges": {t: EVERY for t in MODEL},
        "schema": "dbo",
        "login": "recon",
        "sysadmin": False,
        "db_owner": False,
        "app_name_seen": "recon",
    }
    base.update(changes)
    return Catalog(**base)


def _check(catalog: Catalog) -> SiteCheck:
    return assess(catalog, model=MODEL, written=WRITTEN)


def _item(result: SiteCheck, topic: str, text: str) -> CheckItem:
    found = [i for i in result.items if i.topic == topic and text in i.line]
    assert found, (text, [i.line for i in result.items if i.topic == topic])
    return found[0]


def _replace(columns: tuple[ColumnFact, ...], *new: ColumnFact) -> tuple[ColumnFact, ...]:
    names = {(c.table, c.name) for c in new}
    return tuple(c for c in columns if (c.table, c.name) not in names) + new


# -- what it means (pure) --------------------------------------------------------------------


def test_a_database_that_matches_recons_model_blocks_nothing() -> None:
    result = _check(_catalog())
    assert result.ok, [i.line for i in result.blocking]
    assert all(i.status == OK for i in result.items), [i.line for i in result.items]


def test_an_identity_recon_leaves_out_is_read_back_by_its_row_guid() -> None:
    item = _item(_check(_catalog()), "identity", "acrinv.recnum is IDENTITY")
    assert item.status == OK
    assert "recon leaves it out" in item.meaning and "_idnum" in item.meaning


def test_an_identity_recon_numbers_itself_blocks_with_error_544() -> None:
    columns = _replace(GOOD_COLUMNS, _col("jobcst", "recnum", identity=True))
    result = _check(_catalog(columns=columns))
    item = _item(result, "identity", "jobcst.recnum is IDENTITY")
    assert item.status == BLOCK
    assert "544" in item.meaning and "IDENTITY_INSERT" in item.meaning
    assert not result.ok


def test_no_identity_where_recon_expects_one_blocks_unless_a_default_numbers_it() -> None:
    plain = _replace(GOOD_COLUMNS, _col("acrinv", "recnum"))
    assert _item(_check(_catalog(columns=plain)), "identity", "acrinv.recnum").status == BLOCK
    numbered = _replace(GOOD_COLUMNS, _col("acrinv", "recnum", default="NEXT VALUE FOR seq"))
    assert _item(_check(_catalog(columns=numbered)), "identity", "acrinv.recnum").status == CHECK


def test_a_table_without_identity_where_recon_numbers_it_is_fine() -> None:
    item = _item(_check(_catalog()), "identity", "jobcst has no IDENTITY")
    assert item.status == OK
    assert "reference found IDENTITY" in item.found  # reference §8 found one on jobcst


def test_a_not_null_column_recon_does_not_fill_blocks_with_error_515() -> None:
    columns = (*GOOD_COLUMNS, _col("acrinv", "hldamt"), _col("acrinv", "pstamt"))
    result = _check(_catalog(columns=columns))
    item = _item(result, "columns", "recon does not write them")
    assert item.status == BLOCK
    assert "hldamt, pstamt" in item.found and "515" in item.meaning
    assert [i.subject for i in result.blocking] == ["acrinv"]


def test_a_not_null_column_recon_may_leave_null_blocks() -> None:
    columns = _replace(GOOD_COLUMNS, _col("acrinv", "vodrec"))
    item = _item(_check(_catalog(columns=columns)), "columns", "lets them be NULL")
    assert item.status == BLOCK and "vodrec" in item.found


def test_a_not_null_column_with_a_default_that_recon_may_send_null_is_to_check() -> None:
    columns = _replace(GOOD_COLUMNS, _col("acrinv", "pchord", default="('')"))
    result = _check(_catalog(columns=columns))
    item = _item(result, "columns", "NOT NULL with a default")
    assert item.status == CHECK and "explicit NULL" in item.meaning
    assert result.ok


def test_not_null_columns_with_defaults_that_recon_does_not_write_are_fine() -> None:
    item = _item(_check(_catalog()), "columns", "acrinv:")
    assert item.status == OK
    assert "1 NOT NULL column recon does not write, all with a default (insdte)" in item.found


def test_a_column_recon_writes_that_the_database_lacks_blocks() -> None:
    columns = tuple(c for c in GOOD_COLUMNS if (c.table, c.name) != ("jobcst", "empnum"))
    item = _item(_check(_catalog(columns=columns)), "columns", "lacks columns")
    assert item.status == BLOCK and "empnum" in item.found


def test_a_missing_table_blocks() -> None:
    result = _check(_catalog(tables=frozenset({"acrinv", "jobcst"})))
    item = _item(result, "tables", "1 table recon reads not in schema dbo")
    assert item.status == BLOCK and item.subject == "employ"
    assert [i.subject for i in result.blocking] == ["employ"]


def test_a_missing_permission_blocks_and_says_what_to_grant() -> None:
    privileges = {**{t: EVERY for t in MODEL}, "jobcst": frozenset({"SELECT"})}
    result = _check(_catalog(privileges=privileges))
    item = _item(result, "permissions", "lacks INSERT, UPDATE on jobcst")
    assert item.status == BLOCK
    assert "GRANT INSERT, UPDATE ON dbo.jobcst TO [recon]" in item.meaning
    assert not result.ok


def test_delete_is_needed_only_where_recon_deletes() -> None:
    assert DELETED_TABLES == ("dlypyr",)
    no_delete = frozenset({"SELECT", "INSERT", "UPDATE"})
    result = _check(_catalog(privileges={t: no_delete for t in MODEL}))
    assert result.ok
    read_only = {**{t: no_delete for t in MODEL}, "employ": frozenset({"SELECT"})}
    assert _check(_catalog(privileges=read_only)).ok


def test_sysadmin_and_db_owner_are_to_check_not_blocking() -> None:
    result = _check(_catalog(sysadmin=True, db_owner=True))
    assert result.ok
    assert _item(result, "permissions", "the login is sysadmin").status == CHECK
    assert _item(result, "permissions", "the login is db_owner").status == CHECK
    assert "sysadmin" in _item(result, "logon", "APP=recon").meaning
    alter = _item(result, "permissions", "has ALTER on")
    assert alter.status == OK and "IDENTITY_INSERT" in alter.meaning


def test_triggers_are_explained() -> None:
    triggers = (
        TriggerFact("acrinv", "TRAI:acrinv_Audit", "AFTER", ("INSERT",)),
        TriggerFact("acrinv", "TRAU:acrinv_Audit", "AFTER", ("UPDATE",)),
        TriggerFact("acrinv", "TRAU:acrinv:timestamping", "AFTER", ("UPDATE",)),
        TriggerFact("jobcst", "TR:jobcst_NullPhase", "AFTER", ("INSERT", "UPDATE")),
        TriggerFact("jobcst", "TRAIU:dbo.jobcst.recnum:ReservationHost", "AFTER", ("INSERT",)),
        TriggerFact("jobcst", "site_made", "INSTEAD OF", ("INSERT",), enabled=False),
    )
    result = _check(_catalog(triggers=triggers))
    audit = _item(result, "triggers", "audit triggers on acrinv: 2 triggers")
    assert "(TRAI:acrinv_Audit, TRAU:acrinv_Audit)" in audit.found
    assert audit.status == OK and "dbo_Audit.<table>" in audit.meaning
    assert _item(result, "triggers", "timestamping triggers on acrinv").status == OK
    assert _item(result, "triggers", "NullPhase").status == CHECK
    assert _item(result, "triggers", "ReservationHost").status == CHECK
    unknown = _item(result, "triggers", "site_made (INSTEAD OF INSERT)")
    assert unknown.status == CHECK and "disabled now" in unknown.meaning
    assert "SCOPE_IDENTITY" in _item(result, "triggers", "is INSTEAD OF").meaning
    output = _item(result, "triggers", "2 of recon's tables have triggers")
    assert "OUTPUT inserted" in output.meaning and "334" in output.meaning
    assert result.ok


def test_the_sandboxs_identity_and_audit_triggers_are_known() -> None:
    triggers = (
        TriggerFact("acrinv", "identity_acrinv_refuse", "BEFORE", ("INSERT",)),
        TriggerFact("acrinv", "identity_acrinv_assign", "AFTER", ("INSERT",)),
        TriggerFact("acrinv", "audit_acrinv_insert", "AFTER", ("INSERT",)),
    )
    result = _check(_catalog(dialect="sqlite", triggers=triggers))
    assert _item(result, "triggers", "identity_acrinv_refuse").status == OK
    assert _item(result, "triggers", "audit_acrinv_insert").status == OK
    assert "on SQL Server" in _item(result, "triggers", "have triggers").meaning


def test_a_foreign_key_on_a_column_recon_writes_is_to_check() -> None:
    keys = (
        ForeignKeyFact(
            "jobcst", "FK:jobcst.empnum_SetNull", ("empnum",), "employ", ("recnum",), "SET_NULL"
        ),
        ForeignKeyFact("jobcst", "FK:jobcst.payrec", ("payrec",), "payrec", ("recnum",)),
    )
    result = _check(_catalog(foreign_keys=keys))
    written = _item(result, "foreign_keys", "FK:jobcst.empnum_SetNull")
    assert written.status == CHECK
    assert "employ.recnum" in written.meaning and "547" in written.meaning
    assert "on delete SET NULL" in written.found
    assert _item(result, "foreign_keys", "FK:jobcst.payrec").status == OK


def test_a_server_that_saw_another_application_name_is_to_check() -> None:
    item = _item(_check(_catalog(app_name_seen="pyodbc")), "logon", "saw the application name")
    assert item.status == CHECK and "'pyodbc'" in item.meaning


def test_the_report_renders_as_text_and_json() -> None:
    columns = (*GOOD_COLUMNS, _col("acrinv", "hldamt"))
    result = _check(_catalog(columns=columns))
    text = render_text(result)
    assert text.startswith("recon sandbox check: mssql+pyodbc://recon:***@sage/AFT (SQL Server)")
    assert "IDENTITY columns\n  [ok]" in text
    assert "  [BLOCK] acrinv: NOT NULL without a default" in text
    assert "1 item(s) block recon's writes" in text
    data = json.loads(json.dumps(result.to_json()))
    assert data["ok"] is False
    assert data["blocking"] == [result.blocking[0].line]
    assert {i["topic"] for i in data["items"]} >= {"identity", "columns", "permissions", "logon"}
    assert data["catalog"]["tables"] == sorted(MODEL)


# -- catalogs from plain rows ----------------------------------------------------------------


def test_sql_server_rows_make_a_catalog() -> None:
    rows = {
        "session": [
            {
                "login": "recon",
                "schema_name": "dbo",
                "app_name": "recon",
                "sysadmin": 0,
                "db_owner": None,
                "server_version": "15.0.2000.5",
            }
        ],
        "tables": [{"table_name": "ACRINV"}, {"table_name": "jobcst"}],
        "columns": [
            {
                "table_name": "acrinv",
                "column_name": "recnum",
                "is_nullable": False,
                "default_definition": None,
                "is_identity": 1,
                "is_generated": 0,
            },
            {
                "table_name": "acrinv",
                "column_name": "pchord",
                "is_nullable": 0,
                "default_definition": "('')",
                "is_identity": 0,
                "is_generated": 0,
            },
        ],
        "triggers": [
            {"table_name": "acrinv", "trigger_name": "T1", "timing": "AFTER", "event": "INSERT"},
            {"table_name": "acrinv", "trigger_name": "T1", "timing": "AFTER", "event": "UPDATE"},
            {"table_name": "acrinv", "trigger_name": "T2", "timing": "AFTER", "is_disabled": 1},
        ],
        "foreign_keys": [
            {
                "table_name": "jobcst",
                "fk_name": "FK2",
                "column_name": "b",
                "referred_table": "x",
                "referred_column": "rb",
                "on_delete": "NO_ACTION",
                "is_disabled": 0,
                "position": 2,
            },
            {
                "table_name": "jobcst",
                "fk_name": "FK2",
                "column_name": "a",
                "referred_table": "x",
                "referred_column": "ra",
                "on_delete": "NO_ACTION",
                "is_disabled": 0,
                "position": 1,
            },
        ],
        "privileges": [
            {
                "table_name": "acrinv",
                "can_select": 1,
                "can_insert": 1,
                "can_update": 0,
                "can_delete": None,
                "can_alter": 0,
            }
        ],
        "logon_triggers": [{"trigger_name": "SageApplicationsOnly", "is_disabled": False}],
    }
    catalog = catalog_from_rows("mssql", "db", rows)
    assert catalog.tables == {"acrinv", "jobcst"}
    assert catalog.sysadmin is False and catalog.db_owner is None
    assert catalog.columns_of("acrinv")["recnum"].identity
    assert catalog.columns_of("acrinv")["pchord"] == ColumnFact("acrinv", "pchord", False, "('')")
    assert catalog.triggers == (
        TriggerFact("acrinv", "T1", "AFTER", ("INSERT", "UPDATE")),
        TriggerFact("acrinv", "T2", "AFTER", (), enabled=False),
    )
    assert catalog.foreign_keys == (
        ForeignKeyFact("jobcst", "FK2", ("a", "b"), "x", ("ra", "rb"), "NO_ACTION"),
    )
    assert catalog.privileges == {"acrinv": frozenset({"SELECT", "INSERT"})}
    assert catalog.logon_triggers == (("SageApplicationsOnly", True),)
    logon = assess(catalog, model=MODEL, written=WRITTEN).items[-1]
    assert "SageApplicationsOnly" in logon.meaning


def test_sqlite_rows_make_a_catalog_with_the_sandboxs_identity() -> None:
    info = {
        "acrinv": [
            {"name": "_idnum", "type": "CHAR(32)", "notnull": 1, "dflt_value": None, "pk": 1},
            {"name": "recnum", "type": "BIGINT", "notnull": 0, "dflt_value": None, "pk": 0},
            {"name": "pchord", "type": "VARCHAR", "notnull": 1, "dflt_value": "''", "pk": 0},
            {"name": "total", "type": "NUMERIC", "notnull": 0, "pk": 0, "hidden": 3},
        ]
    }
    triggers = [
        {
            "name": "identity_acrinv_refuse",
            "tbl_name": "acrinv",
            "sql": "CREATE TRIGGER identity_acrinv_refuse BEFORE INSERT ON acrinv "
            "WHEN NEW.recnum IS NOT NULL BEGIN SELECT RAISE(ABORT, 'IDENTITY'); END",
        }
    ]
    keys = {
        "jobcst": [
            {"id": 0, "seq": 0, "table": "employ", "from": "empnum", "to": "recnum",
             "on_delete": "SET NULL"}
        ]
    }  # fmt: skip
    catalog = sqlite_catalog("db", ["acrinv", "jobcst"], info, keys, triggers, writable=False)
    columns = catalog.columns_of("acrinv")
    assert columns["recnum"].identity and not columns["_idnum"].nullable
    assert columns["pchord"].default == "''" and columns["total"].generated
    assert catalog.triggers == (
        TriggerFact("acrinv", "identity_acrinv_refuse", "BEFORE", ("INSERT",)),
    )
    assert catalog.foreign_keys[0].columns == ("empnum",)
    assert catalog.privileges["acrinv"] == {"SELECT"}


# -- the SQL Server and PostgreSQL statements ------------------------------------------------


def _compiled(statement: Any, dialect: Any) -> str:
    tables = ["acrinv", "jobcst"]
    params = {"tables": tables} if "tables" in statement.compile().params else {}
    compiled = statement.bindparams(**params).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    return str(compiled)


@pytest.mark.parametrize("name", sorted(MSSQL_STATEMENTS))
def test_the_sql_server_statements_compile_for_pyodbc(name: str) -> None:
    sql = _compiled(MSSQL_STATEMENTS[name], mssql.pyodbc.dialect(paramstyle="qmark"))
    assert sql.startswith("SELECT ")
    assert sql.count("(") == sql.count(")")
    assert sql.count("'") % 2 == 0
    assert not re.search(r"(?<!:):\w", sql), sql  # every named parameter was bound
    assert "__[POSTCOMPILE" not in sql
    if name not in ("session", "logon_triggers"):
        assert "IN (?, ?)" in sql
        assert "SCHEMA_ID()" in sql  # recon's tables resolve in the login's default schema
    assert not re.search(r"\b(INSERT|UPDATE|DELETE|EXEC|ALTER)\s", sql)  # reads only


def test_the_sql_server_statements_read_the_catalogs_the_check_relies_on() -> None:
    every = " ".join(
        _compiled(s, mssql.pyodbc.dialect(paramstyle="qmark")) for s in MSSQL_STATEMENTS.values()
    )
    for name in (
        "sys.identity_columns",
        "sys.columns",
        "sys.default_constraints",
        "sys.triggers",
        "sys.trigger_events",
        "sys.foreign_keys",
        "sys.server_triggers",
        "HAS_PERMS_BY_NAME(",
        "IS_SRVROLEMEMBER('sysadmin')",
        "IS_MEMBER('db_owner')",
        "APP_NAME()",
    ):
        assert name in every


@pytest.mark.parametrize("name", sorted(POSTGRES_STATEMENTS))
def test_the_postgresql_statements_compile_for_psycopg(name: str) -> None:
    sql = _compiled(POSTGRES_STATEMENTS[name], postgresql.psycopg.dialect(paramstyle="pyformat"))
    assert sql.count("(") == sql.count(")")
    assert "__[POSTCOMPILE" not in sql
    if name != "session":
        assert "IN (%(tables_1)s, %(tables_2)s)" in sql
        assert "current_schema()" in sql


# -- the application name and secrets ----------------------------------------------------------


def test_the_application_name_is_the_one_recon_sends() -> None:
    base = "mssql+pyodbc://u:p@host/Company?driver=ODBC+Driver+18+for+SQL+Server"
    assert sent_app_name(make_url(base)) == "recon"
    assert sent_app_name(make_url(base), "recon-site") == "recon-site"
    assert sent_app_name(make_url(base + "&APP=Sage.100.Contractor.recon")) == (
        "Sage.100.Contractor.recon"
    )
    raw = "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7Bx%7D%3BAPP%3D%7Bmy%3Bapp%7D"
    assert sent_app_name(make_url(raw)) == "my;app"


@pytest.mark.parametrize(
    "url",
    [
        "mssql+pyodbc://recon:s3cret@host/Company?driver=ODBC+Driver+18+for+SQL+Server",
        "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7Bx%7D%3BUID%3Drecon%3BPWD%3Ds3cret%3BAPP%3Dr",
        "postgresql://recon:s3cret@127.0.0.1/sage",
    ],
)
def test_no_password_is_shown(url: str) -> None:
    shown = safe_url(make_url(url))
    assert "s3cret" not in shown
    assert "s3cret" not in redact(f"failed for {url} (PWD=s3cret; password s3cret)", url)


# -- against SQLite ----------------------------------------------------------------------------

_SQLITE_DDL = """
CREATE TABLE employ (_idnum CHAR(32) PRIMARY KEY NOT NULL, recnum BIGINT NOT NULL);
CREATE TABLE acrinv (
    _idnum CHAR(32) PRIMARY KEY NOT NULL,
    recnum BIGINT,
    invnum VARCHAR(20) NOT NULL,
    vodrec BIGINT NOT NULL,
    pchord VARCHAR(20) NOT NULL DEFAULT '',
    hldamt NUMERIC(12, 2) NOT NULL
);
CREATE TABLE jobcst (
    _idnum CHAR(32) PRIMARY KEY NOT NULL,
    recnum BIGINT NOT NULL,
    empnum BIGINT REFERENCES employ (recnum) ON DELETE SET NULL,
    cstamt NUMERIC(12, 2) NOT NULL
);
CREATE TABLE acrinv_audit (_idnum CHAR(32), _date TEXT);
CREATE TRIGGER identity_acrinv_refuse BEFORE INSERT ON acrinv
    WHEN NEW.recnum IS NOT NULL BEGIN SELECT RAISE(ABORT, 'explicit IDENTITY value'); END;
CREATE TRIGGER identity_acrinv_assign AFTER INSERT ON acrinv BEGIN
    UPDATE acrinv SET recnum = (SELECT COALESCE(MAX(recnum), 0) + 1 FROM acrinv)
    WHERE _idnum = NEW._idnum;
END;
CREATE TRIGGER audit_acrinv_insert AFTER INSERT ON acrinv BEGIN
    INSERT INTO acrinv_audit VALUES (NEW._idnum, datetime('now'));
END;
"""


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Path:
    path = tmp_path / "company.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(_SQLITE_DDL)
    connection.close()
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_sqlite_database_is_read_and_explained(sqlite_site: Path) -> None:
    before = _digest(sqlite_site)
    result = check_site(f"sqlite:///{sqlite_site}", model=MODEL, written=WRITTEN)
    assert _digest(sqlite_site) == before  # read only

    assert _item(result, "identity", "acrinv.recnum is IDENTITY").status == OK
    unfilled = _item(result, "columns", "recon does not write them")
    assert unfilled.status == BLOCK and "hldamt" in unfilled.found
    may_be_null = _item(result, "columns", "lets them be NULL")
    assert may_be_null.status == BLOCK and "vodrec" in may_be_null.found
    assert "pchord" in _item(result, "columns", "NOT NULL with a default").found
    assert _item(result, "triggers", "identity_acrinv_assign").status == OK
    assert _item(result, "triggers", "audit_acrinv_insert").status == OK
    key = _item(result, "foreign_keys", "jobcst.empnum -> employ.recnum")
    assert key.status == CHECK and "on delete SET NULL" in key.found
    assert _item(result, "permissions", "file is writable").status == OK
    assert {i.subject for i in result.blocking} == {"acrinv"}


def test_a_missing_sqlite_file_cannot_be_reached(tmp_path: Path) -> None:
    with pytest.raises(SageUnavailableError, match="found no file"):
        check_site(f"sqlite:///{tmp_path / 'none.db'}")
    assert not (tmp_path / "none.db").exists()


def test_a_url_of_another_database_is_a_config_error() -> None:
    with pytest.raises(SageConfigError, match="expected a database URL") as caught:
        check_site("mysql://recon:s3cret@host/sage")
    assert "s3cret" not in str(caught.value)


def test_a_fresh_sandbox_passes_the_check(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sage.db'}"
    init_sandbox(url, Mapping(ar_control_account=1100, default_income_account=4000))
    result = check_site(url)
    assert result.ok, [i.line for i in result.blocking]
    identity = {i.subject.split(".")[0]: i for i in result.items if i.topic == "identity"}
    assert set(identity) == set(WRITTEN_TABLES)
    assert identity["acrinv"].line == (
        "acrinv.recnum is IDENTITY: recon leaves it out of its inserts and reads it back by "
        "_idnum (never with OUTPUT inserted) — OK"
    )


# -- against PostgreSQL ------------------------------------------------------------------------

_PG_SCHEMA = "recon_site_check"
_PG_DDL = f"""
CREATE SCHEMA {_PG_SCHEMA};
SET search_path TO {_PG_SCHEMA};
CREATE TABLE employ (_idnum uuid PRIMARY KEY, recnum bigint NOT NULL UNIQUE);
CREATE TABLE acrinv (
    _idnum uuid PRIMARY KEY,
    recnum bigint GENERATED ALWAYS AS IDENTITY,
    invnum varchar(20) NOT NULL,
    vodrec bigint NOT NULL,
    pchord varchar(20) NOT NULL DEFAULT '',
    hldamt numeric(12, 2) NOT NULL
);
CREATE TABLE jobcst (
    _idnum uuid PRIMARY KEY,
    recnum bigint GENERATED ALWAYS AS IDENTITY,
    empnum bigint REFERENCES employ (recnum) ON DELETE SET NULL,
    cstamt numeric(12, 2) NOT NULL
);
CREATE TABLE acrinv_audit (_idnum uuid, _date timestamptz);
CREATE FUNCTION acrinv_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO acrinv_audit VALUES (NEW._idnum, now()); RETURN NEW; END $$;
CREATE TRIGGER "TRAI:acrinv_Audit" AFTER INSERT ON acrinv
    FOR EACH ROW EXECUTE FUNCTION acrinv_audit();
"""


@pytest.fixture
def postgres_site(postgres_url: str) -> Iterator[str]:
    import psycopg

    conninfo = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {_PG_SCHEMA} CASCADE")
        connection.execute(_PG_DDL.encode())  # several statements, no parameters
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{separator}options=-csearch_path%3D{_PG_SCHEMA}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {_PG_SCHEMA} CASCADE")


@pytest.mark.postgres
def test_a_postgresql_database_is_read_and_explained(postgres_site: str) -> None:
    result = check_site(postgres_site, model=MODEL, written=WRITTEN, app_name="recon-check")
    catalog = result.catalog
    assert catalog is not None and catalog.schema == _PG_SCHEMA
    assert catalog.app_name_seen == "recon-check"

    assert _item(result, "identity", "acrinv.recnum is IDENTITY").status == OK
    assert _item(result, "identity", "jobcst.recnum is IDENTITY").status == BLOCK
    assert "hldamt" in _item(result, "columns", "recon does not write them").found
    assert "vodrec" in _item(result, "columns", "lets them be NULL").found
    assert _item(result, "triggers", "TRAI:acrinv_Audit").status == OK
    key = _item(result, "foreign_keys", "jobcst.empnum -> employ.recnum")
    assert key.status == CHECK and "SET NULL" in key.found
    assert not [i for i in result.items if i.topic == "permissions" and i.status == BLOCK]
    assert {i.subject for i in result.blocking} == {"acrinv", "jobcst.recnum"}


@pytest.mark.postgres
def test_the_postgresql_check_writes_nothing(postgres_site: str) -> None:
    engine = create_engine(postgres_site.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        check_site(postgres_site, model=MODEL, written=WRITTEN)
        with engine.connect() as connection:
            count = connection.exec_driver_sql("SELECT count(*) FROM acrinv_audit").scalar()
    finally:
        engine.dispose()
    assert count == 0
