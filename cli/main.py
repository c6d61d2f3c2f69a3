"""The ``recon`` command: every command group, each importing what it needs when it runs."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli import (
    demo,
    ingest,
    postings,
    reconcile,
    relay,
    report,
    resolve,
    sandbox,
    sim,
    status,
    store,
    sync,
)
from cli.errors import DEBUG_ENV, DEBUG_KEY, ReconGroup

app = typer.Typer(
    cls=ReconGroup,
    help="Keep Sage 100 Contractor in step with ServiceTrade: record, project, reconcile, post.",
    epilog="Exit codes: 0 done or clean; 1 differences found (reconcile, replay, report); "
    "2 usage or configuration; 3 could not run (a source, Sage, the store, another recon "
    "posting). recon --debug COMMAND also prints the traceback of an error.",
    no_args_is_help=True,
    add_completion=False,
    # A traceback must never print a command's local variables: they hold secrets.
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"recon {version('recon')}")
        except PackageNotFoundError:
            typer.echo("recon (version unknown: not installed)")
        raise typer.Exit(0)


@app.callback()
def _options(
    ctx: typer.Context,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print recon's version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar=DEBUG_ENV,
            help="On an error, print the traceback too (never local variables).",
        ),
    ] = False,
) -> None:
    """Keep Sage 100 Contractor in step with ServiceTrade: record, project, reconcile, post.

    Exit codes: 0 done or clean, 1 differences found (reconcile, replay, report), 2 usage or
    configuration, 3 could not run (a source, Sage, the store, another recon posting)."""
    if debug:
        ctx.meta[DEBUG_KEY] = True


app.command()(demo.demo)
app.add_typer(sim.app, name="sim", help="The ServiceTrade simulator.")
app.add_typer(sandbox.app, name="sandbox")
app.command()(ingest.ingest)
app.command()(reconcile.reconcile)
app.command()(resolve.resolve)
app.command()(postings.postings)
app.command()(postings.approve)
app.command()(postings.reject)
app.command()(status.status)
app.add_typer(status.quarantine_app, name="quarantine")
app.command()(reconcile.replay)
app.command()(sync.sync)
app.command()(report.report)
app.add_typer(relay.app, name="relay")
app.add_typer(store.app, name="store")


def main() -> None:
    """The ``recon`` console command: every error handled by ``cli.errors.ReconGroup``."""
    try:
        app(prog_name="recon")
    except KeyboardInterrupt:
        sys.exit(130)
