"""`recon reconcile` and `recon replay`: compare Sage with what it should hold; post fixes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    ConfigOption,
    JsonOption,
    WaitOption,
    check_period,
    load,
    print_json,
)

if TYPE_CHECKING:
    from application.context import Context
    from cli.config import Config
    from cli.tables import Table


def _modules(module: list[str] | None) -> list[str]:
    from domain.documents import MODULES

    chosen = module or list(MODULES)
    for name in chosen:
        if name not in MODULES:
            raise typer.BadParameter(
                f"{name!r}: expected one of {', '.join(MODULES)}", param_hint="--module"
            )
    return chosen


@contextmanager
def _opened(
    cfg: Config, command: str, *, apply: bool, wait: bool
) -> Iterator[tuple[Context, bool]]:
    """The context, and whether this run adopts what the office keyed into Sage.

    With --apply, under the one-writer lease (held by another recon: exit 3, or with --wait
    wait for it). Without, under the lease only when it is free, never waiting: adoption
    records events that judge which Sage records are the office's, and a document another
    recon is writing meanwhile would be judged the office's. So with another recon posting,
    a run without --apply adopts nothing, and says so."""
    from cli.bootstrap import context
    from cli.common import lease_if_free

    with ExitStack() as stack:
        adopting = True
        if not apply:
            lease = lease_if_free(
                cfg,
                f"{command} (adopting records keyed in Sage)",
                otherwise="records keyed into Sage by hand are not adopted this run",
            )
            adopting = lease is not None
            if lease is not None:
                stack.enter_context(lease)
        lease_name = f"{command} --apply" if apply else None
        yield stack.enter_context(context(cfg, lease=lease_name, wait=wait)), adopting


def reconcile(
    config: ConfigOption = Path("recon.toml"),
    module: Annotated[
        list[str] | None, typer.Option("--module", "-m", help="Module(s) to reconcile.")
    ] = None,
    period: Annotated[str | None, typer.Option(help="Posting period YYYY-MM.")] = None,
    as_json: JsonOption = False,
    apply: Annotated[bool, typer.Option("--apply", help="Post the corrections.")] = False,
    wait: WaitOption = False,
) -> None:
    """Compare what Sage holds with what it should hold; exit 1 when anything differs.

    With --apply, only one recon posts to a Sage company at a time: another one posting makes
    this one exit 3 naming it, or with --wait wait for it. Without --apply nothing waits; with
    another recon posting, this run adopts nothing the office keyed into Sage."""
    from application import post
    from application.reconcile import reconcile as run
    from domain.documents import AR_INVOICES

    check_period(period)
    modules = _modules(module)
    cfg = load(config)
    documents: dict[tuple[str, str], str] = {}
    with _opened(cfg, "reconcile", apply=apply, wait=wait) as (ctx, adopting):
        findings = run(ctx, modules, period, adopting=adopting)
        result: dict[str, Any] = {
            "period": period,
            "modules": modules,
            "findings": [f.to_json() for f in findings],
            "adopted": ctx.read_model.link_counts(),  # Sage records linked, per module
        }
        if not as_json:
            documents = sage_documents(ctx, result["findings"])
        if apply:  # also carries on postings a batch or a crash left open
            _metered(ctx)
            result["applied"] = post.apply(ctx, findings).to_json()
            result["remaining"] = [f.to_json() for f in run(ctx, modules, period)]
            if not as_json:
                documents.update(sage_documents(ctx, result["remaining"]))
        if apply and AR_INVOICES in modules and cfg.servicetrade.writeback:
            result["written_back"] = _write_back(ctx, cfg)
    if as_json:
        print_json(result)
    else:
        print_findings(result, documents)
    raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)


def _metered(ctx: Context) -> None:
    """Posting shows its progress on a terminal."""
    from cli.progress import Meter, MeteredSink

    meter = Meter()
    if ctx.sink is not None and meter.shown:
        ctx.sink = MeteredSink(ctx.sink, meter)


def sage_documents(ctx: Context, findings: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(module, key) -> the Sage document a finding is about, as the Sage window numbers it
    (``invoice INV-10013``): from the document Sage holds, else the one it should hold."""
    from cli.tables import sage_document

    found: dict[tuple[str, str], str] = {}
    for finding in findings:
        module, key = finding["module"], finding["key"]
        if (module, key) in found:
            continue
        label = ""
        for side in (finding.get("actual"), finding.get("expected")):
            if isinstance(side, dict):
                label = sage_document(module, side)
            if label:
                break
        if not label:
            expected = ctx.read_model.expected_for(module, key)
            if expected is not None:
                label = sage_document(module, expected.header)
        found[(module, key)] = label
    return found


