"""What a Sage company database enforces that recon's writes rely on, read from its catalogs.

``recon sandbox check --sage URL`` runs ``check_site``; a site's IT person runs it before the
first ``--apply``. It is split the way recon's reconciler is:

- a thin reader per dialect (SQL Server, PostgreSQL, SQLite) that runs read-only catalog queries
  and keeps their rows as plain mappings (``MSSQL_STATEMENTS``, ``POSTGRES_STATEMENTS`` and the
  SQLite pragmas);
- pure functions that turn those rows into a ``Catalog`` (``catalog_from_rows``,
  ``sqlite_catalog``) and a ``Catalog`` into findings (``assess``): what was found, what it means
  for recon, and whether it blocks recon's writes.

recon's model of each table is its SQLAlchemy metadata (adapters/sage/schema.py): the columns
there are the ones recon reads and writes. A column is one the sink leaves for the server to
number when the model gives it an ``Identity()`` (or ``info={"identity": True}``), one it may
leave to a default when the model gives it a ``server_default``, and one it always fills when
the model declares it NOT NULL. The reference for what a real company database enforces is
../shared/docs/reference/sage100c-schema.md §0, §4.2, §4.3 and §8.
"""

from __future__ import annotations

import os
import re
import sqlite3
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Column, Connection, Engine, TextClause, bindparam, create_engine, text
from sqlalchemy.engine import URL

from adapters.sage.engine import (
    DEFAULT_APP_NAME,
    create_sage_engine,
    parse_url,
    sqlite_path,
    with_app_name,
)
from adapters.sage.errors import SageConfigError, SageUnavailableError, translating
from adapters.sage.schema import TABLES
from domain.documents import DOCUMENT_TABLES

__all__ = [
    "BLOCK",
    "CHECK",
    "MSSQL_STATEMENTS",
    "OK",
    "POSTGRES_STATEMENTS",
    "Catalog",
    "CheckItem",
    "ColumnFact",
    "ForeignKeyFact",
    "SiteCheck",
    "TriggerFact",
    "assess",
    "catalog_from_rows",
    "check_site",
    "read_catalog",
    "redact",
    "render_text",
    "sqlite_catalog",
]

OK, CHECK, BLOCK = "ok", "check", "block"
#: The sections of a check, in the order they are printed.
TOPICS: dict[str, str] = {
    "connection": "Connection",
    "tables": "Tables",
    "identity": "IDENTITY columns",
    "columns": "Required columns (NOT NULL)",
    "triggers": "Triggers",
    "foreign_keys": "Foreign keys",
    "permissions": "Permissions of the login",
    "logon": "Logon trigger and application name",
}
SELECT, INSERT, UPDATE, DELETE, ALTER = "SELECT", "INSERT", "UPDATE", "DELETE", "ALTER"
PRIVILEGES = (SELECT, INSERT, UPDATE, DELETE, ALTER)

#: The tables recon's sql sink inserts into and updates (every table of every document).
WRITTEN_TABLES: tuple[str, ...] = tuple(
    sorted({name for tables in DOCUMENT_TABLES.values() for name in tables})
)
#: Tables recon deletes rows from: a voided daily payroll line is deleted (it is an unposted
#: entry); every other void sets a status.
DELETED_TABLES: tuple[str, ...] = ("dlypyr",)
#: Reference §8: where an EF scaffold of a live company found ``recnum`` to be IDENTITY.
REFERENCE_IDENTITY = frozenset({"acrinv", "acpinv", "jobcst", "payrec", "lgrbal"})
#: Reference §8 says nothing either way for these.
REFERENCE_UNKNOWN_IDENTITY = frozenset({"lgrtrn", "lgtnln"})
READ_BACK = "_idnum"

# How recon's model says a column is filled.
_IDENTITY, _DEFAULTED, _ALWAYS, _OPTIONAL = "identity", "defaulted", "always", "optional"

_SANDBOX_IDENTITY = re.compile(
    r"^identity_(?P<table>\w+?)_(?P<role>refuse_update|refuse|assign)$", re.IGNORECASE
)
_SANDBOX_AUDIT = re.compile(r"^audit_(?P<table>\w+?)_(?P<event>insert|update|delete)$", re.I)
_NEW_NOT_NULL = re.compile(r"new\.\"?(\w+)\"?\s+is\s+not\s+null", re.I)
_TRIGGER_TIMING = re.compile(
    r"\b(before|after|instead\s+of)\s+(insert|update|delete)\b", re.IGNORECASE
)
_ODBC_APP = re.compile(r"(?:^|;)\s*app\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)", re.IGNORECASE)
#: An ODBC password, plain (``PWD=x;``) or URL-encoded (``PWD%3Dx%3B``), braced or not.
_ODBC_SECRET = re.compile(
    r"((?:pwd|password)\s*(?:=|%3d)\s*)(\{(?:[^}]|\}\})*\}|%7b.*?%7d(?!%7d)|.*?(?=;|%3b|&|\s|$))",
    re.IGNORECASE,
)


# -- facts read from a catalog ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnFact:
    """A column as the database defines it."""

    table: str
    name: str
    nullable: bool
    default: str | None = None  # the default's definition; None: no default
    identity: bool = False
    generated: bool = False  # computed or rowversion: the server fills it, inserts cannot


@dataclass(frozen=True, slots=True)
class TriggerFact:
    """A DML trigger on a table."""

    table: str
    name: str
    timing: str = "AFTER"  # AFTER, BEFORE or INSTEAD OF
    events: tuple[str, ...] = ()  # INSERT, UPDATE, DELETE
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ForeignKeyFact:
    """A foreign key of a table (its columns, in order, and what they must name)."""

    table: str
    name: str
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Catalog:
    """What a database's catalogs say about the tables recon uses, and about the login."""

    dialect: str  # mssql, postgresql or sqlite
    database: str  # the URL with no password in it
    tables: frozenset[str]  # the tables recon uses that the database has (lowercase)
    columns: tuple[ColumnFact, ...] = ()
    triggers: tuple[TriggerFact, ...] = ()
    foreign_keys: tuple[ForeignKeyFact, ...] = ()
    privileges: Mapping[str, frozenset[str]] = field(default_factory=dict)
    schema: str | None = None
    login: str | None = None
    sysadmin: bool | None = None
    db_owner: bool | None = None
    app_name_seen: str | None = None  # the application name the server saw (SQL Server, PG)
    server_version: str | None = None
    logon_triggers: tuple[tuple[str, bool], ...] | None = None  # (name, enabled); None: unseen
    writable: bool | None = None  # SQLite: whether this user may write the file

    def columns_of(self, table: str) -> dict[str, ColumnFact]:
        return {c.name: c for c in self.columns if c.table == table}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tables"] = sorted(self.tables)
        data["privileges"] = {t: sorted(p) for t, p in sorted(self.privileges.items())}
        return data


# -- findings --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One finding: what was found, what it means for recon, and whether it blocks writes."""

    topic: str
    status: str  # ok, check (someone should look; recon can write) or block
    subject: str  # "acrinv.recnum", "acrinv", "login", ...
    found: str
    meaning: str

    @property
    def line(self) -> str:
        return f"{self.found}: {self.meaning}"


