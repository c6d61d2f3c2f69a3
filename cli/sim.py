"""`recon sim`: run the simulator (ServiceTrade and PartsLedger, one world)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

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
)

if TYPE_CHECKING:
    from simulator import RunningSimulator

#: Credentials the simulator accepts (session login and OAuth2 client credentials).
USERNAME = DEFAULT_USERNAME
PASSWORD = DEFAULT_PASSWORD
CLIENT_ID = DEFAULT_CLIENT_ID
CLIENT_SECRET = DEFAULT_CLIENT_SECRET
#: PartsLedger's client credentials (traded at <partsledger>/auth/token for a bearer token).
PL_CLIENT_ID = DEFAULT_PL_CLIENT_ID
PL_CLIENT_SECRET = DEFAULT_PL_CLIENT_SECRET
DEFAULT_PORT = 8765

_HELP = (
    "ServiceTrade + PartsLedger simulator: a seeded month of a mechanical contractor, "
    "served over HTTP."
)
app = typer.Typer(help=_HELP, no_args_is_help=True)


@app.callback()
def sim() -> None:
    """ServiceTrade + PartsLedger simulator: a seeded month of a mechanical contractor, served
    over HTTP."""


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"expected a date as YYYY-MM-DD, got {value!r}") from exc


def _announce(sim: RunningSimulator) -> None:
    summary = sim.summary()
    typer.echo(f"ServiceTrade + PartsLedger simulator listening on {sim.root_url}")
    typer.echo(f"  ServiceTrade:   {sim.base_url}")
    typer.echo(f"  PartsLedger:    {sim.partsledger_url}")
    typer.echo(f"  control API:    {sim.control_url}  (state, advance, faults, webhooks, reset)")
    typer.echo(f"  session login:  username {USERNAME!r}  password {PASSWORD!r}")
    typer.echo(f"  OAuth2 client:  client_id {CLIENT_ID!r}  client_secret {CLIENT_SECRET!r}")
    typer.echo(
        f"  PL client:      client_id {PL_CLIENT_ID!r}  client_secret {PL_CLIENT_SECRET!r}"
        "  (POST /auth/token)"
    )
    typer.echo(
        f"  seed {summary['seed']}, scale {summary['scale']}, time zone {summary['timezone']}, "
        f"simulated today {summary['today']}; counts {summary['counts']}"
    )
    if summary.get("pace"):
        typer.echo(f"  live: {summary['pace']} simulated minutes per second")
    typer.echo("Press Ctrl-C to stop.")


@app.command("serve")
def serve_command(
    port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one.", min=0, max=65535)] = (
        DEFAULT_PORT
    ),
    seed: Annotated[int, typer.Option(help="Scenario seed: same seed, same data.")] = DEFAULT_SEED,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    start_date: Annotated[
        str, typer.Option("--start-date", help="First day of the scenario (YYYY-MM-DD).")
    ] = DEFAULT_START.isoformat(),
    scale: Annotated[int, typer.Option(help="Multiplies record counts.", min=1, max=100)] = 1,
    token_ttl: Annotated[
        float, typer.Option("--token-ttl", help="OAuth2 access token lifetime, seconds.", min=1)
    ] = DEFAULT_TOKEN_TTL,
    state_file: Annotated[
        str,
        typer.Option(
            "--state-file",
            help="Load the simulated world from this JSON file if it exists; save it on Ctrl-C.",
        ),
    ] = "",
    quiet: Annotated[bool, typer.Option(help="Do not log each request.")] = False,
    pace: Annotated[
        int,
        typer.Option(
            help="Run the world live: simulated minutes per real second (0: the clock moves "
            "only when told).",
            min=0,
            max=1440,
        ),
    ] = 0,
) -> None:
    """Serve the simulated ServiceTrade and PartsLedger APIs until interrupted."""
    from simulator import serve

    start = _parse_date(start_date)
    try:
        serve(
            host,
            port,
            seed,
            start=start,
            scale=scale,
            token_ttl=token_ttl,
            state_file=state_file or None,
            quiet=quiet,
            on_ready=_announce,
            pace=pace or None,
        )
    except OSError as exc:
        typer.echo(f"cannot listen on {host}:{port}: {exc}", err=True)
        raise typer.Exit(2) from exc
