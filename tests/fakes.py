"""Working in-memory fakes of recon's ports, and a context over them and an in-memory store."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.store import MEMORY, Store, create_projection_engine
from application.context import Context
from domain.documents import (
    DAILY_PAYROLL,
    DOCUMENT_TABLES,
    HEADER_TABLE,
    MASTER_MODULES,
    MODULES,
    VOID_MARK,
    Document,
    Row,
)
from domain.keys import RECORD_KEYS, adjusted_key
from domain.mapping import Mapping
from domain.policy import DEFAULT_POLICY, NO_PERIODS, Periods, Policy
from domain.ports import Imported, Written, always
from domain.posting import CREATE, REPLACE, UPDATE, VOID
from domain.reconcile import position
from domain.source import PayloadError, Snapshot, from_payload
from projections.readmodel import ReadModel


class ListFeed:
    """A source feed over records in payload form, paged, filtered by 'updated'."""

    system = "servicetrade"

    def __init__(self, records: dict[str, list[dict[str, Any]]], page_size: int = 2) -> None:
        self.records = records
        self.page_size = page_size
        self.requests: list[tuple[str, int | None]] = []

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]:
        self.requests.append((kind, updated_after))
        rows = [
            r
            for r in self.records.get(kind, [])
            if updated_after is None or r.get("updated", 0) >= updated_after
        ]
        for start in range(0, len(rows), self.page_size):
            yield rows[start : start + self.page_size]

    def read(self, kind: str, raw: dict[str, Any]) -> Snapshot:
        data = {k: v for k, v in raw.items() if k != "updated"}
        if not data.get("id"):
            raise PayloadError(f"{kind}: id is missing")
        try:
            return from_payload(kind, data)
        except (TypeError, KeyError, ArithmeticError) as exc:
            raise PayloadError(f"{kind} {data.get('id')}: {exc}") from exc

    def source_id_of(self, raw: dict[str, Any]) -> str | None:
        value = raw.get("id")
        return str(value) if value else None

    def updated_of(self, raw: dict[str, Any]) -> int | None:
        value = raw.get("updated")
        return value if isinstance(value, int) else None

    def fetch(self, kind: str, source_id: str) -> dict[str, Any] | None:
        return next((r for r in self.records.get(kind, []) if str(r.get("id")) == source_id), None)


class FakeSage:
    """A Sage company as documents: the reader port, and what a sink writes into it."""

    def __init__(self, documents: Sequence[Document] = ()) -> None:
        self.documents: list[Document] = []
        self.timecard_lines: list[Row] = []
        self._numbers = itertools.count(1)
        for document in documents:
            self.add(document)

    def add(self, document: Document) -> Document:
        """Enter a document as Sage would: it gets the next record number (a master record
        keeps its own number, as Sage keys clients, jobs and vendors by it)."""
        number = document.header.get("recnum") if document.module in MASTER_MODULES else None
        held = replace(document, sage_ref=int(number) if number else next(self._numbers))
        self.documents.append(held)
        return held

    def read(self, module: str, period: str | None) -> list[Document]:
        return self._held(module, period)

    def _held(self, module: str, period: str | None) -> list[Document]:
        return [
            d
            for d in self.documents
            if d.module == module and (period is None or d.period in (period, None))
        ]

    def stream(
        self,
        module: str,
        period: str | None = None,
        order: Callable[[str], Any] = position,
        *,
        unlinked: bool = False,
        only: Collection[int] | None = None,
    ) -> Iterator[Document]:
        """``read`` sorted by ``order`` of the keys; with ``unlinked``, only the documents
        keyed by their Sage reference (no link key), for the modules that have link keys;
        with ``only``, those of these references."""
        held = self._held(module, period)
        keys = RECORD_KEYS.get(module)
        if unlinked and keys is not None and keys.link is not None:
            held = [d for d in held if d.key.startswith(keys.ref)]
        if only is not None:
            held = [d for d in held if d.sage_ref in only]
        return iter(sorted(held, key=lambda d: order(d.key)))

    def digests(
        self, module: str, period: str | None = None, order: Callable[[str], Any] = position
    ) -> Iterator[tuple[str, int, str | None]] | None:
        """None: the fake's documents are always compared in full."""
        return None

    def keys(self, module: str, period: str | None = None) -> set[str]:
        return {d.key for d in self._held(module, period)}

    def read_key(self, module: str, key: str) -> list[Document]:
        """The documents under a key, and the adjusting documents of it (``KEY~A<n>``)."""
        return [
            d
            for d in self.documents
            if d.module == module and (d.key == key or adjusted_key(d.key) == key)
        ]

    def timecards(self, period: str | None) -> list[Row]:
        """Timecard lines (as the reader gives them) the office converted daily payroll into."""
        return [row for row in self.timecard_lines if period is None or row["dtewrk"][:7] == period]

    def void(self, module: str, ref: int | str) -> None:
        """Void a document (status as Sage sets it; a record without one is deleted)."""
        for i, held in enumerate(self.documents):
            if held.module == module and held.sage_ref == ref:
                mark = VOID_MARK.get(module)
                if mark is None:
                    del self.documents[i]
                    return
                header_table = HEADER_TABLE[module]
                header = {**held.header, mark[0]: mark[1]}
                tables = {**held.tables, header_table: (header,)}
                self.documents[i] = replace(held, tables=tables)
                return
        raise LookupError(f"no {module} record {ref}")

    def edit(self, module: str, key: str, table: str, column: str, value: str | None) -> None:
        """Change one column of the header of the active document under a key, as a clerk
        might in a Sage window."""
        for i, held in enumerate(self.documents):
            if held.module == module and held.key == key and not held.is_void:
                rows = list(held.tables[table])
                rows[0] = {**rows[0], column: value}
                self.documents[i] = replace(held, tables={**held.tables, table: tuple(rows)})
                return
        raise LookupError(f"no active {module} {key}")


