"""What a sandbox adds to ``create_all`` so it behaves like a Sage company database on SQL Server.

- IDENTITY ``recnum`` (schema.IDENTITY_TABLES). PostgreSQL has it natively (``GENERATED ALWAYS
  AS IDENTITY``: an explicit value is refused, an omitted one generated). SQLite has no identity
  on a column that is not the rowid, so three triggers per table do it: ``identity_<t>_refuse``
  refuses an explicit value (SQL Server error 544), ``identity_<t>_assign`` gives the new row
  ``max(recnum) + 1``, ``identity_<t>_refuse_update`` refuses changing it (error 8102).
- Audit triggers on every Sage table, as Sage's ``TRAI/TRAU/TRAD:<t>_Audit``: after each insert,
  update and delete, ``audit_<t>_insert|update|delete`` writes a row to ``<t>_audit`` (``_Date``
  UTC, ``_action`` I/U/D, ``_idnum``, ``recnum`` where the table has one, the SQL user and
  application where the database knows them). Sage keeps these in schema ``dbo_Audit`` under the
  table's own name; a sandbox has one schema, hence the suffix. On PostgreSQL one plpgsql
  function serves every table. Because the tables have triggers, SQL Server refuses ``OUTPUT
  inserted`` on them (error 334); adapters/sage/engine.py refuses RETURNING the same way.

The trigger name prefixes ``identity_`` and ``audit_`` are read back by ``recon sandbox check``.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Unicode,
    Uuid,
)

from adapters.sage.schema import IDENTITY_TABLES, TABLES

__all__ = [
    "AUDIT_FUNCTION",
    "AUDIT_PREFIX",
    "AUDIT_SUFFIX",
    "AUDIT_TABLES",
    "IDENTITY_PREFIX",
    "audit_metadata",
    "audit_name",
    "drop_sandbox_ddl",
    "install_sandbox_ddl",
    "sqlite_trigger_names",
]

AUDIT_SUFFIX = "_audit"
AUDIT_PREFIX = "audit_"
IDENTITY_PREFIX = "identity_"
AUDIT_FUNCTION = "recon_sage_audit"
#: SQL Server's messages, so a refused statement reads as it would on the server.
ERROR_544 = (
    "Cannot insert explicit value for identity column in table '{table}' when "
    "IDENTITY_INSERT is set to OFF (SQL Server error 544, emulated by the sandbox)"
)
ERROR_8102 = (
    "Cannot update identity column 'recnum' of table '{table}' "
    "(SQL Server error 8102, emulated by the sandbox)"
)
#: (trigger name suffix, event, audit action, the row it records)
_EVENTS = (
    ("insert", "INSERT", "I", "NEW"),
    ("update", "UPDATE", "U", "NEW"),
    ("delete", "DELETE", "D", "OLD"),
)

audit_metadata = MetaData()


def audit_name(table: str) -> str:
    """The audit table of a Sage table in a sandbox (Sage: ``dbo_Audit.<table>``)."""
    return f"{table}{AUDIT_SUFFIX}"


def _audit_table(table: Table) -> Table:
    columns: list[Column[object]] = [
        Column("_audnum", Integer(), primary_key=True, autoincrement=True),
        Column("_Date", DateTime(), nullable=False),  # UTC
        Column("_action", Unicode(1), nullable=False),  # I, U, D
        Column("_idnum", Uuid()),
    ]
    if "recnum" in table.c:
        columns.append(Column("recnum", table.c.recnum.type))
    columns += [Column("_user", Unicode(128)), Column("_app", Unicode(128))]
    audit = Table(audit_name(table.name), audit_metadata, *columns)
    Index(f"ix_{audit.name}_idnum", audit.c._idnum)  # the identity trigger's look-up
    return audit


AUDIT_TABLES: dict[str, Table] = {name: _audit_table(table) for name, table in TABLES.items()}


def sqlite_trigger_names(table: str) -> tuple[str, ...]:
    """Every trigger a SQLite sandbox has on ``table``."""
    names = tuple(f"{AUDIT_PREFIX}{table}_{event}" for event, *_ in _EVENTS)
    if table in IDENTITY_TABLES:
        names += tuple(
            f"{IDENTITY_PREFIX}{table}_{what}" for what in ("refuse", "assign", "refuse_update")
        )
    return names


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sqlite_audit(name: str) -> list[str]:
    table = TABLES[name]
    has_recnum = "recnum" in table.c
    identity = name in IDENTITY_TABLES
    audit = audit_name(name)
    statements = []
    for event, verb, action, row in _EVENTS:
        columns = '"_Date", _action, _idnum' + (", recnum" if has_recnum else "")
        values = f"datetime('now'), '{action}', {row}._idnum"
        if has_recnum:
            # An identity recnum is assigned by another AFTER INSERT trigger: read the row.
            recnum = f"{row}.recnum"
            if identity and event == "insert":
                recnum = f"(SELECT recnum FROM {name} WHERE _idnum = NEW._idnum)"
            values += f", {recnum}"
        # The identity assignment (NULL -> n) is part of the insert, not an update.
        when = " WHEN OLD.recnum IS NOT NULL" if identity and event == "update" else ""
        statements.append(
            f"CREATE TRIGGER IF NOT EXISTS {AUDIT_PREFIX}{name}_{event} AFTER {verb} ON {name}"
            f"{when} BEGIN INSERT INTO {audit} ({columns}) VALUES ({values}); END"
        )
    return statements


def _sqlite_identity(name: str) -> list[str]:
    audit = audit_name(name)
    refuse = _quote(ERROR_544.format(table=name))
    refuse_update = _quote(ERROR_8102.format(table=name))
    return [
        f"CREATE TRIGGER IF NOT EXISTS {IDENTITY_PREFIX}{name}_refuse BEFORE INSERT ON {name}"
        f" WHEN NEW.recnum IS NOT NULL BEGIN SELECT RAISE(ABORT, {refuse}); END",
        # Created after the audit triggers, so (SQLite runs the newest first) it runs before
        # them; the second statement fills the audit row's recnum should it ever run after.
        f"CREATE TRIGGER IF NOT EXISTS {IDENTITY_PREFIX}{name}_assign AFTER INSERT ON {name}"
        # (max() alone in its SELECT, so SQLite reads it off the recnum index)
        f" BEGIN UPDATE {name} SET recnum = coalesce((SELECT max(recnum) FROM {name}), 0) + 1"
        f" WHERE _idnum = NEW._idnum;"
        f" UPDATE {audit} SET recnum = (SELECT recnum FROM {name} WHERE _idnum = NEW._idnum)"
        f" WHERE _idnum = NEW._idnum AND _action = 'I' AND recnum IS NULL; END",
        f"CREATE TRIGGER IF NOT EXISTS {IDENTITY_PREFIX}{name}_refuse_update"
        f" BEFORE UPDATE OF recnum ON {name} WHEN OLD.recnum IS NOT NULL"
        f" BEGIN SELECT RAISE(ABORT, {refuse_update}); END",
    ]


_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {AUDIT_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $audit$
DECLARE
    changed jsonb;
    target text := format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME || '{AUDIT_SUFFIX}');
BEGIN
    IF TG_OP = 'DELETE' THEN changed := to_jsonb(OLD); ELSE changed := to_jsonb(NEW); END IF;
    IF TG_ARGV[0] = 'recnum' THEN
        EXECUTE format('INSERT INTO %s ("_Date", _action, _idnum, recnum, _user, _app)'
                       ' VALUES ($1, $2, $3, ($4)::numeric, $5, $6)', target)
        USING (now() AT TIME ZONE 'utc'), left(TG_OP, 1), (changed->>'_idnum')::uuid,
              changed->>'recnum', current_user::text,
              current_setting('application_name', true);
    ELSE
        EXECUTE format('INSERT INTO %s ("_Date", _action, _idnum, _user, _app)'
                       ' VALUES ($1, $2, $3, $4, $5)', target)
        USING (now() AT TIME ZONE 'utc'), left(TG_OP, 1), (changed->>'_idnum')::uuid,
              current_user::text, current_setting('application_name', true);
    END IF;
    RETURN NULL;
END
$audit$
"""


