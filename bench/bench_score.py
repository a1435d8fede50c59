"""Benchmark: batch scoring and the area index on demo data, beside the per-case path measured in
the same run.

    python bench/bench_score.py [--cases 100000] [--seed 1] [--baseline 3000] [--workers 2]

Trains (once, cached) a model as of 26 weeks before the export's end, then times:
- the per-case path on a sample (``score_case`` one case at a time, each case then fed to the
  history): what batch scoring cost per row before it was vectorised;
- batch scoring of every case of the export without reasons (``training.score.score_for_index``:
  vectorised history, cue counts and policy; the featurizer in this process unless ``--workers``
  N > 1 spawns N), in cases per second;
- the area index over every week of the export (``risk.area_index.weekly_area_index``).
Goals (issue 10): batch scoring >= 20,000 cases/s; index + scoring of 1,000,000 cases over 156
weeks in under 2 minutes.
"""

from __future__ import annotations

import argparse
import copy
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features.areas import AreaTree, population_of  # noqa: E402
from features.contract import load_dataset  # noqa: E402
from features.history_state import HistoryState  # noqa: E402
from risk.area_index import weekly_area_index  # noqa: E402
from training.score import score_for_index  # noqa: E402


def model_for(data: Path, work: Path, as_of: pd.Timestamp):  # noqa: ANN201
    cached = work / f"model-{data.name}-{as_of.date()}.pkl"
    if cached.exists():
        return pickle.loads(cached.read_bytes())
    from training.train import run_training

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    with tempfile.TemporaryDirectory() as tmp:
        model = run_training(
            data, tracking_uri=f"sqlite:///{tmp}/mlflow.db", as_of=as_of, models_dir=Path(tmp)
        ).model
    cached.write_bytes(pickle.dumps(model))
    return model


def per_case_rate(model, dataset, n: int) -> float:  # noqa: ANN001
    """Cases per second of the per-row path: each case's history looked up and featurised on its
    own (``score_case`` against a state that holds the export), which is what batch scoring did
    per row before it was vectorised."""
    cases = dataset.cases.sort_values("registered_at").tail(n)
    by_case = {cid: g.to_dict("records") for cid, g in dataset.parties.groupby("case_id")}
    state = copy.deepcopy(model.history)
    state.update(dataset.cases, dataset.parties)
    started = time.perf_counter()
    for case in cases.to_dict("records"):
        model.score_case(case, by_case.get(case["case_id"], []), history=state, n_reasons=0)
    return n / (time.perf_counter() - started)


def demo(work: Path, cases: int, seed: int) -> Path:
    data = work / f"demo-{cases}-{seed}"
    if not (data / "cases.csv").exists():
        from training.demo.generate import DemoConfig, generate_demo_data

        generate_demo_data(data, DemoConfig(n_cases=cases, seed=seed))
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline", type=int, default=3000, help="cases timed on the per-case path")
    parser.add_argument("--workers", type=int, default=None, help="featurizer processes (default: this one)")
    parser.add_argument(
        "--train-cases",
        type=int,
        default=None,
        help="train the model on a demo export of this size (default: the scored one); scoring speed "
        "does not depend on it, and a 1M-case training costs minutes the bench does not measure",
    )
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    data = demo(args.work, args.cases, args.seed)
    trained_on = demo(args.work, args.train_cases, args.seed) if args.train_cases else data
    t = time.perf_counter()
    dataset = load_dataset(data, write_rejects=False)
    load_seconds = time.perf_counter() - t
    as_of = (
        load_dataset(trained_on, write_rejects=False).export_date if args.train_cases else dataset.export_date
    )
    model = model_for(trained_on, args.work, as_of.normalize() - pd.Timedelta(weeks=26))
    if args.train_cases:
        # The model's history is another export's (its case ids recur here): score this export
        # against its own records only, with its areas' population.
        model.history = HistoryState(population_of(dataset.areas))

    baseline = per_case_rate(model, dataset, args.baseline)
    t = time.perf_counter()
    scored = score_for_index(model, dataset, workers=args.workers)
    score_seconds = time.perf_counter() - t
    t = time.perf_counter()
    index = weekly_area_index(scored, AreaTree.from_frame(dataset.areas))
    index_seconds = time.perf_counter() - t
    weeks = index["week"].nunique()

    print(f"demo export: {len(dataset.cases):,} cases, loaded and validated in {load_seconds:.1f} s")
    print(f"{'path':<44}{'cases/s':>12}")
    print(
        f"{'per row (score_case, one case at a time)':<44}{baseline:>12,.0f}   (sample of {args.baseline:,})"
    )
    print(
        f"{'batch (score_for_index, no reasons)':<44}{len(scored) / score_seconds:>12,.0f}   ({score_seconds:.1f} s)"
    )
    print(
        f"area index: {len(index):,} rows, {index['area_code'].nunique():,} areas x {weeks} weeks in {index_seconds:.1f} s"
    )
    print(
        f"index + scoring: {score_seconds + index_seconds:.1f} s (plus {load_seconds:.1f} s to load the export)"
    )
    print(f"goal batch >= 20,000 cases/s: {'met' if len(scored) / score_seconds >= 20_000 else 'not met'}")


if __name__ == "__main__":
    main()
