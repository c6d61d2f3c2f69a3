"""The ports recon's core owns: the event store, the source feeds, Sage, and the posting sink."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.documents import Document, Row
from domain.source import Snapshot


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One recorded event as projections read it: log position, topic and decoded state."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: dict[str, Any]


class EventLog(Protocol):
    """The application log in order: what projections read."""

    def read(self, after: int, limit: int) -> Sequence[StoredEvent]:
        """Events after a log position, in log order, at most ``limit`` of them."""

    def max_position(self) -> int: ...


class EventStore(EventLog, Protocol):
    """Where recon records source records, postings and resolutions."""

    def record(self, events: Iterable[Aggregate.Event | Aggregate]) -> int:
        """Append events (and aggregates' pending events) in one transaction."""

    def save(self, *aggregates: Aggregate) -> object: ...

    def get(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate as recorded, or None when nothing was recorded under that id."""


class SourceFeed(Protocol):
    """Pages of raw records of one kind changed at or after a time (Unix seconds)."""

    system: str

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]: ...

    def read(self, kind: str, raw: dict[str, Any]) -> Snapshot:
        """The snapshot of a raw record; raises domain.source.PayloadError when invalid."""

    def source_id_of(self, raw: dict[str, Any]) -> str | None: ...

    def updated_of(self, raw: dict[str, Any]) -> int | None: ...

    def fetch(self, kind: str, source_id: str) -> dict[str, Any] | None:
        """One record's raw form as the source holds it now; None when it no longer exists."""


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    """A source system's word that an entity changed: ids only (its content is fetched).

    ``seq`` orders notices on the stream they came by; ``action`` is what the source says
    happened (created, updated or deleted), though only a fetch says what holds now.
    """

    seq: int
    system: str
    kind: str
    source_id: str
    action: str
    timestamp: int | None = None


class ChangeNotices(Protocol):
    """A stream of change notices (the relay's), acknowledged once recorded."""

    def take(self, timeout: float) -> Sequence[ChangeNotice]:
        """The notices waiting, in order; waits up to ``timeout`` seconds for the first."""

    def ack(self, seq: int) -> None:
        """Every notice up to ``seq`` is recorded: the stream never sends them again."""

    def gaps(self) -> int:
        """How many times the stream lost notices (older than its backlog) since last asked:
        a poll of everything covers them."""

    def describe(self) -> dict[str, Any]:
        """The stream's state for ``recon status``: connection, last acknowledged, error."""


class WebhookRegistry(Protocol):
    """A source system's webhook registrations (ServiceTrade's /webhook)."""

    def webhooks(self) -> list[dict[str, Any]]: ...

    def create_webhook(self, hook_url: str, kinds: Sequence[str]) -> dict[str, Any]: ...

    def delete_webhook(self, webhook_id: str) -> None: ...


class InvoiceStatusWriter(Protocol):
    """Tells the source system an invoice reached the books (or why it could not)."""

    def set_invoice_status(
        self, invoice_id: str, status: str, comment: str | None = None
    ) -> None: ...


class SageReader(Protocol):
    """What Sage holds, as documents comparable with the ones it should hold."""

    def read(self, module: str, period: str | None) -> list[Document]: ...

    def stream(
        self,
        module: str,
        period: str | None = None,
        order: Callable[[str], Any] = ...,
        *,
        unlinked: bool = False,
        only: Collection[int] | None = None,
    ) -> Iterator[Document]:
        """What ``read`` gives, one document at a time, sorted by ``order`` of the keys
        (``domain.reconcile.position`` when not given), documents under one key oldest
        first; with ``unlinked``, only those that carry no link key of recon's; with
        ``only``, only those of these record numbers. Read in chunks: the module is never
        held whole."""

    def digests(
        self, module: str, period: str | None = None, order: Callable[[str], Any] = ...
    ) -> Iterator[tuple[str, int, str | None]] | None:
        """(key, record number, ``domain.documents.match_digest``) of each document
        ``stream`` gives, in its order, without building the documents; None for a module
        the reader does not digest (its documents are then compared in full)."""

    def keys(self, module: str, period: str | None = None) -> set[str]:
        """The keys of the documents ``read`` gives."""

    def read_key(self, module: str, key: str) -> list[Document]: ...

    def timecards(self, period: str | None) -> list[Row]: ...


@dataclass(frozen=True, slots=True)
class Imported:
    """What Sage's import did with one posting of an imported batch: took it in, or left it
    out (``error`` says why)."""

    batch: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Written:
    """What a sink did with one staged posting.

    ``batch`` names the import batch that carries it when Sage takes it in later (None: it is
    in Sage's tables now); ``refs`` are the Sage references written, where known; ``error`` says
    why the posting could not be written (nothing of it was); ``skipped`` says Sage showed it
    already when its turn came (written before a crash, or by an earlier posting of the flush).
    """

    posting_id: str
    refs: tuple[int | str, ...] = ()
    batch: str | None = None
    error: str | None = None
    skipped: bool = False


def always(_posting_id: str) -> bool:
    return True


class PostingSink(Protocol):
    """Writes corrections to Sage: postings are staged during a run, then flushed.

    The ``sql`` sink writes each staged posting into Sage's tables at flush, one transaction
    each; the ``files`` sink writes them all as one import batch that Sage takes in later.
    """

    name: str

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
        """Hold a posting for this run's flush; raises ValueError for one Sage would refuse."""

    def flush(self, needed: Callable[[str], bool] = always) -> Iterable[Written]:
        """Write the staged postings, reporting on each as it is written. The sink asks
        ``needed(posting_id)`` before writing each (into Sage, or into the batch) and reports
        a posting Sage already shows as skipped."""

    def written(self, posting_id: str) -> str | None:
        """The import batch (pending or imported) that carries a posting, if any: a posting
        written before a crash is never written again."""

    def imported(self, posting_id: str) -> Imported | None:
        """What Sage's import did with a posting, once the batch carrying it was imported
        (None: no batch carries it, or its batch still waits)."""
