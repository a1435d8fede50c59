"""training.resampling: the bootstrap computed on several threads gives, bit for bit, the numbers of a
plain loop over the chunks of weights (the same draws, in the same order)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import training.resampling as resampling
from training.evaluate import evaluate_many, paired_differences
from training.resampling import SortedCases, bootstrap_statistics, bootstrap_weights, interval, kernel

FRACTIONS = (0.01, 0.05, 0.10)


def cases(n: int, n_pos: int, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Labels with ``n_pos`` positives, and scores with many ties, few ties and none."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, n_pos, replace=False)] = 1
    signal = y + rng.normal(size=n)
    smooth = 1 / (1 + np.exp(-(signal - 4)))
    return y, {"smooth": smooth, "rounded": np.round(smooth, 3), "coarse": np.round(smooth, 1)}


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def same_float(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def whole_chunks(n: int, n_boot: int, seed: int, statistics) -> dict[str, np.ndarray]:
    """The plain loop: ``statistics`` of each whole chunk in turn, on this thread."""
    parts: dict[str, list[np.ndarray]] = {}
    for w in bootstrap_weights(n, n_boot, seed):
        for key, values in statistics(w).items():
            parts.setdefault(key, []).append(values)
    return {key: np.concatenate(values) for key, values in parts.items()}


@pytest.fixture(params=[2, 3, 7], ids=lambda rows: f"chunks of {rows} rows")
def small_chunks(request, monkeypatch):
    """Chunks of a few rows (36 resamples: the last chunk of 7 is a lone row) for ``N`` cases."""
    monkeypatch.setattr(resampling, "_CHUNK_CELLS", request.param * N)


N = 3_001  # odd: a row of a chunk starts at any alignment


@pytest.mark.parametrize("threads", [1, 2, 5])
@pytest.mark.parametrize("layout", ["column-major (paired)", "filtered rows (evaluate_many)"])
def test_threaded_statistics_equal_whole_chunks_in_turn(small_chunks, threads, layout):
    y, scores = cases(N, n_pos=3)  # a resample misses all 3 positives 5% of the time
    sorted_ = [SortedCases.of(y.astype(float), p) for p in scores.values()]

    def statistics(w: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for i, s in enumerate(sorted_):
            ws = w[:, s.order]
            if layout.startswith("filtered"):
                n_pos = ws @ s.y
                ws = ws[(n_pos > 0) & (n_pos < N)]
            out |= {f"{i} {name}": v for name, v in kernel(s, ws, FRACTIONS).items()}
            out[f"{i} auc only"] = kernel(s, ws, (), auc_only=True)["roc_auc"]
        return out

    expected = whole_chunks(N, 36, 4, statistics)
    got = bootstrap_statistics(N, 36, 4, statistics, threads=threads)
    assert list(got) == list(expected)
    assert all(same(got[key], expected[key]) for key in expected)


@pytest.mark.parametrize("rows", range(1, 10))
@pytest.mark.parametrize("parts", [1, 2, 3, 4])
def test_row_parts_keep_the_rows_in_order_and_never_leave_a_lone_row(rows, parts):
    w = np.arange(rows * 3.0).reshape(rows, 3)
    split = resampling._row_parts(w, parts)
    assert len(split) <= parts
    assert same(np.concatenate(split), w)
    assert rows == 1 or min(len(part) for part in split) >= 2


def test_an_error_in_the_statistics_reaches_the_caller():
    def statistics(w: np.ndarray) -> dict[str, np.ndarray]:
        raise ValueError("bad resample")

    with pytest.raises(ValueError, match="bad resample"):
        bootstrap_statistics(100, 50, 0, statistics, threads=2)


def test_no_resamples_give_no_statistics():
    assert bootstrap_statistics(100, 0, 0, lambda w: {"x": w.sum(axis=1)}) == {}


def sequential_evaluate_many(y, scores, n_boot, seed, compare_to):
    """``evaluate_many``'s intervals as a loop over the chunks computed them (before threads)."""
    y = y.astype(float)
    sorted_ = {key: SortedCases.of(y, p) for key, p in scores.items()}
    draws: dict[str, dict[str, list[np.ndarray]]] = {key: {} for key in scores}
    for w in bootstrap_weights(len(y), n_boot, seed):
        two_class = None
        for key, s in sorted_.items():
            ws = w[:, s.order]
            if two_class is None:
                n_pos = ws @ s.y
                two_class = (n_pos > 0) & (n_pos < len(s.y))
            for name, values in kernel(s, ws[two_class], FRACTIONS).items():
                draws[key].setdefault(name, []).append(values)
    joined = {key: {name: np.concatenate(v) for name, v in d.items()} for key, d in draws.items()}
    intervals = {key: {name: interval(v) for name, v in d.items()} for key, d in joined.items()}
    differences = {
        key: interval(joined[compare_to]["roc_auc"] - joined[key]["roc_auc"])
        for key in scores
        if key != compare_to
    }
    return intervals, differences


def sequential_paired(y, p_a, p_b, metrics, n_boot, seed):
    """``paired_differences``' intervals as a loop over the chunks computed them (before threads)."""
    y = y.astype(float)
    sa, sb = SortedCases.of(y, p_a), SortedCases.of(y, p_b)
    auc_only = set(metrics) == {"roc_auc"}
    draws: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    for w in bootstrap_weights(len(y), n_boot, seed):
        a = kernel(sa, w[:, sa.order], (), auc_only=auc_only)
        b = kernel(sb, w[:, sb.order], (), auc_only=auc_only)
        for m in metrics:
            draws[m].append(a[m] - b[m])
    return {m: interval(np.concatenate(draws[m])) for m in metrics}


# 4,001 cases: chunks of 499 rows (1,000 resamples: 499, 499 and a lone 2); 2,001 cases with 3
# positives and chunks of 7 rows: some parts of a chunk keep one two-class resample or none
@pytest.mark.parametrize(
    ("n", "n_pos", "chunk_rows", "n_boot"), [(4_001, 80, None, 1_000), (2_001, 3, 7, 120)]
)
def test_threaded_evaluate_and_paired_intervals_equal_the_sequential_loop(
    monkeypatch, n, n_pos, chunk_rows, n_boot
):
    if chunk_rows is not None:
        monkeypatch.setattr(resampling, "_CHUNK_CELLS", chunk_rows * n)
    y, scores = cases(n, n_pos, seed=1)
    metrics, differences = evaluate_many(y, scores, n_boot=n_boot, seed=2, compare_to="rounded")
    intervals, expected_differences = sequential_evaluate_many(y, scores, n_boot, 2, "rounded")
    for key in scores:
        for name, (lo, hi) in intervals[key].items():
            assert same_float(metrics[key][name].lo, lo) and same_float(metrics[key][name].hi, hi), (
                key,
                name,
            )
    for key, (lo, hi) in expected_differences.items():
        assert same_float(differences[key].lo, lo) and same_float(differences[key].hi, hi), key
    for chosen in [("roc_auc",), ("roc_auc", "pr_auc", "brier", "ece")]:
        paired = paired_differences(
            y, scores["rounded"], scores["smooth"], metrics=chosen, n_boot=n_boot, seed=3
        )
        expected = sequential_paired(y, scores["rounded"], scores["smooth"], chosen, n_boot, 3)
        for m, (lo, hi) in expected.items():
            assert same_float(paired[m].lo, lo) and same_float(paired[m].hi, hi), m
