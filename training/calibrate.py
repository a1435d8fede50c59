"""Turn raw model scores into calibrated risks, and calibrated risks into warning thresholds.

Both are fitted on the calibration window (after validation, before test), never on training data:
a boosted model's training scores are overconfident, so a map fitted there would be too.

Why thresholds come from workload shares: at a 1-2% base rate a probability cut such as 0.5 flags
almost nobody, and any fixed cut moves with drift. What a 综治 centre can promise is review capacity,
so by default 红 is the top 0.5% of the calibration window, 橙 the top 2%, 黄 5% and 蓝 10%. The
thresholds are stored as calibrated probabilities, so they travel with the model to new data, and each
is reported with the precision and recall it gave, so the cost of a level is visible.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from features.errors import DisputeRiskError, NotFittedError
from risk.levels import NONE, WARNING_LEVELS, check_thresholds

logger = logging.getLogger(__name__)

EPS = 1e-6  # a dispute is never certain either way: calibrated risks stay in [EPS, 1 - EPS]
METHODS = ("isotonic", "sigmoid", "auto")
DEFAULT_POLICY: Mapping[str, float] = MappingProxyType({"红": 0.005, "橙": 0.02, "黄": 0.05, "蓝": 0.10})


def _check_scores(scores: object, name: str = "scores") -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or len(s) == 0:
        raise DisputeRiskError(f"{name} must be a non-empty 1-D array, got shape {s.shape}")
    if not (np.isfinite(s).all() and (s >= 0).all() and (s <= 1).all()):
        raise DisputeRiskError(f"{name} must be in [0, 1], got min {np.nanmin(s)} max {np.nanmax(s)}")
    return s


def _check_labels(y: object, n: int) -> np.ndarray:
    y_arr = np.asarray(y)
    if y_arr.shape != (n,) or not np.isin(y_arr, (0, 1)).all():
        raise DisputeRiskError(f"y must be {n} values of 0/1, got shape {y_arr.shape}")
    return y_arr.astype(float)


def _logit(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, EPS, 1 - EPS)
    return np.log(s / (1 - s))


def _fit_isotonic(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic regression, kept as knots at the centre of each constant block.

    Plain isotonic predicts flat steps, so whole blocks of cases tie at one risk and the top-share
    thresholds cannot separate them. Interpolating between block centres keeps the map monotone and
    each block's mean, but ranks cases inside a block as the model did.
    """
    fitted = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(s, y).predict(s)
    order = np.argsort(s, kind="stable")
    xs, fs = s[order], fitted[order]
    starts = np.flatnonzero(np.r_[True, fs[1:] != fs[:-1]])
    sizes = np.diff(np.r_[starts, len(xs)])
    return np.add.reduceat(xs, starts) / sizes, fs[starts]


