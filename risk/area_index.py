"""社会矛盾风险指数: a weekly conflict-risk index for every area of the hierarchy.

For an area and ISO week W (as of the end of W, nothing later):

    forecast = theta x (open + inflow) + overdue_weight x overdue items
    index    = 100 x forecast / (forecast + reference)

``open`` is what the model expects of the area's open cases in the next ``forecast_weeks`` weeks,
``inflow`` what it expects of the cases still to be registered in them (``risk.index_forecast``);
``theta`` is the area's observed/expected escalation ratio over ``history_weeks`` weeks, shrunk toward
its parent's by empirical Bayes (``risk.index_shrinkage``); ``reference`` is the mean forecast of the
areas of the same level over the last ``reference_weeks`` weeks, so 50 means "as much as an average
area of this level this past year" and 80 four times that. lower/upper come from theta's posterior
quantiles, the band from cut points on the index, the trend from ``risk.index_trend`` and the drivers
from ``risk.index_drivers``. docs/area_index.md gives the formulas and the measured validation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.areas import AreaTree
from features.errors import DisputeRiskError
from features.schema import CATEGORIES, DEFAULT_HORIZON_DAYS
from risk.index_drivers import base_risk, case_drivers
from risk.index_forecast import CaseArrays, Components, Frame, case_components, new_case_weight
from risk.index_inflow import inflow_estimate, inflow_shares
from risk.index_input import check_config, checked_cases, checked_overdue
from risk.index_output import BANDS, OUTPUT_COLUMNS, band_codes, index_frame
from risk.index_shrinkage import GammaPosterior, prior_shape, shrink_to_parent
from risk.index_trend import trend_codes
from risk.index_weekly import Hierarchy, WeekAxis, trailing_sum, weekly_sum
from risk.levels import ORANGE, RED
from risk.weeks import monday

__all__ = ["OUTPUT_COLUMNS", "IndexConfig", "weekly_area_index"]

RED_WEEKS = 3  # an area red this many weeks running is flagged (red_3_weeks)


@dataclass(frozen=True)
class IndexConfig:
    """Parameters of the index; docs/area_index.md says how each was chosen."""

    horizon_days: int = DEFAULT_HORIZON_DAYS  # the model's horizon: a case is open this long
    forecast_weeks: int = 4  # the index forecasts escalations of the next weeks
    volume_weeks: int = 26  # recent weeks whose risk inflow stands for cases not registered yet
    history_weeks: int = 52  # window of observed vs expected escalations
    delay_median_days: float = 11.0  # lognormal escalation delay (risk.index_forecast.fit_delay)
    delay_sigma: float = 1.6
    tail_days: int = 182  # cases this young, open or past the horizon, may still escalate in the window
    min_prior_cv: float = 0.2  # least relative spread of an area's rate around its parent's (EB floor)
    root_prior_shape: float = 20.0  # prior Gamma shape of the root's ratio around 1 (the calibration)
    mix_cases: float = 20.0  # pseudo-cases of the parent's mean risk in an area's mean risk per case
    band_level: float = 0.9  # central posterior probability of lower..upper
    reference_weeks: int = 52
    # 红 橙 黄 蓝 at index >= cut: 4x, 2x, 1x and half the level's reference forecast
    band_cuts: tuple[float, float, float, float] = (80.0, 66.7, 50.0, 33.3)
    hot_index: float = 66.7  # a week is hot when the band's lower end reaches this (confidently >= 2x)
    trend_weeks: int = 12
    trend_share: float = 0.9  # ArcGIS's 90% rule
    trend_alpha: float = 0.05  # Mann-Kendall two-sided significance
    overdue_weight: float = 0.05  # expected escalations added per overdue 督办 item (a prior guess)


def weekly_area_index(
    cases: pd.DataFrame,
    areas: AreaTree,
    *,
    start: object = None,
    end: object = None,
    overdue: pd.DataFrame | None = None,
    config: IndexConfig = IndexConfig(),
) -> pd.DataFrame:
    """The index of every area (grid, village, town, county, city) for every ISO week from the week of
    ``start`` (default: the first registration) to that of ``end`` (default: the last), columns
    OUTPUT_COLUMNS. ``cases``: one row per scored case (see docs/area_index.md for the columns);
    ``overdue``: area_code, week_start, overdue_items of 督办 items overdue at the week's end.

    Examples
    --------
    >>> tree = AreaTree.from_frame(pd.DataFrame({
    ...     "area_code": ["320600000000", "320612000000", "320612001000", "320612001001"],
    ...     "name": ["市", "区", "镇", "村"], "level": ["city", "county", "town", "village"],
    ...     "parent_code": [None, "320600000000", "320612000000", "320612001000"],
    ...     "population": [9000.0, 9000.0, 9000.0, 3000.0]}))
    >>> cases = pd.DataFrame({
    ...     "case_id": ["a", "b"], "area_code": ["320612001001", "320612001000"], "grid_code": [None, None],
    ...     "registered_at": pd.to_datetime(["2026-03-02 09:00", "2026-03-03 10:00"]),
    ...     "category": ["邻里纠纷", "婚恋家庭"], "risk": [0.02, 0.3], "escalated_at": pd.NaT})
    >>> out = weekly_area_index(cases, tree)
    >>> print(out[["area_code", "level", "week", "cases", "expected_escalations"]].to_string(index=False))
       area_code   level     week  cases  expected_escalations
    320600000000    city 2026-W10    2.0                  0.32
    320612000000  county 2026-W10    2.0                  0.32
    320612001000    town 2026-W10    2.0                  0.32
    320612001001 village 2026-W10    1.0                  0.02
    """
    check_config(config)
    frame = checked_cases(cases, areas)
    grids = frame.loc[frame["grid_code"].notna(), ["grid_code", "area_code"]].drop_duplicates("grid_code")
    hierarchy = Hierarchy.build(areas, grids.sort_values("grid_code").reset_index(drop=True))
    axis, first_week = _axis(frame["registered_at"], start, end, config)
    exists = _exists(hierarchy, frame, axis)
    after = axis.first + pd.Timedelta(weeks=axis.n)
    within = frame["registered_at"].between(axis.first, after, inclusive="left")
    frame = frame.loc[within].reset_index(drop=True)  # nothing after the last week is ever used
    arrays = _case_arrays(frame, hierarchy, axis, config)
    frame_ = Frame(
        n_areas=len(hierarchy.codes), n_weeks=axis.n, n_categories=len(CATEGORIES),
        horizon=float(config.horizon_days), forecast_weeks=config.forecast_weeks, volume_weeks=config.volume_weeks,
        history_weeks=config.history_weeks, delay=(config.delay_median_days, config.delay_sigma),
        tail_days=float(config.tail_days),
    )  # fmt: skip
    parts = case_components(arrays, frame_)
    items = _overdue_items(overdue, hierarchy, axis)
    table = _index_table(hierarchy, parts, items, exists, config)
    return index_frame(hierarchy, axis, table, exists, first_week)


def _axis(
    registered: pd.Series, start: object, end: object, config: IndexConfig
) -> tuple[WeekAxis, pd.Timestamp]:
    """The weeks computed (from early enough that every row shown is exact) and the first week shown."""
    first_week = monday(registered.min() if start is None else pd.Timestamp(start))
    last_week = monday(registered.max() if end is None else pd.Timestamp(end))
    if last_week < first_week:
        raise DisputeRiskError(f"end must not be before start (week of {first_week.date()}), got {end}")
    # A row depends on this many earlier weeks: trend <- reference <- forecast <- cases <- the
    # ordinary risk of their week (the drivers' base, over history_weeks).
    longest_age = -(-max(config.horizon_days, config.tail_days) // 7)
    reach = max(config.history_weeks, config.volume_weeks, longest_age)
    warmup = config.trend_weeks + config.reference_weeks + reach + config.history_weeks + 2
    axis_first = max(monday(registered.min()), first_week - pd.Timedelta(weeks=warmup))
    return WeekAxis(axis_first, (last_week - axis_first).days // 7 + 1), first_week


def _case_arrays(
    frame: pd.DataFrame, hierarchy: Hierarchy, axis: WeekAxis, config: IndexConfig
) -> CaseArrays:
    own = frame["grid_code"].where(frame["grid_code"].notna(), frame["area_code"])
    area = pd.Index(hierarchy.codes).get_indexer(own)
    registered = axis.days(frame["registered_at"])
    week = (registered // 7).astype(np.int64)
    base = base_risk(week, frame["risk"].to_numpy(dtype=float), axis.n, config.history_weeks)
    escalated = axis.days(frame["escalated_at"])
    return CaseArrays(
        area=area,
        week=week,
        registered=registered,
        known=np.maximum(escalated, registered),  # an escalation is known no earlier than its case
        risk=frame["risk"].to_numpy(dtype=float),
        warning=frame["level"].isin([RED, ORANGE]).to_numpy(),
        category=pd.Index(CATEGORIES).get_indexer(frame["category"]),
        drivers=case_drivers(frame, base[week]),
    )


def _overdue_items(overdue: pd.DataFrame | None, hierarchy: Hierarchy, axis: WeekAxis) -> np.ndarray:
    n = len(hierarchy.codes)
    if overdue is None or overdue.empty:
        return np.zeros((n, axis.n))
    rows = checked_overdue(overdue, hierarchy.codes)
    area = pd.Index(hierarchy.codes).get_indexer(rows["area_code"])
    week = (axis.days(rows["week_start"]) // 7).astype(np.int64)
    # Items are counted where they are supervised, and summed up the tree like everything else.
    return weekly_sum(area, week, rows["overdue_items"].to_numpy(dtype=float), n, axis.n)


def _exists(hierarchy: Hierarchy, frame: pd.DataFrame, axis: WeekAxis) -> np.ndarray:
    """(areas x weeks): tree areas always; a grid from the week of its first case (before that
    nothing said it exists), however early that case was."""
    seen = frame.dropna(subset=["grid_code"]).groupby("grid_code")["registered_at"].min()
    first = pd.Series(0, index=hierarchy.codes, dtype=np.int64)
    first[seen.index] = np.maximum(axis.days(seen) // 7, 0).astype(np.int64)
    return np.arange(axis.n)[None, :] >= first.to_numpy()[:, None]


def _theta(
    hierarchy: Hierarchy, observed: np.ndarray, expected: np.ndarray, config: IndexConfig
) -> GammaPosterior:
    """Posterior shape and rate of every area's observed/expected ratio, top-down: each level's prior
    mean is its parent's posterior mean (roots: 1, the calibration)."""
    shape = np.empty_like(observed)
    rate = np.empty_like(observed)
    for depth, members in enumerate(hierarchy.depth_order()):
        if depth == 0:
            a = np.full(observed.shape[1], config.root_prior_shape)
            mean = np.ones((len(members), observed.shape[1]))
            post = shrink_to_parent(observed[members], expected[members], mean, a)
            shape[members], rate[members] = post.shape, post.rate
            continue
        for level in np.unique(hierarchy.levels[members]):
            rows = members[hierarchy.levels[members] == level]
            mean = shape[hierarchy.parent[rows]] / rate[hierarchy.parent[rows]]
            a = prior_shape(observed[rows], expected[rows], mean, min_cv2=config.min_prior_cv**2)
            post = shrink_to_parent(observed[rows], expected[rows], mean, a)
            shape[rows], rate[rows] = post.shape, post.rate
    return GammaPosterior(shape, rate)


