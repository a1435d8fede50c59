"""Per-(area, week) sums of the cases behind the area index: what is open, what the model expects
to escalate in the next weeks, and the observed/expected escalations of the history window.

A case's calibrated risk ``r`` is P(escalation within ``horizon`` days of registration). Escalation
delays follow a lognormal F (median, sigma), so P(ever) = r / F(H). At the end of week W a case of
age ``u`` days, not escalated yet, escalates in the next L weeks with probability

    q = P(ever) (F(u + 7L) - F(u)) / (1 - P(ever) F(u)).

Cases registered during those L weeks are not known yet: the area's recent risk inflow (sum of r over
the last ``volume_weeks`` weeks, per week) stands for them, each escalating inside the window with
P(ever) times the mean of F over the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from features.errors import DisputeRiskError
from risk.index_weekly import shifted_sums, trailing_sum, weekly_sum

__all__ = [
    "CaseArrays",
    "Components",
    "Frame",
    "case_components",
    "delay_cdf",
    "fit_delay",
    "new_case_weight",
]


def delay_cdf(days: np.ndarray | float, median: float, sigma: float) -> np.ndarray:
    """Lognormal CDF of the escalation delay (0 for days <= 0).

    Examples
    --------
    >>> np.round(delay_cdf(np.array([0.0, 14.0, 90.0]), 14.0, 1.6), 3)
    array([0.   , 0.5  , 0.878])
    """
    days = np.asarray(days, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(days > 0, ndtr((np.log(np.maximum(days, 1e-12)) - np.log(median)) / sigma), 0.0)


def fit_delay(
    registered_at: pd.Series, escalated_at: pd.Series, *, as_of: pd.Timestamp, span_days: int = 365
) -> tuple[float, float]:
    """Lognormal (median days, sigma) of escalation delays, from the cases registered between
    2 x ``span_days`` and ``span_days`` before ``as_of`` that escalated within ``span_days``: old
    enough that their escalations are known by ``as_of``. Choose it on data before the weeks indexed.

    Examples
    --------
    >>> reg = pd.Series(pd.to_datetime(["2025-01-01"] * 3))
    >>> esc = pd.Series(pd.to_datetime(["2025-01-05", "2025-01-21", None]))
    >>> median, sigma = fit_delay(reg, esc, as_of=pd.Timestamp("2026-06-01"))
    >>> round(median, 2), round(sigma, 3)
    (8.94, 1.138)
    """
    span = pd.Timedelta(days=span_days)
    delay = (escalated_at - registered_at) / pd.Timedelta(days=1)
    window = (registered_at > as_of - 2 * span) & (registered_at <= as_of - span)
    days = delay[window & (delay > 0) & (delay <= span_days)].to_numpy(dtype=float)
    if len(days) < 2:
        raise DisputeRiskError(f"fit_delay needs at least 2 escalations in the window, got {len(days)}")
    logs = np.log(days)
    return float(np.exp(logs.mean())), float(logs.std(ddof=1))


@dataclass(frozen=True)
class CaseArrays:
    """The cases as arrays on a week axis (times in days since the axis' first Monday)."""

    area: np.ndarray  # index of the case's own area (grid, village or town)
    week: np.ndarray  # registration week
    registered: np.ndarray  # days
    known: np.ndarray  # days at which the escalation became known (+inf: none)
    risk: np.ndarray
    warning: np.ndarray  # bool: level 红 or 橙
    category: np.ndarray  # index into features.schema.CATEGORIES
    drivers: np.ndarray  # (cases x drivers) fractions of each case's risk, rows summing to 1


@dataclass(frozen=True)
class Components:
    """(areas x weeks) sums over each area's own cases (not yet over its subtree)."""

    cases: np.ndarray  # registered in the week
    escalations: np.ndarray  # escalations that became known in the week
    open_cases: np.ndarray  # open at the week's end: registered within the horizon, not escalated
    warnings: np.ndarray  # open cases at level 红/橙
    expected: np.ndarray  # sum of r over open cases
    open_forecast: np.ndarray  # open cases' expected escalations in the next L weeks
    open_by_category: np.ndarray  # the same by category (areas x categories x weeks)
    open_by_driver: np.ndarray  # the same by driver (areas x drivers x weeks)
    recent_cases: np.ndarray  # cases registered in the last ``volume_weeks`` weeks
    recent_risk: np.ndarray  # their sum of r
    recent_by_category: np.ndarray  # (areas x categories x weeks)
    recent_by_driver: np.ndarray  # (areas x drivers x weeks)
    observed: np.ndarray  # history window: escalations within the horizon, known by the week's end
    history_expected: np.ndarray  # history window: the same expected from the risks


def new_case_weight(forecast_weeks: int, horizon: float, delay: tuple[float, float]) -> float:
    """Expected escalations inside the next ``forecast_weeks`` weeks per unit of weekly risk inflow:
    L weeks of cases, each escalating with P(ever) = r / F(H) times the mean of F over the window
    (registration uniform over it).

    Examples
    --------
    >>> round(new_case_weight(4, 90.0, (14.0, 1.6)), 3)
    2.045
    """
    window = 7.0 * forecast_weeks
    mean_f = float(np.mean(delay_cdf(np.linspace(0.0, window, 2001), *delay)))
    return forecast_weeks * mean_f / float(delay_cdf(horizon, *delay))


@dataclass(frozen=True)
class Frame:
    """The shape and the parameters of one index computation."""

    n_areas: int
    n_weeks: int
    n_categories: int
    horizon: float  # days: the model's horizon, how long a case stays open
    forecast_weeks: int
    volume_weeks: int
    history_weeks: int
    delay: tuple[float, float]  # lognormal median (days) and sigma
    tail_days: float  # cases up to this age may still escalate inside the forecast window

    def cdf(self, days: np.ndarray | float) -> np.ndarray:
        return delay_cdf(days, *self.delay)

    def zeros(self, groups: int = 0) -> np.ndarray:
        return np.zeros((self.n_areas, groups, self.n_weeks) if groups else (self.n_areas, self.n_weeks))


def case_components(c: CaseArrays, f: Frame) -> Components:
    """Every per-area weekly sum the index needs, by bincounts over the cases."""
    keys = _Keys(c, f)
    pending = _pending(c, f, keys)
    recent = lambda x: trailing_sum(x, f.volume_weeks)  # noqa: E731
    one = np.ones(len(c.week))
    escalated = np.isfinite(c.known)
    known_week = (c.known[escalated] // 7).astype(np.int64)
    observed, history_expected = _history(c, f)
    return Components(
        cases=weekly_sum(c.area, c.week, one, f.n_areas, f.n_weeks),
        escalations=weekly_sum(c.area[escalated], known_week, one[escalated], f.n_areas, f.n_weeks),
        open_cases=pending["open_cases"],
        warnings=pending["warnings"],
        expected=pending["expected"],
        open_forecast=pending["forecast"],
        open_by_category=pending["category"],
        open_by_driver=pending["driver"],
        recent_cases=recent(weekly_sum(c.area, c.week, one, f.n_areas, f.n_weeks)),
        recent_risk=recent(weekly_sum(c.area, c.week, c.risk, f.n_areas, f.n_weeks)),
        recent_by_category=recent(keys.by_category(c.week, c.risk)),
        recent_by_driver=recent(keys.by_driver(c.week, c.risk)),
        observed=observed,
        history_expected=history_expected,
    )


def _pending(c: CaseArrays, f: Frame, keys: _Keys) -> dict[str, np.ndarray]:
    """Sums over the cases not escalated by each week's end: open ones (within the horizon) and the
    forecast q of those up to ``tail_days`` old, one bincount per case age in weeks (lag)."""
    ever = np.minimum(c.risk / float(f.cdf(f.horizon)), 1.0)
    age0 = 7.0 * (c.week + 1) - c.registered  # age at the end of the registration week, in (0, 7]
    window = 7.0 * f.forecast_weeks
    out = {"open_cases": f.zeros(), "warnings": f.zeros(), "expected": f.zeros(), "forecast": f.zeros(),
           "category": f.zeros(f.n_categories), "driver": f.zeros(c.drivers.shape[1])}  # fmt: skip
    open_lags = int(np.ceil(f.horizon / 7.0))  # age0 + 7 lag <= H  <=>  lag <= ceil(H / 7) - 1
    for lag in range(max(open_lags, int(np.ceil(f.tail_days / 7.0)))):  # case ages, never areas or weeks
        u = age0 + 7 * lag
        waiting = (u <= max(f.horizon, f.tail_days)) & (c.known >= 7.0 * (c.week + 1 + lag))
        fu = f.cdf(u)
        q = np.where(waiting, ever * (f.cdf(u + window) - fu) / (1.0 - ever * fu), 0.0)
        week = c.week + lag
        out["forecast"] += weekly_sum(c.area, week, q, f.n_areas, f.n_weeks)
        out["category"] += keys.by_category(week, q)
        out["driver"] += keys.by_driver(week, q)
        if lag < open_lags:
            is_open = waiting & (u <= f.horizon)
            out["open_cases"] += weekly_sum(c.area, week, is_open.astype(float), f.n_areas, f.n_weeks)
            out["warnings"] += weekly_sum(
                c.area, week, (is_open & c.warning).astype(float), f.n_areas, f.n_weeks
            )
            out["expected"] += weekly_sum(c.area, week, np.where(is_open, c.risk, 0.0), f.n_areas, f.n_weeks)
    return out


class _Keys:
    """Sums split by category or driver: (areas x groups x weeks) from one bincount."""

    def __init__(self, c: CaseArrays, f: Frame) -> None:
        self.f, self.drivers = f, c.drivers
        self.n_drivers = c.drivers.shape[1]
        self.category_key = c.area * f.n_categories + c.category
        self.driver_key = (c.area[:, None] * self.n_drivers + np.arange(self.n_drivers)).ravel()

    def by_category(self, week: np.ndarray, weight: np.ndarray) -> np.ndarray:
        n = self.f.n_areas * self.f.n_categories
        out = weekly_sum(self.category_key, week, weight, n, self.f.n_weeks)
        return out.reshape(self.f.n_areas, self.f.n_categories, -1)

    def by_driver(self, week: np.ndarray, weight: np.ndarray) -> np.ndarray:
        split = (weight[:, None] * self.drivers).ravel()
        n = self.f.n_areas * self.n_drivers
        out = weekly_sum(self.driver_key, np.repeat(week, self.n_drivers), split, n, self.f.n_weeks)
        return out.reshape(self.f.n_areas, self.n_drivers, -1)


def _history(c: CaseArrays, f: Frame) -> tuple[np.ndarray, np.ndarray]:
    """Observed and expected escalations (within the horizon) of the cases registered in the last
    ``history_weeks`` weeks, as known at each week's end. A case still inside its horizon is expected
    to have escalated with r F(age) / F(H) so far: young cases count for what they could have shown."""
    ramp = int(np.ceil(f.horizon / 7.0))
    f_h = float(f.cdf(f.horizon))
    age0 = 7.0 * (c.week + 1) - c.registered
    young = shifted_sums(
        c.area, c.week, ramp, lambda lag: c.risk * np.minimum(f.cdf(age0 + 7 * lag) / f_h, 1.0),
        f.n_areas, f.n_weeks,
    )  # fmt: skip
    inflow = weekly_sum(c.area, c.week, c.risk, f.n_areas, f.n_weeks)
    expected = young + trailing_sum(inflow, f.history_weeks) - trailing_sum(inflow, ramp + 1)
    # An escalation counts from the week it became known until its case leaves the window.
    hit = np.isfinite(c.known) & (c.known - c.registered <= f.horizon)
    one = np.ones(int(hit.sum()))
    start = weekly_sum(c.area[hit], (c.known[hit] // 7).astype(np.int64), one, f.n_areas, f.n_weeks)
    stop = weekly_sum(c.area[hit], c.week[hit] + f.history_weeks, one, f.n_areas, f.n_weeks)
    return np.cumsum(start - stop, axis=1), expected
