"""`recon --help` starts fast: building the command tree imports no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

#: Loaded only when a command runs (each costs 0.1-0.5 s to import).
HEAVY = ("sqlalchemy", "eventsourcing", "httpx", "pydantic", "pendulum", "simulator.api")


def test_the_command_tree_imports_no_heavy_library() -> None:
    probe = "import sys, json, cli.main; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert "typer" in loaded  # the probe saw the real import
    assert sorted(m for m in HEAVY if m in loaded) == []
