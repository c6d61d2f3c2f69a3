"""Projection tables, kept beside the events in the store database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from projections.sealing import Sealed, SealedAlike

metadata = MetaData()

tracking = Table(
    "projection_tracking",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("fingerprint", SealedAlike, nullable=False, default=""),  # the mapping's, with names
)

source_state = Table(
    "source_state",
    metadata,
    Column("record_id", String(36), primary_key=True),
    Column("system", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("payload", Sealed),  # last valid payload (JSON), kept when a later one is rejected
    Column("rejection", Sealed),  # reason the latest payload was quarantined, or NULL
    Column("raw", Sealed),  # the quarantined raw payload
    Column("rejected_position", BigInteger),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("first_position", BigInteger, nullable=False),
    Column("last_position", BigInteger, nullable=False),
    Column("company_id", String(64)),
    Column("location_id", String(64)),
    Column("job_id", String(64)),
    Column("accountable", Boolean, nullable=False, default=False),
    Index("ix_source_state_kind", "system", "kind", "source_id", unique=True),
    Index("ix_source_state_location", "location_id"),
    Index("ix_source_state_job", "job_id"),
    Index("ix_source_state_company", "company_id"),
)

sage_number = Table(
    "sage_number",
    metadata,
    Column("kind", String(16), primary_key=True),  # client | job
    Column("source_id", String(64), primary_key=True),
    Column("number", BigInteger, nullable=False),
    UniqueConstraint("kind", "number", name="uq_sage_number"),
)

#: Sage records recon adopted (domain/adoption.py): the source record each stands for.
sage_link = Table(
    "sage_link",
    metadata,
    Column("module", String(32), primary_key=True),
    Column("source_key", String(64), primary_key=True),  # recon's key for the record
    Column("source_kind", String(32), nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("sage_table", String(16), nullable=False),
    Column("sage_ref", BigInteger, nullable=False),  # the Sage record number
    Column("sage_key", String(64), nullable=False),  # how the reader keys it unlinked
    Column("basis", Sealed, nullable=False, default=""),  # quotes names and addresses
    Column("by", String(128), nullable=False, default=""),
    Column("position", BigInteger, nullable=False),
    Index("ix_sage_link_sage", "module", "sage_key", unique=True),
)

#: Numbers Sage uses for masters recon neither created nor adopted: never given out. Rows of
#: kinds client and job belong to the receivables projection, vendor to the costs projection.
sage_taken = Table(
    "sage_taken",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("number", BigInteger, primary_key=True),
)

#: What each location's invoices were last derived with: only a change of these re-derives them.
location_tax = Table(
    "location_tax",
    metadata,
    Column("location_id", String(64), primary_key=True),
    Column("tax_group", Text, nullable=False),
    Column("taxable", Boolean, nullable=False),
)

expected_document = Table(
    "expected_document",
    metadata,
    Column("module", String(32), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("period", String(7)),
    Column("digest", String(32)),
    # domain.documents.match_digest: what a reconcile pairs with Sage's before reading either
    # document in full (NULL when unmapped, or when the document has no such digest)
    Column("match_digest", String(32)),
    Column("amount", String(32)),
    Column("body", Sealed),  # the document's tables as canonical JSON; NULL when unmapped
    Column("problem", Sealed),  # why recon cannot say what Sage should hold (unmapped values)
    Column("source_kind", String(32), nullable=False),
    Column("source_id", String(64), nullable=False),
    Index("ix_expected_source", "source_kind", "source_id"),
    Index("ix_expected_period", "module", "period"),
)

#: One row per posting. Its columns changed with the approval gate: the postings projection
#: drops and recreates its tables when it resets, so a new column needs no migration.
posting = Table(
    "posting",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("module", String(32), nullable=False),
    Column("key", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("sink", String(16), nullable=False, default=""),
    Column("reason", Sealed, nullable=False, default=""),  # the finding it settles
    Column("note", Sealed, nullable=False, default=""),
    Column("written", Sealed, nullable=False, default="[]"),
    Column("sage_refs", Text, nullable=False, default="[]"),  # Sage records it voids/replaces
    Column("digest", String(32)),  # of the document it writes; NULL for a void
    Column("amount", String(32)),  # what it writes, or what it voids
    Column("period", String(7)),  # the earliest period it writes into
    Column("reasons", Sealed, nullable=False, default="[]"),  # why it waits for a person
    Column("proposed_at", String(40), nullable=False, default=""),
    Column("decided_by", String(128), nullable=False, default=""),  # approved or rejected by
    Column("decided_why", Sealed, nullable=False, default=""),
    Column("decided_at", String(40), nullable=False, default=""),
    Column("automatic", Boolean, nullable=False, default=False),  # approved by the policy
    Column("confirmed_at", String(40), nullable=False, default=""),  # Sage showed it
    Column("proposed_position", BigInteger, nullable=False),
    Column("last_position", BigInteger, nullable=False),
    Index("ix_posting_key", "module", "key"),
    Index("ix_posting_state", "state"),
)

resolution = Table(
    "resolution",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("module", String(32), nullable=False),
    Column("decision", String(16), nullable=False, default=""),
    Column("by", String(128), nullable=False, default=""),
    Column("why", Sealed, nullable=False, default=""),
    Column("decided_at", String(40), nullable=False, default=""),
    Column("position", BigInteger, nullable=False),
)

ingest_cursor = Table(
    "ingest_cursor",
    metadata,
    Column("system", String(32), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("updated_after", BigInteger, nullable=False),
    Column("completed_runs", Integer, nullable=False, default=0),
)

#: The records an ingest run of a kind has fetched so far, with the ``updated`` stamp each had
#: when first fetched: a record fetched twice changed while the run paged. Kept in the database
#: so that a first sync of millions of records runs in flat memory; cleared at each run's start.
ingest_seen = Table(
    "ingest_seen",
    metadata,
    Column("system", String(32), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("source_id", String(64), primary_key=True),
    Column("first_updated", BigInteger),
)

#: The newest ``updated`` stamp ingest has fetched of each source record (recorded, quarantined
#: or already held): a payload stamped older is stale and appends nothing. Ingest state like
#: the cursors, not a projection of the log: a rebuild leaves it alone.
ingest_stamp = Table(
    "ingest_stamp",
    metadata,
    Column("system", String(32), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("source_id", String(64), primary_key=True),
    Column("updated", BigInteger, nullable=False),
)

#: What the sync agent last said of itself (``recon status`` reads it): one row per subject
#: (the agent, each source kind, the relay, the webhook), its state as JSON. Not a projection
#: of the log: a rebuild leaves it alone.
sync_state = Table(
    "sync_state",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("state", Sealed, nullable=False),
)


def records(conn: Connection, query: Select[Any]) -> list[dict[str, Any]]:
    """A query's rows as plain dicts of column name to value."""
    result = conn.execute(query)
    names = tuple(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result.all()]


