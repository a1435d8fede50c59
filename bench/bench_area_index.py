"""Validation bench of the 社会矛盾风险指数: does the top 10% of areas by the index capture more of the
next 4 weeks' escalations than the top 10% by counting?

    .venv/bin/python bench/bench_area_index.py [--cases 100000] [--seed 1] [--weeks 30] [--fresh] [--million]

Demo data (generated once into --work), a model trained as of T = the Monday --weeks weeks before the
export's end, every case since T - 95 weeks scored as of its registration (bench/area_index_data.py).
Rankings of villages and towns at each week W:

    index      the index at W (risk.area_index.weekly_area_index)
    cases_4w   disputes registered in the last 4 weeks            (counting baseline a)
    escal_12w  escalations in the last 12 weeks                   (counting baseline b)
    truth      sum of the generator's p_true over the open cases  (the limit, demo data only)

scored on the escalations of weeks W+1..W+4: capture, PAI and PEI* (risk.index_validation), pooled
over weeks with intervals from resampling weeks. The index's parameters are chosen on the tuning
weeks (outcomes before T: the model's own past) from a small grid, then judged on the evaluation
weeks (W from T on, their next 4 weeks inside the export), which no choice ever saw.
Writes bench/out/area_index_metrics.csv (and _tuning.csv).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import area_index_data as data  # noqa: E402

from features.areas import AreaTree  # noqa: E402
from risk.area_index import IndexConfig, weekly_area_index  # noqa: E402
from risk.index_forecast import fit_delay  # noqa: E402
from risk.index_validation import hits_at_top, pooled, pooled_difference  # noqa: E402

LEVELS = ("village", "town")
METHODS = ("index", "cases_4w", "escal_12w", "truth")
HISTORY_WEEKS_SCORED = 95  # cases scored before T: the history the first tuning weeks look back on
TUNING_WEEKS = 26


def rankings(index: pd.DataFrame, truth: pd.DataFrame, level: str) -> dict[str, pd.DataFrame]:
    """(areas x weeks) score of each method at one level."""
    rows = index[index["level"] == level]
    wide = lambda column: rows.pivot(index="area_code", columns="week_start", values=column)  # noqa: E731
    open_truth = truth[truth["level"] == level].pivot(index="area_code", columns="week_start",
                                                      values="expected_escalations")  # fmt: skip
    return {
        "index": wide("index"),
        "cases_4w": wide("cases").T.rolling(4, min_periods=1).sum().T,
        "escal_12w": wide("escalations").T.rolling(12, min_periods=1).sum().T,
        "truth": open_truth,
    }


def next_weeks(
    dataset: data.Dataset, tree: AreaTree, level: str, mondays: pd.DatetimeIndex, weeks: int = 4
) -> pd.DataFrame:
    """(areas x weeks) escalations of the area's cases in the ``weeks`` weeks after each week."""
    cases = dataset.cases.loc[dataset.cases["escalated_at"].notna(), ["area_code", "escalated_at"]]
    own = {code: tree.ancestor_at(code, level) for code in cases["area_code"].unique()}
    area = cases["area_code"].map(own)
    codes = tree.codes(level)
    out = pd.DataFrame(0.0, index=pd.Index(codes, name="area_code"), columns=mondays)
    when = cases["escalated_at"].to_numpy()
    for monday in mondays:  # one vectorised count per evaluated week (a few dozen)
        end = monday + pd.Timedelta(weeks=1)
        hit = (when >= end.to_datetime64()) & (when < (end + pd.Timedelta(weeks=weeks)).to_datetime64())
        counts = area[hit].value_counts()
        out[monday] = counts.reindex(codes, fill_value=0).to_numpy(dtype=float)
    return out


def week_hits(scores: dict[str, pd.DataFrame], outcome: pd.DataFrame, mondays, share: float) -> pd.DataFrame:
    rows = []
    for method, wide in scores.items():
        aligned = wide.reindex(index=outcome.index)
        for monday in mondays:
            hits = hits_at_top(aligned[monday].fillna(0.0).to_numpy(), outcome[monday].to_numpy(), share)
            rows.append({"method": method, "week_start": monday, **dataclasses.asdict(hits)})
    return pd.DataFrame(rows)


def evaluate(index, truth, dataset, tree, mondays, share, n_boot) -> tuple[pd.DataFrame, pd.DataFrame]:
    metrics, hits_all = [], []
    for level in LEVELS:
        outcome = next_weeks(dataset, tree, level, mondays)
        hits = week_hits(rankings(index, truth, level), outcome, mondays, share)
        hits_all.append(hits.assign(level=level))
        by = {m: hits[hits["method"] == m].reset_index(drop=True) for m in METHODS}
        for method in METHODS:
            metrics.append(pooled(by[method], n_boot=n_boot).assign(level=level, method=method, compared="-"))
            if method != "index":
                diff = pooled_difference(by["index"], by[method], n_boot=n_boot)
                metrics.append(diff.assign(level=level, method="index - " + method, compared=method))
    return pd.concat(metrics, ignore_index=True), pd.concat(hits_all, ignore_index=True)