def _postgresql(name: str) -> list[str]:
    argument = "'recnum'" if "recnum" in TABLES[name].c else "'none'"
    return [
        f"CREATE OR REPLACE TRIGGER {AUDIT_PREFIX}{name}_{event} AFTER {verb} ON {name}"
        f" FOR EACH ROW EXECUTE FUNCTION {AUDIT_FUNCTION}({argument})"
        for event, verb, *_ in _EVENTS
    ]


def install_sandbox_ddl(connection: Connection) -> None:
    """Create the audit tables and every trigger (after ``metadata.create_all``); idempotent."""
    audit_metadata.create_all(connection)
    dialect = connection.dialect.name
    statements: list[str] = []
    if dialect == "sqlite":
        for name in TABLES:
            statements += _sqlite_audit(name)
            if name in IDENTITY_TABLES:
                statements += _sqlite_identity(name)
    elif dialect == "postgresql":
        statements.append(_PG_FUNCTION)
        for name in TABLES:
            statements += _postgresql(name)
    else:
        raise ValueError(f"expected a SQLite or PostgreSQL sandbox, got dialect {dialect!r}")
    options = {"no_parameters": True}  # '%' in the function body is not a placeholder
    for statement in statements:
        connection.exec_driver_sql(statement, execution_options=options)


def drop_sandbox_ddl(connection: Connection) -> None:
    """Drop the audit tables (the triggers go with their tables) and the audit function."""
    audit_metadata.drop_all(connection)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {AUDIT_FUNCTION}() CASCADE")
