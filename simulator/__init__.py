"""A ServiceTrade + PartsLedger simulator: one seeded world served over HTTP, with control.

Names load on first use, so reading a default does not build the whole simulator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.defaults import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_PASSWORD,
        DEFAULT_PL_CLIENT_ID,
        DEFAULT_PL_CLIENT_SECRET,
        DEFAULT_SEED,
        DEFAULT_START,
        DEFAULT_TOKEN_TTL,
        DEFAULT_USERNAME,
        TIMEZONE,
    )
    from simulator.delivery import DeliveryPolicy
    from simulator.scenario import advance, advance_minutes, generate
    from simulator.server import RunningSimulator, SimulatorServer, run_simulator, serve
    from simulator.state import SimConfig, SimState

_HOME = {
    "DEFAULT_CLIENT_ID": "defaults",
    "DEFAULT_CLIENT_SECRET": "defaults",
    "DEFAULT_PASSWORD": "defaults",
    "DEFAULT_PL_CLIENT_ID": "defaults",
    "DEFAULT_PL_CLIENT_SECRET": "defaults",
    "DEFAULT_SEED": "defaults",
    "DEFAULT_START": "defaults",
    "DEFAULT_TOKEN_TTL": "defaults",
    "DEFAULT_USERNAME": "defaults",
    "TIMEZONE": "defaults",
    "DeliveryPolicy": "delivery",
    "advance": "scenario",
    "advance_minutes": "scenario",
    "generate": "scenario",
    "RunningSimulator": "server",
    "SimulatorServer": "server",
    "run_simulator": "server",
    "serve": "server",
    "SimConfig": "state",
    "SimState": "state",
}

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PASSWORD",
    "DEFAULT_PL_CLIENT_ID",
    "DEFAULT_PL_CLIENT_SECRET",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "DEFAULT_TOKEN_TTL",
    "DEFAULT_USERNAME",
    "TIMEZONE",
    "DeliveryPolicy",
    "RunningSimulator",
    "SimConfig",
    "SimState",
    "SimulatorServer",
    "advance",
    "advance_minutes",
    "generate",
    "run_simulator",
    "serve",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"simulator.{home}"), name)
    globals()[name] = value
    return value
