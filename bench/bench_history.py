"""Benchmark the as-of history features: batch path vs HistoryState, on synthetic data.

    .venv/bin/python bench/bench_history.py                # 100k and 1M cases
    .venv/bin/python bench/bench_history.py --sizes 100000 --sample 1000

For each size: compute_history_features on everything (seconds, rows/s); HistoryState built
from all but the last ``--sample`` cases, then ``features_for`` on those (rows/s, checked equal
to the batch rows) and ``features_one`` latency; the pickled state's size.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time

import numpy as np
import pandas as pd

from features.history_batch import compute_history_features
from features.history_state import HistoryState
from features.schema import KEY_GROUPS


def synthetic(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """n cases over three years, ~2.2 parties each, heavy-tailed repeat parties, 3% escalated."""
    rng = np.random.default_rng(seed)
    registered = pd.Timestamp("2021-01-01") + pd.to_timedelta(
        np.sort(rng.integers(0, 3 * 365 * 86_400, n)), unit="s"
    )
    town = rng.integers(0, 400, n)
    village = np.where(rng.random(n) < 0.05, 0, rng.integers(1, 25, n))
    area = (320600000000 + town * 1000 + village).astype(str)
    escalated = rng.random(n) < 0.03
    escalated_at = pd.Series(registered + pd.to_timedelta(rng.exponential(40, n), unit="D")).where(escalated)
    case_ids = np.char.add("C", np.arange(n).astype(str))
    cases = pd.DataFrame(
        {
            "case_id": case_ids,
            "registered_at": registered,
            "area_code": area,
            "escalated": escalated,
            "escalated_at": escalated_at.astype("datetime64[ns]"),
        }
    )
    sizes = np.clip(1 + rng.poisson(1.2, n), 1, 8)
    m = int(sizes.sum())
    people = (0.6 * n * rng.random(m) ** 2).astype(np.int64)  # a few people come back often
    tags = np.where(rng.random(m) < 0.05, rng.choice(KEY_GROUPS, m), "")
    org = rng.random(m) < 0.08
    parties = pd.DataFrame(
        {
            "case_id": np.repeat(case_ids, sizes),
            "party_id": np.char.add(np.where(org, "O", "P"), people.astype(str)),
            "role": "申请方",
            "party_type": np.where(org, "单位", "自然人"),
            "key_groups": tags,
        }
    )
    codes = np.unique(area)
    population = dict(zip(codes[::3], rng.integers(500, 20_000, len(codes[::3])).astype(float), strict=True))
    return cases, parties, population


def bench(n: int, sample: int) -> None:
    cases, parties, population = synthetic(n)
    print(f"\n== {n:,} cases, {len(parties):,} party rows")

    start = time.perf_counter()
    batch = compute_history_features(cases, parties, population)
    seconds = time.perf_counter() - start
    batch_rate = n / seconds
    print(f"batch  compute_history_features: {seconds:8.2f} s  {batch_rate:12,.0f} cases/s")

    head, tail = cases.iloc[:-sample], cases.iloc[-sample:]
    start = time.perf_counter()
    state = HistoryState.from_records(head, parties[parties["case_id"].isin(head["case_id"])], population)
    built = time.perf_counter() - start
    blob = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    print(f"state  from_records ({len(head):,} cases): {built:8.2f} s;  pickled {len(blob) / 1e6:,.1f} MB")

    start = time.perf_counter()
    got = state.features_for(tail, parties[parties["case_id"].isin(tail["case_id"])])
    seconds = time.perf_counter() - start
    state_rate = sample / seconds
    same = got.equals(batch.loc[tail.index])
    print(
        f"state  features_for ({sample:,} cases): {seconds:8.2f} s  {state_rate:12,.0f} cases/s  equal to batch: {same}"
    )
    print(f"batch path is x{batch_rate / state_rate:,.0f} faster per case than the state path")

    by_case = parties.groupby("case_id", sort=False)
    state.features_one(
        tail.iloc[0].to_dict(), by_case.get_group(tail.iloc[0]["case_id"]).to_dict("records")
    )  # warm-up
    wall, cpu = [], []  # CPU time too: on a shared machine a preempted call shows ~4 ms of wall time
    for i in tail.index[: min(sample, 500)]:
        case = tail.loc[i].to_dict()
        its = by_case.get_group(case["case_id"]).to_dict("records")
        start, start_cpu = time.perf_counter(), time.thread_time()
        state.features_one(case, its)
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    wall.sort()
    cpu.sort()
    p99 = int(0.99 * (len(wall) - 1))
    print(
        f"state  features_one: wall median {statistics.median(wall) * 1e6:5.0f} us, p99 {wall[p99] * 1e6:5.0f} us;"
        f"  CPU median {statistics.median(cpu) * 1e6:5.0f} us, p99 {cpu[p99] * 1e6:5.0f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--sample", type=int, default=2000, help="cases scored through HistoryState")
    args = parser.parse_args()
    for n in args.sizes:
        bench(n, args.sample)


if __name__ == "__main__":
    main()
