"""The composition root: builds the store, projections, Sage and ServiceTrade adapters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from adapters.sage.engine import create_sage_engine
from adapters.sage.files_sink import FilesPostingSink
from adapters.sage.reader import SageReader
from adapters.sage.sql_sink import FAULT_STEPS as SINK_FAULT_STEPS
from adapters.sage.sql_sink import SqlPostingSink
from adapters.services import FAULT_STEPS, Fault, Recon
from adapters.sources import Sources, open_sources
from adapters.store import Ledger, create_projection_engine
from cli.config import Config

FAULT_ENV = "RECON_FAULT"
FAULT_EXIT = 75


#: Where RECON_FAULT may crash a posting: the use case's steps, then the sink's own.
CRASH_POINTS = (*FAULT_STEPS, *(f"sink_{step}" for step in SINK_FAULT_STEPS))


def _fault_from_env() -> Fault:
    step = os.environ.get(FAULT_ENV, "")
    if step and step not in CRASH_POINTS:
        raise ValueError(f"{FAULT_ENV}={step!r}: expected one of {', '.join(CRASH_POINTS)}")

    def fault(at: str) -> None:
        # A crash on purpose, for tests of recovery: no cleanup, no flush, like a kill.
        if at == step:
            os._exit(FAULT_EXIT)

    return fault


@dataclass
class Runtime:
    config: Config
    recon: Recon


@contextmanager
def runtime(config: Config, *, with_sage: bool = True) -> Iterator[Runtime]:
    """Everything a command needs, closed again on the way out."""
    with ExitStack() as stack:
        ledger = Ledger(config.store_url, config.cipher_key)
        stack.callback(ledger.close)
        engine = create_projection_engine(config.store_url)
        stack.callback(engine.dispose)
        reader = sink = batch = None
        fault = _fault_from_env()
        if with_sage:
            sage_engine = create_sage_engine(config.sage.url, app_name=config.sage.app_name)
            stack.callback(sage_engine.dispose)
            reader = SageReader(sage_engine, config.mapping)
            if config.sage.sink == "files":
                batch = FilesPostingSink(Path(config.sage.drop_folder))
            else:
                sink = SqlPostingSink(
                    sage_engine, user=config.user, fault=lambda step: fault(f"sink_{step}")
                )
        recon = Recon(
            ledger,
            engine,
            config.mapping,
            reader=reader,
            sink=sink,
            batch=batch,
            fault=fault,
        )
        yield Runtime(config, recon)


@contextmanager
def sources(config: Config) -> Iterator[Sources]:
    """The ServiceTrade and PartsLedger feeds: the real APIs, or the embedded simulator (one
    world serving both) on loopback."""
    with open_sources(config.servicetrade, config.partsledger) as opened:
        yield opened
