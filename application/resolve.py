"""Resolve: a person settles a document in Sage that recon did not expect."""

from __future__ import annotations

from application.context import Context
from application.post import PostReport, post
from domain.keys import UnknownKey, module_of_key
from domain.posting import ACCEPT, Decision, Resolution, resolution_id, void_correction
from domain.reconcile import UNEXPECTED, diff

DECISIONS = tuple(Decision)


class ResolveError(ValueError):
    """A resolve request recon cannot act on; the message says why."""


def resolve(ctx: Context, key: str, decision: str, by: str, why: str) -> PostReport:
    """Keep the document (it is no longer reported), or have recon post its void; the
    decision is recorded with who and why."""
    if decision not in DECISIONS:
        raise ResolveError(f"{decision!r}: expected one of {', '.join(DECISIONS)}")
    try:
        module = module_of_key(key)
    except UnknownKey as exc:
        raise ResolveError(str(exc)) from exc
    expected = ctx.read_model.expected_for(module, key)
    settled = ctx.read_model.settled_keys()
    held = ctx.sage().read_key(module, key)
    findings = [
        f
        for f in diff(
            module,
            [] if expected is None else [expected],
            held,
            accepted=settled if decision == ACCEPT else (),
        )
        if f.kind == UNEXPECTED
    ]
    if not findings:
        why_not = (
            "already settled by a person" if key in settled else "Sage holds what recon expects"
        )
        raise ResolveError(f"{key}: no {UNEXPECTED} finding to resolve ({why_not})")
    if any(row["key"] == key for row in ctx.read_model.open_postings()):
        raise ResolveError(f"{key}: a posting for it is open already (recon postings --state all)")
    found = ctx.store.get(resolution_id(key))
    resolution = found if isinstance(found, Resolution) else Resolution(key=key, module=module)
    if decision == ACCEPT:
        resolution.accept(by, why)
        ctx.store.save(resolution)
        ctx.catch_up()
        return PostReport()
    # The person's decision is the void's approval. The key is settled only once the void is
    # confirmed: a void Sage refuses leaves the document reported.
    resolution.request_void(by, why)
    ctx.store.save(resolution)
    corrections = [void_correction(finding, by, why) for finding in findings]
    return post(ctx, corrections, approved_by=(by, why))
