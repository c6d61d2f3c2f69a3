"""`recon status` and `recon quarantine list`: what recon holds and what it set aside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cli.common import ConfigOption, JsonOption, load, print_json

quarantine_app = typer.Typer(help="Source records whose payloads failed validation.")


def status(config: ConfigOption = Path("recon.toml"), as_json: JsonOption = False) -> None:
    """What the event store holds, what Sage should hold, and the postings."""
    from adapters.lease import current_holder
    from application.status import status as run
    from cli.bootstrap import context

    cfg = load(config)
    with context(cfg) as ctx:
        data = run(ctx)
    data["writer_lease"] = current_holder(cfg.store_url, cfg.sage.url)
    if as_json:
        print_json(data)
        return
    print_status(data)


def print_status(data: dict[str, Any]) -> None:
    """``recon status`` for people: tables with headers and counts, money as money and
    payroll as hours."""
    from cli.tables import Table, count, figure, money, stdout_console

    console = stdout_console()
    typer.echo(f"events recorded: {data['events']:,}")
    sources = Table("Source records", "Records", "Quarantined", right=("Records", "Quarantined"))
    for name, counts in data["sources"].items():
        sources.add(name, f"{counts['records']:,}", f"{counts['quarantined']:,}")
    if len(sources):
        sources.print(console)
    total = sum(counts["records"] for counts in data["sources"].values())
    typer.echo(
        f"{count(len(sources), 'source kind')}, {count(total, 'record')}, "
        f"{data.get('quarantined', 0):,} quarantined"
    )
    modules = Table(
        "Module",
        "Expected in Sage",
        "Total",
        "Unmapped",
        right=("Expected in Sage", "Total", "Unmapped"),
    )
    for module, counts in data["modules"].items():
        modules.add(
            module,
            f"{counts['expected']:,}",
            figure(module, counts.get("expected_total")),
            f"{counts['unmapped']:,}",
        )
    typer.echo("")
    modules.print(console)
    typer.echo(f"{count(len(modules), 'module')} (totals: money; daily_payroll in hours)")
    postings = data.get("postings") or {}
    shown = ", ".join(f"{n:,} {state}" for state, n in sorted(postings.items()))
    typer.echo(f"postings: {shown or 'none'}")
    adopted = data.get("adopted") or {}
    counts_text = ", ".join(f"{module} {n:,}" for module, n in sorted(adopted.items()))
    typer.echo(f"adopted from Sage (keyed before recon): {counts_text or 'none'}")
    ties = {name: tie for name, tie in data.get("tie_outs", {}).items() if name != "unmapped"}
    if ties:
        table = Table("Tie-out", "Expected", "Sage", "Result", right=("Expected", "Sage"))
        for name, tie in ties.items():
            n = len(tie["differences"])
            verdict = (
                "ties" if tie["ties"] else f"{count(n, 'group')} differ{'s' if n == 1 else ''}"
            )
            table.add(
                name, figure(name, tie["expected_total"]), figure(name, tie["sage_total"]), verdict
            )
        typer.echo("")
        table.print(console)
        if "ar_invoices" in ties:
            _receivables(ties["ar_invoices"])
    lease = data.get("writer_lease")
    if lease is not None and lease.get("held"):
        typer.echo(f"posting to Sage now: {lease['description']}")
    if "sync" in data:
        _sync(data["sync"])
    skipped = data.get("skipped_invoices", [])
    typer.echo(f"invoices handed to accounting and not posted: {len(skipped) or 'none'}")
    if skipped:
        table = Table("Invoice", "Total", "Why not posted", right=("Total",))
        for row in skipped:
            table.add(row["invoice"] or row["id"], money(row["total"]), row["reason"])
        table.print(console)


def _receivables(tie: dict[str, Any]) -> None:
    """AR = ServiceTrade invoices handed to accounting: the figures on each side, by type."""

    from cli.tables import money

    def figure(side: dict[str, Any]) -> str:
        return f"{side['count']} ({money(side['total'])})"

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
            f"  {row['invoice']}: ServiceTrade {money(row['servicetrade'])}, expected "
            f"{money(row['expected'])}, Sage {money(row['sage'])}{why}"
        )


def _sync(sync: dict[str, Any]) -> None:
    """The sync agent: running or not, its last cycle, the relay, each part's health, and
    how far behind each source kind may be."""
    if sync["running"]:
        last = sync.get("last_cycle") or {}
        typer.echo(
            f"sync: running since {sync.get('started')}, {sync.get('cycles', 0)} cycles, "
            f"last at {last.get('at', 'not yet')} ({sync['seconds_since_update']} s ago)"
        )
    else:
        typer.echo(
            f"sync: not running (last seen {sync.get('updated') or sync.get('stopped')}, "
            f"{sync['seconds_since_update']} s ago)"
        )
    relay = sync.get("relay")
    if relay:
        acked = relay.get("last_acked")
        error = f", {relay['last_error']}" if relay.get("last_error") else ""
        typer.echo(
            f"  relay: {relay.get('state')}, last acknowledged notice "
            f"{'none' if acked is None else acked}{error}"
        )
    for part, health in (sync.get("health") or {}).items():
        if health.get("ok"):
            typer.echo(f"  {part}: ok")
        else:
            retry = health.get("retry_in_seconds")
            again = "" if retry is None else f"; trying again in {retry} s"
            typer.echo(f"  {part}: unavailable ({health.get('error')}){again}")
    if sync.get("waiting_for_lease"):
        typer.echo(f"  waiting for the writer lease: {sync['waiting_for_lease']}")
    typer.echo(f"  postings waiting for approval: {sync.get('postings_waiting_for_approval', 0)}")
    for kind, state in (sync.get("kinds") or {}).items():
        lag = state.get("lag_seconds")
        typer.echo(f"  {kind:26} lag {'unknown' if lag is None else f'{lag} s'}")


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
