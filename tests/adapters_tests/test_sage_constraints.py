"""The sandbox enforces what a real Sage company database enforces (reference §8), on SQLite and
on PostgreSQL: IDENTITY record numbers, NOT NULL, the foreign keys Sage has, audit triggers, and
no RETURNING on tables with triggers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy import exc as sa_exc

from adapters.sage.ddl import AUDIT_TABLES, sqlite_trigger_names
from adapters.sage.engine import create_sage_engine
from adapters.sage.errors import SageWriteError, SandboxExistsError, translating
from adapters.sage.sandbox import init_sandbox
from adapters.sage.schema import (
    IDENTITY_TABLES,
    TABLES,
    acrinv,
    dlypyr,
    employ,
    jobcst,
    lgract,
    reccln,
)
from tests.adapters_tests.sage_sandboxes import window_row
from tests.adapters_tests.test_sage_costs import MAPPING

REFERENCE = Path(__file__).resolve().parents[3] / "shared/docs/reference/sage100c-schema.md"
#: What each backend says when it refuses (SQLite: the sandbox's triggers, quoting SQL Server).
EXPLICIT_IDENTITY = r"explicit value for identity column|non-DEFAULT value into column"
UPDATED_IDENTITY = r"Cannot update identity column|can only be updated to DEFAULT"
NOT_NULL = r"NOT NULL constraint failed|violates not-null constraint"
FOREIGN_KEY = r"FOREIGN KEY constraint failed|violates foreign key constraint"


@pytest.fixture
def sage(sandbox_url: str) -> Iterator[Engine]:
    init_sandbox(sandbox_url, MAPPING, reset=True)
    engine = create_sage_engine(sandbox_url, app_name="recon-test")
    yield engine
    engine.dispose()


def valid_row(connection: Connection, table_name: str, **values: Any) -> dict[str, Any]:
    """A row the sandbox accepts: window-filled, with the foreign keys pointing at seeded rows
    and a user-chosen recnum no seed uses."""
    table = TABLES[table_name]
    given: dict[str, Any] = {}
    if "recnum" in table.c and table_name not in IDENTITY_TABLES:
        given["recnum"] = 987_654
    if table_name == "employ":
        given["wrkcmp"] = 1
    if table_name == "payrec":
        given["empnum"] = 12
    if table_name == "lgrbal":
        account = connection.execute(select(lgract.c._idnum).where(lgract.c.recnum == 1000))
        given.update(_idref=account.scalar_one(), lgract=1000)
    if table_name == "dlypyr":
        given["paydte"] = date(2026, 3, 2)
    return window_row(table_name, **{**given, **values})


def refused(connection: Connection, table_name: str, row: dict[str, Any]) -> str | None:
    """The error message when the sandbox refuses ``row`` (None: accepted); rolled back."""
    savepoint = connection.begin_nested()
    try:
        connection.execute(insert(TABLES[table_name]), row)
    except sa_exc.DBAPIError as exc:
        savepoint.rollback()
        return str(exc.orig)
    savepoint.rollback()
    return None


# -- IDENTITY ------------------------------------------------------------------------------------


@pytest.mark.parametrize("table_name", IDENTITY_TABLES)
def test_identity_recnums_are_generated_and_never_written(sage: Engine, table_name: str) -> None:
    table = TABLES[table_name]
    with sage.begin() as connection:
        rows = [valid_row(connection, table_name) for _ in range(2)]
        connection.execute(insert(table), rows)  # recnum left out, as recon's sink does
        numbers = [
            connection.execute(
                select(table.c.recnum).where(table.c._idnum == r["_idnum"])
            ).scalar_one()
            for r in rows
        ]
        assert numbers == [1, 2]
        explicit = refused(
            connection, table_name, {**valid_row(connection, table_name), "recnum": 9}
        )
        assert explicit is not None and re.search(EXPLICIT_IDENTITY, explicit), explicit
    with (
        pytest.raises(SageWriteError, match=UPDATED_IDENTITY),
        translating("renumbering", SageWriteError),
        sage.begin() as connection,
    ):
        connection.execute(update(table).where(table.c.recnum == 1).values(recnum=7))


def test_identity_is_what_the_reference_found_plus_lgrtrn() -> None:
    assert set(IDENTITY_TABLES) == {"acrinv", "acpinv", "jobcst", "payrec", "lgrbal", "lgrtrn"}
    assert all(not TABLES[name].implicit_returning for name in TABLES)  # never OUTPUT inserted


# -- NOT NULL and defaults -----------------------------------------------------------------------


def test_every_not_null_column_refuses_null_even_with_a_default(sage: Engine) -> None:
    with sage.begin() as connection:
        for name, table in TABLES.items():
            assert refused(connection, name, valid_row(connection, name)) is None, name
            for column in table.columns:
                if column.nullable or column.primary_key or column.identity is not None:
                    continue
                row = {**valid_row(connection, name), column.name: None}
                message = refused(connection, name, row)
                assert message is not None and re.search(NOT_NULL, message), (name, column.name)


def test_text_defaults_apply_when_the_column_is_left_out(sage: Engine) -> None:
    with sage.begin() as connection:
        row = valid_row(connection, "acpinv", invnum="B-1", vndnum=2001, dscrpt="Bill")
        defaulted = [
            c.name for c in TABLES["acpinv"].columns if c.server_default and c.identity is None
        ]
        connection.execute(insert(TABLES["acpinv"]), row)  # window_row leaves them out
        stored = connection.execute(select(*(TABLES["acpinv"].c[n] for n in defaulted))).one()
    assert {"vodrec", "apinte", "pchord", "usrnme"} <= set(defaulted)
    assert set(stored) == {""}


def _reference_rows() -> dict[str, dict[str, bool]]:
    """§8's NOT NULL columns per table, and whether each has the text default ''."""
    if not REFERENCE.exists():
        pytest.skip(f"the reference is not beside this checkout ({REFERENCE})")
    section = REFERENCE.read_text(encoding="utf-8").split("## 8.", 1)[1]
    tables = {}
    for match in re.finditer(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", section, re.MULTILINE):
        columns = {}
        for item in match.group(2).split(","):
            name, _, default = item.strip().partition("=")
            columns[name] = default == "('')"
        tables[match.group(1)] = columns
    return tables


def test_not_null_and_text_defaults_are_exactly_the_references_where_it_has_the_table() -> None:
    reference = _reference_rows()
    assert set(reference) == {
        "acpinv", "acrinv", "employ", "jobcst", "lgract", "lgrbal", "paygrp", "payrec",
        "payuni", "wkrcmp",
    }  # fmt: skip
    for name, listed in reference.items():
        table = TABLES[name]
        not_null = {
            c.name: c.server_default is not None
            for c in table.columns
            if not c.nullable and not c.primary_key and c.identity is None
        }
        assert not_null == listed, name
    for table in TABLES.values():  # a number's "nothing" is written, never defaulted
        for column in table.columns:
            if column.identity is None and column.server_default is not None:
                assert getattr(column.server_default, "arg", None) == "", column


# -- foreign keys ----------------------------------------------------------------------------------


def test_job_cost_employees_must_exist_and_a_deleted_one_leaves_null(sage: Engine) -> None:
    with sage.begin() as connection:
        stranger = refused(connection, "jobcst", valid_row(connection, "jobcst", empnum=999))
        assert stranger is not None and re.search(FOREIGN_KEY, stranger)
        no_comp = refused(connection, "employ", valid_row(connection, "employ", wrkcmp=77))
        assert no_comp is not None and re.search(FOREIGN_KEY, no_comp)
        no_payrec = refused(connection, "jobcst", valid_row(connection, "jobcst", payrec=5))
        assert no_payrec is not None and re.search(FOREIGN_KEY, no_payrec)
        connection.execute(insert(jobcst), valid_row(connection, "jobcst", empnum=12))
        connection.execute(delete(employ).where(employ.c.recnum == 12))  # ON DELETE SET NULL
        assert connection.execute(select(jobcst.c.empnum)).scalars().all() == [None]


def test_the_foreign_keys_carry_sages_names() -> None:
    names = {fk.name for table in TABLES.values() for fk in table.foreign_keys}
    assert {
        "FK:jobcst.empnum_SetNull",
        "FK:jobcst.payrec",
        "FK:payrec.empnum",
        "FK:employ.paygrp",
        "FK:employ.uninum",
        "FK:employ.wrkcmp",
        "FK:lgrbal.lgract",
    } <= names
    [empnum] = jobcst.c.empnum.foreign_keys
    assert (empnum.column.table.name, empnum.ondelete) == ("employ", "SET NULL")


# -- audit triggers ------------------------------------------------------------------------------


def _audit_rows(sage: Engine, table_name: str) -> list[tuple[Any, ...]]:
    audit = AUDIT_TABLES[table_name]
    columns = [audit.c._action, audit.c._idnum]
    columns += [audit.c.recnum] if "recnum" in audit.c else []
    with sage.connect() as connection:
        return [tuple(r) for r in connection.execute(select(*columns).order_by(audit.c._audnum))]


def test_every_insert_update_and_delete_leaves_an_audit_row(sage: Engine) -> None:
    started = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=5)
    with sage.begin() as connection:
        invoice = valid_row(connection, "acrinv", invnum="A-1", jobnum=5001, dscrpt="x")
        client = valid_row(connection, "reccln", clnnme="Acme", shtnme="Acme")
        line = valid_row(connection, "dlypyr", empnum=7, jobnum=5001)
        for table, row in ((acrinv, invoice), (reccln, client), (dlypyr, line)):
            connection.execute(insert(table), row)
            where = table.c._idnum == row["_idnum"]
            connection.execute(update(table).where(where).values(usrdf1="edited"))
            connection.execute(delete(table).where(where))
    assert _audit_rows(sage, "acrinv") == [(a, invoice["_idnum"], 1) for a in "IUD"]
    assert _audit_rows(sage, "reccln") == [(a, client["_idnum"], 987_654) for a in "IUD"]
    assert _audit_rows(sage, "dlypyr") == [(a, line["_idnum"]) for a in "IUD"]
    audit = AUDIT_TABLES["acrinv"]
    with sage.connect() as connection:
        stamps = connection.execute(select(audit.c._Date, audit.c._user, audit.c._app)).all()
    assert all(started <= when <= started + timedelta(minutes=5) for when, _, _ in stamps)
    if sage.dialect.name == "postgresql":  # the SQL login and application_name
        assert {(user is not None, app) for _, user, app in stamps} == {(True, "recon-test")}