def _model_forecast(
    hierarchy: Hierarchy, total: dict[str, np.ndarray], config: IndexConfig
) -> dict[str, np.ndarray]:
    """The model's expected escalations in the forecast weeks: open cases plus the smoothed inflow of
    cases still to come, in total and split by category and by driver."""
    inflow = inflow_estimate(
        hierarchy, total["recent_cases"], total["recent_risk"], weeks=config.volume_weeks,
        min_cv2=config.min_prior_cv**2, mix_cases=config.mix_cases,
    )  # fmt: skip
    delay = (config.delay_median_days, config.delay_sigma)
    coming = new_case_weight(config.forecast_weeks, float(config.horizon_days), delay) * inflow
    share = lambda split: inflow_shares(hierarchy, split, total["recent_risk"]) * coming[:, None, :]  # noqa: E731
    return {
        "total": total["open_forecast"] + coming,
        "by_category": total["open_by_category"] + share(total["recent_by_category"]),
        "by_driver": total["open_by_driver"] + share(total["recent_by_driver"]),
    }


def _index_table(
    hierarchy: Hierarchy, parts: Components, items: np.ndarray, exists: np.ndarray, config: IndexConfig
) -> dict[str, np.ndarray]:
    """(areas x weeks) arrays of every output quantity, subtree sums included."""
    total = {name: hierarchy.subtree_sum(getattr(parts, name)) for name in Components.__dataclass_fields__}
    model = _model_forecast(hierarchy, total, config)
    overdue = hierarchy.subtree_sum(items)
    posterior = _theta(hierarchy, total["observed"], total["history_expected"], config)
    tail = (1.0 - config.band_level) / 2.0
    theta = posterior.mean
    extra = config.overdue_weight * overdue
    forecast = theta * model["total"] + extra
    low = posterior.quantile(tail) * model["total"] + extra
    high = posterior.quantile(1.0 - tail) * model["total"] + extra
    reference = _reference(hierarchy.levels, forecast, exists, config.reference_weeks)
    scale = lambda x: np.where(x > 0, 100.0 * x / (x + reference), 0.0)  # noqa: E731
    index = scale(forecast)
    lower = scale(low)
    band = band_codes(index, config.band_cuts)
    red = trailing_sum(((band == BANDS.index(RED)) & exists).astype(float), RED_WEEKS) == RED_WEEKS
    hot = (lower >= config.hot_index) & exists
    trend = trend_codes(
        np.where(exists, index, np.nan), hot, window=config.trend_weeks, share=config.trend_share,
        alpha=config.trend_alpha,
    )  # fmt: skip
    return {
        **total, "forecast_escalations": forecast, "index": index, "lower": lower, "upper": scale(high),
        "band": band, "trend": trend, "red": red, "theta": theta, "overdue_items": overdue, "extra": extra,
        "model": model["total"], "by_driver": model["by_driver"], "by_category": model["by_category"],
    }  # fmt: skip


def _reference(levels: np.ndarray, forecast: np.ndarray, exists: np.ndarray, weeks: int) -> np.ndarray:
    """Per area and week: the mean forecast of the existing areas of its level, averaged over the
    last ``weeks`` weeks (as of each week)."""
    out = np.empty_like(forecast)
    for level in np.unique(levels):
        rows = levels == level
        present = exists[rows].sum(axis=0)
        mean = np.where(
            present > 0, np.where(exists[rows], forecast[rows], 0.0).sum(axis=0) / np.maximum(present, 1), 0.0
        )
        seen = trailing_sum((present > 0).astype(float)[None, :], weeks)[0]
        out[rows] = np.where(seen > 0, trailing_sum(mean[None, :], weeks)[0] / np.maximum(seen, 1), 0.0)
    return np.maximum(out, 1e-12)
