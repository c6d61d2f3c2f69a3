"""`recon ingest`: record every ServiceTrade and PartsLedger change since the last run."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import ConfigOption, JsonOption, load, print_json


def ingest(config: ConfigOption = Path("recon.toml"), as_json: JsonOption = False) -> None:
    """Record every ServiceTrade and PartsLedger change since the last complete run."""
    from application.ingest import ingest_all
    from cli.bootstrap import context, sources
    from cli.progress import Meter, metered_feeds
    from cli.tables import Table, count, stdout_console

    cfg = load(config)
    with context(cfg, with_sage=False) as ctx, sources(cfg) as opened:
        feeds = metered_feeds(opened.feeds, Meter())
        report = ingest_all(ctx, feeds, overlap=cfg.servicetrade.overlap_seconds)
    if as_json:
        print_json(report.to_json())
        return
    table = Table("Kind", "Fetched", "Appended", "Quarantined", "Stale",
                  right=("Fetched", "Appended", "Quarantined", "Stale"))  # fmt: skip
    for kind in report.fetched:
        table.add(kind, f"{report.fetched[kind]:,}", f"{report.appended[kind]:,}",
                  f"{report.rejected[kind]:,}", f"{report.stale[kind]:,}")  # fmt: skip
    table.print(stdout_console())
    typer.echo(
        f"{count(len(table), 'kind')}: {count(sum(report.fetched.values()), 'record')} fetched, "
        f"events appended: {sum(report.appended.values()):,}, "
        f"{sum(report.rejected.values()):,} quarantined, "
        f"{sum(report.stale.values()):,} older than recorded (skipped)"
    )
