"""What drives an area's index: each case's risk split among the signals it carries.

A case's risk up to the ordinary level ``base`` (the median risk of recent cases) is *volume*: any
dispute carries it. The excess above ``base`` is split equally among the signals present in the
case: *severity* (a non-negated threat, weapon, fight, injury or self-harm cue in the narrative, or
repeated 110 calls), *repeat parties* (a party with earlier disputes), *key groups* (重点人群 among
the parties); with none present, it is *other* (category, money, text, area history). The area's
forecast splits the same way, and overdue 督办 items add their own part.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from risk.flags import REPEAT_POLICE_CALLS

__all__ = ["CASE_DRIVERS", "DRIVERS", "DRIVER_LABELS", "base_risk", "case_drivers", "top_drivers"]

# Splits of a case's risk (columns of case_drivers), then the area-only part.
CASE_DRIVERS: Final[tuple[str, ...]] = ("volume", "severity", "repeat_parties", "key_groups", "other")
DRIVERS: Final[tuple[str, ...]] = (*CASE_DRIVERS, "overdue")
DRIVER_LABELS: Final[dict[str, str]] = {
    "volume": "纠纷数量",
    "severity": "暴力情节",
    "repeat_parties": "反复纠纷当事人",
    "key_groups": "重点人群",
    "other": "其他因素",
    "overdue": "督办超期",
}
SEVERITY_CUES: Final[tuple[str, ...]] = (
    "cue_threat",
    "cue_weapon",
    "cue_physical",
    "cue_injury",
    "cue_self_harm",
)


def base_risk(week: np.ndarray, risk: np.ndarray, n_weeks: int, window: int) -> np.ndarray:
    """Per week: the median of the weekly median risks over the last ``window`` weeks (as of that
    week's end; NaN before any case).

    Examples
    --------
    >>> base_risk(np.array([0, 0, 1, 2]), np.array([0.01, 0.03, 0.05, 0.2]), 3, 2)
    array([0.02 , 0.035, 0.125])
    """
    weekly = pd.Series(risk).groupby(week).median().reindex(range(n_weeks))
    return weekly.rolling(window, min_periods=1).median().to_numpy()


def case_drivers(cases: pd.DataFrame, base: np.ndarray) -> np.ndarray:
    """(cases x CASE_DRIVERS) fractions of each case's risk; missing signal columns count as absent.

    Examples
    --------
    >>> frame = pd.DataFrame({"risk": [0.01, 0.05, 0.05], "cue_threat": [0, 1, 1],
    ...                       "party_prior_cases_max": [3, 0, 2]})
    >>> case_drivers(frame, np.array([0.02, 0.01, 0.01])).round(2).tolist()
    [[1.0, 0.0, 0.0, 0.0, 0.0], [0.2, 0.8, 0.0, 0.0, 0.0], [0.2, 0.4, 0.4, 0.0, 0.0]]
    """
    risk = cases["risk"].to_numpy(dtype=float)

    def column(name: str) -> np.ndarray:
        return cases[name].fillna(0).to_numpy(dtype=float) if name in cases else np.zeros(len(cases))

    severity = np.zeros(len(cases), dtype=bool)
    for cue in SEVERITY_CUES:
        severity |= column(cue) > 0
    severity |= column("police_calls_before") >= REPEAT_POLICE_CALLS
    signals = np.column_stack(
        [severity, column("party_prior_cases_max") > 0, column("key_group_persons") > 0]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        volume = np.where(risk > 0, np.minimum(np.nan_to_num(base, nan=1.0), risk) / risk, 1.0)
    present = signals.sum(axis=1)
    excess = 1.0 - volume
    split = np.where(present[:, None] > 0, signals * (excess / np.maximum(present, 1))[:, None], 0.0)
    return np.column_stack([volume, split, np.where(present == 0, excess, 0.0)])


def top_drivers(
    shares: np.ndarray, category_shares: np.ndarray, categories: tuple[str, ...]
) -> pd.api.extensions.ExtensionArray:
    """A short plain-Chinese summary per row: the two largest drivers (shares as percentages, those
    of 5% or more) and the leading category; "" where nothing is expected.

    Examples
    --------
    >>> top_drivers(np.array([[0.5, 0.3, 0.1, 0.1, 0.0, 0.0], [0.0] * 6]), np.array([[0.7, 0.3], [0.0, 0.0]]),
    ...             ("婚恋家庭", "邻里纠纷")).tolist()
    ['纠纷数量50%、暴力情节30%；婚恋家庭70%', '']
    """
    rows = np.arange(len(shares))
    order = np.argsort(-shares, axis=1, kind="stable")[:, :2]
    named = [_percent(shares[rows, order[:, k]], 0.05) for k in range(2)]
    top = np.argmax(category_shares, axis=1)
    cat_pct = _percent(category_shares[rows, top], 1e-12)
    # Every piece comes from a short table of formatted strings, joined by pandas' vectorised string
    # addition (a Python format per row costs seconds for a million rows).
    driver_text = [f"{DRIVER_LABELS[d]}{p}%" for d in DRIVERS for p in range(101)] + [""]
    first = _pick(driver_text, np.where(named[0] >= 0, order[:, 0] * 101 + named[0], len(driver_text) - 1))
    second = _pick(
        ["、" + t if t else "" for t in driver_text],
        np.where(named[1] >= 0, order[:, 1] * 101 + named[1], len(driver_text) - 1),
    )
    cat_text = [f"{c}{p}%" for c in categories for p in range(101)]
    cat_table = [*("；" + t for t in cat_text), *cat_text, ""]
    cat_index = np.where(
        cat_pct < 0, len(cat_table) - 1, top * 101 + cat_pct + np.where(named[0] < 0, len(cat_text), 0)
    )
    return first + second + _pick(cat_table, cat_index)


def _pick(table: list[str], positions: np.ndarray) -> pd.api.extensions.ExtensionArray:
    return pd.Series(table, dtype="str").array.take(positions)


def _percent(share: np.ndarray, least: float) -> np.ndarray:
    """Whole percent, -1 where the share is too small to name."""
    return np.where(share >= least, np.round(share * 100), -1).astype(np.int64)