@dataclass(frozen=True, slots=True)
class SiteCheck:
    """The result of a site check: the findings and the catalog they were read from."""

    database: str
    dialect: str
    app_name: str
    items: tuple[CheckItem, ...]
    catalog: Catalog | None = None

    @property
    def blocking(self) -> tuple[CheckItem, ...]:
        return tuple(item for item in self.items if item.status == BLOCK)

    @property
    def ok(self) -> bool:
        return not self.blocking

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "dialect": self.dialect,
            "app_name": self.app_name,
            "ok": self.ok,
            "blocking": [item.line for item in self.blocking],
            "to_check": [item.line for item in self.items if item.status == CHECK],
            "items": [asdict(item) for item in self.items],
            "catalog": None if self.catalog is None else self.catalog.to_json(),
        }


_DIALECT_NAMES = {"mssql": "SQL Server", "postgresql": "PostgreSQL", "sqlite": "SQLite"}
_TAGS = {OK: "[ok]", CHECK: "[check]", BLOCK: "[BLOCK]"}


def render_text(result: SiteCheck, width: int = 100) -> str:
    """The check as plain lines: one section per topic, a tag per line, then the verdict."""
    dialect = _DIALECT_NAMES.get(result.dialect, result.dialect)
    lines = [f"recon sandbox check: {result.database} ({dialect})"]
    for topic, title in TOPICS.items():
        items = [item for item in result.items if item.topic == topic]
        if not items:
            continue
        lines += ["", title]
        for item in items:
            tag = f"  {_TAGS[item.status]:<8}"
            lines += textwrap.wrap(
                item.line, width, initial_indent=tag, subsequent_indent=" " * len(tag)
            )
    lines.append("")
    to_check = sum(1 for item in result.items if item.status == CHECK)
    also = f"; {to_check} item(s) to check" if to_check else ""
    if result.ok:
        lines.append(f"Nothing blocks recon's writes{also}.")
    else:
        lines.append(f"{len(result.blocking)} item(s) block recon's writes{also}:")
        for item in result.blocking:
            lines += textwrap.wrap(
                item.line, width, initial_indent="  - ", subsequent_indent="    "
            )
    return "\n".join(lines)


# -- recon's model ---------------------------------------------------------------------------


def model_fill(column: Column[Any]) -> str:
    """How recon's sink fills ``column``: left to IDENTITY, maybe left to a default, always
    written, or possibly NULL / left out."""
    if column.identity is not None or column.info.get("identity") is True:
        return _IDENTITY
    if column.server_default is not None:
        return _DEFAULTED
    if column.default is not None or not column.nullable:
        return _ALWAYS
    return _OPTIONAL


def _needed_privileges(table: str, writes: Sequence[str]) -> tuple[str, ...]:
    if table in DELETED_TABLES and table in writes:
        return (SELECT, INSERT, UPDATE, DELETE)
    if table in writes:
        return (SELECT, INSERT, UPDATE)
    return (SELECT,)


def _count(things: Sequence[Any], noun: str) -> str:
    return f"{len(things)} {noun}{'' if len(things) == 1 else 's'}"


def _names(names: Iterable[str], limit: int = 12) -> str:
    listed = sorted(names)
    shown = ", ".join(listed[:limit])
    return shown + (f" and {len(listed) - limit} more" if len(listed) > limit else "")


# -- what it means ---------------------------------------------------------------------------


def assess(
    catalog: Catalog,
    *,
    model: Mapping[str, Any] | None = None,
    written: Sequence[str] | None = None,
    app_name: str = DEFAULT_APP_NAME,
) -> SiteCheck:
    """What ``catalog`` means for recon's writes (pure).

    ``model`` maps table names to recon's SQLAlchemy tables (default: adapters/sage/schema.py);
    ``written`` names the tables recon writes (default: every table of every document that is in
    the model); the rest of the model recon only reads.
    """
    tables = dict(TABLES if model is None else model)
    writes = [t for t in (WRITTEN_TABLES if written is None else written) if t in tables]
    items: list[CheckItem] = [_connection_item(catalog)]
    items += _table_items(catalog, tables, writes)
    present = [t for t in writes if t in catalog.tables]
    for table in present:
        items += _identity_items(catalog, tables[table], table)
    for table in present:
        items += _column_items(catalog, tables[table], table)
    items += _trigger_items(catalog, present)
    items += _foreign_key_items(catalog, tables, present)
    items += _permission_items(catalog, tables, writes)
    items.append(_logon_item(catalog, app_name))
    return SiteCheck(catalog.database, catalog.dialect, app_name, tuple(items), catalog)


def _connection_item(catalog: Catalog) -> CheckItem:
    who = f" as {catalog.login}" if catalog.login else ""
    version = f" ({_DIALECT_NAMES.get(catalog.dialect, catalog.dialect)}"
    version += f" {catalog.server_version})" if catalog.server_version else ")"
    schema = f", schema {catalog.schema}" if catalog.schema else ""
    how = {
        "sqlite": "opened the file read-only",
        "postgresql": "read its catalogs in a READ ONLY transaction, then rolled it back",
    }.get(catalog.dialect, "read its catalogs with SELECTs only, then rolled back")
    return CheckItem(
        "connection",
        OK,
        "database",
        f"connected to {catalog.database}{who}{version}{schema}",
        f"{how}; nothing was written",
    )


def _table_items(
    catalog: Catalog, tables: Mapping[str, Any], writes: Sequence[str]
) -> list[CheckItem]:
    items: list[CheckItem] = []
    where = f"schema {catalog.schema}" if catalog.schema else "the database"
    missing = sorted(t for t in tables if t not in catalog.tables)
    for kind, names in (
        ("writes (and reads)", [t for t in missing if t in writes]),
        ("reads", [t for t in missing if t not in writes]),
    ):
        if names:
            items.append(
                CheckItem(
                    "tables",
                    BLOCK,
                    ", ".join(names),
                    f"{_count(names, 'table')} recon {kind} not in {where}, or not visible to "
                    f"this login: {', '.join(names)}",
                    "connect to the company database itself (for a sandbox: run `recon sandbox "
                    "init`), with a login that may read these tables",
                )
            )
    if not missing:
        reads = len(tables) - len(writes)
        items.append(
            CheckItem(
                "tables",
                OK,
                "tables",
                f"all {len(tables)} Sage tables recon uses are in {where}",
                f"{len(writes)} it writes ({', '.join(writes)}) and {reads} it only reads",
            )
        )
    return items