# -- no RETURNING on tables with triggers ----------------------------------------------------------


def test_returning_is_refused_on_tables_with_triggers_as_sql_server_refuses_output(
    sage: Engine,
) -> None:
    with sage.connect() as connection:
        row = valid_row(connection, "acrinv", invnum="A-1", jobnum=5001, dscrpt="x")
    attempts = [
        lambda c: c.execute(insert(acrinv).returning(acrinv.c.recnum), row),
        lambda c: c.execute(update(reccln).values(inactv=1).returning(reccln.c.recnum)),
        lambda c: c.exec_driver_sql("DELETE FROM lgrtrn RETURNING recnum"),
    ]
    for attempt in attempts:
        with (
            pytest.raises(SageWriteError, match="SQL Server error 334") as raised,
            translating("posting", SageWriteError),
            sage.begin() as connection,
        ):
            attempt(connection)
        assert isinstance(raised.value.__cause__, sa_exc.DBAPIError)
    with sage.connect() as connection:
        assert connection.execute(select(acrinv.c.recnum)).all() == []


# -- how the sandbox is made ---------------------------------------------------------------------


def test_a_sqlite_sandbox_names_its_triggers_for_the_site_check(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sage.db'}"
    init_sandbox(url, MAPPING)
    engine = create_sage_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            )
            names = set(found.scalars())
    finally:
        engine.dispose()
    assert names == {name for table in TABLES for name in sqlite_trigger_names(table)}
    assert "identity_acrinv_refuse" in names and "audit_dlypyr_delete" in names