def candidates(base: IndexConfig) -> list[IndexConfig]:
    """The small grid the tuning weeks choose from."""
    grid = []
    for volume in (13, 26, 52):
        for history in (26, 52):  # longer windows would reach before the scored cases
            for cv in (0.05, 0.2):
                grid.append(
                    dataclasses.replace(base, volume_weeks=volume, history_weeks=history, min_prior_cv=cv)
                )
    return grid


def weeks_of(end: pd.Timestamp, as_of: pd.Timestamp) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Mondays of the tuning weeks (their next 4 weeks end by ``as_of``) and of the evaluation weeks
    (ending at ``as_of`` or later, their next 4 weeks inside the export)."""
    last_eval = end - pd.Timedelta(weeks=5)
    evaluation = pd.date_range(as_of - pd.Timedelta(weeks=1), last_eval, freq="7D")
    last_tune = as_of - pd.Timedelta(weeks=5)
    tuning = pd.date_range(last_tune - pd.Timedelta(weeks=TUNING_WEEKS - 1), last_tune, freq="7D")
    return tuning, evaluation


def timed(work):  # type: ignore[no-untyped-def]
    """The result and "wall s (CPU s)": the machine is shared, CPU seconds are what the work costs."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, f"{time.perf_counter() - wall:.1f} ({time.process_time() - cpu:.1f} CPU)"


