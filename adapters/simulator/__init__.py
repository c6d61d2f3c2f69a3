"""A ServiceTrade API simulator: seeded scenario, real HTTP server, control API for tests."""

from adapters.simulator.scenario import DEFAULT_SEED, DEFAULT_START, TIMEZONE, advance, generate
from adapters.simulator.server import RunningSimulator, SimulatorServer, run_simulator, serve
from adapters.simulator.state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_TOKEN_TTL,
    DEFAULT_USERNAME,
    SimConfig,
    SimState,
)

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PASSWORD",
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
