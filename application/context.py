"""What every use case works with: the event store, the read model, the mapping, the posting
policy and Sage's periods, and the ports."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from typing import Any

from domain.documents import HEADER_TABLE, Document, Row
from domain.keys import adjusted_key
from domain.mapping import Mapping
from domain.policy import DEFAULT_POLICY, NO_PERIODS, Periods, Policy
from domain.ports import EventStore, PostingSink, SageReader
from domain.reconcile import position
from projections.readmodel import ReadModel

#: Called with a step's name at each crash point of a posting (tests kill the process there).
Fault = Callable[[str], None]


def no_fault(_step: str) -> None:
    return None


class NotConfigured(RuntimeError):
    """A use case needs a port the command was not given (a bug in the composition root)."""


@dataclass
class Context:
    store: EventStore
    read_model: ReadModel
    mapping: Mapping
    reader: SageReader | None = None
    sink: PostingSink | None = None
    fault: Fault = no_fault
    policy: Policy = DEFAULT_POLICY  # what posts without a person
    periods: Periods = NO_PERIODS  # Sage's current period and locks (none known: none locked)

    def catch_up(self) -> int:
        """Bring the read model up to the end of the log; returns events applied."""
        return self.read_model.catch_up(self.store)

    def sage(self) -> LinkedReader:
        """Sage as recon answers for it: adopted records under recon's keys (LinkedReader)."""
        return LinkedReader(self.unlinked_sage(), self.read_model)

    def unlinked_sage(self) -> SageReader:
        """Sage as the reader keys it, adoptions not applied (what adoption matches)."""
        if self.reader is None:
            raise NotConfigured("this command reads no Sage company")
        return self.reader

    def posting_sink(self) -> PostingSink:
        if self.sink is None:
            raise NotConfigured("this command posts to no Sage company")
        return self.sink


#: The columns that carry recon's link key, per table of an adopted document: an adopted
#: record's link lives in recon's log (``Adoption``), so it reads as if Sage carried it.
LINK_COLUMNS = {"reccln": "usrdf1", "acrinv": "usrdf1", "acpinv": "usrdf1", "lgrtrn": "usrdf1"}


class LinkedReader:
    """The Sage reader port with adoptions applied: a record recon adopted is read under
    the key of the source record it stands for (its link columns showing that key), and
    ``read_key`` of that key reads the adopted record too. So the diff pairs an adopted
    invoice with ServiceTrade's, and the posting path never creates it a second time.

    Jobs and vendors are keyed by number, and an adopted one takes its Sage number, so
    their keys need no relabelling."""

    def __init__(self, reader: SageReader, read_model: ReadModel) -> None:
        self.reader = reader
        self.read_model = read_model
        self._links: dict[str, dict[str, str]] | None = None  # module -> Sage key -> recon's

    def links(self, module: str) -> dict[str, str]:
        if self._links is None:
            self._links = {}
            for link in self.read_model.links():
                if link["sage_key"] != link["source_key"]:
                    by = self._links.setdefault(link["module"], {})
                    by[link["sage_key"]] = link["source_key"]
        return self._links.get(module, {})

    def adopted(self, module: str) -> frozenset[str]:
        """recon's keys of the records it adopted in ``module`` (read under those keys)."""
        return frozenset(self.links(module).values())

    def read(self, module: str, period: str | None) -> list[Document]:
        return self._relabel(module, self.reader.read(module, period))

    def stream(
        self, module: str, period: str | None = None, only: Collection[int] | None = None
    ) -> Iterator[Document]:
        """``read`` one document at a time, sorted by ``domain.reconcile.position`` of the
        keys adopted records are read under (what ``merged`` pairs by); with ``only``, the
        documents of those record numbers alone."""
        linked = self.links(module)
        if not linked:
            yield from self.reader.stream(module, period, only=only)
            return
        for document in self.reader.stream(module, period, _under(linked), only=only):
            key = linked.get(document.key)
            yield document if key is None else relabel(document, key)

    def digests(
        self, module: str, period: str | None = None
    ) -> Iterator[tuple[str, int, str | None]] | None:
        """The reader's ``digests`` in ``stream``'s order; an adopted record under recon's
        key with no digest (adopted records are always compared in full)."""
        linked = self.links(module)
        if not linked:
            return self.reader.digests(module, period)
        found = self.reader.digests(module, period, _under(linked))
        if found is None:
            return None
        return ((linked[k], r, None) if k in linked else (k, r, d) for k, r, d in found)

    def read_key(self, module: str, key: str) -> list[Document]:
        held = self._relabel(module, self.reader.read_key(module, key))
        linked = self.links(module)
        for sage_key, source_key in linked.items():
            if source_key == key:
                held.extend(self._relabel(module, self.reader.read_key(module, sage_key)))
        # A Sage key that now stands for a source record is read under that record's key
        # (with the adjusting documents recon entered for it).
        return [d for d in held if d.key == key or adjusted_key(d.key) == key]

    def timecards(self, period: str | None) -> list[Row]:
        return self.reader.timecards(period)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)

    def _relabel(self, module: str, documents: list[Document]) -> list[Document]:
        linked = self.links(module)
        if not linked:
            return documents
        return [relabel(d, linked[d.key]) if d.key in linked else d for d in documents]


def _under(linked: dict[str, str]) -> Callable[[str], tuple[str, int]]:
    """The order of Sage's keys as they are read: ``position`` of the key an adopted record
    is read under (recon's), of its own key for the rest."""

    def order(key: str) -> tuple[str, int]:
        return position(linked.get(key, key))

    return order


def relabel(document: Document, key: str) -> Document:
    """An adopted document under recon's key, its link columns showing it."""
    tables: dict[str, tuple[Row, ...]] = dict(document.tables)
    for table, column in LINK_COLUMNS.items():
        rows = tables.get(table)
        if rows and (table == HEADER_TABLE[document.module] or table == "lgrtrn"):
            tables[table] = tuple({**row, column: key} for row in rows)
    return replace(document, key=key, tables=tables)
