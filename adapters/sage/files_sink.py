"""The ``files`` posting sink (periodic file sync) and the Sage-side import it feeds, simulated.

During a run recon *stages* its corrections (``FilesPostingSink.stage``); ``flush`` then writes
them as ONE batch to the drop folder: a CSV file per module and Sage table, and a
``manifest.json`` naming every file (row count, SHA-256) and every posting it carries. A batch is
written into a hidden temporary folder and renamed into place, so a crash never leaves half a
batch; a posting already carried by a batch (pending or imported) is never written again.

``import_batches`` does what the import tool on the Sage side would do: it applies each pending
batch, in order, through the sql sink's own writers (one transaction per batch, one savepoint per
posting) and moves it to ``imported/``. It writes only a sandbox. Layouts: docs/sage.md,
"Periodic file sync layouts".
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select
from sqlalchemy import exc as sa_exc

from adapters.sage.engine import WRITE_OPTION, is_sandbox
from adapters.sage.errors import (
    SageConfigError,
    SageDataError,
    SageError,
    SageWriteError,
    translating,
)
from adapters.sage.schema import import_log, import_metadata
from adapters.sage.sql_sink import (
    FAULT_STEPS,
    Fault,
    SqlPostingSink,
    StagedPosting,
    staged_posting,
)
from domain.documents import COLUMNS, DOCUMENT_TABLES, HEADER_TABLE, MODULES, TEXT, Document, Row
from domain.ports import Imported, Written, always
from domain.posting import VOID

__all__ = [
    "BATCH_FORMAT",
    "FAULT_STEPS",
    "IMPORTED_FOLDER",
    "MANIFEST",
    "META_COLUMNS",
    "RESULT",
    "Batch",
    "FilesPostingSink",
    "StagedPosting",
    "batch_file_name",
    "import_batches",
    "pending_batches",
    "read_batch",
]

BATCH_FORMAT = "recon-sage-batch/1"
MANIFEST = "manifest.json"
RESULT = "import-result.json"
IMPORTED_FOLDER = "imported"
TEMP_PREFIX = ".tmp-"
#: The columns every batch CSV starts with; the document columns of its table follow.
META_COLUMNS = ("posting_id", "seq", "action", "key", "ref", "row")
_BATCH_NAME = re.compile(r"batch-(\d{8})-\d{8}T\d{6}Z")
_SEQ_DIGITS = 8


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _no_fault(step: str) -> None:
    return None


def batch_file_name(module: str, table: str) -> str:
    """The CSV of one module's rows of one Sage table, e.g. ``ap_invoices.apivln.csv``."""
    return f"{module}.{table}.csv"


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch read back from the drop folder, verified against its manifest."""

    batch_id: str
    path: Path
    created: str
    postings: tuple[StagedPosting, ...]


class FilesPostingSink:
    """Stages postings during a run and writes them as one batch per ``flush``."""

    name = "files"

    def __init__(
        self,
        drop_folder: Path,
        *,
        fault: Fault | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.drop_folder = Path(drop_folder)
        self._fault = fault or _no_fault
        self._clock = clock
        self._staged: dict[str, StagedPosting] = {}
        self._carried: dict[str, str] = {}  # posting id -> batch id, of batches already read
        self._indexed: set[str] = set()
        self._imported: dict[str, Imported] = {}  # posting id -> what the import did with it
        self._results: set[str] = set()  # imported batches whose result was read

    # -- staging -------------------------------------------------------------------------------

    def stage(
        self,
        posting_id: str,
        action: str,
        module: str,
        document: Document | None,
        refs: Sequence[int | str] = (),
        *,
        key: str | None = None,
    ) -> None:
        """Hold a posting for this run's batch; staging a posting id again replaces it.

        Anything the sql sink would refuse is refused here, before it reaches a file
        (``staged_posting``).
        """
        staged = staged_posting(posting_id, action, module, document, refs, key=key)
        self._staged[staged.posting_id] = staged

    @property
    def staged(self) -> tuple[StagedPosting, ...]:
        return tuple(self._staged.values())

    def flush(self, needed: Callable[[str], bool] = always) -> list[Written]:
        """Write the staged postings as one batch; each posting it carries is reported with
        the batch's id (nothing staged: no batch, an empty list).

        Postings a batch already carries are left out, so a correction is never written twice,
        and so are those Sage already shows (``needed``), reported skipped. The staged postings
        are kept if writing fails, for the next flush to retry.
        """
        self._refresh()
        postings, skipped = [], []
        for posting in self._staged.values():
            if posting.posting_id in self._carried:
                continue
            if needed(posting.posting_id):
                postings.append(posting)
            else:
                skipped.append(Written(posting.posting_id, skipped=True))
        if not postings:
            self._staged.clear()
            return skipped
        self._fault("before_write")
        self.drop_folder.mkdir(parents=True, exist_ok=True)
        temp = self.drop_folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        temp.mkdir()
        try:
            batch_id = self._write_batch(temp, postings)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        _sync_folder(self.drop_folder)
        for posting in postings:
            self._carried[posting.posting_id] = batch_id
        self._indexed.add(batch_id)
        self._staged.clear()
        self._fault("after_write")
        return [*skipped, *(Written(posting.posting_id, batch=batch_id) for posting in postings)]

    def _write_batch(self, temp: Path, postings: Sequence[StagedPosting]) -> str:
        """Fill ``temp`` and rename it to the next free batch id, which it returns."""
        files = _write_tables(temp, postings)
        created = self._clock().astimezone(UTC)
        batch_id = ""
        for attempt in range(100):  # another writer may take a batch number first
            seq = _next_seq(self.drop_folder)
            batch_id = f"batch-{seq:0{_SEQ_DIGITS}d}-{created:%Y%m%dT%H%M%SZ}"
            _write_file(temp / MANIFEST, _manifest(batch_id, created, postings, files))
            _sync_folder(temp)
            if attempt == 0:
                self._fault("before_commit")
            if _taken(self.drop_folder, batch_id):
                continue
            try:
                os.rename(temp, self.drop_folder / batch_id)
            except OSError:
                if _taken(self.drop_folder, batch_id):
                    continue
                raise
            return batch_id
        raise SageWriteError(f"could not find a free batch number in {self.drop_folder}")

    def written(self, posting_id: str) -> str | None:
        """The batch (pending or imported) that carries ``posting_id``, or None."""
        self._refresh()
        return self._carried.get(str(posting_id))

    def imported(self, posting_id: str) -> Imported | None:
        """What Sage's import did with ``posting_id`` (its batch's ``import-result.json``),
        or None while no imported batch carries it."""
        self._refresh()
        return self._imported.get(str(posting_id))

    def _refresh(self) -> None:
        """Index the postings of batches not read yet (a batch never changes once written),
        and the result of each batch once it is imported."""
        imported = self.drop_folder / IMPORTED_FOLDER
        for folder in (self.drop_folder, imported):
            for path in _batch_folders(folder):
                if path.name not in self._indexed:
                    for posting in _manifest_of(path)["postings"]:
                        self._carried[str(posting["posting_id"])] = path.name
                    self._indexed.add(path.name)
        for path in _batch_folders(imported):
            if path.name not in self._results:
                for outcome in _result_of(path)["postings"]:
                    error = outcome.get("error") if outcome.get("status") == "failed" else None
                    self._imported[str(outcome["posting_id"])] = Imported(
                        path.name, None if error is None else str(error)
                    )
                self._results.add(path.name)


# -- writing a batch ---------------------------------------------------------------------------


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _write_tables(folder: Path, postings: Sequence[StagedPosting]) -> list[dict[str, Any]]:
    """One CSV per module and table of the modules the postings touch; their manifest entries."""
    files = []
    for module in MODULES:
        carried = [(seq, p) for seq, p in enumerate(postings, start=1) if p.module == module]
        if not carried:
            continue
        for table in DOCUMENT_TABLES[module]:
            columns = tuple(COLUMNS[table])
            buffer = io.StringIO(newline="")
            writer = csv.writer(buffer)
            writer.writerow((*META_COLUMNS, *columns))
            count = 0
            for seq, posting in carried:
                meta = (posting.posting_id, str(seq), posting.action, posting.key)
                if posting.action == VOID:
                    if table == HEADER_TABLE[module]:
                        for ref in posting.refs:
                            writer.writerow((*meta, _text(ref), "", *("" for _ in columns)))
                            count += 1
                    continue
                document_rows = (
                    () if posting.document is None else posting.document.tables.get(table, ())
                )
                header = table == HEADER_TABLE[module]
                ref = _text(posting.refs[0]) if posting.refs and header else ""
                for number, row in enumerate(document_rows, start=1):
                    cells = (_text(row.get(column)) for column in columns)
                    writer.writerow((*meta, ref, str(number), *cells))
                    count += 1
            data = buffer.getvalue().encode("utf-8")
            name = batch_file_name(module, table)
            _write_file(folder / name, data)
            files.append(
                {
                    "name": name,
                    "module": module,
                    "table": table,
                    "rows": count,
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
    return files


def _manifest(
    batch_id: str, created: datetime, postings: Sequence[StagedPosting], files: list[dict[str, Any]]
) -> bytes:
    entries = []
    for seq, posting in enumerate(postings, start=1):
        document = posting.document
        entries.append(
            {
                "seq": seq,
                "posting_id": posting.posting_id,
                "module": posting.module,
                "key": posting.key,
                "action": posting.action,
                "refs": list(posting.refs),
                "period": None if document is None else document.period,
                "rows": None
                if document is None
                else {table: len(rows) for table, rows in document.tables.items()},
            }
        )
    manifest = {
        "format": BATCH_FORMAT,
        "batch_id": batch_id,
        "created_utc": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "postings": entries,
        "files": files,
    }
    return orjson.dumps(manifest, option=orjson.OPT_INDENT_2)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_folder(folder: Path) -> None:
    """Make a folder's entries (new files, a rename) durable; a no-op where folders cannot be
    opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _taken(drop_folder: Path, batch_id: str) -> bool:
    return (drop_folder / batch_id).exists() or (drop_folder / IMPORTED_FOLDER / batch_id).exists()


