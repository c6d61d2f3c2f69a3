"""Write back: tell ServiceTrade what became of the invoices handed to accounting."""

from __future__ import annotations

from application.context import Context
from domain.documents import AR_INVOICES
from domain.keys import invoice_key
from domain.ports import InvoiceStatusWriter
from domain.reconcile import UNEXPECTED, diff
from domain.source import SERVICETRADE

PENDING = "pending_accounting"
PROCESSED = "processed"
FAILED = "failed"


def write_back(ctx: Context, writer: InvoiceStatusWriter) -> dict[str, int]:
    """An invoice waiting in ``pending_accounting`` that Sage now holds exactly as expected is
    marked ``processed``; one recon cannot map is marked ``failed`` with a comment saying what
    to map, so the office sees it where it works. Anything else stays pending until a later
    run."""
    problems = ctx.read_model.problems(AR_INVOICES)
    result = {PROCESSED: 0, FAILED: 0}
    for source_id, payload in ctx.read_model.payloads(SERVICETRADE, "invoice"):
        if payload.get("status") != PENDING:
            continue
        key = invoice_key(source_id)
        if key in problems:
            writer.set_invoice_status(source_id, FAILED, f"recon: {problems[key]}")
            result[FAILED] += 1
            continue
        expected = ctx.read_model.expected_for(AR_INVOICES, key)
        if expected is None:
            continue
        held = ctx.sage().read_key(AR_INVOICES, key)
        if not [f for f in diff(AR_INVOICES, [expected], held) if f.kind != UNEXPECTED]:
            writer.set_invoice_status(source_id, PROCESSED)
            result[PROCESSED] += 1
    return result
