"""`recon ingest`: record every ServiceTrade and PartsLedger change since the last run."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import ConfigOption, JsonOption, load, print_json


def ingest(config: ConfigOption = Path("recon.toml"), as_json: JsonOption = False) -> None:
    """Record every ServiceTrade and PartsLedger change since the last complete run."""
    from application.ingest import ingest_all
    from cli.bootstrap import context, sources

    cfg = load(config)
    with context(cfg, with_sage=False) as ctx, sources(cfg) as opened:
        report = ingest_all(ctx, opened.feeds, overlap=cfg.servicetrade.overlap_seconds)
    if as_json:
        print_json(report.to_json())
        return
    for kind in report.fetched:
        typer.echo(
            f"{kind:10} fetched {report.fetched[kind]:6}  appended {report.appended[kind]:6}"
            f"  quarantined {report.rejected[kind]:4}"
        )
    typer.echo(f"events appended: {sum(report.appended.values())}")
