"""A ServiceTrade + PartsLedger simulator: one seeded world served over HTTP, with control."""

from adapters.simulator.scenario import DEFAULT_SEED, DEFAULT_START, TIMEZONE, advance, generate
from adapters.simulator.server import RunningSimulator, SimulatorServer, run_simulator, serve
from adapters.simulator.state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_PL_CLIENT_ID,
    DEFAULT_PL_CLIENT_SECRET,
    DEFAULT_TOKEN_TTL,
    DEFAULT_USERNAME,
    SimConfig,
    SimState,
)

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
    "RunningSimulator",
    "SimConfig",
    "SimState",
    "SimulatorServer",
    "advance",
    "generate",
    "run_simulator",
    "serve",
]
