"""Benchmark the demo-data generator against plain pandas writing of the same rows.

    .venv/bin/python bench/bench_demo_data.py            # 100k cases
    .venv/bin/python bench/bench_demo_data.py --million  # 100k and 1M cases

For each size: seconds for ``generate_demo_data`` (build + write, CSV), split into build and
write, cases/s; then the baseline measured in the same run: ``DataFrame.to_csv`` of the very same
cases/parties/areas frames (the I/O floor any generator pays), and the ratio between the two.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from training.demo.generate import DemoConfig, build_demo_tables, write_demo_tables


def bench(n: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        tables = build_demo_tables(DemoConfig(n_cases=n, seed=seed))
        t1 = time.perf_counter()
        write_demo_tables(tables, Path(tmp) / "demo")
        t2 = time.perf_counter()
        baseline = Path(tmp) / "baseline"
        baseline.mkdir()
        for name in ("cases", "parties", "areas"):
            getattr(tables, name).to_csv(baseline / f"{name}.csv", index=False)
        t3 = time.perf_counter()
    total, write, plain = t2 - t0, t2 - t1, t3 - t2
    rows = len(tables.cases) + len(tables.parties)
    print(
        f"{n:>9,} cases  generate {total:6.1f} s (build {t1 - t0:5.1f} s, write {write:4.1f} s)  "
        f"{n / total:8,.0f} cases/s  {rows / total:8,.0f} rows/s"
    )
    print(
        f"{'':>9}        baseline: pandas to_csv of the same {rows:,} case+party rows {plain:5.1f} s "
        f"-> generating costs {total / plain:4.1f}x writing"
    )
    meta = tables.meta
    print(
        f"{'':>9}        90-day base rate {meta['base_rate_90d']:.2%}, mean p_true {meta['mean_p_true']:.2%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--million", action="store_true", help="also generate 1,000,000 cases")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for n in (100_000, 1_000_000) if args.million else (100_000,):
        bench(n, args.seed)


if __name__ == "__main__":
    main()
