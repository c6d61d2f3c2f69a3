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
#: The control token of a simulator reachable from other machines (``--control-token``).
CONTROL_TOKEN_ENV = "RECON_SIM_CONTROL_TOKEN"

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
    if sim.server.api.control_token is not None:
        typer.echo("                  needs the control token (Authorization: Bearer <token>)")
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
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Listen on an interface other machines reach; the control API then needs "
            "the control token.",
        ),
    ] = False,
    control_token: Annotated[
        str | None,
        typer.Option(
            "--control-token",
            envvar=CONTROL_TOKEN_ENV,
            help="Token the control API (/_sim/) requires, as Authorization: Bearer <token> "
            "or X-Sim-Control-Token (with --allow-remote and none given, one is generated "
            "and printed once on stderr).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the simulated ServiceTrade and PartsLedger APIs until interrupted.

    On loopback only (the default) unless given --allow-remote: the control API rewrites the
    simulated world, so from other machines it answers only with the control token."""
    import secrets

    from cli.common import EXIT_UNAVAILABLE, fail
    from cli.relay import is_loopback
    from simulator import serve

    start = _parse_date(start_date)
    if not is_loopback(host) and not allow_remote:
        raise fail(
            f"--host {host}: other machines could reach the simulator's unauthenticated "
            "control API; listen on 127.0.0.1, or give --allow-remote (the control API then "
            "needs a control token)"
        )
    if control_token is not None and len(control_token.strip()) < 16:
        raise fail("--control-token: expected 16 or more characters")
    token = control_token.strip() if control_token else None
    if token is None and allow_remote:
        token = secrets.token_urlsafe(24)
        typer.echo(
            f"recon: control API token (send as Authorization: Bearer <token>): {token}",
            err=True,
        )
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
            control_token=token,
        )
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc}", EXIT_UNAVAILABLE) from exc
