"""Benchmark: one weekly retraining run (`risk retrain`: train the challenger, judge it against the
champion on the same window, the gate, monitoring, registry) on demo data, beside `risk train` of the
same data measured in the same run (what the run costs beyond training).

    python bench/bench_retrain.py [--cases 1000000] [--seed 1]

Goal (issue 11): a weekly retrain of 1,000,000 cases, gate included, in under 5 minutes on this
machine, peak memory under 6 GB. Each step runs as its own `risk` process, timed whole, with its peak
resident memory (the largest process of the step: ru_maxrss of a small parent per step).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RISK = str(ROOT / ".venv" / "bin" / "risk")


# A small parent for each step, so each step's peak is its own (ru_maxrss of children is a running max).
_MEASURE = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)"
)


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(seconds, peak GiB of its largest process, exit code) of one `risk` command."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, RISK, *args], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return time.perf_counter() - started, int(out[0]) / 2**20, int(out[1])  # KiB -> GiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    data = args.work / f"demo-{args.cases}-{args.seed}"
    store = args.work / f"retrain-{args.cases}"
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlflow.db",
    }
    if not (data / "cases.csv").exists():
        seconds, _, _ = run(
            ["demo-data", "--out", str(data), "--cases", str(args.cases), "--seed", str(args.seed)], env
        )
        print(f"demo data: {args.cases:,} cases generated in {seconds:.0f} s")
    store.mkdir(parents=True, exist_ok=True)
    (store / "mlflow.db").unlink(missing_ok=True)

    # the champion: trained 8 weeks before the export's end (what last week's run would have promoted)
    champion_s, champion_gib, code = run(["train", "--data", str(data), "--holdout-days", "56"], env)
    assert code == 0, "training the champion failed"
    retrain_s, retrain_gib, code = run(
        ["retrain", "--data", str(data), "--no-queue", "--models-dir", str(store)], env
    )
    print(f"{'step':<44}{'seconds':>9}{'peak GiB':>10}")
    print(f"{'risk train (the champion, as of -56 days)':<44}{champion_s:>9.0f}{champion_gib:>10.2f}")
    print(
        f"{'risk retrain (challenger + gate + registry)':<44}{retrain_s:>9.0f}{retrain_gib:>10.2f}   exit {code}"
    )
    print(f"goal: retrain under 300 s ({'met' if retrain_s < 300 else 'not met'}), "
          f"peak under 6 GiB ({'met' if retrain_gib < 6 else 'not met'})")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