def test_init_refuses_a_database_with_other_tables_reseeds_and_resets(sandbox_url: str) -> None:
    init_sandbox(sandbox_url, MAPPING, reset=True)
    engine = create_sage_engine(sandbox_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE stored_events (id INTEGER)")
        with pytest.raises(SandboxExistsError, match="stored_events"):
            init_sandbox(sandbox_url, MAPPING, reset=True)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE stored_events")
        counts = init_sandbox(sandbox_url, MAPPING)  # no data: re-seeds in place
        assert (counts["employ"], counts["wkrcmp"], counts["paygrp"]) == (2, 1, 1)
        with engine.begin() as connection:
            connection.execute(insert(jobcst), valid_row(connection, "jobcst"))
        with pytest.raises(SandboxExistsError, match="jobcst: 1 rows"):
            init_sandbox(sandbox_url, MAPPING)
        init_sandbox(sandbox_url, MAPPING, reset=True)
        with engine.connect() as connection:
            assert connection.execute(select(jobcst.c.recnum)).all() == []
            assert connection.execute(select(AUDIT_TABLES["jobcst"].c._action)).all() == []
    finally:
        engine.dispose()


def test_a_sandbox_made_by_an_older_recon_must_be_reset(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "sage.db"
    with sqlite3.connect(path) as connection:  # the old shape: every column nullable
        connection.execute("CREATE TABLE acrinv (_idnum CHAR(32) PRIMARY KEY, recnum BIGINT)")
    connection.close()
    with pytest.raises(SandboxExistsError, match=r"acrinv.*pass reset"):
        init_sandbox(f"sqlite:///{path}", MAPPING)
    init_sandbox(f"sqlite:///{path}", MAPPING, reset=True)


def test_the_seeded_employees_satisfy_every_constraint(sage: Engine) -> None:
    with sage.connect() as connection:
        employees = connection.execute(
            select(employ.c.recnum, employ.c.wrkcmp, employ.c.paygrp, employ.c.taxste)
        ).all()
    assert [tuple(e) for e in employees] == [(7, 1, 1, ""), (12, 1, 1, "")]


def test_identity_recnums_stay_unique_under_a_multi_row_insert(sage: Engine) -> None:
    with sage.begin() as connection:
        rows = [valid_row(connection, "jobcst", trnnum=f"T{n}") for n in range(50)]
        connection.execute(insert(jobcst), rows)
        numbers = connection.execute(select(jobcst.c.recnum).order_by(jobcst.c.recnum)).scalars()
        assert list(numbers) == list(range(1, 51))