def among(conn: Connection, column: Column[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values``, for the hundreds of ids a page asks for at once.

    The values go as one parameter, so the statement has the same text whatever their number:
    on PostgreSQL one array (``column = ANY(%s)``), on SQLite one JSON array read by
    ``json_each``. Expanded into an ``IN`` list, every chunk's statement was a new text of some
    500 parameters to render and parse (a sixth of a PostgreSQL rebuild, a twentieth of a
    SQLite one).
    """
    if conn.dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    listed = func.json_each(bindparam(None, orjson.dumps(list(values)).decode(), type_=Text))
    return column.in_(select(listed.table_valued("value").c.value))


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, replacing those whose primary key exists (SQLite and PostgreSQL).

    For the tables of this module, whose columns hold str, int, bool or None as they are
    (sealed columns sealed first). Every row has every column of the first; of rows with the
    same primary key, the last is kept.
    """
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    columns = list(rows[0].keys())
    sealing = [
        (c.name, seal)
        for c in table.columns
        if c.name in columns
        and isinstance(c.type, Sealed)
        and (seal := c.type.bind_processor(conn.dialect))
    ]
    if sealing:  # only with store.cipher_key: sealed columns are sealed here, as SQLAlchemy would
        rows = [{**row, **{name: seal(row[name]) for name, seal in sealing}} for row in rows]
    if conn.dialect.name == "postgresql":
        _upsert_arrays(conn, table, keys, columns, rows)
        return
    statement = sqlite.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={c: statement.excluded[c] for c in columns if c not in keys},
    )
    # One executemany straight on the driver: projection tables hold only values the drivers
    # take as they are (str, int, bool, None), and SQLAlchemy's per-row parameter processing
    # cost a fifth of writing a page of projection rows.
    compiled = statement.compile(dialect=conn.dialect)
    values = itemgetter(*(compiled.positiontup or ()))  # a table has two columns at least
    conn.exec_driver_sql(compiled.string, [values(row) for row in rows])


def _upsert_arrays(
    conn: Connection,
    table: Table,
    keys: list[str],
    columns: list[str],
    rows: Sequence[dict[str, Any]],
) -> None:
    """PostgreSQL: the rows as one array per column, unnested by one statement.

    A pipelined executemany still costs the server a statement per row; one ``INSERT ...
    SELECT FROM unnest(...)`` of a whole chunk costs one. A statement may not update a row
    twice, so the last row of each key is the one sent.
    """
    last = {tuple(row[k] for k in keys): row for row in rows}
    name = conn.dialect.identifier_preparer.quote
    kinds = [table.c[c].type.compile(dialect=conn.dialect) for c in columns]
    # %b: sent in binary, so text goes as it is (a text array escapes every quote of every
    # document body, through a regular expression per element)
    unnest = ", ".join(f"%b::{kind}[]" for kind in kinds)
    updates = ", ".join(f"{name(c)} = EXCLUDED.{name(c)}" for c in columns if c not in keys)
    conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    statement = (
        f"INSERT INTO {name(table.name)} ({', '.join(map(name, columns))}) "
        f"SELECT * FROM unnest({unnest}) ON CONFLICT ({', '.join(map(name, keys))}) {conflict}"
    )
    conn.exec_driver_sql(statement, tuple([row[c] for row in last.values()] for c in columns))