@dataclass
class FakeSink:
    """The posting sink port over a FakeSage: direct (into Sage at flush) or, with
    ``batched``, into import batches that ``import_batches`` applies later.

    Like the real sinks it refuses at ``stage`` what Sage would refuse (ValueError) and
    reports a write Sage refuses (a key in ``refuse``, a record that is gone) as a Written
    with an error, the others going on. The batches stand for the drop folder: they outlive
    a crash (``restarted``), a posting a batch carries is never written again, and a posting
    Sage refuses at import is left out of Sage and noted in ``import_errors``.
    """

    sage: FakeSage
    batched: bool = False
    name: str = "fake"
    refuse: set[str] = field(default_factory=set)  # keys whose writes Sage refuses
    staged: dict[str, tuple[str, str, Document | None, tuple[int | str, ...], str]] = field(
        default_factory=dict
    )
    batches: dict[str, list[str]] = field(default_factory=dict)  # batch -> posting ids
    pending: list[str] = field(default_factory=list)  # batches not imported yet
    carried: dict[str, str] = field(default_factory=dict)  # posting id -> batch
    in_batches: dict[str, Any] = field(default_factory=dict)  # posting id -> staged posting
    import_errors: dict[str, str] = field(default_factory=dict)  # posting id -> why refused
    writes: int = 0

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
        if action not in (CREATE, REPLACE, UPDATE, VOID):
            raise ValueError(f"expected an action, got {action!r}")
        if module not in MODULES:
            raise ValueError(f"expected a module among {', '.join(MODULES)}, got {module!r}")
        if action == VOID and not refs:
            raise ValueError(f"expected the Sage records to void for posting {posting_id}")
        if action != VOID:
            if document is None or document.module != module:
                raise ValueError(f"expected a {module} document to {action}")
            if set(document.tables) - set(DOCUMENT_TABLES[module]):
                raise ValueError(f"expected {module} tables, got {sorted(document.tables)}")
            if len(document.tables.get(HEADER_TABLE[module], ())) != 1:
                raise ValueError(f"expected one {HEADER_TABLE[module]} row in {document.key}")
            if action == UPDATE and module not in (*MASTER_MODULES, DAILY_PAYROLL):
                raise ValueError(f"expected a master or a payroll line to update, got {module}")
            if action == REPLACE and len(refs) > 1:
                raise ValueError(f"expected at most one record to replace, got {list(refs)}")
        named = key or (document.key if document is not None else "")
        self.staged[str(posting_id)] = (action, module, document, tuple(refs), named)

    def flush(self, needed: Callable[[str], bool] = always) -> Iterator[Written]:
        staged, self.staged = self.staged, {}
        if self.batched:
            return iter(self._write_batch(staged, needed))
        return self._write_each(staged, needed)

    def _write_batch(self, staged: dict[str, Any], needed: Callable[[str], bool]) -> list[Written]:
        """One batch of every staged posting no batch carries yet and Sage still lacks,
        written whole."""
        unwritten = {i: p for i, p in staged.items() if i not in self.carried}
        fresh = {i: p for i, p in unwritten.items() if needed(i)}
        skipped = [Written(i, skipped=True) for i in unwritten if i not in fresh]
        if not fresh:
            return skipped
        batch = f"batch-{len(self.batches) + 1}"
        self.batches[batch] = list(fresh)
        self.pending.append(batch)
        for posting_id, posting in fresh.items():
            self.carried[posting_id] = batch
            self.in_batches[posting_id] = posting
        return [*skipped, *(Written(posting_id, batch=batch) for posting_id in fresh)]

    def _write_each(
        self, staged: dict[str, Any], needed: Callable[[str], bool]
    ) -> Iterator[Written]:
        for posting_id, posting in staged.items():
            if not needed(posting_id):
                yield Written(posting_id, skipped=True)
                continue
            if posting[4] in self.refuse:
                yield Written(posting_id, error=f"Sage refused {posting[4]}")
                continue
            try:
                refs = self._apply(*posting[:4])
            except LookupError as exc:
                yield Written(posting_id, error=f"LookupError: {exc}")
                continue
            yield Written(posting_id, tuple(refs))

    def written(self, posting_id: str) -> str | None:
        return self.carried.get(str(posting_id))

    def imported(self, posting_id: str) -> Imported | None:
        batch = self.carried.get(str(posting_id))
        if batch is None or batch in self.pending:
            return None
        return Imported(batch, self.import_errors.get(str(posting_id)))

    def import_batches(self) -> list[str]:
        """What Sage's import does with the pending batches, in order: each posting applied,
        or left out (and noted) when Sage refuses it."""
        imported, self.pending = self.pending, []
        for batch in imported:
            for posting_id in self.batches[batch]:
                posting = self.in_batches[posting_id]
                if posting[4] in self.refuse:
                    self.import_errors[posting_id] = f"Sage refused {posting[4]}"
                    continue
                try:
                    self._apply(*posting[:4])
                except LookupError as exc:
                    self.import_errors[posting_id] = f"LookupError: {exc}"
        return imported

    def restarted(self) -> FakeSink:
        """The sink a new process opens after a crash: nothing staged, the same Sage, and
        the same batches (they are files in the drop folder)."""
        return FakeSink(
            self.sage,
            batched=self.batched,
            name=self.name,
            refuse=self.refuse,
            batches=self.batches,
            pending=self.pending,
            carried=self.carried,
            in_batches=self.in_batches,
            import_errors=self.import_errors,
            writes=self.writes,
        )

    def _apply(
        self, action: str, module: str, document: Document | None, refs: tuple[int | str, ...]
    ) -> list[int | str]:
        """Write one posting into Sage; counted in ``writes`` once it is written."""
        if action == VOID:
            for ref in refs:
                self.sage.void(module, ref)
            self.writes += 1
            return list(refs)
        assert document is not None
        if action == UPDATE:
            for held in self.sage.read_key(module, document.key):
                self.sage.documents.remove(held)
        elif action == REPLACE and refs:
            self.sage.void(module, refs[0])
        added = self.sage.add(document)
        assert added.sage_ref is not None
        self.writes += 1
        return [added.sage_ref]


