"""Tables of metrics for people: per-slice metrics (category, county), models side by side, and
the console table ``risk train`` prints. The numbers come from ``training.evaluate``."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.errors import DisputeRiskError
from training.evaluate import Metric, _check, evaluate, expected_calibration_error


def slice_metrics(
    y: object,
    p: object,
    groups: object,
    *,
    min_n: int = 100,
    n_bins: int = 10,
    n_boot: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Per group value: n, n_pos, base_rate, mean_predicted, auc (NaN with one class), ece, small_n.

    ``small_n`` flags slices under ``min_n`` cases: their numbers are listed but are mostly noise.
    ECE uses at most one bin per 50 cases of the slice, since tiny bins inflate it. With ``n_boot`` > 0
    the AUC gets a bootstrap interval (auc_lo, auc_hi).
    """
    y_arr, p_arr = _check(y, p)
    keys = pd.Series(np.asarray(groups, dtype=object)).fillna("(缺失)").astype(str).to_numpy()
    if len(keys) != len(y_arr):
        raise DisputeRiskError(f"groups must have one value per case ({len(y_arr)}), got {len(keys)}")
    rows = []
    for key in pd.unique(keys):
        mask = keys == key
        ys, ps = y_arr[mask], p_arr[mask]
        two_class = 0 < ys.sum() < len(ys)
        auc = evaluate(ys, ps, n_boot=n_boot, seed=seed)["roc_auc"] if two_class else Metric(math.nan)
        rows.append(
            {
                "group": key,
                "n": int(mask.sum()),
                "n_pos": int(ys.sum()),
                "base_rate": float(ys.mean()),
                "mean_predicted": float(ps.mean()),
                "auc": auc.value,
                "auc_lo": auc.lo,
                "auc_hi": auc.hi,
                "ece": expected_calibration_error(ys, ps, n_bins=min(n_bins, max(1, len(ys) // 50))),
                "small_n": bool(mask.sum() < min_n),
            }
        )
    frame = pd.DataFrame(rows).sort_values(["n", "group"], ascending=[False, True], ignore_index=True)
    return frame if n_boot > 0 else frame.drop(columns=["auc_lo", "auc_hi"])


def compare(
    models: Mapping[str, object], y: object, *, n_boot: int = 1000, seed: int = 0, **kwargs: object
) -> pd.DataFrame:
    """Side-by-side metrics: rows are metric names, columns (model, value|lo|hi).

    Every model is resampled with the same draws (same seed, same cases), so rows are comparable.
    """
    if not models:
        raise DisputeRiskError("compare needs at least one model, got none")
    results = {name: evaluate(y, p, n_boot=n_boot, seed=seed, **kwargs) for name, p in models.items()}  # type: ignore[arg-type]
    return _frame(results)


def _frame(results: Mapping[str, Mapping[str, Metric]]) -> pd.DataFrame:
    parts = {
        name: pd.DataFrame(list(m.values()), index=list(m.keys()), columns=list(Metric._fields))
        for name, m in results.items()
    }
    return pd.concat(parts, axis=1)


def format_metrics_table(results: pd.DataFrame | Mapping[str, Metric], *, digits: int = 3) -> str:
    """Plain aligned text: one row per metric, one column per model, cells 'value [lo, hi]'.

    Takes the frame from ``compare`` or the dict from ``evaluate`` (shown as one column, 'model').
    """
    frame = results if isinstance(results, pd.DataFrame) else _frame({"model": results})
    names = list(dict.fromkeys(frame.columns.get_level_values(0)))

    def cell(metric: str, value: float, lo: float, hi: float) -> str:
        if metric in ("n", "n_pos"):
            return f"{int(value)}"
        if math.isnan(value):
            return "—"
        text = f"{value:.{digits}f}"
        return text if math.isnan(lo) else f"{text} [{lo:.{digits}f}, {hi:.{digits}f}]"

    body = [[metric, *(cell(metric, *frame.loc[metric, name]) for name in names)] for metric in frame.index]
    table = [["metric", *names], *body]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    ]
    return "\n".join(line.rstrip() for line in lines)
