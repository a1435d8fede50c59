"""When disputes are registered: seasonality per category, weekly and hourly rhythm.

Registration volume per (day, category) is ``share[c] * season[c](day) * weekday(day)``; cases are
drawn from that table, then an hour from the source's hourly profile. Seasonal shapes follow what
综治 reports describe: 劳资纠纷 pile up in the weeks before the Spring Festival (wages are settled
before going home), 邻里纠纷 peak in summer, 土地承包 in spring planting and autumn harvest, and
registrations drop during the Spring Festival holiday itself.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from features.errors import DisputeRiskError
from features.schema import CATEGORIES, SOURCES

# 春节 (first day of the lunar year); public calendar facts.
SPRING_FESTIVAL: dict[int, date] = {
    2016: date(2016, 2, 8),
    2017: date(2017, 1, 28),
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
    2033: date(2033, 1, 31),
    2034: date(2034, 2, 19),
    2035: date(2035, 2, 8),
}
PRE_FESTIVAL_DAYS = 42  # the 劳资 build-up window

# Mon..Sun: offices take fewer registrations at the weekend (Monday absorbs the backlog).
WEEKDAY = np.array([1.18, 1.08, 1.05, 1.04, 1.02, 0.45, 0.38])

# fmt: off
# Hour-of-day profiles (24 weights). Office channels: 8:30-17:30 with a lunch dip; 110: evening peak.
_OFFICE = [0, 0, 0, 0, 0, 0, 0.1, 0.4, 3, 6, 6.5, 5, 1.6, 2.5, 5.5, 6, 5, 2.2, 0.6, 0.3, 0.2, 0.1, 0, 0]
_POLICE = [2.2, 1.6, 1.1, 0.7, 0.5, 0.5, 0.8, 1.4, 2.2, 2.8, 3, 3.1, 3.2, 3, 3, 3.1, 3.3, 3.6, 4.2,
           4.8, 5, 4.6, 3.8, 3]
_HOTLINE = [0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 4, 5, 5, 4.6, 3, 3.5, 4.6, 4.8, 4.5, 3.5, 2.5,
            2.2, 2, 1.5, 1, 0.6]
# fmt: on
HOURLY: dict[str, np.ndarray] = {
    source: np.array(_POLICE if source == "110警情转办" else _HOTLINE if source == "12345热线" else _OFFICE)
    for source in SOURCES
}


def spring_festival(year: int) -> date:
    if year not in SPRING_FESTIVAL:
        raise DisputeRiskError(
            f"demo dates must fall in {min(SPRING_FESTIVAL)}-{max(SPRING_FESTIVAL)} (Spring Festival table), got {year}"
        )
    return SPRING_FESTIVAL[year]


def _days_to_next_festival(days: np.ndarray) -> np.ndarray:
    """Days from each day (numpy datetime64[D]) to the next Spring Festival (0 on the day itself)."""
    years = days.astype("datetime64[Y]").astype(int) + 1970
    out = np.empty(len(days), dtype=np.int64)
    for year in np.unique(years):
        this_sf = np.datetime64(spring_festival(int(year)))
        mask = years == year
        gap = (this_sf - days[mask]).astype(np.int64)
        # after this year's festival the next one is next year's
        later = gap < 0
        if later.any():
            gap[later] = (np.datetime64(spring_festival(int(year) + 1)) - days[mask][later]).astype(np.int64)
        out[mask] = gap
    return out


def _bump(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - centre) / width) ** 2)


def season_multipliers(days: np.ndarray) -> np.ndarray:
    """(n_days, n_categories) seasonal multipliers, mean roughly 1 per category."""
    to_sf = _days_to_next_festival(days)
    since_sf = np.array(
        [
            (d - np.datetime64(spring_festival(int(y)))).astype(int)
            for d, y in zip(days, days.astype("datetime64[Y]").astype(int) + 1970, strict=True)
        ]
    )
    doy = (days - days.astype("datetime64[Y]")).astype(int).astype(float)
    pre_sf = np.where((to_sf > 3) & (to_sf <= PRE_FESTIVAL_DAYS), 1.0 - (to_sf - 3) / PRE_FESTIVAL_DAYS, 0.0)
    holiday = (since_sf >= 0) & (since_sf < 7)
    after_sf = np.where((since_sf >= 7) & (since_sf < 35), 1.0, 0.0)
    summer = _bump(doy, 196, 32)  # mid-July
    spring_work = _bump(doy, 90, 22)  # ploughing, early April
    harvest = _bump(doy, 285, 18)  # mid-October
    m = np.ones((len(days), len(CATEGORIES)))
    col = {c: i for i, c in enumerate(CATEGORIES)}
    m[:, col["劳资纠纷"]] += 3.2 * pre_sf**1.5
    m[:, col["建设工程"]] += 1.6 * pre_sf**1.5
    m[:, col["债务纠纷"]] += 0.6 * pre_sf
    m[:, col["邻里纠纷"]] += 0.7 * summer
    m[:, col["物业纠纷"]] += 0.3 * summer
    m[:, col["婚恋家庭"]] += 0.45 * after_sf + 0.15 * summer
    m[:, col["土地承包"]] += 0.9 * spring_work + 0.6 * harvest
    m[:, col["交通事故"]] += 0.25 * after_sf
    m[holiday] *= 0.35
    return m / m.mean(axis=0, keepdims=True)


def day_category_weights(days: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """(n_days, n_categories) relative registration volume, a slight upward trend over the years."""
    weekday = (days.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    trend = 1.0 + 0.05 * np.arange(len(days)) / 365.0
    return season_multipliers(days) * shares[None, :] * (WEEKDAY[weekday] * trend)[:, None]


def sample_seconds_of_day(rng: np.random.Generator, sources: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Second of the day for each case, from its source's hourly profile (weekends shift later)."""
    hours = np.empty(len(sources), dtype=np.int64)
    for source in SOURCES:
        mask = sources == source
        if mask.any():
            p = HOURLY[source] / HOURLY[source].sum()
            hours[mask] = rng.choice(24, size=int(mask.sum()), p=p)
    return hours * 3600 + rng.integers(0, 3600, size=len(sources))
