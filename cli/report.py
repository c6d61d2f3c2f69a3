"""`recon report --period YYYY-MM`: the month-end close pack (docs/close-pack.md)."""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    ConfigOption,
    JsonOption,
    fail,
    load,
    print_json,
)


def report(
    period: Annotated[str, typer.Option(help="The period to close, YYYY-MM.")],
    config: ConfigOption = Path("recon.toml"),
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the pack (html, xlsx, json, csv).")
    ] = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Write the month-end close pack; exit 0 when the period is ready to close, 1 when
    something blocks it."""
    from importlib.metadata import PackageNotFoundError, version

    from adapters.report.write import write_pack
    from adapters.sage.errors import SageError
    from application.report import build_pack
    from cli.bootstrap import context
    from cli.common import PERIOD, lease_if_free
    from cli.config import masked

    if not PERIOD.match(period):
        raise typer.BadParameter(f"{period!r}: expected YYYY-MM", param_hint="--period")
    cfg = load(config)
    try:
        recon_version = version("recon")
    except PackageNotFoundError:
        recon_version = "unknown"
    digest = hashlib.sha256(cfg.path.read_bytes()).hexdigest() if cfg.path else ""
    provenance = {
        "recon_version": recon_version,
        "config_digest": f"sha256:{digest}",
        "store": masked(cfg.store_url),
        "sage": masked(cfg.sage.url),
    }
    try:
        with ExitStack() as stack:
            # Like reconcile without --apply: adopt only with no other recon posting.
            lease = lease_if_free(
                cfg,
                f"report {period} (adopting records keyed in Sage)",
                otherwise="records keyed into Sage by hand are not adopted this run",
            )
            if lease is not None:
                stack.enter_context(lease)
            ctx = stack.enter_context(context(cfg))
            pack = build_pack(ctx, period, adopting=lease is not None, provenance=provenance)
    except SageError as exc:
        raise fail(f"could not read Sage: {exc}", EXIT_UNAVAILABLE) from exc
    try:
        written = write_pack(pack, out)
    except OSError as exc:
        raise fail(f"could not write the pack to {out}: {exc}", EXIT_UNAVAILABLE) from exc
    if as_json:
        print_json(pack)
    else:
        _summary(pack, written)
    raise typer.Exit(EXIT_OK if pack["ready"] else EXIT_FINDINGS)


def _summary(pack: dict[str, Any], written: list[Path]) -> None:
    status = pack["close_status"]
    verdict = "ready to close" if pack["ready"] else f"NOT ready: {status['blocking_count']} "
    verdict += "" if pack["ready"] else "items block close"
    typer.echo(f"close {pack['period']}: {verdict}")
    typer.echo(
        f"  Sage current period {status['current_period'] or 'unknown'}, locked through "
        f"{status['locked_through'] or 'nothing known'}"
    )
    for tie in pack["tieouts"]:
        mark = "ties" if tie["ties"] else f"differs by {tie['difference']}"
        typer.echo(f"  {tie['title']:52} {tie['left']:>14} {tie['right']:>14}  {mark}")
    kinds: dict[str, int] = {}
    for item in pack["blocking"]:
        kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
    for kind, n in kinds.items():
        typer.echo(f"  blocking: {kind.replace('_', ' ')} {n}")
    if written:
        csvs = sum(path.suffix == ".csv" for path in written)
        typer.echo(f"wrote the pack to {written[0].parent}: html, xlsx, json and {csvs} csv")
