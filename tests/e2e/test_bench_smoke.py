"""bench/run.py at its smallest: every store phase runs and reports the ratios bench/README.md
reads (the bench is not timed here; its figures are measured by running it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "run.py"


@pytest.mark.slow
def test_every_store_phase_runs_and_is_set_against_its_floor(tmp_path: Path) -> None:
    phases = "ingest,replay,scan,floor,decode,record"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--changes",
            "300",
            "--workdir",
            str(tmp_path),
            "--phases",
            phases,
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ingest"]["source_changes"] == 300
    assert result["replay"]["events"] == result["decode"]["events"] == result["record"]["events"]
    assert result["record"]["events"] == result["floor"]["rows"] == 300
    assert set(result["vs_floor"]) == {
        "ingest",
        "replay",
        "decode",
        "record",
        "replay_vs_decode",
        "ingest_vs_record",
    }
    assert all(ratio > 0 for ratio in result["vs_floor"].values())
    assert "replay: " in done.stderr and "x decode" in done.stderr
