"""Write back: tell ServiceTrade what became of the invoices handed to accounting."""

from __future__ import annotations

from application.context import Context
from domain.builders import ar_skip_reason
from domain.documents import AR_INVOICES
from domain.keys import invoice_key
from domain.ports import InvoiceStatusWriter
from domain.reconcile import UNEXPECTED, diff
from domain.source import SERVICETRADE, Invoice, from_payload

PENDING = "pending_accounting"
PROCESSED = "processed"
FAILED = "failed"
#: Not a ServiceTrade status: how many of those marked processed were skipped by rule.
SKIPPED = "skipped"


def write_back(ctx: Context, writer: InvoiceStatusWriter) -> dict[str, int]:
    """An invoice waiting in ``pending_accounting`` that Sage now holds exactly as expected is
    marked ``processed``; one recon cannot map (or whose totals disagree with its lines) is
    marked ``failed`` with a comment saying why, so the office sees it where it works. One
    whose type recon does not post (``ar_skip_reason``) is marked ``processed`` with a comment
    giving the reason: accounting has taken it, and there is nothing to fix in ServiceTrade.
    Anything else stays pending until a later run. ``skipped`` counts the processed ones that
    were skipped."""
    problems = ctx.read_model.problems(AR_INVOICES)
    result = {PROCESSED: 0, FAILED: 0, SKIPPED: 0}
    for source_id, payload in ctx.read_model.payloads(SERVICETRADE, "invoice"):
        if payload.get("status") != PENDING:
            continue
        invoice = from_payload("invoice", payload)
        reason = ar_skip_reason(invoice) if isinstance(invoice, Invoice) else None
        if reason is not None:
            writer.set_invoice_status(source_id, PROCESSED, f"recon: {reason}")
            result[PROCESSED] += 1
            result[SKIPPED] += 1
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
