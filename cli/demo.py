"""recon demo: the whole job on embedded defaults, from an empty folder to zero findings."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import EXIT_FINDINGS, EXIT_OK, JsonOption, print_json

if TYPE_CHECKING:
    from adapters.servicetrade.feed import ServiceTradeFeed

DEMO_FILES = ("recon.db", "recon.db-wal", "recon.db-shm", "sage.db", "sage.db-wal", "sage.db-shm",
              "simulator.json")  # fmt: skip
#: More final findings than this are counted by module and kind rather than listed.
LISTED_FINDINGS = 20


def demo(
    workdir: Annotated[
        Path, typer.Option(help="Folder for the store, the Sage sandbox and recon.toml.")
    ] = Path("recon-demo"),
    seed: Annotated[int, typer.Option(help="Simulator seed: same seed, same month.")] = 7,
    brownfield: Annotated[
        bool,
        typer.Option(
            "--brownfield",
            help="Start from a Sage company with two years of history and locked periods, "
            "some of the simulator's invoices already keyed in by hand.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Run the whole job on embedded defaults: simulator, Sage sandbox, SQLite store."""
    summary = run(workdir, seed=seed, brownfield=brownfield, echo=None if as_json else typer.echo)
    if as_json:
        print_json(summary)
    raise typer.Exit(EXIT_OK if summary["final_findings"] == 0 else EXIT_FINDINGS)


def run(
    workdir: Path,
    *,
    seed: int = 7,
    brownfield: bool = False,
    echo: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Set up, ingest, reconcile, post and reconcile again; returns a summary.

    With ``brownfield``, Sage starts as a company with history (``cli.brownfield``) and
    recon.toml gets its current and locked periods.
    """
    from adapters.sage.sandbox import init_sandbox
    from application import post
    from application.ingest import ingest_all
    from application.reconcile import reconcile
    from application.status import status as status_of
    from application.writeback import write_back
    from cli.bootstrap import context, sources
    from cli.config import parse_config, write_config

    say = echo or (lambda _text: None)
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    for name in DEMO_FILES:
        (workdir / name).unlink(missing_ok=True)
    data = embedded_config(workdir, seed)
    config_path = workdir / "recon.toml"
    write_config(config_path, data)
    config = parse_config(data, config_path)
    employees = len(data["mapping"]["employees"])
    say(f"configuration: {config_path} ({employees} technicians mapped to employees)")

    company: dict[str, Any] | None = None
    if brownfield:
        from cli import brownfield as brownfield_company

        made, keyed = brownfield_company.create(config.sage.url, config, reset=True)
        data["sage"]["current_period"] = made.current_period
        data["sage"]["locked_through"] = made.locked_through
        write_config(config_path, data)
        config = parse_config(data, config_path)
        company = {
            "current_period": made.current_period,
            "locked_through": made.locked_through,
            "history_from": made.history_from,
            "today": keyed.today.isoformat(),
            "rows": sum(made.rows.values()),
            "hand_keyed_customers": len(keyed.history.customers),
            "hand_keyed_invoices": len(keyed.history.invoices),
        }
        say(
            f"Sage brownfield company: {config.sage.url}, history {made.history_from} to "
            f"{made.current_period} ({company['rows']} rows), locked through "
            f"{made.locked_through}; {len(keyed.history.customers)} ServiceTrade customers and "
            f"{len(keyed.history.invoices)} invoices keyed in by hand"
        )
    else:
        init_sandbox(config.sage.url, config.mapping, reset=True)
        say(f"Sage sandbox: {config.sage.url}")

    with context(config) as ctx, sources(config) as opened:
        feed = opened.servicetrade
        overlap = config.servicetrade.overlap_seconds
        report = ingest_all(ctx, opened.feeds, overlap=overlap)
        say(
            "ingested from the ServiceTrade and PartsLedger simulator: "
            + ", ".join(f"{n} {kind}" for kind, n in report.fetched.items())
            + f"; {sum(report.appended.values())} events, "
            f"{sum(report.rejected.values())} quarantined"
        )
        found = reconcile(ctx)
        starts = "Sage holds history" if brownfield else "Sage starts empty"
        say(f"first reconcile: {len(found)} findings ({starts})")
        applied = post.apply(ctx, found)
        waits = len(applied.waiting_for_approval)
        say(
            f"posted: {len(applied.confirmed)} corrections confirmed, {len(applied.failed)} failed"
            + (f", {waits} wait for approval (recon postings)" if waits else "")
        )
        written = write_back(ctx, feed)
        say(
            f"ServiceTrade told: {written['processed']} invoices processed, "
            f"{written['failed']} failed"
        )
        again = ingest_all(ctx, opened.feeds, overlap=overlap)
        say(f"ingested again: {sum(again.appended.values())} events (the status changes)")
        final = reconcile(ctx)
        status = status_of(ctx)
    for module, counts in status["modules"].items():
        total = f", total {counts['expected_total']}" if "expected_total" in counts else ""
        say(f"  {module:12} {counts['expected']:5} documents in Sage{total}")
    for name, tie in status.get("tie_outs", {}).items():
        if isinstance(tie, dict):
            verdict = "ties" if tie["ties"] else f"{len(tie['differences'])} differences"
            totals = f"{tie['expected_total']:>12} = {tie['sage_total']:>12}"
            say(f"  tie-out {name:14} {totals}: {verdict}")
    say(f"final reconcile: {len(final)} findings")
    if len(final) > LISTED_FINDINGS:
        kinds = Counter((finding.module, finding.kind) for finding in final)
        for (module, kind), count in sorted(kinds.items()):
            say(f"  {module:13} {kind:19} {count:5}")
    else:
        for finding in final:
            say(f"  {finding.module} {finding.kind} {finding.key}")
    seconds = round(time.monotonic() - started, 1)
    say(f"done in {seconds} s; try: recon reconcile --config {config_path} --json")
    return {
        "config": str(config_path),
        **({"brownfield": company} if company is not None else {}),
        "ingest": report.to_json(),
        "first_findings": len(found),
        "applied": applied.to_json(),
        "written_back": written,
        "final_findings": len(final),
        "status": status,
        "seconds": seconds,
    }


def embedded_config(workdir: Path, seed: int = 7) -> dict[str, Any]:
    """The embedded defaults for a simulator seed, with the office's payroll setup: each of
    the account's technicians is a Sage employee, numbered from 101."""
    from cli.bootstrap import sources
    from cli.config import default_config, parse_config

    data = default_config(workdir)
    data["servicetrade"]["simulator"]["seed"] = seed
    with sources(parse_config(data)) as opened:
        names = technicians(opened.servicetrade)
    data["mapping"]["employees"] = {name: 101 + i for i, name in enumerate(names)}
    return data


def technicians(feed: ServiceTradeFeed) -> list[str]:
    """The names of the account's technicians (users marked as techs), in id order."""
    from domain.source import User

    users = [feed.read("user", raw) for page in feed.pages("user", None) for raw in page]
    return [
        u.name for u in sorted(users, key=lambda u: int(u.id)) if isinstance(u, User) and u.is_tech
    ]