def _identity_items(catalog: Catalog, table_model: Any, table: str) -> list[CheckItem]:
    facts = catalog.columns_of(table)
    ours = {c.name for c in table_model.columns if model_fill(c) == _IDENTITY}
    theirs = {name for name, fact in facts.items() if fact.identity}
    items: list[CheckItem] = []
    for name in sorted(theirs):
        subject = f"{table}.{name}"
        unknown = (
            " (the reference does not say whether it is)"
            if table in REFERENCE_UNKNOWN_IDENTITY
            else ""
        )
        if name in ours:
            items.append(
                CheckItem(
                    "identity",
                    OK,
                    subject,
                    f"{subject} is IDENTITY{unknown}",
                    f"recon leaves it out of its inserts and reads it back by {READ_BACK} "
                    "(never with OUTPUT inserted) — OK",
                )
            )
        elif name in table_model.c:
            items.append(
                CheckItem(
                    "identity",
                    BLOCK,
                    subject,
                    f"{subject} is IDENTITY but recon's model numbers it itself",
                    "recon would insert an explicit value, which the server refuses (error 544) "
                    "unless IDENTITY_INSERT is on, and recon never sets it; recon must leave "
                    f"{subject} out of its inserts and read it back by {READ_BACK}",
                )
            )
        else:
            items.append(
                CheckItem(
                    "identity",
                    OK,
                    subject,
                    f"{subject} is IDENTITY",
                    "recon never writes that column; the server numbers it — OK",
                )
            )
    for name in sorted(ours - theirs):
        subject = f"{table}.{name}"
        fact = facts.get(name)
        if fact is None:
            continue  # reported with the columns recon uses that the database lacks
        if fact.default is not None:
            items.append(
                CheckItem(
                    "identity",
                    CHECK,
                    subject,
                    f"{subject} is not IDENTITY; its default is {fact.default}",
                    "recon leaves it out and the default numbers it: make sure the default "
                    "gives each record a new number, as the Sage window would",
                )
            )
        else:
            items.append(
                CheckItem(
                    "identity",
                    BLOCK,
                    subject,
                    f"{subject} is neither IDENTITY nor has it a default",
                    "recon leaves it out for the server to number, so "
                    + (
                        "every record it inserts gets no number"
                        if fact.nullable
                        else "every insert fails (error 515)"
                    ),
                )
            )
    if not theirs and not ours:
        expected = ""
        if table in REFERENCE_IDENTITY:
            expected = " (the reference found IDENTITY on recnum here in a live company database)"
        elif table in REFERENCE_UNKNOWN_IDENTITY:
            expected = " (the reference does not say whether it has)"
        if "_idref" in table_model.c and "recnum" in table_model.c:
            does = f"{table}.recnum repeats its parent's number, which recon writes — OK"
        elif "recnum" in table_model.c:
            does = f"recon writes {table}.recnum itself — OK"
        else:
            does = f"recon numbers nothing on {table} (its row GUID {READ_BACK} is its key) — OK"
        items.append(
            CheckItem("identity", OK, table, f"{table} has no IDENTITY column{expected}", does)
        )
    return items


def _column_items(catalog: Catalog, table_model: Any, table: str) -> list[CheckItem]:
    facts = catalog.columns_of(table)
    fill = {c.name: model_fill(c) for c in table_model.columns}
    lacking = [name for name in fill if name not in facts]
    unwritten_required: list[str] = []  # NOT NULL, no default, not in recon's model
    unwritten_defaulted: list[str] = []  # NOT NULL with a default, not in recon's model
    maybe_null: list[str] = []  # NOT NULL, no default, recon may send NULL or leave it out
    no_default: list[str] = []  # recon relies on a default the database lacks
    null_refused: list[str] = []  # NOT NULL with a default, recon may send NULL
    generated: list[str] = []  # computed by the server, recon writes it
    filled: list[str] = []  # NOT NULL without a default, recon always writes it
    for name, fact in facts.items():
        how = fill.get(name)
        if fact.identity:
            continue  # the IDENTITY section says what recon does with it
        if fact.generated:
            if how is not None and how != _IDENTITY:
                generated.append(name)
            continue
        if fact.nullable:
            continue
        if how is None:
            (unwritten_required if fact.default is None else unwritten_defaulted).append(name)
        elif how == _ALWAYS and fact.default is None:
            filled.append(name)
        elif how == _DEFAULTED and fact.default is None:
            no_default.append(name)
        elif how == _OPTIONAL:
            (maybe_null if fact.default is None else null_refused).append(name)
    items: list[CheckItem] = []

    def add(status: str, found: str, meaning: str) -> None:
        items.append(CheckItem("columns", status, table, found, meaning))

    if lacking:
        add(
            BLOCK,
            f"{table} lacks columns recon reads and writes: {_names(lacking)}",
            "recon's reads and inserts name them and fail (invalid column name, error 207); "
            "recon's model (adapters/sage/schema.py) must match this company's tables",
        )
    if unwritten_required:
        add(
            BLOCK,
            f"{table}: NOT NULL without a default, and recon does not write them: "
            f"{_names(unwritten_required)}",
            f"every insert into {table} fails (error 515) until recon writes a value into each",
        )
    if maybe_null:
        add(
            BLOCK,
            f"{table}: NOT NULL without a default, and recon's model lets them be NULL: "
            f"{_names(maybe_null)}",
            f"an insert into {table} without a value in each fails (error 515); recon must "
            "always write them, as the Sage window does",
        )
    if no_default:
        add(
            BLOCK,
            f"{table}: recon leaves {_names(no_default)} to a default this database lacks",
            "they are NOT NULL without a default, so recon's inserts fail (error 515)",
        )
    if generated:
        add(
            BLOCK,
            f"{table}: computed by the server: {_names(generated)}",
            "an insert or update that names a computed column fails (error 271); recon must "
            "leave them out",
        )
    if null_refused:
        add(
            CHECK,
            f"{table}: NOT NULL with a default, and recon's model lets them be NULL: "
            f"{_names(null_refused)}",
            "the default applies only when the column is left out; an explicit NULL fails "
            "(error 515), so recon must leave them out or write a value",
        )
    quiet = not (lacking or unwritten_required or maybe_null or no_default or generated)
    if quiet:
        parts = []
        if filled:
            parts.append(
                f"{_count(filled, 'NOT NULL column')} without a default, all written by recon"
            )
        if unwritten_defaulted:
            parts.append(
                f"{_count(unwritten_defaulted, 'NOT NULL column')} recon does not write, all "
                f"with a default ({_names(unwritten_defaulted, 6)})"
            )
        found = f"{table}: " + ("; ".join(parts) if parts else "no NOT NULL column recon misses")
        add(OK, found, f"recon's inserts into {table} fill every required column — OK")
    return items


# -- triggers --------------------------------------------------------------------------------


def trigger_kind(trigger: TriggerFact) -> str:
    """What a trigger is, from its name: identity (the sandbox's stand-in for IDENTITY), audit,
    timestamping, nullphase, reservation, or unknown."""
    name = trigger.name.lower()
    if _SANDBOX_IDENTITY.match(name):
        return "identity"
    if "_audit" in name or _SANDBOX_AUDIT.match(name):
        return "audit"
    if "timestamping" in name:
        return "timestamping"
    if "nullphase" in name:
        return "nullphase"
    if "reservationhost" in name:
        return "reservation"
    return "unknown"


#: Trigger kinds whose meaning is the same on every table: reported once, for all tables.
_SHARED_KINDS = {
    "identity": "IDENTITY stand-in triggers",
    "audit": "audit triggers",
    "timestamping": "timestamping triggers",
}


