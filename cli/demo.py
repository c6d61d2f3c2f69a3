"""recon demo: the whole job on embedded defaults, from an empty folder to zero findings."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.sage.sandbox import init_sandbox
from cli.bootstrap import runtime, servicetrade
from cli.config import default_config, parse_config, write_config

DEMO_FILES = ("recon.db", "recon.db-wal", "recon.db-shm", "sage.db", "sage.db-wal", "sage.db-shm",
              "simulator.json")  # fmt: skip


def run(
    workdir: Path, *, seed: int = 7, echo: Callable[[str], Any] | None = None
) -> dict[str, Any]:
    """Set up, ingest, reconcile, post and reconcile again; returns a summary."""
    say = echo or (lambda _text: None)
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    for name in DEMO_FILES:
        (workdir / name).unlink(missing_ok=True)
    data = default_config(workdir)
    data["servicetrade"]["simulator"]["seed"] = seed
    config_path = workdir / "recon.toml"
    write_config(config_path, data)
    config = parse_config(data, config_path)
    say(f"configuration: {config_path}")

    init_sandbox(config.sage.url, config.mapping, reset=True)
    say(f"Sage sandbox: {config.sage.url}")

    with runtime(config) as rt, servicetrade(config) as feed:
        report = rt.recon.ingest(feed, overlap=config.servicetrade.overlap_seconds)
        say(
            "ingested from the ServiceTrade simulator: "
            + ", ".join(f"{n} {kind}" for kind, n in report.fetched.items())
            + f"; {sum(report.appended.values())} events, "
            f"{sum(report.rejected.values())} quarantined"
        )
        found = rt.recon.reconcile()
        say(f"first reconcile: {len(found)} findings (Sage starts empty)")
        applied = rt.recon.apply(found)
        say(f"posted: {len(applied.confirmed)} corrections confirmed, {len(applied.failed)} failed")
        written = rt.recon.write_back(feed)
        say(
            f"ServiceTrade told: {written['processed']} invoices processed, "
            f"{written['failed']} failed"
        )
        again = rt.recon.ingest(feed, overlap=config.servicetrade.overlap_seconds)
        say(f"ingested again: {sum(again.appended.values())} events (the status changes)")
        final = rt.recon.reconcile()
        status = rt.recon.status()
    for module, counts in status["modules"].items():
        total = f", total {counts['expected_total']}" if "expected_total" in counts else ""
        say(f"  {module:12} {counts['expected']:5} documents in Sage{total}")
    say(f"final reconcile: {len(final)} findings")
    for finding in final:
        say(f"  {finding.module} {finding.kind} {finding.key}")
    seconds = round(time.monotonic() - started, 1)
    say(f"done in {seconds} s; try: recon reconcile --config {config_path} --json")
    return {
        "config": str(config_path),
        "ingest": report.to_json(),
        "first_findings": len(found),
        "applied": applied.to_json(),
        "written_back": written,
        "final_findings": len(final),
        "status": status,
        "seconds": seconds,
    }