def _seq_of(path: Path) -> int:
    match = _BATCH_NAME.fullmatch(path.name)
    return int(match.group(1)) if match else 0


def _batch_folders(folder: Path) -> list[Path]:
    """The batch folders directly in ``folder`` (temporary and other entries left out), by seq."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and _BATCH_NAME.fullmatch(p.name)]
    return sorted(found, key=_seq_of)


def _next_seq(drop_folder: Path) -> int:
    folders = _batch_folders(drop_folder) + _batch_folders(drop_folder / IMPORTED_FOLDER)
    return max((_seq_of(p) for p in folders), default=0) + 1


# -- reading a batch ---------------------------------------------------------------------------


def _manifest_of(path: Path) -> dict[str, Any]:
    try:
        manifest = orjson.loads((path / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SageDataError(f"expected a readable {MANIFEST} in batch {path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BATCH_FORMAT:
        raise SageDataError(f"expected a {BATCH_FORMAT} manifest in {path}")
    return manifest


def _result_of(path: Path) -> dict[str, Any]:
    """An imported batch's ``import-result.json`` (what the import did with each posting)."""
    try:
        result = orjson.loads((path / RESULT).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SageDataError(
            f"expected a readable {RESULT} in imported batch {path}: {exc}"
        ) from exc
    if not isinstance(result, dict) or not isinstance(result.get("postings"), list):
        raise SageDataError(f"expected the postings' outcomes in {path / RESULT}")
    return result


def pending_batches(drop_folder: Path) -> list[Path]:
    """The batches waiting in ``drop_folder`` for the Sage-side import, oldest first."""
    return _batch_folders(Path(drop_folder))


def _cell(kind: str, text: str) -> str | None:
    return text if kind == TEXT else (text or None)


def read_batch(path: Path) -> Batch:
    """A batch folder's postings with their documents, after checking every file's SHA-256 and
    row count and every posting's row counts against the manifest (SageDataError if not)."""
    path = Path(path)
    manifest = _manifest_of(path)
    rows: dict[tuple[str, str], dict[str, list[tuple[int, Row]]]] = {}
    for entry in manifest["files"]:
        data = _read_file(path, entry["name"])
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise SageDataError(f"batch {path.name}: {entry['name']} does not match its SHA-256")
        module, table = entry["module"], entry["table"]
        reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
        expected_header = [*META_COLUMNS, *COLUMNS[table]]
        if reader.fieldnames != expected_header:
            raise SageDataError(
                f"batch {path.name}: {entry['name']} has columns {reader.fieldnames}, "
                f"expected {expected_header}"
            )
        count = 0
        by_posting = rows.setdefault((module, table), {})
        for record in reader:
            count += 1
            if not record["row"]:
                continue  # a void's record reference: no document row
            row = {name: _cell(kind, record[name]) for name, kind in COLUMNS[table].items()}
            by_posting.setdefault(record["posting_id"], []).append((int(record["row"]), row))
        if count != entry["rows"]:
            raise SageDataError(
                f"batch {path.name}: {entry['name']} holds {count} rows, manifest says "
                f"{entry['rows']}"
            )
    postings = []
    for entry in sorted(manifest["postings"], key=lambda e: int(e["seq"])):
        posting_id, module = str(entry["posting_id"]), entry["module"]
        document = None
        if entry["rows"] is not None:
            tables: dict[str, tuple[Row, ...]] = {}
            for table, wanted in entry["rows"].items():
                found = sorted(rows.get((module, table), {}).get(posting_id, ()))
                if len(found) != wanted:
                    raise SageDataError(
                        f"batch {path.name}: posting {posting_id} has {len(found)} {table} "
                        f"rows, manifest says {wanted}"
                    )
                tables[table] = tuple(row for _, row in found)
            document = Document(module, entry["key"], tables, period=entry["period"])
        postings.append(
            StagedPosting(
                posting_id, entry["action"], module, entry["key"], document, tuple(entry["refs"])
            )
        )
    return Batch(manifest["batch_id"], path, manifest["created_utc"], tuple(postings))


def _read_file(path: Path, name: str) -> bytes:
    try:
        return (path / name).read_bytes()
    except OSError as exc:
        raise SageDataError(f"batch {path.name}: expected file {name}: {exc}") from exc


# -- the Sage-side import, simulated -----------------------------------------------------------


def import_batches(
    drop_folder: Path,
    engine: Engine,
    *,
    user: str = "recon",
    fault: Fault | None = None,
    clock: Callable[[], datetime] = _utc_now,
) -> list[str]:
    """Apply every pending batch to a sandbox, oldest first, and move each to ``imported/``.

    A batch is applied in ONE transaction, each posting under a savepoint: a posting Sage
    refuses (say, a void of a record that is gone) is rolled back alone and reported in the
    batch's ``import-result.json``; the rest go in. The transaction also records the batch in
    ``recon_import_log``, so a batch whose import was committed but not yet moved (a crash) is
    moved without applying it again. A batch already under ``imported/`` is skipped. A batch
    that fails its manifest checks stops the import there (SageDataError), since later batches
    may depend on it. Returns the ids of the batches moved to ``imported/``.

    ``fault`` is called per batch at ``before_write``, ``before_commit`` and ``after_write``
    (committed, not moved) for crash tests.
    """
    if not is_sandbox(engine):
        raise SageConfigError(
            "expected a Sage sandbox (SQLite or PostgreSQL): import_batches simulates the "
            "Sage-side import tool and writes only a sandbox, got "
            f"{engine.url.render_as_string(hide_password=True)!r}"
        )
    drop = Path(drop_folder)
    imported = drop / IMPORTED_FOLDER
    sink = SqlPostingSink(engine, user=user, clock=clock)
    steps = fault or _no_fault
    moved = []
    for path in pending_batches(drop):
        if (imported / path.name).exists():
            continue  # a copy of a batch already imported
        batch = read_batch(path)
        result = _apply(engine, sink, batch, steps, clock)
        _write_file(path / RESULT, orjson.dumps(result, option=orjson.OPT_INDENT_2))
        imported.mkdir(exist_ok=True)
        os.rename(path, imported / path.name)
        _sync_folder(imported)
        _sync_folder(drop)
        moved.append(batch.batch_id)
    return moved


def _apply(
    engine: Engine,
    sink: SqlPostingSink,
    batch: Batch,
    fault: Fault,
    clock: Callable[[], datetime],
) -> dict[str, Any]:
    with (
        translating(f"importing batch {batch.batch_id} into Sage", SageWriteError),
        engine.connect() as connection,
    ):
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            import_metadata.create_all(connection)
            logged = connection.execute(
                select(import_log.c.result).where(import_log.c.batch_id == batch.batch_id)
            ).scalar()
            if logged is not None:
                result: dict[str, Any] = orjson.loads(logged)
                return result
            fault("before_write")
            outcomes = []
            for posting in batch.postings:
                savepoint = connection.begin_nested()
                try:
                    refs = sink.write_in(
                        connection,
                        posting.action,
                        posting.module,
                        posting.document,
                        posting.refs,
                    )
                except (SageError, ValueError, sa_exc.SQLAlchemyError) as exc:
                    savepoint.rollback()
                    outcome: dict[str, Any] = {"status": "failed", "error": str(exc)}
                else:
                    savepoint.commit()
                    outcome = {"status": "applied", "refs": refs}
                outcomes.append({"posting_id": posting.posting_id, **outcome})
            now = clock().astimezone(UTC)
            result = {
                "batch_id": batch.batch_id,
                "imported_utc": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "postings": outcomes,
            }
            connection.execute(
                import_log.insert(),
                {
                    "batch_id": batch.batch_id,
                    "imported": now.replace(tzinfo=None),
                    "postings": len(outcomes),
                    "result": orjson.dumps(result).decode(),
                },
            )
            fault("before_commit")
    fault("after_write")
    return result