@dataclass
class FakeStatusWriter:
    """The invoice status writer: remembers what it was told, and each invoice's status and
    comments as ServiceTrade would hold them (a comment told again is not added twice)."""

    told: list[tuple[str, str, str | None]] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    comments: dict[str, list[str]] = field(default_factory=dict)

    def set_invoice_status(self, invoice_id: str, status: str, comment: str | None = None) -> None:
        self.told.append((invoice_id, status, comment))
        self.statuses[invoice_id] = status
        held = self.comments.setdefault(invoice_id, [])
        if comment and comment not in held:
            held.append(comment)


def memory_context(
    mapping: Mapping,
    *,
    sage: FakeSage | None = None,
    sink: FakeSink | None = None,
    store_url: str = MEMORY,
    policy: Policy = DEFAULT_POLICY,
    periods: Periods = NO_PERIODS,
) -> Context:
    """A context over an in-memory event store and read model (or the store at a URL), with
    a posting policy and Sage's periods (default: creations unattended, nothing locked)."""
    store = Store(store_url)
    ctx = Context(
        store=store,
        read_model=ReadModel(create_projection_engine(store_url), mapping),
        mapping=mapping,
        reader=sage,
        sink=sink,
        policy=policy,
        periods=periods,
    )
    ctx.catch_up()
    return ctx


def restarted(ctx: Context, sink: FakeSink | None = None) -> Context:
    """The context a new process opens over the same store and Sage after a crash: a read
    model rebuilt from the log, the sink reopened (``FakeSink.restarted``), no fault."""
    reopened = ctx.sink if sink is None else sink
    assert isinstance(reopened, FakeSink)
    new = Context(
        store=ctx.store,
        read_model=ReadModel(create_projection_engine(MEMORY), ctx.mapping),
        mapping=ctx.mapping,
        reader=ctx.reader,
        sink=reopened.restarted(),
        policy=ctx.policy,
        periods=ctx.periods,
    )
    new.catch_up()
    return new


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and list indexes) into a decoded JSON value, the value itself left
    out: the places a test can damage a payload at."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += json_paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += json_paths(inner, (*prefix, index))
    return found