def _trigger_meaning(kind: str, table: str | None) -> tuple[str, str]:
    if kind == "identity":
        return OK, (
            "the sandbox's stand-in for IDENTITY on recnum: it refuses an explicit record number "
            "(as SQL Server's error 544) or a change to it (error 8102), and assigns the next "
            "one — OK"
        )
    if kind == "audit":
        return OK, (
            "each row recon inserts, updates or deletes is copied to the audit table "
            "(dbo_Audit.<table> on Sage), so Database Administration's Company Tools list "
            "recon's changes by login and application — OK"
        )
    if kind == "timestamping":
        return OK, "they set upddte/updusr when a row is updated — OK"
    if kind == "nullphase":
        return CHECK, (
            "Sage's phase trigger (what it does is not published; the name says it clears the "
            f"phase): it runs inside each of recon's writes to {table}; after the first --apply, "
            "check that a bill's phsnum is what recon wrote, or the next reconcile will report it"
        )
    if kind == "reservation":
        return CHECK, (
            f"Sage's record-number reservation on {table}.recnum: recon numbers these records "
            "from the mapping's number starts; keep those ranges clear of numbers people "
            "enter in Sage"
        )
    return CHECK, (
        f"a trigger recon does not know: it runs inside each of recon's writes to {table}, and "
        "if it fails the posting is rolled back and reported; read its definition "
        "(sp_helptext on SQL Server) before the first --apply"
    )


def _trigger_item(kind: str, group: Sequence[TriggerFact], table: str | None) -> CheckItem:
    status, meaning = _trigger_meaning(kind, table)
    names = [t.name for t in group]
    if table is None:
        tables = sorted({t.table for t in group})
        found = (
            f"{_SHARED_KINDS[kind]} on {', '.join(tables)}: "
            f"{_count(names, 'trigger')} ({_names(names, 3)})"
        )
        subject = ", ".join(tables)
    elif kind == "unknown":
        events = sorted({e for t in group for e in t.events})
        found = f"{table}: {names[0]} ({group[0].timing} {', '.join(events)})"
        subject = table
    else:
        found = f"{table}: {', '.join(names)}"
        subject = table
    disabled = [t.name for t in group if not t.enabled]
    if disabled:
        meaning += f"; disabled now: {_names(disabled)}"
    return CheckItem("triggers", status, subject, found, meaning)


def _trigger_items(catalog: Catalog, tables: Sequence[str]) -> list[CheckItem]:
    items: list[CheckItem] = []
    mine = [t for t in catalog.triggers if t.table in tables]
    with_triggers = [table for table in tables if any(t.table == table for t in mine)]
    shared: dict[str, list[TriggerFact]] = defaultdict(list)
    for trigger in mine:
        if trigger_kind(trigger) in _SHARED_KINDS:
            shared[trigger_kind(trigger)].append(trigger)
    for kind in _SHARED_KINDS:
        if shared.get(kind):
            items.append(_trigger_item(kind, shared[kind], None))
    for table in with_triggers:
        groups: dict[str, list[TriggerFact]] = defaultdict(list)
        for trigger in mine:
            kind = trigger_kind(trigger)
            if trigger.table == table and kind not in _SHARED_KINDS:
                groups[kind if kind != "unknown" else f"unknown:{trigger.name}"].append(trigger)
        for kind, group in groups.items():
            items.append(_trigger_item(kind.split(":")[0], group, table))
    instead = [t for t in mine if t.timing.upper().startswith("INSTEAD")]
    for trigger in instead:
        items.append(
            CheckItem(
                "triggers",
                CHECK,
                trigger.table,
                f"{trigger.table}: {trigger.name} is INSTEAD OF {', '.join(trigger.events)}",
                "it, not recon's statement, decides what is written, and SCOPE_IDENTITY() is "
                f"NULL after it; recon reads records back by {READ_BACK}, so check after the "
                "first --apply that they are there",
            )
        )
    if with_triggers:
        server = "SQL Server refuses" if catalog.dialect == "mssql" else "on SQL Server, Sage's"
        refused = (
            "an INSERT with OUTPUT inserted (without INTO) into them"
            if catalog.dialect == "mssql"
            else "tables have triggers too, and SQL Server refuses an INSERT with OUTPUT "
            "inserted (without INTO) into such tables"
        )
        items.append(
            CheckItem(
                "triggers",
                OK,
                "OUTPUT inserted",
                f"{len(with_triggers)} of recon's tables have triggers: "
                + ", ".join(with_triggers),
                f"{server} {refused} (error 334); recon reads generated numbers back by "
                f"{READ_BACK}, never with OUTPUT — OK",
            )
        )
    elif tables:
        items.append(
            CheckItem(
                "triggers",
                OK,
                "triggers",
                "no triggers on the tables recon writes",
                "nothing runs inside recon's writes (Sage's own tables have audit triggers; a "
                "sandbox may not) — OK",
            )
        )
    return items


# -- foreign keys ----------------------------------------------------------------------------


#: Where in Sage the records a foreign key may name are kept (reference §1).
_SAGE_WINDOWS = {
    "employ": "employee (5-2-1 Employees)",
    "payrec": "payroll record (5-2-2)",
    "actrec": "job (3-5 Jobs)",
    "actpay": "vendor (4-4 Vendors)",
    "reccln": "client (3-6 Receivable Clients)",
    "lgract": "ledger account (1-7 General Ledger Accounts)",
}


def _foreign_key_items(
    catalog: Catalog, tables: Mapping[str, Any], present: Sequence[str]
) -> list[CheckItem]:
    items: list[CheckItem] = []
    for key in catalog.foreign_keys:
        if key.table not in present:
            continue
        model = tables[key.table]
        columns = ", ".join(f"{key.table}.{c}" for c in key.columns)
        referred = ", ".join(f"{key.referred_table}.{c}" for c in key.referred_columns)
        action = key.on_delete.replace("_", " ").upper()
        found = f"{key.name}: {columns} -> {referred} (on delete {action})"
        written = [c for c in key.columns if c in model.c]
        if not key.enabled:
            status, meaning = OK, "disabled (or not trusted): the server does not enforce it now"
        elif written:
            window = _SAGE_WINDOWS.get(key.referred_table, f"{key.referred_table} record")
            status, meaning = (
                CHECK,
                (
                    f"every {columns} recon writes must be an existing {referred} or NULL, or the "
                    f"insert fails (error 547): before the first --apply, make sure each "
                    f"{window} that recon's mapping and documents refer to exists in Sage"
                ),
            )
        else:
            status, meaning = OK, f"recon never writes {columns}; it stays NULL or default — OK"
        items.append(CheckItem("foreign_keys", status, key.table, found, meaning))
    if not items and present:
        items.append(
            CheckItem(
                "foreign_keys",
                OK,
                "foreign keys",
                "no foreign keys on the tables recon writes",
                "the server checks no references in recon's rows; the reconcile does — OK",
            )
        )
    return items


# -- permissions -----------------------------------------------------------------------------


def _grant(catalog: Catalog, privileges: Sequence[str], table: str) -> str:
    if catalog.dialect == "sqlite":
        return "give this user write access to the database file and its folder"
    schema = f"{catalog.schema}." if catalog.schema else ""
    login = catalog.login or "<login>"
    who = f"[{login}]" if catalog.dialect == "mssql" else f'"{login}"'
    return f"GRANT {', '.join(privileges)} ON {schema}{table} TO {who}"


