"""The ``recon`` command."""

from __future__ import annotations

import getpass
import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import demo as demo_module
from cli.bootstrap import runtime, sources
from cli.config import ConfigError, default_config, load_config, parse_config
from cli.sim import app as sim_app
from domain.documents import AR_INVOICES, MODULES

app = typer.Typer(
    help="Keep Sage 100 Contractor in step with ServiceTrade: record, project, reconcile, post.",
    no_args_is_help=True,
    add_completion=False,
)
sandbox_app = typer.Typer(help="The Sage 100 Contractor sandbox (a SQLite copy of its tables).")
quarantine_app = typer.Typer(help="Source records whose payloads failed validation.")
app.add_typer(sim_app, name="sim", help="The ServiceTrade simulator.")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(quarantine_app, name="quarantine")

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="RECON_CONFIG", help="recon.toml (made by recon demo)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    typer.echo(f"recon: {message}", err=True)
    return typer.Exit(code)


def _config(path: Path) -> Any:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@app.command()
def demo(
    workdir: Annotated[
        Path, typer.Option(help="Folder for the store, the Sage sandbox and recon.toml.")
    ] = Path("recon-demo"),
    seed: Annotated[int, typer.Option(help="Simulator seed: same seed, same month.")] = 7,
    as_json: JsonOption = False,
) -> None:
    """Run the whole job on embedded defaults: simulator, Sage sandbox, SQLite store."""
    summary = demo_module.run(workdir, seed=seed, echo=None if as_json else typer.echo)
    if as_json:
        _print_json(summary)
    raise typer.Exit(EXIT_OK if summary["final_findings"] == 0 else EXIT_FINDINGS)


@sandbox_app.command("init")
def sandbox_init(
    sage: Annotated[str, typer.Option("--sage", help="SQLite URL, e.g. sqlite:///sage.db")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Take accounts and districts from here.")
    ] = None,
    reset: Annotated[bool, typer.Option(help="Replace an existing sandbox.")] = False,
) -> None:
    """Create a Sage 100 Contractor sandbox with its chart of accounts and tax districts."""
    from adapters.sage.errors import SageError
    from adapters.sage.sandbox import init_sandbox

    mapping = (
        _config(config).mapping
        if config is not None
        else parse_config(default_config(Path.cwd())).mapping
    )
    try:
        init_sandbox(sage, mapping, reset=reset)
    except SageError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"Sage sandbox ready at {sage}")


@sandbox_app.command("import")
def sandbox_import(config: ConfigOption = Path("recon.toml")) -> None:
    """Import the files sink's pending batches into the sandbox, as Sage's import would."""
    from adapters.sage.engine import create_sage_engine
    from adapters.sage.errors import SageError
    from adapters.sage.files_sink import import_batches

    cfg = _config(config)
    if not cfg.sage.drop_folder:
        raise _fail("sage.drop_folder is not set: there are no batches to import")
    engine = create_sage_engine(cfg.sage.url, app_name=cfg.sage.app_name)
    try:
        imported = import_batches(Path(cfg.sage.drop_folder), engine, user=cfg.user)
    except SageError as exc:
        raise _fail(str(exc)) from exc
    finally:
        engine.dispose()
    typer.echo(f"imported {len(imported)} batches: {', '.join(imported) or 'none pending'}")


@app.command()
def ingest(config: ConfigOption = Path("recon.toml"), as_json: JsonOption = False) -> None:
    """Record every ServiceTrade and PartsLedger change since the last complete run."""
    cfg = _config(config)
    with runtime(cfg, with_sage=False) as rt, sources(cfg) as opened:
        report = rt.recon.ingest_all(opened.feeds, overlap=cfg.servicetrade.overlap_seconds)
    if as_json:
        _print_json(report.to_json())
        return
    for kind in report.fetched:
        typer.echo(
            f"{kind:10} fetched {report.fetched[kind]:6}  appended {report.appended[kind]:6}"
            f"  quarantined {report.rejected[kind]:4}"
        )
    typer.echo(f"events appended: {sum(report.appended.values())}")


def _modules(module: list[str] | None) -> list[str]:
    chosen = module or list(MODULES)
    for name in chosen:
        if name not in MODULES:
            raise typer.BadParameter(
                f"{name!r}: expected one of {', '.join(MODULES)}", param_hint="--module"
            )
    return chosen


@app.command()
def reconcile(
    config: ConfigOption = Path("recon.toml"),
    module: Annotated[
        list[str] | None, typer.Option("--module", "-m", help="Module(s) to reconcile.")
    ] = None,
    period: Annotated[str | None, typer.Option(help="Posting period YYYY-MM.")] = None,
    as_json: JsonOption = False,
    apply: Annotated[bool, typer.Option("--apply", help="Post the corrections.")] = False,
) -> None:
    """Compare what Sage holds with what it should hold; exit 1 when anything differs."""
    if period is not None and not PERIOD.match(period):
        raise typer.BadParameter(f"{period!r}: expected YYYY-MM", param_hint="--period")
    modules = _modules(module)
    cfg = _config(config)
    with runtime(cfg) as rt:
        findings = rt.recon.reconcile(modules, period)
        result: dict[str, Any] = {
            "period": period,
            "modules": modules,
            "findings": [f.to_json() for f in findings],
        }
        if apply:  # also carries on postings a batch or a crash left open
            report = rt.recon.apply(findings)
            remaining = rt.recon.reconcile(modules, period)
            result["applied"] = report.to_json()
            result["remaining"] = [f.to_json() for f in remaining]
        if apply and AR_INVOICES in modules and cfg.servicetrade.writeback:
            result["written_back"] = _write_back(rt.recon, cfg)
    if as_json:
        _print_json(result)
    else:
        _print_findings(result)
    raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)


