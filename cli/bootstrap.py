"""The composition root: builds the store, the read model, Sage and the source feeds."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from adapters.partsledger.client import build_client as build_partsledger_client
from adapters.partsledger.errors import PartsLedgerError
from adapters.partsledger.feed import PartsLedgerFeed
from adapters.sage.engine import create_sage_engine
from adapters.sage.errors import SageError
from adapters.sage.files_sink import FilesPostingSink
from adapters.sage.reader import SageReader, read_tax_districts
from adapters.sage.sql_sink import FAULT_STEPS as SINK_FAULT_STEPS
from adapters.sage.sql_sink import SqlPostingSink
from adapters.servicetrade.client import build_client as build_servicetrade_client
from adapters.servicetrade.errors import ServiceTradeError
from adapters.servicetrade.feed import ServiceTradeFeed
from adapters.store import WRONG_KEY, Store, StoreKeyError, create_projection_engine
from application.context import Context, Fault
from application.post import FAULT_STEPS
from cli.config import EMBEDDED, Config
from domain.mapping import Mapping
from domain.ports import PostingSink
from projections.readmodel import ReadModel
from projections.sealing import Sealer, SealError

if TYPE_CHECKING:
    from simulator import RunningSimulator

FAULT_ENV = "RECON_FAULT"
FAULT_EXIT = 75

#: Where RECON_FAULT may crash a posting: the use case's steps, then the sink's own.
CRASH_POINTS = (*FAULT_STEPS, *(f"sink_{step}" for step in SINK_FAULT_STEPS))

#: What a source system's outage raises, for callers that treat both alike.
SOURCE_ERRORS = (ServiceTradeError, PartsLedgerError)


def _fault_from_env() -> Fault:
    step = os.environ.get(FAULT_ENV, "")
    if step and step not in CRASH_POINTS:
        raise ValueError(f"{FAULT_ENV}={step!r}: expected one of {', '.join(CRASH_POINTS)}")

    def fault(at: str) -> None:
        # A crash on purpose, for tests of recovery: no cleanup, no flush, like a kill.
        if at == step:
            os._exit(FAULT_EXIT)

    return fault


def with_sage_tax(mapping: Mapping, sage_engine: Engine) -> Mapping:
    """The mapping with Sage's own tax districts, entities and rates (``taxdst``/``taxent``).

    recon.toml maps ServiceTrade tax groups to district numbers and names each entity's
    liability account; the rates an invoice's tax is split at are always Sage's.
    """
    districts = read_tax_districts(sage_engine, entity_accounts=mapping.tax_entity_accounts)
    return dataclasses.replace(mapping, tax_districts=districts)


def sage_tax_if_reachable(config: Config) -> Mapping:
    """For commands that do not otherwise read Sage (ingest): Sage's districts when Sage
    answers, else recon.toml's ``[tax.districts]``. A command that reads Sage always uses
    Sage's, and the projections re-derive on it if the two differ."""
    try:
        sage_engine = create_sage_engine(config.sage.url, app_name=config.sage.app_name)
        try:
            return with_sage_tax(config.mapping, sage_engine)
        finally:
            sage_engine.dispose()
    except SageError:
        return config.mapping


@contextmanager
def context(
    config: Config, *, with_sage: bool = True, lease: str | None = None, wait: bool = False
) -> Iterator[Context]:
    """Everything a use case needs, caught up to the end of the log, closed on the way out.

    With ``lease`` (the command, e.g. "reconcile --apply"), first takes the Sage company's
    one-writer lease and holds it for the whole block (``cli.common.posting_lease``: refused,
    exit 3; with ``wait``, waits for it).
    """
    with ExitStack() as stack:
        if lease is not None:
            from cli.common import posting_lease

            # Before anything is read: a second writer reads what the first one wrote.
            stack.enter_context(posting_lease(config, lease, wait=wait))
        store = _open_store(config)
        stack.callback(store.close)
        engine = create_projection_engine(config.store_url)
        stack.callback(engine.dispose)
        fault = _fault_from_env()
        reader = None
        sink: PostingSink | None = None
        mapping = config.mapping
        if with_sage:
            sage_engine = create_sage_engine(config.sage.url, app_name=config.sage.app_name)
            stack.callback(sage_engine.dispose)
            mapping = with_sage_tax(mapping, sage_engine)
            reader = SageReader(sage_engine, mapping)
            if config.sage.sink == "files":
                sink = FilesPostingSink(Path(config.sage.drop_folder))
            else:
                sink = SqlPostingSink(
                    sage_engine, user=config.user, fault=lambda step: fault(f"sink_{step}")
                )
        else:
            mapping = sage_tax_if_reachable(config)
        ctx = Context(
            store=store,
            read_model=ReadModel(engine, mapping, sealer(config)),
            mapping=mapping,
            reader=reader,
            sink=sink,
            fault=fault,
            policy=config.policy,
            periods=config.periods,
        )
        try:
            ctx.catch_up()
            yield ctx
        except SealError as exc:  # the marker said this key; a value says otherwise
            raise _fail(f"{WRONG_KEY}'s projections: {exc}") from None