def _permission_items(
    catalog: Catalog, tables: Mapping[str, Any], writes: Sequence[str]
) -> list[CheckItem]:
    items: list[CheckItem] = []
    lacking = 0
    for table in tables:
        if table not in catalog.tables:
            continue
        has = catalog.privileges.get(table, frozenset())
        needed = _needed_privileges(table, writes)
        missing = [p for p in needed if p not in has]
        if missing:
            lacking += 1
            items.append(
                CheckItem(
                    "permissions",
                    BLOCK,
                    table,
                    f"this login lacks {', '.join(missing)} on {table}",
                    f"recon needs {', '.join(needed)} there (permission denied, error 229); "
                    + _grant(catalog, missing, table),
                )
            )
    present = [t for t in tables if t in catalog.tables]
    if present and not lacking:
        written = [t for t in present if t in writes]
        deleted = [t for t in written if t in DELETED_TABLES]
        items.append(
            CheckItem(
                "permissions",
                OK,
                "tables",
                f"this login may SELECT, INSERT and UPDATE on the {len(written)} tables recon "
                f"writes, DELETE on {', '.join(deleted) or 'none'}, and SELECT on the "
                f"{len(present) - len(written)} it reads",
                "that is all recon needs — OK",
            )
        )
    altered = [t for t in present if ALTER in catalog.privileges.get(t, frozenset())]
    if catalog.dialect == "sqlite":
        alter = "no ALTER permission on SQLite"
    else:
        alter = f"this login has ALTER on {len(altered)} of recon's {len(present)} tables"
    items.append(
        CheckItem(
            "permissions",
            OK,
            "ALTER",
            alter,
            "recon never sets IDENTITY_INSERT and never changes a table, so it needs no ALTER "
            "permission — OK",
        )
    )
    if catalog.dialect == "sqlite":
        if catalog.writable is not None:
            items.append(
                CheckItem(
                    "permissions",
                    OK if catalog.writable else BLOCK,
                    "file",
                    "the database file is "
                    + ("writable" if catalog.writable else "not writable")
                    + " by this user",
                    "SQLite has no logins: whoever may write the file may write every table"
                    + (" — OK" if catalog.writable else "; recon cannot write the sandbox"),
                )
            )
        return items
    role = "sysadmin" if catalog.dialect == "mssql" else "a superuser"
    if catalog.sysadmin is not None:
        items.append(
            CheckItem(
                "permissions",
                CHECK if catalog.sysadmin else OK,
                "sysadmin",
                f"the login is {'' if catalog.sysadmin else 'not '}{role}",
                (
                    "it may do anything on the whole server, far more than recon needs; "
                    "integrators often ask for it, because it also passes Sage's logon trigger "
                    "whatever the application name. A login with the table permissions above "
                    "is enough if recon's application name is approved (below)"
                )
                if catalog.sysadmin
                else "recon needs no server role — OK",
            )
        )
    owner = "db_owner" if catalog.dialect == "mssql" else "the database's owner"
    if catalog.db_owner is not None:
        items.append(
            CheckItem(
                "permissions",
                CHECK if catalog.db_owner else OK,
                "db_owner",
                f"the login is {'' if catalog.db_owner else 'not '}{owner}",
                "it may change or drop every table of the company, more than recon needs"
                if catalog.db_owner
                else "recon needs no database role beyond its table permissions — OK",
            )
        )
    return items


# -- logon trigger and application name -------------------------------------------------------


def sent_app_name(url: URL, app_name: str = DEFAULT_APP_NAME) -> str:
    """The application name recon sends for ``url`` (adapters/sage/engine.py with_app_name): a
    name already in the URL wins over ``app_name``."""
    named = with_app_name(url, app_name)
    for key, value in named.query.items():
        if key.lower() == "app":
            return value if isinstance(value, str) else value[0]
    raw = named.query.get("odbc_connect")
    if raw is not None:
        found = _ODBC_APP.search(raw if isinstance(raw, str) else ";".join(raw))
        if found:
            value = found.group(1).strip()
            if value.startswith("{") and value.endswith("}"):
                value = value[1:-1].replace("}}", "}")
            return value
    return app_name.strip()


def _logon_item(catalog: Catalog, app_name: str) -> CheckItem:
    approve = (
        f"approve '{app_name}' under Database Administration > Advanced SQL Server Settings > "
        "Limit access to approved applications > Edit Approvals"
    )
    if catalog.dialect != "mssql":
        return CheckItem(
            "logon",
            OK,
            "APP",
            f"recon sends the application name '{app_name}'",
            f"Sage's logon trigger (SageApplicationsOnly) exists only on SQL Server, not on "
            f"{_DIALECT_NAMES.get(catalog.dialect, catalog.dialect)}; for the company database "
            f"{approve}, unless recon's login is sysadmin — OK",
        )
    seen = catalog.app_name_seen
    triggers = ""
    if catalog.logon_triggers:
        triggers = " Server logon triggers: " + ", ".join(
            f"{name}{'' if enabled else ' (disabled)'}" for name, enabled in catalog.logon_triggers
        )
        triggers += "."
    if seen is not None and seen != app_name:
        return CheckItem(
            "logon",
            CHECK,
            "APP",
            f"recon sent APP={app_name} but the server saw the application name '{seen}'",
            "Sage's logon trigger judges the name the server sees: "
            f"{approve.replace(app_name, seen)}, or fix the URL's APP.{triggers}",
        )
    if catalog.sysadmin:
        why = "it let this sysadmin login in, as it lets every sysadmin whatever the name"
    else:
        why = f"Sage's logon trigger, if installed, accepted '{app_name}'"
    return CheckItem(
        "logon",
        OK,
        "APP",
        f"recon sends APP={app_name} (adapters/sage/engine.py with_app_name) and the server saw "
        f"'{seen if seen is not None else app_name}'",
        f"the connection was accepted: {why}. For a login that is not sysadmin, {approve}; a "
        f"Sage update may regenerate the trigger, so run this check again after one.{triggers}",
    )


# -- catalogs from rows (pure) ---------------------------------------------------------------


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().upper() in ("1", "YES", "TRUE", "T", "Y")
    return bool(value)


def _maybe_flag(value: Any) -> bool | None:
    return None if value is None else _flag(value)


CatalogRows = Mapping[str, Sequence[Mapping[str, Any]]]


