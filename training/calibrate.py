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

from features.checks import check_labels
from features.errors import DisputeRiskError
from risk.calibration import EPS, METHODS, ProbabilityCalibrator, check_scores
from risk.levels import NONE, WARNING_LEVELS, check_thresholds

logger = logging.getLogger(__name__)
__all__ = [
    "EPS",
    "METHODS",
    "DEFAULT_POLICY",
    "ProbabilityCalibrator",
    "choose_thresholds",
    "threshold_report",
]

DEFAULT_POLICY: Mapping[str, float] = MappingProxyType({"红": 0.005, "橙": 0.02, "黄": 0.05, "蓝": 0.10})


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
    p = check_scores(p_calibration, "p_calibration")
    y = check_labels(y_calibration, len(p))
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
    p_arr = check_scores(p, "p")
    y_arr = check_labels(y, len(p_arr))
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
