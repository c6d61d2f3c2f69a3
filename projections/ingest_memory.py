"""What ingest looks up beside the read model's queries: the newest ``updated`` stamp fetched of
each record (to pass over stale payloads) and what the current run fetched on earlier pages (to
tell a duplicate in one fetch)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from projections import ingest_state
from projections.readmodel import ReadModel


class IngestMemory:
    """The ingest state of one read model's database (tables in ``projections.tables``)."""

    def __init__(self, read_model: ReadModel) -> None:
        self.engine = read_model.engine

    def stamps(self, system: str, kind: str, source_ids: Iterable[str]) -> dict[str, int]:
        """The newest ``updated`` stamp fetched of each of these records (those with one)."""
        with self.engine.connect() as conn:
            return ingest_state.stamps(conn, system, kind, source_ids)

    def raise_stamps(self, system: str, kind: str, newest: Mapping[str, int]) -> None:
        """Remember these stamps, each only where it is newer than the one held."""
        if newest:
            with self.engine.begin() as conn:
                ingest_state.raise_stamps(conn, system, kind, newest)

    def seen_before(
        self, system: str, kind: str, source_ids: Iterable[str]
    ) -> dict[str, int | None]:
        """The first ``updated`` stamp of each of these records the current run fetched on an
        earlier page (``ReadModel.seen_again`` remembers them)."""
        with self.engine.connect() as conn:
            return ingest_state.seen_before(conn, system, kind, source_ids)