def catalog_from_rows(
    dialect: str, database: str, rows: CatalogRows, *, writable: bool | None = None
) -> Catalog:
    """The catalog of SQL Server or PostgreSQL from the rows of its named statements
    (``MSSQL_STATEMENTS``/``POSTGRES_STATEMENTS``: both alias their columns alike)."""
    session = dict(rows.get("session", [{}])[0]) if rows.get("session") else {}
    columns = tuple(
        ColumnFact(
            table=str(r["table_name"]).lower(),
            name=str(r["column_name"]).lower(),
            nullable=_flag(r["is_nullable"]),
            default=None if r.get("default_definition") is None else str(r["default_definition"]),
            identity=_flag(r.get("is_identity")),
            generated=_flag(r.get("is_generated")),
        )
        for r in rows.get("columns", ())
    )
    triggers: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows.get("triggers", ()):
        key = (str(r["table_name"]).lower(), str(r["trigger_name"]))
        entry = triggers.setdefault(
            key,
            {"timing": str(r.get("timing") or "AFTER").upper(), "events": [], "enabled": True},
        )
        if r.get("event"):
            event = str(r["event"]).upper()
            if event not in entry["events"]:
                entry["events"].append(event)
        if _flag(r.get("is_disabled")):
            entry["enabled"] = False
    keys: dict[tuple[str, str], dict[str, Any]] = {}
    for r in sorted(rows.get("foreign_keys", ()), key=lambda r: int(r.get("position") or 0)):
        key = (str(r["table_name"]).lower(), str(r["fk_name"]))
        entry = keys.setdefault(
            key,
            {
                "referred": str(r["referred_table"]).lower(),
                "columns": [],
                "referred_columns": [],
                "on_delete": str(r.get("on_delete") or "NO ACTION"),
                "enabled": not _flag(r.get("is_disabled")),
            },
        )
        entry["columns"].append(str(r["column_name"]).lower())
        entry["referred_columns"].append(str(r["referred_column"]).lower())
    privileges = {
        str(r["table_name"]).lower(): frozenset(
            p for p in PRIVILEGES if _flag(r.get(f"can_{p.lower()}"))
        )
        for r in rows.get("privileges", ())
    }
    logon = rows.get("logon_triggers")
    return Catalog(
        dialect=dialect,
        database=database,
        tables=frozenset(str(r["table_name"]).lower() for r in rows.get("tables", ())),
        columns=columns,
        triggers=tuple(
            TriggerFact(table, name, e["timing"], tuple(e["events"]), e["enabled"])
            for (table, name), e in triggers.items()
        ),
        foreign_keys=tuple(
            ForeignKeyFact(
                table,
                name,
                tuple(e["columns"]),
                e["referred"],
                tuple(e["referred_columns"]),
                e["on_delete"],
                e["enabled"],
            )
            for (table, name), e in keys.items()
        ),
        privileges=privileges,
        schema=session.get("schema_name"),
        login=session.get("login"),
        sysadmin=_maybe_flag(session.get("sysadmin")),
        db_owner=_maybe_flag(session.get("db_owner")),
        app_name_seen=session.get("app_name"),
        server_version=None
        if session.get("server_version") is None
        else str(session["server_version"]),
        logon_triggers=None
        if logon is None
        else tuple((str(r["trigger_name"]), not _flag(r.get("is_disabled"))) for r in logon),
        writable=writable,
    )


def sqlite_catalog(
    database: str,
    tables: Iterable[str],
    table_info: Mapping[str, Sequence[Mapping[str, Any]]],
    foreign_keys: Mapping[str, Sequence[Mapping[str, Any]]],
    triggers: Sequence[Mapping[str, Any]],
    *,
    writable: bool | None,
) -> Catalog:
    """The catalog of a SQLite database from ``PRAGMA table_xinfo``, ``PRAGMA
    foreign_key_list`` (per table) and the ``sqlite_master`` trigger rows (name, tbl_name, sql).

    The recon sandbox emulates IDENTITY with triggers ``identity_<table>_refuse`` (refuses an
    explicit value) and ``identity_<table>_assign`` (numbers the row); the column is the one the
    refusing trigger tests (``NEW.<column> IS NOT NULL``), else ``recnum``.
    """
    present = frozenset(t.lower() for t in tables)
    trigger_facts = []
    emulated: dict[str, str] = {}
    for row in triggers:
        table, name, sql = str(row["tbl_name"]).lower(), str(row["name"]), str(row["sql"] or "")
        timing, events = "AFTER", []
        found = _TRIGGER_TIMING.search(sql)
        if found:
            timing = re.sub(r"\s+", " ", found.group(1)).upper()
            events = [found.group(2).upper()]
        sandbox = _SANDBOX_IDENTITY.match(name)
        if sandbox and sandbox.group("role").lower() == "refuse":
            tested = _NEW_NOT_NULL.search(sql)
            emulated[table] = tested.group(1).lower() if tested else "recnum"
        elif sandbox:
            emulated.setdefault(table, "recnum")
        trigger_facts.append(TriggerFact(table, name, timing, tuple(events)))
    columns = []
    for table, info in table_info.items():
        table = table.lower()
        keys = [r for r in info if int(r.get("pk") or 0) > 0]
        for r in info:
            name = str(r["name"]).lower()
            rowid = (
                len(keys) == 1
                and int(r.get("pk") or 0) == 1
                and str(r.get("type") or "").upper() == "INTEGER"
            )
            columns.append(
                ColumnFact(
                    table=table,
                    name=name,
                    nullable=not _flag(r.get("notnull")) and not rowid,
                    default=None if r.get("dflt_value") is None else str(r["dflt_value"]),
                    identity=rowid or emulated.get(table) == name,
                    generated=int(r.get("hidden") or 0) in (2, 3),
                )
            )
    keys_out = []
    for table, rows in foreign_keys.items():
        by_id: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
        for r in rows:
            by_id[int(r["id"])].append(r)
        for _, parts in sorted(by_id.items()):
            parts = sorted(parts, key=lambda r: int(r["seq"]))
            local = tuple(str(r["from"]).lower() for r in parts)
            referred = str(parts[0]["table"]).lower()
            keys_out.append(
                ForeignKeyFact(
                    table=table.lower(),
                    name=f"fk_{table.lower()}_{'_'.join(local)}",
                    columns=local,
                    referred_table=referred,
                    referred_columns=tuple(
                        str(r["to"]).lower() if r["to"] is not None else "(primary key)"
                        for r in parts
                    ),
                    on_delete=str(parts[0].get("on_delete") or "NO ACTION"),
                )
            )
    everything = frozenset(PRIVILEGES) - {ALTER} if writable else frozenset({SELECT})
    return Catalog(
        dialect="sqlite",
        database=database,
        tables=present,
        columns=tuple(columns),
        triggers=tuple(trigger_facts),
        foreign_keys=tuple(keys_out),
        privileges={table: everything for table in present},
        writable=writable,
    )


# -- the catalog statements ------------------------------------------------------------------


def _in_tables(sql: str) -> TextClause:
    return text(sql).bindparams(bindparam("tables", expanding=True))


