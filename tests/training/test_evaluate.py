"""training.evaluate: metrics agree with sklearn, intervals behave, ties never depend on row order."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from features.errors import DisputeRiskError
from training.evaluate import (
    calibration_table,
    evaluate,
    expected_calibration_error,
    paired_auc_difference,
    paired_difference,
    recall_precision_at_top,
)
from training.metric_tables import compare, format_metrics_table, slice_metrics


def synthetic(
    n: int, seed: int = 0, *, signal: float = 1.5, shift: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes drawn from p itself (perfect calibration), ~2% base rate; ``shift`` moves p on the logit."""
    rng = np.random.default_rng(seed)
    logit = signal * rng.normal(size=n) - 4.5
    p_true = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < p_true).astype(int)
    return y, 1 / (1 + np.exp(-(logit + shift)))


def test_ece_is_small_for_calibrated_and_large_for_shifted_probabilities():
    y, p = synthetic(20_000)
    _, p_high = synthetic(20_000, shift=1.5)  # same draws, risk overstated about 4x
    assert expected_calibration_error(y, p) < 0.005
    assert expected_calibration_error(y, p_high) > 0.03


def test_ece_matches_hand_computed_bins():
    y = [0, 0, 1, 1]
    p = [0.1, 0.1, 0.6, 0.8]
    # two quantile bins: {0.1, 0.1} mean p 0.1 rate 0; {0.6, 0.8} mean p 0.7 rate 1
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.5 * 0.1 + 0.5 * 0.3)
    assert expected_calibration_error(y, p, n_bins=2, strategy="uniform") == pytest.approx(
        0.5 * 0.1 + 0.5 * 0.3
    )


def test_equal_scores_share_one_calibration_bin():
    assert calibration_table([0, 1, 0, 0, 1, 0], [0.2] * 5 + [0.9], n_bins=5)["n"].tolist() == [5, 1]
    assert calibration_table([0, 1, 0, 0, 1, 0], [0.1] + [0.9] * 5, n_bins=5)["n"].tolist() == [1, 5]


def test_auc_ap_brier_equal_sklearn_with_ties():
    y, p = synthetic(3_000, seed=1)
    p = np.round(p, 2)  # many ties
    m = evaluate(y, p, n_boot=0)
    assert m["roc_auc"].value == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert m["pr_auc"].value == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert m["brier"].value == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert m["ece"].value == pytest.approx(expected_calibration_error(y, p), abs=1e-12)
    assert (m["n"].value, m["n_pos"].value) == (3_000, y.sum())
    assert math.isnan(m["roc_auc"].lo)


def test_bootstrap_interval_contains_estimate_and_narrows_with_n():
    small = evaluate(*synthetic(2_000, seed=2), n_boot=300)
    large = evaluate(*synthetic(20_000, seed=2), n_boot=300)
    for key in ("roc_auc", "pr_auc", "brier", "recall_at_5pct"):
        for m in (small, large):
            assert m[key].lo <= m[key].value <= m[key].hi, key
        assert large[key].hi - large[key].lo < small[key].hi - small[key].lo, key


def test_bootstrap_skips_resamples_without_a_positive():
    # one positive, every p = 0: a resample's Brier is (times the positive was drawn) / 20, so the
    # two-class resamples all have Brier >= 0.05, while a third of all resamples miss the positive
    y = np.r_[1, np.zeros(19)]
    brier = evaluate(y, np.zeros(20), n_boot=500)["brier"]
    assert brier.lo >= 0.05


def test_bootstrap_is_reproducible_with_a_seed():
    y, p = synthetic(1_000, seed=3)
    assert evaluate(y, p, n_boot=100, seed=7) == evaluate(y, p, n_boot=100, seed=7)


