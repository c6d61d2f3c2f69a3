"""recon demo: the whole job on embedded defaults, from an empty folder to zero findings."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import EXIT_FINDINGS, EXIT_OK, JsonOption, fail, print_json

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
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Run in a workdir that is not empty: the demo's store, sandbox and simulator "
            "state are made afresh (an edited recon.toml is kept as recon.toml.bak).",
        ),
    ] = False,
) -> None:
    """Run the whole job on embedded defaults: simulator, Sage sandbox, SQLite store."""
    if workdir.exists() and not workdir.is_dir():
        raise fail(f"--workdir {workdir}: a file, not a folder; choose another --workdir")
    if not force and workdir.is_dir() and any(workdir.iterdir()):
        raise fail(
            f"--workdir {workdir} is not empty; give --force to run the demo there again (its "
            "store, sandbox and simulator state are made afresh), or choose another --workdir"
        )
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
    from cli.common import PRIVATE_DIR, PRIVATE_FILE, private
    from cli.config import parse_config, write_config
    from cli.progress import Meter, MeteredSink, metered_feeds
    from cli.tables import figure

    say = echo or (lambda _text: None)
    started = time.monotonic()
    if not workdir.exists():
        workdir.mkdir(mode=PRIVATE_DIR, parents=True)
        private(workdir, PRIVATE_DIR)  # mkdir's mode is cut by the umask, never widened
    for name in DEMO_FILES:
        (workdir / name).unlink(missing_ok=True)
    data = embedded_config(workdir, seed)
    config_path = workdir / "recon.toml"
    kept = _keep_edited(config_path, data, brownfield=brownfield)
    if kept is not None:
        typer.echo(
            f"recon: {config_path} differed from the demo's; kept it as {kept} and wrote the "
            "demo's",
            err=True,
        )
    write_config(config_path, data)
    private(config_path, PRIVATE_FILE)
    config = parse_config(data, config_path)
    meter = Meter()
    employees = len(data["mapping"]["employees"])
    say(f"configuration: {config_path} ({employees} technicians mapped to employees)")

    company: dict[str, Any] | None = None
    if brownfield:
        from cli import brownfield as brownfield_company

        made, keyed = brownfield_company.create(config.sage.url, config, reset=True)
        data["sage"]["current_period"] = made.current_period
        data["sage"]["locked_through"] = made.locked_through
        write_config(config_path, data)
        private(config_path, PRIVATE_FILE)
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
        report = ingest_all(ctx, metered_feeds(opened.feeds, meter), overlap=overlap)
        say(
            "ingested from the ServiceTrade and PartsLedger simulator: "
            + ", ".join(f"{n} {kind}" for kind, n in report.fetched.items())
            + f"; {sum(report.appended.values())} events, "
            f"{sum(report.rejected.values())} quarantined"
        )
        found = reconcile(ctx)
        starts = "Sage holds history" if brownfield else "Sage starts empty"
        say(f"first reconcile: {len(found)} findings ({starts})")
        if ctx.sink is not None and meter.shown:
            ctx.sink = MeteredSink(ctx.sink, meter)
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
    width = max(map(len, status["modules"]), default=0)
    for module, counts in status["modules"].items():
        total = ""
        if "expected_total" in counts:
            total = f", total {figure(module, counts['expected_total'])}"
        say(f"  {module:{width}} {counts['expected']:5} documents in Sage{total}")
    for name, tie in status.get("tie_outs", {}).items():
        if isinstance(tie, dict):
            verdict = "ties" if tie["ties"] else f"{len(tie['differences'])} differences"
            expected, held = figure(name, tie["expected_total"]), figure(name, tie["sage_total"])
            say(f"  tie-out {name:{width}} {expected:>12} = {held:>12}: {verdict}")
    say(f"final reconcile: {len(final)} findings")
    if len(final) > LISTED_FINDINGS:
        kinds = Counter((finding.module, finding.kind) for finding in final)
        for (module, kind), count in sorted(kinds.items()):
            say(f"  {module:{width}} {kind:19} {count:5}")
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


#: What a brownfield demo adds to the recon.toml it writes (from the company it makes).
BROWNFIELD_KEYS = ("current_period", "locked_through")


def _keep_edited(path: Path, data: dict[str, Any], *, brownfield: bool) -> Path | None:
    """Before the demo writes ``path``: a recon.toml there that says anything else than the
    demo's (someone edited it) is moved aside to recon.toml.bak (.bak.1, ...); returns where,
    or None when there was none or it was the demo's own."""
    import tomllib

    if not path.is_file():
        return None
    try:
        held = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        held = None
    if held is not None:
        if brownfield:
            for key in BROWNFIELD_KEYS:
                held.get("sage", {}).pop(key, None)
        if held == data:
            return None
    backup = path.with_name(path.name + ".bak")
    n = 0
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.name}.bak.{n}")
    path.rename(backup)
    return backup


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