#: SQL Server: the tables resolve in the login's default schema (``dbo`` on Sage), as recon's
#: own statements do (adapters/sage/schema.py).
MSSQL_STATEMENTS: dict[str, TextClause] = {
    "session": text(
        "SELECT SUSER_SNAME() AS login, USER_NAME() AS db_user, DB_NAME() AS database_name, "
        "SCHEMA_NAME() AS schema_name, APP_NAME() AS app_name, "
        "IS_SRVROLEMEMBER('sysadmin') AS sysadmin, IS_MEMBER('db_owner') AS db_owner, "
        "CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS server_version"
    ),
    "tables": _in_tables(
        "SELECT t.name AS table_name FROM sys.tables AS t "
        "WHERE t.schema_id = SCHEMA_ID() AND t.name IN :tables"
    ),
    "columns": _in_tables(
        "SELECT t.name AS table_name, c.name AS column_name, c.is_nullable AS is_nullable, "
        "CASE WHEN c.default_object_id <> 0 "
        "THEN COALESCE(d.definition, OBJECT_NAME(c.default_object_id)) END "
        "AS default_definition, "
        "CASE WHEN ic.column_id IS NULL THEN 0 ELSE 1 END AS is_identity, "
        "CASE WHEN c.is_computed = 1 OR TYPE_NAME(c.system_type_id) = 'timestamp' "
        "THEN 1 ELSE 0 END AS is_generated "
        "FROM sys.tables AS t "
        "JOIN sys.columns AS c ON c.object_id = t.object_id "
        "LEFT JOIN sys.default_constraints AS d ON d.object_id = c.default_object_id "
        "LEFT JOIN sys.identity_columns AS ic "
        "ON ic.object_id = c.object_id AND ic.column_id = c.column_id "
        "WHERE t.schema_id = SCHEMA_ID() AND t.name IN :tables "
        "ORDER BY t.name, c.column_id"
    ),
    "triggers": _in_tables(
        "SELECT t.name AS table_name, tr.name AS trigger_name, "
        "CASE WHEN tr.is_instead_of_trigger = 1 THEN 'INSTEAD OF' ELSE 'AFTER' END AS timing, "
        "te.type_desc AS event, tr.is_disabled AS is_disabled "
        "FROM sys.triggers AS tr "
        "JOIN sys.tables AS t ON t.object_id = tr.parent_id "
        "LEFT JOIN sys.trigger_events AS te ON te.object_id = tr.object_id "
        "WHERE t.schema_id = SCHEMA_ID() AND t.name IN :tables "
        "ORDER BY t.name, tr.name"
    ),
    "foreign_keys": _in_tables(
        "SELECT t.name AS table_name, fk.name AS fk_name, pc.name AS column_name, "
        "rt.name AS referred_table, rc.name AS referred_column, "
        "fk.delete_referential_action_desc AS on_delete, "
        "CASE WHEN fk.is_disabled = 1 OR fk.is_not_trusted = 1 THEN 1 ELSE 0 END "
        "AS is_disabled, fkc.constraint_column_id AS position "
        "FROM sys.foreign_keys AS fk "
        "JOIN sys.tables AS t ON t.object_id = fk.parent_object_id "
        "JOIN sys.tables AS rt ON rt.object_id = fk.referenced_object_id "
        "JOIN sys.foreign_key_columns AS fkc ON fkc.constraint_object_id = fk.object_id "
        "JOIN sys.columns AS pc "
        "ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id "
        "JOIN sys.columns AS rc "
        "ON rc.object_id = fkc.referenced_object_id AND rc.column_id = fkc.referenced_column_id "
        "WHERE t.schema_id = SCHEMA_ID() AND t.name IN :tables "
        "ORDER BY t.name, fk.name, fkc.constraint_column_id"
    ),
    "privileges": _in_tables(
        "SELECT t.name AS table_name, "
        + ", ".join(
            "HAS_PERMS_BY_NAME(QUOTENAME(SCHEMA_NAME(t.schema_id)) + N'.' + QUOTENAME(t.name), "
            f"N'OBJECT', N'{p}') AS can_{p.lower()}"
            for p in PRIVILEGES
        )
        + " FROM sys.tables AS t WHERE t.schema_id = SCHEMA_ID() AND t.name IN :tables"
    ),
    # Server triggers are visible only to logins with rights on them (sysadmin, VIEW ANY
    # DEFINITION); an empty answer means "not seen", not "none".
    "logon_triggers": text(
        "SELECT st.name AS trigger_name, st.is_disabled AS is_disabled "
        "FROM sys.server_triggers AS st "
        "JOIN sys.server_trigger_events AS se ON se.object_id = st.object_id "
        "WHERE se.type_desc = 'LOGON'"
    ),
}

_PG_TABLE = "format('%I.%I', t.table_schema, t.table_name)"
#: PostgreSQL (a hosted sandbox): the tables resolve in ``current_schema()``.
POSTGRES_STATEMENTS: dict[str, TextClause] = {
    "session": text(
        "SELECT current_user AS login, session_user AS db_user, "
        "current_database() AS database_name, current_schema() AS schema_name, "
        "current_setting('application_name') AS app_name, "
        "(SELECT r.rolsuper FROM pg_roles AS r WHERE r.rolname = current_user) AS sysadmin, "
        "(SELECT pg_has_role(d.datdba, 'MEMBER') FROM pg_database AS d "
        "WHERE d.datname = current_database()) AS db_owner, "
        "current_setting('server_version') AS server_version"
    ),
    "tables": _in_tables(
        "SELECT t.table_name AS table_name FROM information_schema.tables AS t "
        "WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
        "AND t.table_name IN :tables"
    ),
    "columns": _in_tables(
        "SELECT c.table_name AS table_name, c.column_name AS column_name, "
        "(c.is_nullable = 'YES') AS is_nullable, c.column_default AS default_definition, "
        "(c.is_identity = 'YES') AS is_identity, (c.is_generated <> 'NEVER') AS is_generated "
        "FROM information_schema.columns AS c "
        "WHERE c.table_schema = current_schema() AND c.table_name IN :tables "
        "ORDER BY c.table_name, c.ordinal_position"
    ),
    "triggers": _in_tables(
        "SELECT tg.event_object_table AS table_name, tg.trigger_name AS trigger_name, "
        "tg.action_timing AS timing, tg.event_manipulation AS event, "
        "COALESCE((SELECT p.tgenabled = 'D' FROM pg_trigger AS p "
        "JOIN pg_class AS k ON k.oid = p.tgrelid "
        "JOIN pg_namespace AS n ON n.oid = k.relnamespace "
        "WHERE p.tgname = tg.trigger_name AND k.relname = tg.event_object_table "
        "AND n.nspname = tg.event_object_schema), false) AS is_disabled "
        "FROM information_schema.triggers AS tg "
        "WHERE tg.event_object_schema = current_schema() AND tg.event_object_table IN :tables "
        "ORDER BY tg.event_object_table, tg.trigger_name"
    ),
    "foreign_keys": _in_tables(
        "SELECT tc.table_name AS table_name, tc.constraint_name AS fk_name, "
        "kcu.column_name AS column_name, ukcu.table_name AS referred_table, "
        "ukcu.column_name AS referred_column, rc.delete_rule AS on_delete, "
        "false AS is_disabled, kcu.ordinal_position AS position "
        "FROM information_schema.table_constraints AS tc "
        "JOIN information_schema.key_column_usage AS kcu "
        "ON kcu.constraint_schema = tc.constraint_schema "
        "AND kcu.constraint_name = tc.constraint_name "
        "JOIN information_schema.referential_constraints AS rc "
        "ON rc.constraint_schema = tc.constraint_schema "
        "AND rc.constraint_name = tc.constraint_name "
        "JOIN information_schema.key_column_usage AS ukcu "
        "ON ukcu.constraint_schema = rc.unique_constraint_schema "
        "AND ukcu.constraint_name = rc.unique_constraint_name "
        "AND ukcu.ordinal_position = kcu.position_in_unique_constraint "
        "WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() "
        "AND tc.table_name IN :tables "
        "ORDER BY tc.table_name, tc.constraint_name, kcu.ordinal_position"
    ),
    "privileges": _in_tables(
        "SELECT t.table_name AS table_name, "
        + ", ".join(
            f"has_table_privilege({_PG_TABLE}, '{p}') AS can_{p.lower()}"
            for p in (SELECT, INSERT, UPDATE, DELETE)
        )
        + ", (SELECT pg_has_role(k.relowner, 'MEMBER') FROM pg_class AS k "
        f"WHERE k.oid = {_PG_TABLE}::regclass) AS can_alter "
        "FROM information_schema.tables AS t "
        "WHERE t.table_schema = current_schema() AND t.table_name IN :tables"
    ),
}

