"""What is recorded about each case before its outcome: when, where, what kind, from which channel,
how much money, how many people, earlier 110 calls and mediations, and which escalation cues its
narrative will carry. All vectorised; cases come back sorted by registration time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.schema import CATEGORIES, SOURCES
from training.demo import calendar, params
from training.demo.areas import AreaUniverse

DAY = 86_400
P_TOWN_LEVEL = 0.05  # village unknown: registered at the town code (…000), as the contract allows
P_GRID = 0.55  # share of village-level cases carrying a 网格编码 (95% for 网格员排查)


@dataclass
class Cases:
    t: np.ndarray  # registration, int64 seconds since the start day 00:00 (unique, increasing)
    category: np.ndarray  # index into CATEGORIES
    source: np.ndarray  # index into SOURCES
    unit: np.ndarray  # index into areas.unit_codes
    town_level: np.ndarray  # bool: recorded at the town code
    grid: np.ndarray  # int grid number within the village, -1 = none
    parent: np.ndarray  # earlier case this one re-registers, -1 = a new dispute
    intensity: np.ndarray  # latent heat of the dispute: shapes cues/calls, never risk directly
    amount: np.ndarray  # float yuan, NaN unknown
    group: np.ndarray  # bool: collective dispute (群体性)
    extra_people: np.ndarray  # people involved beyond one per party
    calls: np.ndarray  # float, NaN unknown
    mediations: np.ndarray  # float, NaN unknown
    cues: np.ndarray  # (n, len(params.CUES)) bool


def _draw(rng: np.random.Generator, cumulative: np.ndarray, n: int) -> np.ndarray:
    return np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")


def _place_and_time(rng: np.random.Generator, areas: AreaUniverse, days: np.ndarray, n: int):
    weights = calendar.day_category_weights(days, params.CATEGORY_SHARES)
    cell = _draw(rng, np.cumsum(weights.ravel()), n)
    day, category = cell // len(CATEGORIES), cell % len(CATEGORIES)
    unit = np.empty(n, dtype=np.int64)
    for c in range(len(CATEGORIES)):
        rows = np.flatnonzero(category == c)
        w = areas.unit_weight * np.where(areas.unit_urban, params.URBAN_FACTOR[c], 1.0)
        unit[rows] = _draw(rng, np.cumsum(w), len(rows))
    return day.astype(np.int64), category.astype(np.int64), unit


def _sources(rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
    source = np.empty(len(category), dtype=np.int64)
    for c in range(len(CATEGORIES)):
        rows = np.flatnonzero(category == c)
        source[rows] = rng.choice(len(SOURCES), size=len(rows), p=params.SOURCE_MIX[c])
    return source


def sample_cases(rng: np.random.Generator, areas: AreaUniverse, days: np.ndarray, n: int) -> Cases:
    n_follow = int(round(params.FOLLOW_UP_SHARE * n))
    day, category, unit = _place_and_time(rng, areas, days, n - n_follow)
    parent = np.full(len(day), -1, dtype=np.int64)
    for _ in range(8):  # follow-ups of follow-ups happen too; stop once the quota is met
        need = n - len(day)
        if need <= 0:
            break
        w = np.cumsum(params.FOLLOW_UP_WEIGHT[category])
        cand = _draw(rng, w, int(need * 1.5) + 10)
        median, sigma = params.FOLLOW_UP_GAP_DAYS
        gap = np.maximum(3, np.round(rng.lognormal(np.log(median), sigma, size=len(cand)))).astype(np.int64)
        keep = np.flatnonzero(day[cand] + gap < len(days))[:need]
        day = np.r_[day, day[cand[keep]] + gap[keep]]
        category, unit, parent = (
            np.r_[category, category[cand[keep]]],
            np.r_[unit, unit[cand[keep]]],
            np.r_[parent, cand[keep]],
        )
    if len(day) < n:  # a window too short for follow-ups: fill with new disputes
        d2, c2, u2 = _place_and_time(rng, areas, days, n - len(day))
        day, category, unit = np.r_[day, d2], np.r_[category, c2], np.r_[unit, u2]
        parent = np.r_[parent, np.full(len(d2), -1, dtype=np.int64)]
    source = _sources(rng, category)
    t = day * DAY + calendar.sample_seconds_of_day(rng, np.asarray(SOURCES, dtype=object)[source], days[day])
    order = np.argsort(t, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    t, category, unit, source = t[order], category[order], unit[order], source[order]
    parent = np.where(parent[order] >= 0, rank[np.maximum(parent[order], 0)], -1)
    steps = np.arange(len(t))
    t = np.maximum.accumulate(t - steps) + steps  # strictly increasing: "earlier" is never a tie
    return _attributes(rng, areas, t, category, source, unit, parent)


def _attributes(rng, areas, t, category, source, unit, parent) -> Cases:
    # Long on purpose: each recorded attribute of a case is drawn from the ones before it (category ->
    # money -> people -> calls), a dependency chain best read top to bottom.
    n = len(t)
    follow = parent >= 0
    intensity = rng.normal(0.0, 1.0, size=n)
    for i in np.flatnonzero(follow):  # a re-registered dispute is hotter than its first registration
        intensity[i] = 0.6 * intensity[parent[i]] + 0.8 * intensity[i] + 0.3
    town_level = rng.random(n) < P_TOWN_LEVEL
    town_level[follow] = town_level[parent[follow]]
    grid_wanted = rng.random(n) < np.where(source == SOURCES.index("网格员排查"), 0.95, P_GRID)
    n_grids = 1 + (np.arange(len(areas.unit_codes)) * 7 + 3) % 6
    grid = np.where(grid_wanted & ~town_level, rng.integers(0, 1 << 30, size=n) % n_grids[unit] + 1, -1)

    cat_names = np.asarray(CATEGORIES, dtype=object)[category]
    group = np.zeros(n, bool)
    for name, share in params.GROUP_SHARE.items():
        rows = cat_names == name
        group[rows] = rng.random(int(rows.sum())) < share
    extra = np.zeros(n, dtype=np.int64)
    extra[group] = np.clip(np.round(rng.lognormal(np.log(12), 0.6, size=int(group.sum()))), 4, 200).astype(
        np.int64
    )
    for name, lam in params.EXTRA_PEOPLE.items():
        rows = np.flatnonzero((cat_names == name) & ~group)
        extra[rows] = rng.poisson(lam, size=len(rows))

    amount = np.full(n, np.nan)
    for c, name in enumerate(CATEGORIES):
        rows = np.flatnonzero(category == c)
        p_unknown, median, sigma, step = params.AMOUNT[name]
        # wages owed grow with the crowd of workers; compensation claims are quoted per household
        per_head = group[rows] & (name in ("劳资纠纷", "建设工程"))
        value = rng.lognormal(np.log(median), sigma, size=len(rows)) * np.where(
            per_head, extra[rows] ** 0.8, 1
        )
        value = np.maximum(step, np.round(value / step) * step)
        amount[rows] = np.where(rng.random(len(rows)) < p_unknown, np.nan, value)

    heat = np.exp(0.5 * intensity - 0.125)
    police = source == SOURCES.index("110警情转办")
    calls = rng.poisson(params.CALLS_MEAN[category] * heat * np.where(police, 1.5, 1.0)) + police
    mediations = rng.poisson(params.MEDIATION_MEAN[category] * np.exp(0.3 * intensity - 0.045))
    mediations = mediations + (source == SOURCES.index("诉前调解"))
    for i in np.flatnonzero(follow):  # the earlier registration's calls and failed mediations carry over
        calls[i] += calls[parent[i]]
        mediations[i] += mediations[parent[i]] + 1
    calls_f = np.where(rng.random(n) < np.where(police, 0.02, params.P_CALLS_UNKNOWN), np.nan, calls)
    mediations_f = np.where(rng.random(n) < params.P_MEDIATION_UNKNOWN, np.nan, mediations)

    rates = params.CUE_RATES[category] * np.exp(0.7 * intensity - 0.245)[:, None]
    cues = rng.random(rates.shape) < np.minimum(rates, 0.9)
    injury = params.CUES.index("injury")
    fought = cues[:, params.CUES.index("physical")] | cues[:, params.CUES.index("weapon")]
    cues[:, injury] |= fought & (rng.random(n) < params.P_INJURY_AFTER_FIGHT)
    return Cases(
        t=t,
        category=category,
        source=source,
        unit=unit,
        town_level=town_level,
        grid=grid,
        parent=parent,
        intensity=intensity,
        amount=amount,
        group=group,
        extra_people=extra,
        calls=calls_f.astype(float),
        mediations=mediations_f.astype(float),
        cues=cues,
    )