def sealer(config: Config) -> Sealer | None:
    """What seals the projections' customer and payroll columns (None: no store.cipher_key)."""
    return None if config.cipher_key is None else Sealer(config.cipher_key)


def _open_store(config: Config) -> Store:
    try:
        return Store(config.store_url, config.cipher_key)
    except StoreKeyError as exc:
        raise _fail(str(exc)) from None


def _fail(message: str) -> Exception:
    from cli.common import fail

    return fail(message)


def copy_store(source: Config, target: Config) -> int:
    """Rotate store.cipher_key (or add or remove it): copy ``source``'s event log into
    ``target``'s store, which must be empty, re-encrypted with ``target``'s key; carry the
    ingest cursors over and build ``target``'s projections. Returns the events copied."""
    with ExitStack() as stack:
        old = _open_store(source)
        stack.callback(old.close)
        new = _open_store(target)
        stack.callback(new.close)
        copied = old.copy_to(new)
        old_engine = create_projection_engine(source.store_url)
        stack.callback(old_engine.dispose)
        engine = create_projection_engine(target.store_url)
        stack.callback(engine.dispose)
        read_model = ReadModel(engine, target.mapping, sealer(target))
        for row in ReadModel(old_engine, source.mapping, sealer(source)).counts()["cursors"]:
            read_model.advance(str(row["system"]), str(row["kind"]), int(row["updated_after"]))
        read_model.catch_up(new)
        return copied


@dataclass(frozen=True)
class Sources:
    """The open feeds; `simulator` is the embedded simulator when one runs (else None)."""

    servicetrade: ServiceTradeFeed
    partsledger: PartsLedgerFeed
    simulator: RunningSimulator | None = None

    @property
    def feeds(self) -> tuple[ServiceTradeFeed, PartsLedgerFeed]:
        """In ingest order: ServiceTrade first, since PartsLedger purchases refer to its jobs."""
        return self.servicetrade, self.partsledger


@contextmanager
def sources(config: Config, *, live: bool = False) -> Iterator[Sources]:
    """Both feeds, closed (and any simulator stopped) on the way out.

    When either base URL is "embedded", one simulator runs in this process (a single world
    serving both APIs on one loopback port), configured from ``servicetrade.simulator``, and
    the embedded feeds talk to it over HTTP with the simulator's own credentials. With
    ``live`` (``recon sync``), that world runs at ``servicetrade.simulator.pace``.
    """
    st, pl = config.servicetrade, config.partsledger
    with ExitStack() as stack:
        running: RunningSimulator | None = None
        st_url, st_id, st_secret = st.base_url, st.client_id, st.client_secret
        pl_url, pl_id, pl_secret = pl.base_url, pl.client_id, pl.client_secret
        username, password = st.username, st.password
        if EMBEDDED in (st.base_url, pl.base_url):
            import simulator

            sim = st.simulator
            running = stack.enter_context(
                simulator.run_simulator(
                    sim.seed,
                    start=date.fromisoformat(sim.start_date),
                    scale=sim.scale,
                    state_file=Path(sim.state_file) if sim.state_file else None,
                    pace=sim.pace if live and sim.pace else None,
                )
            )
            if st.base_url == EMBEDDED:
                st_url = running.base_url
                st_id, st_secret = simulator.DEFAULT_CLIENT_ID, simulator.DEFAULT_CLIENT_SECRET
            if pl.base_url == EMBEDDED:
                pl_url = running.partsledger_url
                pl_id = simulator.DEFAULT_PL_CLIENT_ID
                pl_secret = simulator.DEFAULT_PL_CLIENT_SECRET
        if st.auth == "oauth2" or st.base_url == EMBEDDED:
            servicetrade = build_servicetrade_client(
                st_url, client_id=st_id, client_secret=st_secret, timeout=st.timeout_seconds
            )
        else:
            servicetrade = build_servicetrade_client(
                st_url, username=username, password=password, timeout=st.timeout_seconds
            )
        stack.enter_context(servicetrade)
        partsledger = build_partsledger_client(
            pl_url, client_id=pl_id, client_secret=pl_secret, timeout=pl.timeout_seconds
        )
        stack.enter_context(partsledger)
        yield Sources(
            servicetrade=ServiceTradeFeed(servicetrade, st.timezone),
            partsledger=PartsLedgerFeed(partsledger),
            simulator=running,
        )