def _write_back(ctx: Context, cfg: Config) -> dict[str, Any]:
    """Mark invoices processed/failed in ServiceTrade; a ServiceTrade outage is only a warning
    (the postings stand, and the next run tells ServiceTrade)."""
    from application.writeback import write_back
    from cli.bootstrap import SOURCE_ERRORS, sources

    try:
        with sources(cfg) as opened:
            return dict(write_back(ctx, opened.servicetrade))
    except SOURCE_ERRORS as exc:
        typer.echo(f"recon: warning: could not update ServiceTrade invoices: {exc}", err=True)
        return {"error": str(exc)}


def print_findings(
    result: dict[str, Any], documents: dict[tuple[str, str], str] | None = None
) -> None:
    """The findings as a table (module, finding, the Sage document, the difference in its
    unit, recon's key), with a count; then what --apply did."""
    from cli.tables import count, stdout_console
    from domain.documents import MODULES

    documents = documents or {}
    findings = result["findings"]
    scope = []
    if result.get("period"):
        scope.append(f"period {result['period']}")
    if result.get("modules") and set(result["modules"]) != set(MODULES):
        scope.append(", ".join(result["modules"]))
    where = f" ({'; '.join(scope)})" if scope else ""
    console = stdout_console()
    if not findings:
        typer.echo(f"Sage holds exactly what it should.{where}")
    else:
        _findings_table(findings, documents).print(console)
        by_module: dict[str, int] = {}
        for f in findings:
            by_module[f["module"]] = by_module.get(f["module"], 0) + 1
        modules = ", ".join(f"{module} {n}" for module, n in by_module.items())
        typer.echo(f"{count(len(findings), 'finding')}{where}: {modules}")
    adopted = result.get("adopted") or {}
    if adopted:
        counts = ", ".join(f"{module} {n}" for module, n in sorted(adopted.items()))
        typer.echo(f"adopted from Sage (keyed before recon): {counts}")
    if "applied" in result:
        applied = result["applied"]
        typer.echo(
            f"applied: {len(applied['confirmed'])} confirmed, {len(applied['failed'])} failed, "
            f"{len(applied['left_for_people'])} left for a person (recon resolve KEY)"
        )
        for label in applied["failed"]:
            typer.echo(f"  failed: {label}")
        for key, why in (applied.get("why_left") or {}).items():
            typer.echo(f"  left for a person: {key}: {why}")
        if applied["rejected"]:
            typer.echo(f"{len(applied['rejected'])} corrections rejected by a person, not posted")
        waiting = len(applied["waiting_for_approval"])
        if waiting:
            typer.echo(f"{waiting} postings wait for approval: recon postings --state proposed")
        remaining = result["remaining"]
        typer.echo(f"remaining findings: {len(remaining)}")
        if remaining:
            _findings_table(remaining, documents).print(console)


def _findings_table(findings: list[dict[str, Any]], documents: dict[tuple[str, str], str]) -> Table:
    from cli.tables import Table, figure

    table = Table("Module", "Finding", "Sage document", "Difference", "Key",
                  right=("Difference",))  # fmt: skip
    for f in findings:
        table.add(
            f["module"],
            f["kind"],
            documents.get((f["module"], f["key"]), ""),
            figure(f["module"], f["difference"]),
            f["key"],
        )
    return table


def replay(
    config: ConfigOption = Path("recon.toml"),
    as_json: JsonOption = False,
    apply: Annotated[bool, typer.Option("--apply", help="Post what Sage is missing.")] = False,
    wait: WaitOption = False,
) -> None:
    """After a Sage restore (or a mapping change): rebuild every projection from the event log,
    then reconcile every module; with --apply, post exactly what Sage no longer holds."""
    from application import post
    from application.reconcile import reconcile as run
    from cli.progress import Meter, MeteredLog

    cfg = load(config)
    documents: dict[tuple[str, str], str] = {}
    with _opened(cfg, "replay", apply=apply, wait=wait) as (ctx, adopting):
        meter = Meter()
        with meter.task("events replayed", total=ctx.store.max_position()) as advance:
            log = MeteredLog(ctx.store, advance) if meter.shown else ctx.store
            events = ctx.read_model.rebuild(log)
        findings = run(ctx, adopting=adopting)
        result: dict[str, Any] = {
            "replayed_events": events,
            "findings": [f.to_json() for f in findings],
        }
        if not as_json:
            documents = sage_documents(ctx, result["findings"])
        if apply:
            _metered(ctx)
            result["applied"] = post.apply(ctx, findings).to_json()
            result["remaining"] = [f.to_json() for f in run(ctx)]
            if not as_json:
                documents.update(sage_documents(ctx, result["remaining"]))
    if as_json:
        print_json(result)
    else:
        typer.echo(f"replayed {events:,} events")
        print_findings(result, documents)
    raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)