def scored_cases(
    folder: Path, dataset: data.Dataset, as_of: pd.Timestamp, fresh: bool
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The scored cases, from the cache an earlier run left unless ``fresh``."""
    cache = folder / f"scored-as-of-{as_of.date()}.parquet"
    clock: dict[str, str] = {}
    if cache.exists() and not fresh:
        clock["train + score"] = f"cached in {cache.name}"
        return pd.read_parquet(cache), clock
    model, clock["train"] = timed(lambda: data.train_model(folder, as_of))
    since = as_of - pd.Timedelta(weeks=HISTORY_WEEKS_SCORED)
    scored, clock["score"] = timed(lambda: data.score_cases(model, dataset, since=since))
    scored.to_parquet(cache)
    return scored, clock


def tune(
    scored, truth_cases, dataset, tree, mondays, base: IndexConfig, n_boot: int
) -> tuple[IndexConfig, pd.DataFrame]:
    """The candidate with the best mean capture (village and town) on the tuning weeks."""
    truth = weekly_area_index(truth_cases, tree, start=mondays[0], end=mondays[-1], config=base)
    rows = []
    for i, config in enumerate(candidates(base)):
        index = weekly_area_index(scored, tree, start=mondays[0], end=mondays[-1], config=config)
        metrics, _ = evaluate(index, truth, dataset, tree, mondays, 0.1, n_boot)
        capture = metrics[(metrics["method"] == "index") & (metrics["metric"] == "capture")]
        rows.append(
            {
                "candidate": i,
                "volume_weeks": config.volume_weeks,
                "history_weeks": config.history_weeks,
                "min_prior_cv": config.min_prior_cv,
                **dict(zip(capture["level"], capture["value"], strict=True)),
            }
        )
    table = pd.DataFrame(rows)
    table["mean"] = table[list(LEVELS)].mean(axis=1)
    best = int(table.sort_values(["mean", "candidate"], ascending=[False, True])["candidate"].iloc[0])
    return candidates(base)[best], table


@dataclasses.dataclass(frozen=True)
class Run:
    """What one bench run measured, for the report."""

    as_of: pd.Timestamp
    tuning: pd.DatetimeIndex
    evaluation: pd.DatetimeIndex
    config: IndexConfig
    tuning_table: pd.DataFrame
    metrics: pd.DataFrame
    hits: pd.DataFrame
    seconds: dict[str, str]
    n_scored: int
    n_rows: int
    n_areas: int
    n_weeks: int


def run(args: argparse.Namespace) -> Run:
    folder = data.demo_dataset(args.work / f"demo-{args.cases}-{args.seed}", args.cases, args.seed)
    dataset = data.load(folder)
    tree = dataset.area_tree
    end = dataset.export_date.normalize() + pd.Timedelta(days=1)
    as_of = end - pd.Timedelta(days=end.weekday()) - pd.Timedelta(weeks=args.weeks)
    scored, seconds = scored_cases(folder, dataset, as_of, args.fresh)
    truth_cases = scored.assign(risk=scored["case_id"].map(data.true_probabilities(folder)).to_numpy())
    # The delay distribution is fitted on escalations known at the model's as-of date.
    median, sigma = fit_delay(dataset.cases["registered_at"], dataset.cases["escalated_at"], as_of=as_of)
    base = IndexConfig(delay_median_days=round(median, 1), delay_sigma=round(sigma, 2))
    tuning, evaluation = weeks_of(end, as_of)
    config, tuning_table = tune(scored, truth_cases, dataset, tree, tuning, base, n_boot=200)
    full, seconds["index, all weeks"] = timed(lambda: weekly_area_index(scored, tree, config=config))
    index = full[full["week_start"].between(evaluation[0], evaluation[-1])]
    truth = weekly_area_index(truth_cases, tree, start=evaluation[0], end=evaluation[-1], config=config)
    metrics, hits = evaluate(index, truth, dataset, tree, evaluation, args.share, args.boot)
    if args.million:
        synthetic = data.synthetic_scored(dataset.areas, 1_000_000, 156)
        out, took = timed(lambda: weekly_area_index(synthetic, tree, config=config))
        seconds[f"index, 1,000,000 synthetic cases x 156 weeks ({len(out):,} rows)"] = took
    return Run(
        as_of, tuning, evaluation, config, tuning_table, metrics, hits, seconds,
        len(scored), len(full), full["area_code"].nunique(), full["week"].nunique(),
    )  # fmt: skip


def _cell(value: float, lower: float, upper: float, signed: bool) -> str:
    sign = "+" if signed else ""
    return f"{value:{sign}.3f} [{lower:{sign}.3f}, {upper:{sign}.3f}]"


def report(result: Run, args: argparse.Namespace) -> None:
    pd.set_option("display.width", 200)
    print(f"model as of {result.as_of.date()}; {result.n_scored:,} cases scored; index: {result.n_rows:,} rows "
          f"({result.n_areas:,} areas x {result.n_weeks} weeks)")  # fmt: skip
    print(f"tuning weeks {result.tuning[0].date()}..{result.tuning[-1].date()} ({len(result.tuning)}), "
          f"evaluation weeks {result.evaluation[0].date()}..{result.evaluation[-1].date()} "
          f"({len(result.evaluation)})")  # fmt: skip
    print("\ntuning: index capture of the top 10% on the tuning weeks, per candidate")
    print(result.tuning_table.round(4).to_string(index=False))
    c = result.config
    print(f"chosen: volume_weeks={c.volume_weeks} history_weeks={c.history_weeks} min_prior_cv={c.min_prior_cv} "
          f"delay=({c.delay_median_days} d, sigma {c.delay_sigma}); IndexConfig defaults: "
          f"volume_weeks={IndexConfig.volume_weeks} history_weeks={IndexConfig.history_weeks} "
          f"min_prior_cv={IndexConfig.min_prior_cv}")  # fmt: skip
    wide = result.metrics.pivot_table(
        index=["level", "method"], columns="metric", values=["value", "lower", "upper"], sort=False
    )
    lines = [
        {"level": level, "ranking": method}
        | {
            name: _cell(row[("value", m)], row[("lower", m)], row[("upper", m)], signed=" - " in method)
            for m, name in (("capture", "capture"), ("pai", "PAI"), ("pei", "PEI*"))
        }
        for (level, method), row in wide.iterrows()
    ]
    print(f"\nevaluation weeks: top {args.share:.0%} of areas vs the next 4 weeks' escalations "
          "(95% intervals, weeks resampled; 'index - x' rows are paired differences)")  # fmt: skip
    print(pd.DataFrame(lines).to_string(index=False))
    totals = result.hits[result.hits["method"] == "index"].groupby("level")["total"].sum()
    print("escalations in the outcome windows (summed over weeks): "
          + ", ".join(f"{k} {v:.0f}" for k, v in totals.items()))  # fmt: skip
    print("seconds: " + "; ".join(f"{k} {v}" for k, v in result.seconds.items()))
    out = args.work / "area_index_metrics.csv"
    result.metrics.to_csv(out, index=False)
    result.tuning_table.to_csv(args.work / "area_index_tuning.csv", index=False)
    print(f"written: {out}, {args.work / 'area_index_tuning.csv'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weeks", type=int, default=30, help="train as of this many weeks before the end")
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--boot", type=int, default=2000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--fresh", action="store_true", help="train and score again even if cached")
    parser.add_argument("--million", action="store_true", help="also time the index on 1M synthetic cases")
    args = parser.parse_args()
    report(run(args), args)


if __name__ == "__main__":
    main()
