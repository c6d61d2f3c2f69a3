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
    with _opened(cfg, "reconcile", apply=apply, wait=wait) as (ctx, adopting):
        findings = run(ctx, modules, period, adopting=adopting)
        result: dict[str, Any] = {
            "period": period,
            "modules": modules,
            "findings": [f.to_json() for f in findings],
            "adopted": ctx.read_model.link_counts(),  # Sage records linked, per module
        }
        if apply:  # also carries on postings a batch or a crash left open
            result["applied"] = post.apply(ctx, findings).to_json()
            result["remaining"] = [f.to_json() for f in run(ctx, modules, period)]
        if apply and AR_INVOICES in modules and cfg.servicetrade.writeback:
            result["written_back"] = _write_back(ctx, cfg)
    if as_json:
        print_json(result)
    else:
        print_findings(result)
    raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)


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


def print_findings(result: dict[str, Any]) -> None:
    findings = result["findings"]
    if not findings:
        typer.echo("Sage holds exactly what it should.")
    for f in findings:
        difference = f" ({f['difference']})" if f["difference"] is not None else ""
        typer.echo(f"{f['module']:12} {f['kind']:20} {f['key']}{difference}")
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
        typer.echo(f"remaining findings: {len(result['remaining'])}")


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

    cfg = load(config)
    with _opened(cfg, "replay", apply=apply, wait=wait) as (ctx, adopting):
        events = ctx.read_model.rebuild(ctx.store)
        findings = run(ctx, adopting=adopting)
        result: dict[str, Any] = {
            "replayed_events": events,
            "findings": [f.to_json() for f in findings],
        }
        if apply:
            result["applied"] = post.apply(ctx, findings).to_json()
            result["remaining"] = [f.to_json() for f in run(ctx)]
    if as_json:
        print_json(result)
    else:
        typer.echo(f"replayed {events} events")
        print_findings(result)
    raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)
