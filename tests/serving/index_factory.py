"""A small real area index for the serving tests: ``risk.area_index.weekly_area_index`` of a
synthetic city (two counties, three towns, three villages, two grids) over four weeks, from 600
scored cases in the half year before."""

from __future__ import annotations

import numpy as np
import pandas as pd
from api_helpers import CITY, COUNTY, OTHER_COUNTY, OTHER_VILLAGE, TOWN, TOWN_2, VILLAGE, VILLAGE_2

from features.areas import AreaTree
from risk.area_index import weekly_area_index

OTHER_TOWN = "320623101000"
GRID_1 = VILLAGE + "007"
# A grid of VILLAGE whose code happens to start with the other county's digits: grids are scoped
# by their village, never by their own code.
GRID_LOOKALIKE = OTHER_COUNTY[:6] + "999999001"
WEEKS = ["2025-W10", "2025-W11", "2025-W12", "2025-W13"]
AREAS = pd.DataFrame(
    [
        (CITY, "南通市", "city", None, 9e5),
        (COUNTY, "崇川区", "county", CITY, 5e5),
        (TOWN, "城东街道", "town", COUNTY, 6e4),
        (VILLAGE, "东村", "village", TOWN, 3e3),
        (TOWN_2, "城西街道", "town", COUNTY, 5e4),
        (VILLAGE_2, "西村", "village", TOWN_2, 2e3),
        (OTHER_COUNTY, "如东县", "county", CITY, 4e5),
        (OTHER_TOWN, "掘港街道", "town", OTHER_COUNTY, 7e4),
        (OTHER_VILLAGE, "青园社区", "village", OTHER_TOWN, 4e3),
    ],
    columns=["area_code", "name", "level", "parent_code", "population"],
)


def index_frame(seed: int = 3) -> pd.DataFrame:
    """The index of weeks 2025-W10..W13 (WEEKS)."""
    rng = np.random.default_rng(seed)
    n = 600
    villages = np.array([VILLAGE, VILLAGE_2, OTHER_VILLAGE, TOWN], dtype=object)
    area = villages[rng.choice(4, n, p=[0.4, 0.2, 0.3, 0.1])]
    grid = np.where(area == VILLAGE, np.where(rng.random(n) < 0.5, GRID_1, GRID_LOOKALIKE), None)
    registered = pd.Timestamp("2024-10-01") + pd.to_timedelta(rng.uniform(0, 180, n), unit="D")
    risk = rng.beta(1, 30, n)
    escalated = np.where(rng.random(n) < risk * 3, registered + pd.Timedelta(days=9), pd.NaT)
    cases = pd.DataFrame(
        {
            "case_id": [f"C{i}" for i in range(n)],
            "area_code": area,
            "grid_code": grid,
            "registered_at": registered,
            "category": rng.choice(["邻里纠纷", "婚恋家庭", "劳资纠纷"], n),
            "risk": risk,
            "escalated_at": pd.to_datetime(escalated),
        }
    )
    return weekly_area_index(cases, AreaTree.from_frame(AREAS), start="2025-03-03", end="2025-03-24")
