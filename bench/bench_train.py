"""Benchmark: end-to-end training and batch scoring on demo data, beside a plain reference pipeline
(jieba + TF-IDF + LightGBM: no history, no cues, no calibration) run on the same data and split.

    python bench/bench_train.py [--cases 100000] [--seed 1] [--work bench/out]

Prints seconds per stage, batch-scoring throughput and both models' test AUC, and where the project
stands against its goals (1M cases trained end to end in < 8 min; batch scoring >= 10k cases/s).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features.contract import load_dataset  # noqa: E402
from features.text import ChineseTokenizer  # noqa: E402
from training.fit import fit_and_evaluate  # noqa: E402
from training.labels import as_of_view, horizon_labels  # noqa: E402
from training.split import temporal_split  # noqa: E402


def demo_data(out: Path, cases: int, seed: int) -> float:
    if (out / "cases.csv").exists() and (out / "generator.json").exists():
        meta = (out / "generator.json").read_text(encoding="utf-8")
        if f'"cases": {cases}' in meta.replace(" ", " "):
            return float("nan")
    started = time.perf_counter()
    subprocess.run([str(ROOT / ".venv/bin/risk"), "demo-data", "--out", str(out), "--cases", str(cases), "--seed", str(seed)],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def reference_pipeline(data: Path) -> dict[str, float]:
    """The plain pipeline: tokens -> TF-IDF -> LightGBM with early stopping; no history or calibration."""
    t0 = time.perf_counter()
    dataset = load_dataset(data, write_rejects=False)
    cases, _ = as_of_view(dataset.cases, dataset.parties, dataset.export_date)
    cases = cases.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
    labels = horizon_labels(cases, 90, dataset.export_date)
    labelled = labels.notna()
    split = temporal_split(cases["registered_at"], labelled)
    tokenizer = ChineseTokenizer(backend="jieba")
    t_tok = time.perf_counter()
    tokens = [" ".join(t) for t in tokenizer.tokenize_many(cases["narrative"].tolist())]
    tok_seconds = time.perf_counter() - t_tok
    vectorizer = TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, ngram_range=(1, 2),
                                 min_df=5, max_features=5000, dtype=np.float32)
    train, valid, test = (split.mask(w) for w in ("train", "validation", "test"))
    X_train = vectorizer.fit_transform([tokens[i] for i in np.flatnonzero(train)])
    X_valid = vectorizer.transform([tokens[i] for i in np.flatnonzero(valid)])
    X_test = vectorizer.transform([tokens[i] for i in np.flatnonzero(test)])
    y = labels.to_numpy()
    booster = lgb.train(
        {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "verbosity": -1, "num_threads": 2, "seed": 0},
        lgb.Dataset(X_train, y[train]), num_boost_round=2000, valid_sets=[lgb.Dataset(X_valid, y[valid])],
        callbacks=[lgb.early_stopping(100, verbose=False)],
    )
    auc = roc_auc_score(y[test], booster.predict(X_test))
    return {"seconds": time.perf_counter() - t0, "tokenize_seconds": tok_seconds, "test_auc": float(auc)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    data = args.work / f"demo-{args.cases}-{args.seed}"
    gen_seconds = demo_data(data, args.cases, args.seed)

    started = time.perf_counter()
    report = fit_and_evaluate(data, n_boot=200)
    train_seconds = time.perf_counter() - started
    model = report.model
    dataset = load_dataset(data, write_rejects=False)
    recent = dataset.cases.sort_values("registered_at").tail(min(20_000, len(dataset.cases)))
    parties = dataset.parties[dataset.parties["case_id"].isin(recent["case_id"])]
    t = time.perf_counter()
    scored = model.score(recent.reset_index(drop=True), parties, n_reasons=0)
    score_rate = len(scored) / (time.perf_counter() - t)
    t = time.perf_counter()
    model.score(recent.reset_index(drop=True), parties, n_reasons=3)
    score_rate_reasons = len(scored) / (time.perf_counter() - t)
    chars = int(recent["narrative"].str.len().sum())
    timings = {}
    for backend in ("jieba", "rjieba"):
        tokenizer = ChineseTokenizer(backend=backend)
        tokenizer.tokenize("预热")
        t = time.perf_counter()
        tokenizer.tokenize_many(recent["narrative"].tolist())
        timings[backend] = time.perf_counter() - t

    reference = reference_pipeline(data)
    auc = report.metrics["LightGBM (calibrated)"]["roc_auc"]
    print(f"demo cases: {args.cases:,} (generated in {gen_seconds:.1f} s)" if gen_seconds == gen_seconds else f"demo cases: {args.cases:,} (cached)")
    print(f"{'pipeline':<34}{'seconds':>10}{'test AUC':>10}")
    print(f"{'dispute-risk (history+cues+calib)':<34}{train_seconds:>10.1f}{auc.value:>10.4f}")
    print(f"{'reference (jieba+TF-IDF+LightGBM)':<34}{reference['seconds']:>10.1f}{reference['test_auc']:>10.4f}")
    if "generator truth (oracle)" in report.metrics:
        print(f"{'generator truth (oracle)':<34}{'':>10}{report.metrics['generator truth (oracle)']['roc_auc'].value:>10.4f}")
    print("training stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))
    print(f"batch scoring: {score_rate:,.0f} cases/s without reasons, {score_rate_reasons:,.0f} cases/s with 3 reasons"
          f" ({len(scored):,} cases)")
    for backend, seconds in timings.items():
        print(f"tokenise [{backend}]: {chars / seconds:,.0f} chars/s, {1000 * seconds / len(recent):.3f} ms per narrative")
    per_case = train_seconds / args.cases
    print(f"goal 1M trained end to end < 480 s: projected {per_case * 1_000_000:.0f} s (linear from this run)"
          if args.cases < 1_000_000 else f"goal 1M trained < 480 s: {train_seconds:.0f} s")
    print(f"goal batch scoring >= 10,000 cases/s: {score_rate:,.0f} cases/s")


if __name__ == "__main__":
    main()
