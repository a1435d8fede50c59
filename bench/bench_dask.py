"""Benchmark the Dask path beside the single-machine path on the same demo export: validation
(load + contract checks), as-of history, and the model matrix (case frame + a fitted
featurizer's transform), each checked equal to the single-machine result; wall time per stage
and peak memory per worker, for each number of workers (the scaling table).

    .venv/bin/python bench/bench_dask.py                                  # 20,000 cases, 1 and 2 workers
    .venv/bin/python bench/bench_dask.py --cases 100000 --workers 2 --memory-limit 1GiB

The export is written month-partitioned (one Parquet file per month and table); workers have one
thread each. Dask pays a fixed cost per task and per shuffle partition, so on small data the
single-machine path is faster: the Dask path is for data that one machine cannot hold.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from distributed import wait

from features.build import CaseFeaturizer, case_frame
from features.contract import load_dataset as load_local
from features.history_batch import compute_history_features
from training.demo.generate import DemoConfig, generate_demo_data
from training.distributed import case_frame as dask_case_frame
from training.distributed import connect, feature_frame, history_features, load_dataset, write_partitioned
from training.labels import horizon_labels


def _peak_mib() -> float:
    """This process's peak resident memory since it started its program (VmHWM; ru_maxrss would
    count the parent's memory too, as a worker starts by fork and exec)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def single_machine(folder: Path) -> tuple[dict[str, float], pd.DataFrame, CaseFeaturizer, np.ndarray]:
    seconds = {}
    start = time.perf_counter()
    data = load_local(folder, write_rejects=False)
    seconds["validate"] = time.perf_counter() - start
    known = data.areas.dropna(subset=["population"])
    population = dict(zip(known["area_code"], known["population"].astype(float), strict=True))
    start = time.perf_counter()
    history = compute_history_features(data.cases, data.parties, population)
    seconds["history"] = time.perf_counter() - start
    frame = case_frame(data.cases, history)
    labels = horizon_labels(data.cases, 90, data.export_date)
    mature = labels.notna().to_numpy()
    featurizer = CaseFeaturizer(text_max_features=5000, text_min_df=3).fit(
        frame[mature], labels[mature].to_numpy()
    )
    start = time.perf_counter()
    matrix = featurizer.transform(frame)
    seconds["matrix"] = time.perf_counter() - start
    return seconds, history.assign(case_id=data.cases["case_id"].to_numpy()), featurizer, matrix


def on_dask(
    folder: Path, workers: int, memory_limit: str, featurizer: CaseFeaturizer
) -> tuple[dict[str, float], list[float], pd.DataFrame, pd.DataFrame]:
    seconds = {}
    with connect(n_workers=workers, threads_per_worker=1, memory_limit=memory_limit) as client:
        start = time.perf_counter()
        data = load_dataset(folder, write_rejects=False)
        seconds["validate"] = time.perf_counter() - start
        start = time.perf_counter()
        history = history_features(data.cases, data.parties, data.population()).persist()
        wait(history)
        seconds["history"] = time.perf_counter() - start
        start = time.perf_counter()
        matrix = feature_frame(dask_case_frame(data.cases, history), featurizer).persist()
        wait(matrix)
        seconds["matrix"] = time.perf_counter() - start
        peaks = sorted(client.run(_peak_mib).values())
        case_ids = data.cases["case_id"].compute()  # row id -> case_id
        got_history, got_matrix = history.compute(), matrix.compute()
        return (
            seconds,
            peaks,
            got_history.set_axis(case_ids.loc[got_history.index].to_numpy()),
            got_matrix.set_axis(case_ids.loc[got_matrix.index].to_numpy()),
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--memory-limit", default="4GiB", help="per worker, e.g. 1GiB")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        source, months = Path(tmp) / "csv", Path(tmp) / "months"
        start = time.perf_counter()
        generate_demo_data(source, DemoConfig(n_cases=args.cases, seed=args.seed))
        files = write_partitioned(source, months)
        print(f"{args.cases:,} demo cases, {len(files)} Parquet files: {time.perf_counter() - start:.1f} s")

        seconds, history, featurizer, matrix = single_machine(source)
        rows = [("single machine", seconds, [_peak_mib()], "-")]
        for workers in args.workers:
            got_seconds, peaks, got_history, got_matrix = on_dask(
                months, workers, args.memory_limit, featurizer
            )
            ids = history["case_id"].to_numpy()
            same = got_history.loc[ids].reset_index(drop=True).equals(
                history.drop(columns="case_id")
            ) and np.array_equal(got_matrix.loc[ids].to_numpy(), matrix, equal_nan=True)
            rows.append(
                (f"Dask, {workers} worker{'s' * (workers > 1)}", got_seconds, peaks, "yes" if same else "NO")
            )

    print(f"\n{'':18} {'validate':>9} {'history':>9} {'matrix':>9} {'total':>9}  {'peak MiB':>18}  equal")
    for name, s, peaks, same in rows:
        peak = " / ".join(f"{p:,.0f}" for p in peaks)
        print(
            f"{name:18} {s['validate']:8.1f}s {s['history']:8.1f}s {s['matrix']:8.1f}s {sum(s.values()):8.1f}s"
            f"  {peak:>18}  {same}"
        )
    print(
        "peak MiB: this process for the single machine (it also holds the generator's imports), each worker for Dask"
    )


if __name__ == "__main__":
    main()
