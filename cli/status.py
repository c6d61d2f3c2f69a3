"""`recon status` and `recon quarantine list`: what recon holds and what it set aside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cli.common import ConfigOption, JsonOption, load, print_json

quarantine_app = typer.Typer(help="Source records whose payloads failed validation.")


def status(config: ConfigOption = Path("recon.toml"), as_json: JsonOption = False) -> None:
    """What the event store holds, what Sage should hold, and the postings."""
    from application.status import status as run
    from cli.bootstrap import context

    cfg = load(config)
    with context(cfg) as ctx:
        data = run(ctx)
    if as_json:
        print_json(data)
        return
    typer.echo(f"events recorded: {data['events']}")
    for name, counts in data["sources"].items():
        typer.echo(
            f"  {name:26} {counts['records']:6} records, {counts['quarantined']} quarantined"
        )
    for module, counts in data["modules"].items():
        total = f", total {counts['expected_total']}" if "expected_total" in counts else ""
        typer.echo(
            f"  {module:26} {counts['expected']:6} expected in Sage{total}, "
            f"{counts['unmapped']} unmapped"
        )
    typer.echo(f"postings: {data['postings'] or 'none'}")
    adopted = data.get("adopted") or {}
    counts = ", ".join(f"{module} {n}" for module, n in sorted(adopted.items()))
    typer.echo(f"adopted from Sage (keyed before recon): {counts or 'none'}")
    for name, tie in data.get("tie_outs", {}).items():
        if name == "unmapped":
            continue
        verdict = "ties" if tie["ties"] else f"{len(tie['differences'])} groups differ"
        typer.echo(
            f"tie-out {name:14} expected {tie['expected_total']:>12}  "
            f"Sage {tie['sage_total']:>12}  {verdict}"
        )
        if name == "ar_invoices":
            _receivables(tie)
    skipped = data.get("skipped_invoices", [])
    typer.echo(f"invoices handed to accounting and not posted: {len(skipped) or 'none'}")
    for row in skipped:
        typer.echo(f"  {row['invoice'] or row['id']:12} {row['total']:>10}  {row['reason']}")


def _receivables(tie: dict[str, Any]) -> None:
    """AR = ServiceTrade invoices handed to accounting: the figures on each side, by type."""

    def figure(side: dict[str, Any]) -> str:
        return f"{side['count']} ({side['total']})"

    st = tie["servicetrade"]
    typer.echo(
        f"  AR = ServiceTrade invoices handed to accounting: {figure(st['handed_off'])} handed "
        f"off, {figure(st['skipped'])} skipped by rule, {figure(st['posted_by_rule'])} to post"
        f" = {figure(tie['expected'])} expected = {figure(tie['sage'])} in Sage 3-2"
    )
    kinds = ", ".join(f"{kind} {figure(side)}" for kind, side in tie["by_type"].items())
    typer.echo(f"  by type: {kinds or 'none'}")
    for row in tie["differences"]:
        why = f": {row['problem']}" if "problem" in row else ""
        typer.echo(
            f"  {row['invoice']}: ServiceTrade {row['servicetrade']}, expected "
            f"{row['expected']}, Sage {row['sage']}{why}"
        )


@quarantine_app.command("list")
def quarantine_list(config: ConfigOption = Path("recon.toml"), as_json: JsonOption = False) -> None:
    """Payloads that failed validation, with the reason (they stay until a valid one arrives)."""
    from application.status import quarantine
    from cli.bootstrap import context

    cfg = load(config)
    with context(cfg, with_sage=False) as ctx:
        rows = quarantine(ctx)
    if as_json:
        print_json({"quarantined": rows})
        return
    if not rows:
        typer.echo("nothing quarantined")
    for row in rows:
        typer.echo(f"{row['system']}/{row['kind']} {row['source_id']}: {row['rejection']}")
