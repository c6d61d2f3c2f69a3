"""The read model: every projection over one database, caught up from the log, and its queries."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from sqlalchemy import Engine, Integer, func, select

from domain.documents import Document
from domain.mapping import Mapping
from domain.money import ZERO, to_str
from domain.ports import EventLog
from domain.records import Known
from domain.source import Snapshot, from_payload
from projections import ingest_state, sealing
from projections.costs import CostsProjection
from projections.links import LinksProjection, link_counts, links
from projections.postings import (
    PostingsProjection,
    last_written,
    open_postings,
    postings,
    postings_by_id_prefix,
    rejected_corrections,
    resolutions,
    settled_keys,
)
from projections.receivables import ReceivablesProjection
from projections.rows import expected_document_for, expected_documents, problems_of
from projections.runner import Projection, catch_up, create_tables, rebuild
from projections.sources import SourcesProjection, known, quarantined
from projections.streams import expected_digests, expected_index, expected_stream
from projections.tables import (
    expected_document,
    posting,
    sage_link,
    sage_number,
    sage_taken,
    source_state,
    sync_state,
    tracking,
    upsert,
)

S = TypeVar("S", bound=Snapshot)


class ReadModel:
    """What recon knows, as tables: source records, the documents Sage should hold, postings
    and resolutions, and where ingest stands.

    Nothing here catches up by itself: a command calls ``catch_up`` when it starts, and the
    use cases that record events call it after they record.
    """

    def __init__(
        self, engine: Engine, mapping: Mapping, sealer: sealing.Sealer | None = None
    ) -> None:
        self.engine = engine
        sealing.bind(engine, sealer)  # before the engine's first statement
        self.projections: list[Projection] = [
            SourcesProjection(),
            LinksProjection(),  # before the numbering projections, which read adoptions
            ReceivablesProjection(mapping),
            CostsProjection(mapping),
            PostingsProjection(),
        ]
        create_tables(engine)
        if sealing.stale(engine, sealer):  # sealed another way: every projection starts over
            sealing.mark(engine, sealer, forget=(tracking, sync_state))

    def catch_up(self, log: EventLog) -> int:
        """Apply every event not yet applied; returns how many were read."""
        return catch_up(log, self.engine, self.projections)

    def rebuild(self, log: EventLog) -> int:
        """Forget every projection's rows and replay the whole log."""
        rebuild(self.engine, self.projections)
        return self.catch_up(log)

    # -- source records --------------------------------------------------------------------

    def known(self, system: str, kind: str, source_ids: Iterable[str]) -> dict[str, Known]:
        with self.engine.connect() as conn:
            return known(conn, system, kind, source_ids)

    def quarantined(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return quarantined(conn)

    def snapshots(self, system: str, kind: str, of: type[S]) -> list[S]:
        """The latest valid snapshot of every live record of a kind, each an ``of``."""
        found = [from_payload(kind, payload) for _, payload in self.payloads(system, kind)]
        return [snapshot for snapshot in found if isinstance(snapshot, of)]

    def payloads(self, system: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """(source id, latest valid payload) of every live record of a kind."""
        query = select(source_state.c.source_id, source_state.c.payload).where(
            source_state.c.system == system,
            source_state.c.kind == kind,
            source_state.c.payload.is_not(None),
            source_state.c.deleted.is_(False),
        )
        with self.engine.connect() as conn:
            return [(i, orjson.loads(p)) for i, p in conn.execute(query)]

    def sage_numbers(self) -> dict[tuple[str, str], int]:
        """The Sage numbers recon gave clients, jobs and vendors: (kind, source id) → number."""
        with self.engine.connect() as conn:
            return {(k, s): n for k, s, n in conn.execute(select(sage_number))}

    # -- adoption --------------------------------------------------------------------------

    def links(self, module: str | None = None) -> list[dict[str, Any]]:
        """The Sage records recon adopted (of a module), oldest first."""
        with self.engine.connect() as conn:
            return links(conn, module)

    def link_counts(self) -> dict[str, int]:
        """How many Sage records recon adopted, per module."""
        with self.engine.connect() as conn:
            return link_counts(conn)

    def taken_numbers(self, kind: str) -> set[int]:
        """The numbers of a master kind (client, job, vendor) recon never gives out."""
        with self.engine.connect() as conn:
            query = select(sage_taken.c.number).where(sage_taken.c.kind == kind)
            return {int(n) for (n,) in conn.execute(query)}

    def written_keys(self, module: str) -> set[str]:
        """The keys recon wrote a document under (a posting submitted or confirmed that
        created, replaced or updated one): what recon created in Sage."""
        query = select(posting.c.key).where(
            posting.c.module == module,
            posting.c.state.in_(("submitted", "confirmed")),
            posting.c.digest.is_not(None),
        )
        with self.engine.connect() as conn:
            return {str(k) for (k,) in conn.execute(query)}

    def first_period(self, module: str) -> str | None:
        """The earliest period of a module's documents recon expects (None: none)."""
        query = select(func.min(expected_document.c.period)).where(
            expected_document.c.module == module, expected_document.c.period.is_not(None)
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else str(found)

    def source_of(self, module: str, key: str) -> tuple[str, str] | None:
        """The source record (kind, id) a document recon expects is derived from."""
        query = select(expected_document.c.source_kind, expected_document.c.source_id).where(
            expected_document.c.module == module, expected_document.c.key == key
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).first()
        return None if found is None else (str(found[0]), str(found[1]))

    def adopted_sage_keys(self, module: str) -> set[str]:
        query = select(sage_link.c.sage_key).where(sage_link.c.module == module)
        with self.engine.connect() as conn:
            return {str(k) for (k,) in conn.execute(query)}

    # -- what Sage should hold -------------------------------------------------------------

    def expected(self, module: str, period: str | None) -> tuple[list[Document], dict[str, str]]:
        """The documents of a module (and period) Sage should hold, and the keys recon could
        not map, with why."""
        with self.engine.connect() as conn:
            return expected_documents(conn, module, period)

    def expected_stream(
        self, module: str, period: str | None, only: Collection[str] | None = None
    ) -> tuple[Iterator[Document], dict[str, str]]:
        """What ``expected`` gives, the documents one at a time sorted by
        ``domain.reconcile.position`` of their keys (read in chunks, never held whole);
        with ``only``, the documents under those keys alone."""
        keys, problems = expected_index(self.engine, module, period)
        if only is not None:
            keys = [key for key in keys if key in only]
        return expected_stream(self.engine, module, keys), problems

    def expected_digests(self, module: str, period: str | None) -> Iterator[tuple[str, str | None]]:
        """(key, ``domain.documents.match_digest``) of each document ``expected_stream``
        gives, in its order."""
        return expected_digests(self.engine, module, period)

    def expected_for(self, module: str, key: str) -> Document | None:
        with self.engine.connect() as conn:
            return expected_document_for(conn, module, key)

    def problems(self, module: str) -> dict[str, str]:
        with self.engine.connect() as conn:
            return problems_of(conn, module)

    # -- postings and resolutions ----------------------------------------------------------

    def open_postings(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return open_postings(conn)

    def settled_keys(self) -> set[str]:
        with self.engine.connect() as conn:
            return settled_keys(conn)

    def postings(self, states: Collection[str] = ()) -> list[dict[str, Any]]:
        """Postings in the given states (all when none), oldest first."""
        with self.engine.connect() as conn:
            return postings(conn, states)

    def resolutions(self) -> list[dict[str, Any]]:
        """The decisions people made about documents recon did not expect (who, why, when)."""
        with self.engine.connect() as conn:
            return resolutions(conn)

    def postings_by_id_prefix(self, prefix: str) -> list[dict[str, Any]]:
        """At most two postings whose id starts with ``prefix`` (two: it is ambiguous)."""
        with self.engine.connect() as conn:
            return postings_by_id_prefix(conn, prefix)

    def last_written(self, module: str, key: str) -> str | None:
        """The digest of the document recon last wrote under a key and saw in Sage."""
        with self.engine.connect() as conn:
            return last_written(conn, module, key)

    def rejected_corrections(self) -> set[tuple[str, str, str, str | None, str]]:
        with self.engine.connect() as conn:
            return rejected_corrections(conn)

    # -- ingest ----------------------------------------------------------------------------

    def cursor(self, system: str, kind: str) -> int | None:
        with self.engine.connect() as conn:
            return ingest_state.cursor(conn, system, kind)

    def advance(self, system: str, kind: str, value: int) -> None:
        with self.engine.begin() as conn:
            ingest_state.advance(conn, system, kind, value)

    def forget_seen(self, system: str, kind: str) -> None:
        with self.engine.begin() as conn:
            ingest_state.forget_seen(conn, system, kind)

    def seen_again(
        self, system: str, kind: str, stamps: list[tuple[str, int | None]]
    ) -> list[int | None]:
        with self.engine.begin() as conn:
            return ingest_state.seen_again(conn, system, kind, stamps)

    # -- the sync agent's own state ------------------------------------------------------

    def sync_state(self) -> dict[str, dict[str, Any]]:
        """What the sync agent last wrote, per subject."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(sync_state.c.subject, sync_state.c.state)).all()
        return {subject: orjson.loads(state) for subject, state in rows}

    def note_sync(self, states: dict[str, dict[str, Any]]) -> None:
        """Replace the state of each subject given (one transaction)."""
        rows = [
            {
                "subject": str(subject),
                "state": orjson.dumps(state, default=str, option=orjson.OPT_NON_STR_KEYS).decode(),
            }
            for subject, state in states.items()
        ]
        with self.engine.begin() as conn:
            upsert(conn, sync_state, rows)

    # -- status ----------------------------------------------------------------------------

    def counts(self) -> dict[str, Any]:
        """Records and quarantine per source kind, documents per module with their totals
        (void documents do not count), postings per state, and the ingest cursors."""
        with self.engine.connect() as conn:
            sources = {
                f"{system}/{kind}": {"records": total, "quarantined": int(bad or 0)}
                for system, kind, total, bad in conn.execute(
                    select(
                        source_state.c.system,
                        source_state.c.kind,
                        func.count(),
                        func.sum(source_state.c.rejection.is_not(None).cast(Integer)),
                    ).group_by(source_state.c.system, source_state.c.kind)
                )
            }
            modules: dict[str, dict[str, Any]] = {}
            for module, count, problems in conn.execute(
                select(
                    expected_document.c.module,
                    func.count(),
                    func.sum(expected_document.c.problem.is_not(None).cast(Integer)),
                ).group_by(expected_document.c.module)
            ):
                modules[module] = {"expected": count, "unmapped": int(problems or 0)}
            totals: dict[str, Decimal] = {}
            for module, amount in conn.execute(
                select(expected_document.c.module, expected_document.c.amount).where(
                    expected_document.c.amount.is_not(None)
                )
            ):
                totals[module] = totals.get(module, ZERO) + Decimal(amount)
            for module, total in totals.items():
                modules[module]["expected_total"] = to_str(total)
            postings = {
                str(state): int(n)
                for state, n in conn.execute(
                    select(posting.c.state, func.count()).group_by(posting.c.state)
                )
            }
            cursors = ingest_state.cursors(conn)
            quarantine = len(quarantined(conn))
        return {
            "sources": sources,
            "quarantined": quarantine,
            "modules": modules,
            "postings": postings,
            "cursors": cursors,
        }