def _fit_sigmoid(s: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling on logit(score): risk = sigmoid(a * logit(score) + b), with a >= 0 (monotone).

    Targets are Platt's smoothed labels ((n_pos + 1) / (n_pos + 2) and 1 / (n_neg + 2)), which keep a
    window with few positives from pushing the fit to extremes.
    """
    z = _logit(s)
    n_pos = y.sum()
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (len(y) - n_pos + 2))

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        m = ab[0] * z + ab[1]
        # log(1 + e^m) - t*m is the log-loss of sigmoid(m) against t, written to avoid overflow.
        value = np.logaddexp(0.0, m) - t * m
        grad = 1.0 / (1.0 + np.exp(-m)) - t
        return float(value.sum()), np.array([(grad * z).sum(), grad.sum()])

    result = minimize(
        loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B", bounds=[(0.0, None), (None, None)]
    )
    return float(result.x[0]), float(result.x[1])


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


class ProbabilityCalibrator(BaseEstimator):
    """Maps raw scores in [0, 1] to calibrated probabilities in [EPS, 1 - EPS], monotonically.

    method: "isotonic" (centred isotonic regression), "sigmoid" (Platt on the logit of the score) or
    "auto" (whichever has the lower ``cv``-fold cross-validated log-loss on the calibration window;
    sigmoid when a class has too few cases to cross-validate).
    """

    def __init__(self, method: str = "auto", cv: int = 5, random_state: int = 0) -> None:
        self.method = method
        self.cv = cv
        self.random_state = random_state

    def fit(self, scores: object, y: object) -> ProbabilityCalibrator:
        if self.method not in METHODS:
            raise DisputeRiskError(f"method must be one of {'/'.join(METHODS)}, got {self.method!r}")
        s = _check_scores(scores)
        y_arr = _check_labels(y, len(s))
        n_pos = int(y_arr.sum())
        if n_pos in (0, len(y_arr)):
            raise DisputeRiskError(
                f"calibration needs both outcomes, got {n_pos} positives in {len(y_arr)} cases"
            )
        method = self.method
        self.cv_log_loss_: dict[str, float] = {}
        if method == "auto":
            folds = min(self.cv, n_pos, len(y_arr) - n_pos)
            if folds >= 2:
                self.cv_log_loss_ = self._cross_validate(s, y_arr, folds)
                method = min(self.cv_log_loss_, key=self.cv_log_loss_.__getitem__)
            else:
                method = "sigmoid"
        self.method_ = method
        # Only the chosen map's attributes are set, so a fitted calibrator pickles to a few hundred bytes.
        if method == "isotonic":
            self.knots_x_, self.knots_y_ = _fit_isotonic(s, y_arr)
        else:
            self.a_, self.b_ = _fit_sigmoid(s, y_arr)
        self.n_fit_ = len(s)
        return self

    def _cross_validate(self, s: np.ndarray, y: np.ndarray, folds: int) -> dict[str, float]:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
        losses: dict[str, list[float]] = {"isotonic": [], "sigmoid": []}
        for train, test in splitter.split(s.reshape(-1, 1), y):
            for method in losses:
                fold = ProbabilityCalibrator(method=method).fit(s[train], y[train])
                losses[method].append(_log_loss(y[test], fold.predict(s[test])))
        return {method: float(np.mean(values)) for method, values in losses.items()}

    def predict(self, scores: object) -> np.ndarray:
        if not hasattr(self, "method_"):
            raise NotFittedError("ProbabilityCalibrator must be fitted before predict")
        s = _check_scores(scores)
        if self.method_ == "isotonic":
            p = np.interp(s, self.knots_x_, self.knots_y_)
        else:
            p = 1.0 / (1.0 + np.exp(-(self.a_ * _logit(s) + self.b_)))
        return np.clip(p, EPS, 1 - EPS)


def _check_policy(policy: Mapping[str, float]) -> dict[str, float]:
    missing = [lvl for lvl in WARNING_LEVELS if lvl not in policy]
    if missing:
        raise DisputeRiskError(f"policy must give a share for every warning level, missing {missing}")
    shares = {lvl: float(policy[lvl]) for lvl in WARNING_LEVELS}
    values = list(shares.values())
    if not all(0 < v < 1 for v in values) or any(a >= b for a, b in zip(values, values[1:], strict=False)):
        raise DisputeRiskError(
            f"policy shares must lie in (0, 1) and rise strictly from 红 to 蓝, got {shares}"
        )
    return shares


def choose_thresholds(
    p_calibration: object,
    y_calibration: object,
    *,
    policy: Mapping[str, float] = DEFAULT_POLICY,
) -> dict[str, float]:
    """Thresholds 红/橙/黄/蓝 on calibrated risk, strictly decreasing, from workload shares.

    A level's threshold is the lowest risk at which the share of calibration cases at or above it
    stays within the level's share (a budget is not exceeded because of ties). When the highest risk
    alone holds more cases than the share, the threshold is that risk and the level is over budget;
    a lower level that would coincide with the one above is moved to the next lower risk. The share,
    precision and recall each threshold gives are logged and returned by ``threshold_report``.
    """
    shares = _check_policy(policy)
    p = _check_scores(p_calibration, "p_calibration")
    y = _check_labels(y_calibration, len(p))
    values = np.unique(p)[::-1]  # distinct risks, highest first
    at_or_above = np.searchsorted(np.sort(-p), -values, side="right")  # cases with risk >= value
    thresholds: dict[str, float] = {}
    previous = math.inf
    for level, share in shares.items():
        within = np.flatnonzero(at_or_above <= share * len(p) + 1e-9)
        t = float(np.clip(values[within[-1]] if len(within) else values[0], EPS, 1 - EPS))
        if t >= previous:
            lower = values[values < previous]
            t = float(lower[0]) if len(lower) else float(np.nextafter(previous, 0.0))
        thresholds[level] = previous = t
    thresholds = check_thresholds(thresholds)
    for row in threshold_report(p, y, thresholds, policy=shares).itertuples():
        if row.level != NONE:
            logger.info(
                "threshold %s=%.4f: share %.4f (target %.4f), precision %.3f, recall %.3f",
                row.level,
                row.threshold,
                row.share_at_or_above,
                row.target_share,
                row.precision_at_or_above,
                row.recall_at_or_above,
            )
    return thresholds


def threshold_report(
    p: object,
    y: object,
    thresholds: Mapping[str, float],
    *,
    policy: Mapping[str, float] = DEFAULT_POLICY,
) -> pd.DataFrame:
    """Per level (and 无): threshold, target share, cases in the level, and, for everything at or above
    the level (what a reviewer working down the list sees), share, precision and recall."""
    p_arr = _check_scores(p, "p")
    y_arr = _check_labels(y, len(p_arr))
    thresholds = check_thresholds(thresholds)
    n_pos = y_arr.sum()
    rows, upper = [], math.inf
    for level in (*WARNING_LEVELS, NONE):
        t = thresholds.get(level, 0.0)
        above, band = p_arr >= t, (p_arr >= t) & (p_arr < upper)
        rows.append(
            {
                "level": level,
                "threshold": thresholds.get(level, math.nan),
                "target_share": policy.get(level, math.nan),
                "n_in_level": int(band.sum()),
                "share_in_level": float(band.mean()),
                "share_at_or_above": float(above.mean()),
                "precision_at_or_above": y_arr[above].mean() if above.any() else math.nan,
                "recall_at_or_above": y_arr[above].sum() / n_pos if n_pos else math.nan,
            }
        )
        upper = t
    return pd.DataFrame(rows)
