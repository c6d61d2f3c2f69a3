"""`recon postings`, `recon approve` and `recon reject`: what waits for a person, and deciding."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import ConfigOption, JsonOption, WaitOption, fail, load, print_json

IdsArgument = Annotated[
    list[str] | None,
    typer.Argument(help="Posting ids as recon postings shows them (or any unambiguous start)."),
]
WhyOption = Annotated[str, typer.Option(help="Why (kept with the decision).")]
ByOption = Annotated[str | None, typer.Option(help="Who decides (default: the OS user).")]


def postings(
    state: Annotated[
        str,
        typer.Option(
            help="proposed (waiting for a person), approved, submitted, confirmed, failed, "
            "rejected, withdrawn, or all."
        ),
    ] = "proposed",
    config: ConfigOption = Path("recon.toml"),
    as_json: JsonOption = False,
) -> None:
    """List postings (by default what waits for approval): finding, Sage document, amount."""
    from application.approve import ALL
    from application.approve import postings as run
    from cli.bootstrap import context
    from domain.posting import STATES

    if state != ALL and state not in STATES:
        raise typer.BadParameter(
            f"{state!r}: expected one of {', '.join((*STATES, ALL))}", param_hint="--state"
        )
    cfg = load(config)
    documents: dict[str, str] = {}
    with context(cfg, with_sage=False) as ctx:
        rows = run(ctx, state)
        if not as_json:
            documents = _documents(ctx, rows)
    if as_json:
        print_json({"state": state, "postings": rows})
        return
    if not rows:
        typer.echo("nothing waits for approval" if state == "proposed" else f"no {state} postings")
        return
    print_postings(rows, documents)
    typer.echo(f"{len(rows)} postings ({state})")
    if state == "proposed":
        typer.echo(
            "approve: recon approve ID... --by NAME --why TEXT (or --all); "
            "reject: recon reject ID... --by NAME --why TEXT"
        )


def _documents(ctx: Any, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Posting id -> the Sage document it is about, numbered as Sage shows it (for a
    document recon expects; a stray Sage record is named by its table and record number)."""
    from cli.tables import sage_document

    found: dict[str, str] = {}
    for row in rows:
        expected = ctx.read_model.expected_for(row["module"], row["key"])
        found[row["id"]] = "" if expected is None else sage_document(row["module"], expected.header)
    return found


def sage_record(row: dict[str, Any]) -> str:
    """The Sage table and record numbers a posting touches (or wrote)."""
    refs = ", ".join(str(ref) for ref in row["sage_refs"])
    written = ", ".join(str(ref) for ref in row["written"])
    if refs:
        return f"{row['sage_table']} {refs}"
    if written:
        return f"{row['sage_table']} {written} (new)"
    return "(new)"


def print_postings(rows: list[dict[str, Any]], documents: dict[str, str] | None = None) -> None:
    """Postings as a table: id, state, module, action, the Sage document and record, the
    amount in its unit (payroll in hours), the period; then why each waits or who decided."""
    from cli.tables import Table, figure, stdout_console

    documents = documents or {}
    table = Table("ID", "State", "Module", "Action", "Sage document", "Sage record", "Amount",
                  "Period", "Key", right=("Amount",))  # fmt: skip
    notes: list[str] = []
    for row in rows:
        table.add(
            row["short_id"],
            row["state"],
            row["module"],
            row["action"],
            documents.get(row["id"], ""),
            sage_record(row),
            figure(row["module"], row["amount"]),
            row["period"] or "",
            row["key"],
        )
        for i, line in enumerate(_notes(row)):
            notes.append(f"{row['short_id'] if i == 0 else '':8}  {line}")
    table.print(stdout_console())
    if notes:
        typer.echo("")
    for line in notes:
        typer.echo(line)


def _notes(row: dict[str, Any]) -> list[str]:
    said = []
    if row["state"] in ("proposed", "failed", "rejected") or not row["by_policy"]:
        said.append(f"finding: {row['finding']}")
    if row["waits_because"]:
        said.append(f"waits: {'; '.join(row['waits_because'])}")
    if row["decided_by"] and not row["by_policy"]:
        verb = "approved" if row["state"] != "rejected" else "rejected"
        said.append(f"{verb} by {row['decided_by']} at {row['decided_at']}: {row['decided_why']}")
    if row["note"]:
        said.append(f"note: {row['note']}")
    return said


def _decision(why: str, by: str | None) -> str:
    if not why.strip():
        raise typer.BadParameter("say why, e.g. --why 'checked against the customer's copy'")
    who = by if by is not None else getpass.getuser()
    if not who.strip():
        raise typer.BadParameter("say who decides, e.g. --by controller", param_hint="--by")
    return who


def approve(
    ids: IdsArgument = None,
    every: Annotated[bool, typer.Option("--all", help="Approve every posting that waits.")] = False,
    why: WhyOption = "",
    by: ByOption = None,
    config: ConfigOption = Path("recon.toml"),
    as_json: JsonOption = False,
    wait: WaitOption = False,
) -> None:
    """Approve postings that wait; the next `recon reconcile --apply` posts them."""
    from application.approve import ApprovalError
    from application.approve import approve as run
    from cli.bootstrap import context

    if bool(ids) == every:
        raise typer.BadParameter("give posting ids, or --all")
    who = _decision(why, by)
    cfg = load(config)
    with context(cfg, with_sage=False, lease="approve", wait=wait) as ctx:
        try:
            rows = run(ctx, ids or [], who, why, every=every)
        except ApprovalError as exc:
            raise fail(str(exc)) from exc
        locked = [row for row in rows if ctx.periods.is_locked(row["period"])]
    _report(rows, "approved", who, as_json, locked=locked)
    if rows and not as_json:
        typer.echo("the next recon reconcile --apply posts them")
        for row in locked:
            typer.echo(
                f"recon: warning: {row['short_id']} is in locked period {row['period']}: "
                "it will not be written (nothing is written into a locked period)",
                err=True,
            )


def reject(
    ids: IdsArgument = None,
    why: WhyOption = "",
    by: ByOption = None,
    config: ConfigOption = Path("recon.toml"),
    as_json: JsonOption = False,
    wait: WaitOption = False,
) -> None:
    """Reject postings: never written, nor proposed again unless what Sage should hold changes."""
    from application.approve import ApprovalError
    from application.approve import reject as run
    from cli.bootstrap import context

    if not ids:
        raise typer.BadParameter("give the ids of the postings to reject")
    who = _decision(why, by)
    cfg = load(config)
    with context(cfg, with_sage=False, lease="reject", wait=wait) as ctx:
        try:
            rows = run(ctx, ids, who, why)
        except ApprovalError as exc:
            raise fail(str(exc)) from exc
    _report(rows, "rejected", who, as_json)


def _report(
    rows: list[dict[str, Any]],
    verb: str,
    who: str,
    as_json: bool,
    locked: list[dict[str, Any]] | None = None,
) -> None:
    if as_json:
        result: dict[str, Any] = {verb: rows}
        if locked is not None:
            result["in_locked_periods"] = [row["id"] for row in locked]
        print_json(result)
        return
    if not rows:
        typer.echo("nothing waits for approval")
        return
    typer.echo(f"{verb} by {who}: {len(rows)} postings")
    for row in rows:
        typer.echo(f"  {row['short_id']}  {row['module']} {row['key']} ({row['action']})")
