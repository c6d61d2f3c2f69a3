"""The close pack's speed: the demo month through the `recon report` command, and a month of a
Sage company holding about 1,000,000 rows (``bench/run.py``'s ``report_sage_rows`` phase).

Run as ``python3 bench/report.py [--sage-rows N] [--workdir DIR]``; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sage-rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=HERE / "out" / "report")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    demo = workdir / "demo"
    run = [sys.executable, "-m", "cli"]
    subprocess.run([*run, "demo", "--workdir", str(demo)], check=True, capture_output=True)
    # Timed as an installed recon runs: with its bytecode cached (a first, untimed run writes
    # it where PYTHONDONTWRITEBYTECODE had kept it from being written).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    seconds = []
    for attempt in range(4):
        started = time.perf_counter()
        done = subprocess.run(
            [*run, "report", "--config", str(demo / "recon.toml"), "--period", "2026-10",
             "--out", str(workdir / f"close-{attempt}")],
            capture_output=True, text=True, env=env,
        )  # fmt: skip
        if attempt:
            seconds.append(round(time.perf_counter() - started, 2))
        if done.returncode not in (0, 1):
            sys.exit(f"recon report failed:\n{done.stderr}")
    result: dict[str, object] = {
        "cpus": os.cpu_count(),
        "demo_month": {
            "command_seconds": seconds,
            "exit": done.returncode,
            "peak_rss_mib_of_children": round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
            ),
        },
    }
    if args.sage_rows:
        big = subprocess.run(
            [sys.executable, str(HERE / "run.py"), "--changes", "1000", "--phases", "ingest",
             "--sage-rows", str(args.sage_rows), "--workdir", str(workdir / "rows")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures = json.loads(big.stdout)
        result["sage_rows"] = {
            key: figures[key] for key in ("sage_rows_setup", "report_sage_rows") if key in figures
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
