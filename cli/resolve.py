"""`recon resolve`: a person settles a document in Sage that recon did not expect."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from cli.common import ConfigOption, WaitOption, fail, load


def resolve(
    key: Annotated[str, typer.Argument(help="The finding's key, e.g. SAGE-acrinv-123.")],
    accept: Annotated[bool, typer.Option("--accept", help="Keep it; stop reporting it.")] = False,
    void: Annotated[bool, typer.Option("--void", help="Have recon post the void.")] = False,
    why: Annotated[str, typer.Option(help="Why (kept with the decision).")] = "",
    by: Annotated[str | None, typer.Option(help="Who decides (default: the OS user).")] = None,
    config: ConfigOption = Path("recon.toml"),
    wait: WaitOption = False,
) -> None:
    """Settle a document in Sage that recon did not expect."""
    from application.resolve import ResolveError
    from application.resolve import resolve as run
    from cli.bootstrap import context
    from domain.posting import ACCEPT, VOID

    if accept == void:
        raise typer.BadParameter("give exactly one of --accept or --void")
    if not why.strip():
        raise typer.BadParameter("say why, e.g. --why 'deposit entered by the office'")
    cfg = load(config)
    who = by or getpass.getuser()
    with context(cfg, lease="resolve", wait=wait) as ctx:
        try:
            report = run(ctx, key, ACCEPT if accept else VOID, who, why)
        except ResolveError as exc:
            raise fail(str(exc)) from exc
        notes = [row["note"] for row in ctx.read_model.postings(["failed"]) if row["key"] == key]
    if accept:
        typer.echo(f"{key}: accepted by {who}; it is no longer reported")
    else:
        typer.echo(f"{key}: void posted by {who} ({len(report.confirmed)} confirmed)")
        if report.failed:
            why_not = f": {notes[-1]}" if notes else ""
            raise fail(f"void failed: {', '.join(report.failed)}{why_not}")