def _write_back(recon: Any, cfg: Any) -> dict[str, Any]:
    """Mark invoices processed/failed in ServiceTrade; a ServiceTrade outage is only a warning
    (the postings stand, and the next run tells ServiceTrade)."""
    from adapters.servicetrade.errors import ServiceTradeError

    try:
        with sources(cfg) as opened:
            return dict(recon.write_back(opened.servicetrade))
    except ServiceTradeError as exc:
        typer.echo(f"recon: warning: could not update ServiceTrade invoices: {exc}", err=True)
        return {"error": str(exc)}


def _print_findings(result: dict[str, Any]) -> None:
    findings = result["findings"]
    if not findings:
        typer.echo("Sage holds exactly what it should.")
    for f in findings:
        difference = f" ({f['difference']})" if f["difference"] is not None else ""
        typer.echo(f"{f['module']:12} {f['kind']:20} {f['key']}{difference}")
    if "applied" in result:
        applied = result["applied"]
        typer.echo(
            f"applied: {len(applied['confirmed'])} confirmed, {len(applied['failed'])} failed, "
            f"{len(applied['left_for_people'])} left for a person (recon resolve KEY)"
        )
        typer.echo(f"remaining findings: {len(result['remaining'])}")


@app.command()
def resolve(
    key: Annotated[str, typer.Argument(help="The finding's key, e.g. SAGE-acrinv-123.")],
    accept: Annotated[bool, typer.Option("--accept", help="Keep it; stop reporting it.")] = False,
    void: Annotated[bool, typer.Option("--void", help="Have recon post the void.")] = False,
    why: Annotated[str, typer.Option(help="Why (kept with the decision).")] = "",
    by: Annotated[str | None, typer.Option(help="Who decides (default: the OS user).")] = None,
    config: ConfigOption = Path("recon.toml"),
) -> None:
    """Settle a document in Sage that recon did not expect."""
    from adapters.services import ResolveError

    if accept == void:
        raise typer.BadParameter("give exactly one of --accept or --void")
    if not why.strip():
        raise typer.BadParameter("say why, e.g. --why 'deposit entered by the office'")
    cfg = _config(config)
    who = by or getpass.getuser()
    with runtime(cfg) as rt:
        try:
            report = rt.recon.resolve(key, "accept" if accept else "void", who, why)
        except ResolveError as exc:
            raise _fail(str(exc)) from exc
    if accept:
        typer.echo(f"{key}: accepted by {who}; it is no longer reported")
    else:
        typer.echo(f"{key}: void posted by {who} ({len(report.confirmed)} confirmed)")
        if report.failed:
            raise _fail(f"void failed: {', '.join(report.failed)}")


@app.command()
def status(config: ConfigOption = Path("recon.toml"), as_json: JsonOption = False) -> None:
    """What the ledger holds, what Sage should hold, and the postings."""
    cfg = _config(config)
    with runtime(cfg) as rt:
        data = rt.recon.status()
    if as_json:
        _print_json(data)
        return
    typer.echo(f"events in the ledger: {data['events']}")
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
    for name, tie in data.get("tie_outs", {}).items():
        if name == "unmapped":
            continue
        verdict = "ties" if tie["ties"] else f"{len(tie['differences'])} groups differ"
        typer.echo(
            f"tie-out {name:14} expected {tie['expected_total']:>12}  "
            f"Sage {tie['sage_total']:>12}  {verdict}"
        )


@quarantine_app.command("list")
def quarantine_list(config: ConfigOption = Path("recon.toml"), as_json: JsonOption = False) -> None:
    """Payloads that failed validation, with the reason (they stay until a valid one arrives)."""
    cfg = _config(config)
    with runtime(cfg, with_sage=False) as rt:
        rows = rt.recon.quarantine()
    if as_json:
        _print_json({"quarantined": rows})
        return
    if not rows:
        typer.echo("nothing quarantined")
    for row in rows:
        typer.echo(f"{row['system']}/{row['kind']} {row['source_id']}: {row['rejection']}")


@app.command()
def replay(
    config: ConfigOption = Path("recon.toml"),
    as_json: JsonOption = False,
    apply: Annotated[bool, typer.Option("--apply", help="Post what Sage is missing.")] = False,
) -> None:
    """After a Sage restore (or a mapping change): rebuild every projection from the event log,
    then reconcile every module; with --apply, post exactly what Sage no longer holds."""
    cfg = _config(config)
    with runtime(cfg) as rt:
        events = rt.recon.replay()
        findings = rt.recon.reconcile()
        result: dict[str, Any] = {
            "replayed_events": events,
            "findings": [f.to_json() for f in findings],
        }
        if apply:
            result["applied"] = rt.recon.apply(findings).to_json()
            result["remaining"] = [f.to_json() for f in rt.recon.reconcile()]
    if as_json:
        _print_json(result)
    else:
        typer.echo(f"replayed {events} events")
        _print_findings(result)
    raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
