"""training.calibrate: calibrators stay monotone and clipped and fix miscalibration out of sample."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from features.errors import DisputeRiskError, NotFittedError
from risk.levels import check_thresholds
from training.calibrate import EPS, ProbabilityCalibrator, choose_thresholds, threshold_report
from training.evaluate import expected_calibration_error


def overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores = sigmoid(2 * true logit + 3): too extreme and too high; ~2.5% base rate."""
    rng = np.random.default_rng(seed)
    logit = 1.3 * rng.normal(size=n) - 4.3
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return 1 / (1 + np.exp(-(2 * logit + 3))), y


@pytest.mark.parametrize("method", ["isotonic", "sigmoid", "auto"])
def test_calibrator_improves_ece_on_held_out_scores(method):
    s_fit, y_fit = overconfident(10_000, seed=0)
    s_new, y_new = overconfident(10_000, seed=1)
    p = ProbabilityCalibrator(method=method).fit(s_fit, y_fit).predict(s_new)
    before, after = expected_calibration_error(y_new, s_new), expected_calibration_error(y_new, p)
    assert before > 0.015
    assert after < before / 3


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrator_is_monotone_and_never_certain(method):
    s, y = overconfident(5_000, seed=2)
    y[np.argsort(s)[-20:]] = (
        1  # top scores all positive, bottom all negative: plain isotonic would say 1 and 0
    )
    y[np.argsort(s)[:2_000]] = 0
    calibrator = ProbabilityCalibrator(method=method).fit(s, y)
    grid = np.linspace(0, 1, 2_001)
    p = calibrator.predict(grid)
    assert np.all(np.diff(p) >= 0)
    assert p.min() >= EPS and p.max() <= 1 - EPS
    assert p.min() > 0 and p.max() < 1


def test_sigmoid_never_reverses_the_ranking_of_anti_informative_scores():
    s, y = overconfident(5_000, seed=7)
    calibrator = ProbabilityCalibrator(method="sigmoid").fit(1 - s, y)
    assert calibrator.a_ == 0.0
    assert np.all(np.diff(calibrator.predict(np.linspace(0, 1, 101))) >= 0)


def test_sigmoid_recovers_the_platt_map():
    s, y = overconfident(40_000, seed=3)
    calibrator = ProbabilityCalibrator(method="sigmoid").fit(s, y)
    assert calibrator.a_ == pytest.approx(0.5, abs=0.05)  # true logit = 0.5 * logit(s) - 1.5
    assert calibrator.b_ == pytest.approx(-1.5, abs=0.25)


def test_auto_picks_the_method_with_lower_cross_validated_log_loss():
    s, y = overconfident(6_000, seed=4)
    calibrator = ProbabilityCalibrator(method="auto").fit(s, y)
    losses = calibrator.cv_log_loss_
    assert set(losses) == {"isotonic", "sigmoid"}
    assert calibrator.method_ == min(losses, key=losses.get)


def test_calibrator_pickles_to_the_same_predictions():
    s, y = overconfident(3_000, seed=5)
    calibrator = ProbabilityCalibrator(method="isotonic").fit(s, y)
    blob = pickle.dumps(calibrator)
    assert len(blob) < 200_000
    np.testing.assert_array_equal(pickle.loads(blob).predict(s), calibrator.predict(s))


def test_calibrator_refuses_one_outcome_and_unfitted_use():
    with pytest.raises(DisputeRiskError, match="calibration needs both outcomes, got 0 positives in 3 cases"):
        ProbabilityCalibrator().fit([0.1, 0.2, 0.3], [0, 0, 0])
    with pytest.raises(NotFittedError):
        ProbabilityCalibrator().predict([0.1])
    with pytest.raises(DisputeRiskError, match="method must be one of"):
        ProbabilityCalibrator(method="beta").fit([0.1, 0.9], [0, 1])


def test_thresholds_fall_strictly_and_give_the_configured_shares():
    rng = np.random.default_rng(6)
    p = rng.beta(1, 40, size=20_000)
    y = (rng.random(len(p)) < p).astype(int)
    thresholds = choose_thresholds(p, y)
    assert list(thresholds) == ["红", "橙", "黄", "蓝"]
    values = list(thresholds.values())
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    assert check_thresholds(thresholds) == thresholds
    report = threshold_report(p, y, thresholds).set_index("level")
    for level, share in {"红": 0.005, "橙": 0.02, "黄": 0.05, "蓝": 0.10}.items():
        assert report.loc[level, "share_at_or_above"] == pytest.approx(share, abs=1 / len(p))
        above = p >= thresholds[level]
        assert report.loc[level, "precision_at_or_above"] == pytest.approx(y[above].mean())
        assert report.loc[level, "recall_at_or_above"] == pytest.approx(y[above].sum() / y.sum())
    assert report["n_in_level"].sum() == len(p)


def test_thresholds_follow_a_custom_policy():
    p = np.linspace(0.001, 0.5, 1_000)
    y = (p > 0.45).astype(int)
    policy = {"红": 0.01, "橙": 0.1, "黄": 0.2, "蓝": 0.5}
    thresholds = choose_thresholds(p, y, policy=policy)
    for level, share in policy.items():
        assert (p >= thresholds[level]).mean() == pytest.approx(share)


def test_thresholds_stay_strictly_decreasing_when_risks_tie():
    # the top 3% share one risk (as an isotonic plateau would): 红 and 橙 cannot both hold it
    p = np.r_[np.full(30, 0.2), np.linspace(0.01, 0.1, 970)]
    y = np.r_[np.ones(10), np.zeros(990)].astype(int)
    thresholds = choose_thresholds(p, y)
    values = list(thresholds.values())
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    assert thresholds["红"] == pytest.approx(0.2)
    assert thresholds["橙"] < 0.2


def test_thresholds_reject_a_policy_that_does_not_rise():
    with pytest.raises(DisputeRiskError, match="rise strictly from 红 to 蓝"):
        choose_thresholds([0.1, 0.2], [0, 1], policy={"红": 0.1, "橙": 0.05, "黄": 0.2, "蓝": 0.3})