#: Statements asked about the tables recon writes; "tables" and "privileges" about all it uses.
_PER_TABLE = ("columns", "triggers", "foreign_keys")
_NO_TABLES = ("session", "logon_triggers")


# -- the thin readers ------------------------------------------------------------------------


def _run(
    connection: Connection,
    statements: Mapping[str, TextClause],
    used: Sequence[str],
    written: Sequence[str],
) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for name, statement in statements.items():
        params: dict[str, Any] = {}
        if name not in _NO_TABLES:
            params["tables"] = list(written if name in _PER_TABLE else used)
        rows[name] = [dict(r._mapping) for r in connection.execute(statement, params)]
    return rows


def _sqlite_writable(path: Path | None) -> bool:
    if path is None:
        return True
    folder = path.resolve().parent
    return os.access(path, os.W_OK) and os.access(folder, os.W_OK)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read_sqlite(
    connection: Connection,
    database: str,
    used: Sequence[str],
    writes: Sequence[str],
    path: Path | None,
) -> Catalog:
    found = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    ).scalars()
    present = [name for name in found if name.lower() in set(used)]
    written = set(writes)
    mine = [name for name in present if name.lower() in written]
    info = {
        name: [
            dict(r._mapping)
            for r in connection.exec_driver_sql(f"PRAGMA table_xinfo({_quoted(name)})")
        ]
        for name in mine
    }
    keys = {
        name: [
            dict(r._mapping)
            for r in connection.exec_driver_sql(f"PRAGMA foreign_key_list({_quoted(name)})")
        ]
        for name in mine
    }
    triggers = [
        dict(r._mapping)
        for r in connection.exec_driver_sql(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        )
        if str(r.tbl_name).lower() in written
    ]
    return sqlite_catalog(database, present, info, keys, triggers, writable=_sqlite_writable(path))


def read_catalog(
    connection: Connection,
    database: str,
    used: Sequence[str],
    written: Sequence[str],
    *,
    path: Path | None = None,
) -> Catalog:
    """Read the catalog of the connection's database (read only): which of the tables in
    ``used`` it has and the login's rights on them; columns, triggers and foreign keys of the
    ``written`` ones."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        return _read_sqlite(connection, database, used, written, path)
    statements = {"mssql": MSSQL_STATEMENTS, "postgresql": POSTGRES_STATEMENTS}.get(dialect)
    if statements is not None:
        return catalog_from_rows(dialect, database, _run(connection, statements, used, written))
    raise SageConfigError(
        f"expected SQL Server, PostgreSQL or SQLite to check, got {dialect} ({database})"
    )


# -- the shell -------------------------------------------------------------------------------


#: Connection errors that mean the ODBC driver is not installed (fix the set-up, not the network).
_DRIVER_MISSING = ("can't open lib", "data source name not found", "im002")


def redact(message: str, url: str) -> str:
    """``message`` with the URL's password (also one inside an ``odbc_connect`` string) and any
    ODBC ``PWD=`` value replaced by ``***``."""
    secrets: list[str] = []
    try:
        parsed = parse_url(url)
    except SageConfigError:
        parsed = None
    if parsed is not None:
        if parsed.password:
            secrets.append(str(parsed.password))
        raw = parsed.query.get("odbc_connect")
        for text_ in [raw] if isinstance(raw, str) else list(raw or ()):
            for found in _ODBC_SECRET.finditer(text_):
                value = found.group(2)
                secrets += [value, value[1:-1]] if value.startswith("{") else [value]
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        message = message.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return _hide_odbc_secret(message)


def _hide_odbc_secret(message: str) -> str:
    return _ODBC_SECRET.sub(lambda m: m.group(1) + "***", message)


def safe_url(url: URL) -> str:
    """The URL to show: no password, no ``PWD=`` in an ``odbc_connect`` string."""
    return _hide_odbc_secret(url.render_as_string(hide_password=True))


def _sqlite_readonly_engine(url: URL) -> tuple[Engine, Path]:
    path = sqlite_path(url)
    if path is None:
        raise SageConfigError(
            f"expected a SQLite database file to check ('sqlite:///PATH'), got {safe_url(url)!r}"
        )
    if not path.exists():
        raise SageUnavailableError(f"expected a Sage database at {path}, found no file")
    target = f"file:{quote(str(path.resolve()))}?mode=ro"
    engine = create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(target, uri=True, check_same_thread=False)
    )
    return engine, path


def _engine(url: URL, raw: str, app_name: str) -> tuple[Engine, Path | None]:
    if url.get_backend_name() == "sqlite":
        return _sqlite_readonly_engine(url)
    return create_sage_engine(raw, app_name=app_name), None


def check_site(
    url: str,
    *,
    app_name: str = DEFAULT_APP_NAME,
    model: Mapping[str, Any] | None = None,
    written: Sequence[str] | None = None,
) -> SiteCheck:
    """Read what the database at ``url`` enforces on recon's tables, and say what it means.

    Reads only: SQLite is opened read-only, PostgreSQL in a READ ONLY transaction, SQL Server
    with SELECTs in a transaction that is rolled back. Raises SageConfigError for a URL that
    cannot work and SageUnavailableError (or SageLogonRejectedError) when the database cannot
    be reached; the messages carry no password.
    """
    parsed = parse_url(url)
    shown = safe_url(parsed)
    if parsed.get_backend_name() not in _DIALECT_NAMES:
        raise SageConfigError(
            "expected a database URL starting 'mssql+pyodbc://' (the company database), "
            f"'postgresql://' or 'sqlite:///' (a sandbox), got {shown!r}"
        )
    tables = dict(TABLES if model is None else model)
    writes = [t for t in (WRITTEN_TABLES if written is None else written) if t in tables]
    used = [*writes, *(t for t in tables if t not in writes)]
    sent = sent_app_name(parsed, app_name) if parsed.get_backend_name() == "mssql" else app_name
    engine, path = _engine(parsed, url, app_name)
    try:
        try:
            with translating(f"connecting to {shown}", SageUnavailableError):
                connection = engine.connect()
        except SageUnavailableError as exc:
            cause = str(getattr(exc.__cause__, "orig", None) or exc.__cause__)
            if any(marker in cause.lower() for marker in _DRIVER_MISSING):
                raise SageConfigError(
                    f"connecting to {shown}: expected the ODBC driver the URL names to be "
                    f"installed (unixODBC and 'ODBC Driver 18 for SQL Server'), got: {cause}"
                ) from exc
            raise
        with translating(f"reading the catalogs of {shown}"), connection:
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(postgresql_readonly=True)
            transaction = connection.begin()
            try:
                catalog = read_catalog(connection, shown, used, writes, path=path)
            finally:
                transaction.rollback()
    finally:
        engine.dispose()
    return assess(catalog, model=tables, written=writes, app_name=sent)
