"""The ``recon`` command: every command group, each importing what it needs when it runs."""

from __future__ import annotations

import sys

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
    sync,
)

app = typer.Typer(
    help="Keep Sage 100 Contractor in step with ServiceTrade: record, project, reconcile, post.",
    no_args_is_help=True,
    add_completion=False,
)
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


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
