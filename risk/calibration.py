"""Calibration of raw model scores into probabilities a supervisor can read as risks.

Fitted on the calibration window (after validation, before test), never on training data: a boosted
model's training scores are overconfident, so a map fitted there would be too. It lives in ``risk``
because it runs at inference time, inside the registered model; predicting needs only numpy.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from features.checks import check_labels, require_fitted
from features.errors import DisputeRiskError

EPS = 1e-6  # a dispute is never certain either way: calibrated risks stay in [EPS, 1 - EPS]
METHODS = ("isotonic", "sigmoid", "auto")


def check_scores(scores: object, name: str = "scores") -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or len(s) == 0:
        raise DisputeRiskError(f"{name} must be a non-empty 1-D array, got shape {s.shape}")
    if not (np.isfinite(s).all() and (s >= 0).all() and (s <= 1).all()):
        raise DisputeRiskError(f"{name} must be in [0, 1], got min {np.nanmin(s)} max {np.nanmax(s)}")
    return s


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
        s = check_scores(scores)
        y_arr = check_labels(y, len(s))
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
        require_fitted(self, "method_")
        s = check_scores(scores)
        if self.method_ == "isotonic":
            p = np.interp(s, self.knots_x_, self.knots_y_)
        else:
            p = 1.0 / (1.0 + np.exp(-(self.a_ * _logit(s) + self.b_)))
        return np.clip(p, EPS, 1 - EPS)