def test_recall_precision_at_top_on_hand_made_example():
    y = [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    assert recall_precision_at_top(y, p, 0.1) == pytest.approx((1 / 3, 1.0))
    assert recall_precision_at_top(y, p, 0.3) == pytest.approx((2 / 3, 2 / 3))
    assert recall_precision_at_top(y, p, 1.0) == pytest.approx((1.0, 0.3))


def test_ties_at_the_cut_count_pro_rata_whatever_the_row_order():
    # top 20% = 2 cases; the second place is a three-way tie holding one positive -> 1 + 1/3 hits
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    expected = (4 / 3 / 2, 4 / 3 / 2)
    assert recall_precision_at_top(y, p, 0.2) == pytest.approx(expected)
    order = np.array([0, 3, 2, 1, 4, 5, 6, 7, 8, 9])
    assert recall_precision_at_top(y[order], p[order], 0.2) == pytest.approx(expected)


def test_evaluate_rejects_probabilities_outside_unit_interval():
    with pytest.raises(DisputeRiskError, match=r"p must be probabilities in \[0, 1\]"):
        evaluate([0, 1], [0.2, 1.3])
    with pytest.raises(
        DisputeRiskError, match=r"y must be 2 values of 0/1, got shape \(2,\) with values \[0, 2\]"
    ):
        evaluate([0, 2], [0.2, 0.3])


def test_slice_metrics_per_group_with_single_class_auc_nan():
    y = np.array([0, 1, 0, 1, 0, 0, 0])
    p = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.1, 0.2])
    groups = ["家", "家", "家", "家", "邻", "邻", "邻"]
    frame = slice_metrics(y, p, groups, min_n=4).set_index("group")
    assert frame.loc["家", ["n", "n_pos"]].tolist() == [4, 2]
    assert frame.loc["家", "auc"] == pytest.approx(1.0)
    assert frame.loc["家", "base_rate"] == pytest.approx(0.5)
    assert frame.loc["家", "mean_predicted"] == pytest.approx(0.5)
    assert math.isnan(frame.loc["邻", "auc"])
    assert frame["small_n"].to_dict() == {"家": False, "邻": True}


def test_paired_difference_detects_a_better_model_and_not_a_copy():
    y, p = synthetic(5_000, seed=4, signal=2.0)
    noise = np.random.default_rng(5).normal(0, 2.0, len(p))
    worse = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + noise)))
    better = paired_auc_difference(y, p, worse, n_boot=300)
    assert better.diff == pytest.approx(roc_auc_score(y, p) - roc_auc_score(y, worse))
    assert 0 < better.lo <= better.diff <= better.hi
    same = paired_auc_difference(y, p, p.copy(), n_boot=100)
    assert (same.diff, same.lo, same.hi) == (0.0, 0.0, 0.0)


def test_compare_and_format_table_show_every_model_and_metric():
    y, p = synthetic(2_000, seed=6)
    table = compare({"lightgbm": p, "checklist": np.full(len(y), y.mean())}, y, n_boot=50)
    assert table["lightgbm"].loc["roc_auc", "value"] == pytest.approx(roc_auc_score(y, p))
    assert table["checklist"].loc["roc_auc", "value"] == pytest.approx(0.5)
    text = format_metrics_table(table)
    lines = text.splitlines()
    assert lines[0].split() == ["metric", "lightgbm", "checklist"]
    assert f"{roc_auc_score(y, p):.3f} [" in text
    assert any(line.split()[:2] == ["n", "2000"] for line in lines)
    assert isinstance(format_metrics_table(evaluate(y, p, n_boot=0)), str)
    assert pd.Index(["roc_auc", "recall_at_1pct", "precision_at_10pct", "base_rate"]).isin(table.index).all()


def test_paired_pr_auc_difference_matches_sklearn_and_pairs_the_resamples():
    y, p_a = synthetic(3000, seed=3)
    p_b = np.clip(p_a + np.random.default_rng(9).normal(0, 0.02, size=len(p_a)), 0, 1)
    diff = paired_difference(y, p_a, p_b, metric="pr_auc", n_boot=200, seed=1)
    assert diff.diff == pytest.approx(
        average_precision_score(y, p_a) - average_precision_score(y, p_b), abs=1e-12
    )
    assert diff.lo <= diff.diff <= diff.hi
    same = paired_difference(y, p_a, p_a, metric="pr_auc", n_boot=200, seed=1)
    assert (same.diff, same.lo, same.hi) == (0.0, 0.0, 0.0)  # pairing: identical models never differ
    with pytest.raises(DisputeRiskError, match="metric must be one of"):
        paired_difference(y, p_a, p_b, metric="f1")
