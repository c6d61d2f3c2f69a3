"""How long `recon --help` takes, wall clock: the median and worst of several runs."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cli", "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    print(
        f"recon --help: median {statistics.median(times):.3f} s, "
        f"worst {max(times):.3f} s over {args.runs} runs (target 0.400 s)"
    )


if __name__ == "__main__":
    main()
