"""risk/area_index.py: the weekly 社会矛盾风险指数 per area. As of each week, shrunk toward the parent,
additive up the tree, banded at the configured cuts, trend classes and drivers as documented, and
bad input named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.areas import AreaTree, load_area_codes
from features.errors import DisputeRiskError
from features.schema import CATEGORIES
from risk.area_index import OUTPUT_COLUMNS, IndexConfig, weekly_area_index
from risk.index_trend import TREND_CLASSES, trend_classes

CITY, COUNTY = "320600000000", "320612000000"
TOWN_A, TOWN_B = "320612001000", "320612002000"
BIG, TINY, PLAIN = "320612001001", "320612001002", "320612001003"
OTHER_VILLAGES = ("320612002001", "320612002002")
MONDAY = pd.Timestamp("2025-01-06")


def _tree() -> AreaTree:
    rows = [
        (CITY, "市", "city", None, 60_000.0),
        (COUNTY, "区", "county", CITY, 60_000.0),
        (TOWN_A, "甲镇", "town", COUNTY, 30_000.0),
        (TOWN_B, "乙镇", "town", COUNTY, 30_000.0),
        (BIG, "大村", "village", TOWN_A, 20_000.0),
        (TINY, "小村", "village", TOWN_A, 500.0),
        (PLAIN, "平村", "village", TOWN_A, 9_500.0),
        (OTHER_VILLAGES[0], "东村", "village", TOWN_B, 15_000.0),
        (OTHER_VILLAGES[1], "西村", "village", TOWN_B, 15_000.0),
    ]
    return AreaTree.from_frame(
        pd.DataFrame(rows, columns=["area_code", "name", "level", "parent_code", "population"])
    )


def _cases(n_weeks: int = 40, seed: int = 0) -> pd.DataFrame:
    """Cases over ``n_weeks`` weeks: volume by population, some town-coded and in grids, ~1.5% risk,
    escalations drawn from the risks a few weeks later."""
    rng = np.random.default_rng(seed)
    weekly = {BIG: 6, PLAIN: 3, OTHER_VILLAGES[0]: 4, OTHER_VILLAGES[1]: 4, TOWN_A: 1, TOWN_B: 1}
    rows = []
    for week in range(n_weeks):
        for area, mean in weekly.items():
            for _ in range(rng.poisson(mean)):
                registered = (
                    MONDAY + pd.Timedelta(weeks=week) + pd.Timedelta(minutes=int(rng.integers(0, 7 * 1440)))
                )
                risk = float(min(rng.beta(0.5, 30.0), 0.9))
                escalated = registered + pd.Timedelta(days=float(rng.lognormal(np.log(12), 1.2)))
                rows.append(
                    {
                        "case_id": f"C{len(rows):05d}",
                        "area_code": area,
                        "grid_code": f"{area}G{rng.integers(1, 3)}"
                        if area == BIG and rng.random() < 0.6
                        else None,
                        "registered_at": registered,
                        "category": CATEGORIES[int(rng.integers(0, len(CATEGORIES)))],
                        "risk": risk,
                        "escalated_at": escalated if rng.random() < risk * 3 else pd.NaT,
                        "cue_threat": float(rng.random() < 0.1),
                        "party_prior_cases_max": float(rng.poisson(0.3)),
                        "key_group_persons": float(rng.random() < 0.05),
                        "police_calls_before": float(rng.poisson(0.3)),
                        "level": "红" if risk > 0.2 else "无",
                    }
                )
    frame = pd.DataFrame(rows)
    frame["escalated_at"] = frame["escalated_at"].astype("datetime64[ns]")
    return frame


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    return _cases()


@pytest.fixture(scope="module")
def index(cases: pd.DataFrame) -> pd.DataFrame:
    return weekly_area_index(cases, _tree())


def _row(frame: pd.DataFrame, code: str, week: pd.Timestamp) -> pd.Series:
    return frame[(frame["area_code"] == code) & (frame["week_start"] == week)].iloc[0]


# --- shape ----------------------------------------------------------------------------------------


def test_one_row_per_area_and_week_with_every_level(index: pd.DataFrame, cases: pd.DataFrame) -> None:
    assert list(index.columns) == list(OUTPUT_COLUMNS)
    assert not index.duplicated(["area_code", "week"]).any()
    assert set(index["level"]) == {"city", "county", "town", "village", "grid"}
    tree_areas = index[index["level"] != "grid"]
    assert tree_areas.groupby("week").size().eq(len(_tree())).all()
    assert index["week"].iloc[0] == "2025-W02" and index["week_start"].min() == MONDAY
    grid = index[index["area_code"] == f"{BIG}G1"]
    first_case = cases.loc[cases["grid_code"] == f"{BIG}G1", "registered_at"].min()
    # A grid is known from its first case on, never before.
    assert grid["week_start"].min() == first_case.normalize() - pd.Timedelta(days=first_case.weekday())
    assert (grid["parent_code"] == BIG).all()
    assert index["index"].between(0, 100).all()
    assert (index["lower"] <= index["index"] + 1e-9).all() and (index["index"] <= index["upper"] + 1e-9).all()


def test_index_runs_without_optional_columns(cases: pd.DataFrame) -> None:
    bare = cases[["case_id", "area_code", "registered_at", "category", "risk", "escalated_at"]]
    out = weekly_area_index(bare, _tree())
    assert set(out["level"]) == {"city", "county", "town", "village"}
    busy = out[out["forecast_escalations"] > 0]
    # Without signal columns a case's risk is volume up to the ordinary level and "other" above it.
    assert np.allclose(busy["driver_volume"] + busy["driver_other"], 1.0)
    assert (out["warnings"] == 0).all()


# --- as of ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("week", [5, 17, 30])
def test_row_of_a_week_is_unchanged_when_everything_later_is_removed(
    index: pd.DataFrame, cases: pd.DataFrame, week: int
) -> None:
    monday = MONDAY + pd.Timedelta(weeks=week)
    end = monday + pd.Timedelta(weeks=1)
    known = cases[cases["registered_at"] < end].copy()
    known["escalated_at"] = known["escalated_at"].where(known["escalated_at"] < end)
    assert (
        len(known) < len(cases) and known["escalated_at"].notna().sum() < cases["escalated_at"].notna().sum()
    )
    later = weekly_area_index(known, _tree())
    full_rows = index[index["week_start"] == monday].reset_index(drop=True)
    cut_rows = later[later["week_start"] == monday].reset_index(drop=True)
    pd.testing.assert_frame_equal(full_rows, cut_rows, check_exact=False, rtol=1e-12, atol=1e-12)


def test_later_weeks_do_change_when_later_cases_arrive(index: pd.DataFrame, cases: pd.DataFrame) -> None:
    # The as-of test would pass vacuously if nothing depended on the data; the last week does.
    known = cases[cases["registered_at"] < MONDAY + pd.Timedelta(weeks=30)]
    earlier = weekly_area_index(known, _tree(), end=MONDAY + pd.Timedelta(weeks=35))
    week = MONDAY + pd.Timedelta(weeks=35)
    assert _row(earlier, BIG, week)["index"] != pytest.approx(_row(index, BIG, week)["index"])


# --- shrinkage -----------------------------------------------------------------------------------


def test_two_case_village_with_an_escalation_does_not_outrank_a_steady_high_rate_village() -> None:
    rng = np.random.default_rng(3)
    start = MONDAY
    rows = []
    for week in range(52):  # the big village: 5 cases a week, 1 in 10 escalating, every week
        for k in range(5):
            at = start + pd.Timedelta(weeks=week, hours=k * 30)
            rows.append((BIG, at, 0.03, at + pd.Timedelta(days=9) if rng.random() < 0.1 else pd.NaT))
    for week in range(52):  # an ordinary village alongside, at the model's rate
        at = start + pd.Timedelta(weeks=week, hours=5)
        rows.append((PLAIN, at, 0.01, pd.NaT))
    tiny_at = start + pd.Timedelta(weeks=40)
    rows += [(TINY, tiny_at, 0.01, tiny_at + pd.Timedelta(days=3)), (TINY, tiny_at, 0.01, pd.NaT)]
    frame = pd.DataFrame(rows, columns=["area_code", "registered_at", "risk", "escalated_at"])
    frame = frame.assign(case_id=[f"S{i}" for i in range(len(frame))], category="邻里纠纷")
    frame["escalated_at"] = frame["escalated_at"].astype("datetime64[ns]")
    out = weekly_area_index(frame, _tree())
    week = start + pd.Timedelta(weeks=42)
    tiny, big = _row(out, TINY, week), _row(out, BIG, week)
    raw_tiny = tiny["history_observed"] / tiny["history_expected"]
    assert raw_tiny > 20  # one escalation where 0.02 were expected
    town = _row(out, TOWN_A, week)["history_factor"]
    assert tiny["history_factor"] == pytest.approx(town, rel=0.1)  # shrunk nearly all the way to its town
    assert big["index"] > tiny["index"] and big["lower"] > tiny["upper"]
    villages = out[(out["week_start"] == week) & (out["level"] == "village")]
    assert villages.sort_values("index", ascending=False)["area_code"].iloc[0] == BIG


# --- additivity ------------------------------------------------------------------------------------


def test_town_expected_escalations_are_its_villages_plus_its_own_town_coded_cases(
    index: pd.DataFrame, cases: pd.DataFrame
) -> None:
    week = MONDAY + pd.Timedelta(weeks=20)
    end = week + pd.Timedelta(weeks=1)
    rows = index[index["week_start"] == week].set_index("area_code")
    opened = cases[
        (cases["registered_at"] < end)
        & (cases["registered_at"] >= end - pd.Timedelta(days=90))
        & ~(cases["escalated_at"] < end)
    ]
    town_own = opened.loc[opened["area_code"] == TOWN_A, "risk"].sum()
    assert town_own > 0
    villages = rows.loc[[BIG, TINY, PLAIN], "expected_escalations"].sum()
    assert rows.loc[TOWN_A, "expected_escalations"] == pytest.approx(villages + town_own, rel=1e-12)
    assert rows.loc[BIG, "expected_escalations"] == pytest.approx(
        opened.loc[opened["area_code"] == BIG, "risk"].sum()
    )
    for column in ("expected_escalations", "cases", "escalations", "open_cases"):
        towns = rows.loc[[TOWN_A, TOWN_B], column].sum()
        assert rows.loc[COUNTY, column] == pytest.approx(towns) == pytest.approx(rows.loc[CITY, column])
    grids = rows[rows["parent_code"] == BIG]
    assert grids["cases"].sum() <= rows.loc[BIG, "cases"]


# --- bands, trend, red ---------------------------------------------------------------------------


def test_bands_follow_the_configured_cut_points(cases: pd.DataFrame) -> None:
    cuts = (70.0, 55.0, 40.0, 25.0)
    out = weekly_area_index(cases, _tree(), config=IndexConfig(band_cuts=cuts))
    expected = np.select([out["index"] >= c for c in cuts], ["红", "橙", "黄", "蓝"], default="无")
    assert (out["band"] == expected).all()
    assert set(out["band"]) >= {"红", "无"}


def test_bad_band_cuts_are_rejected() -> None:
    with pytest.raises(
        DisputeRiskError, match=r"IndexConfig.band_cuts must be four cut points .* got \(50.0, 60.0"
    ):
        weekly_area_index(_cases(4), _tree(), config=IndexConfig(band_cuts=(50.0, 60.0, 40.0, 30.0)))


def test_red_3_weeks_flags_three_red_weeks_running(cases: pd.DataFrame) -> None:
    out = weekly_area_index(cases, _tree(), config=IndexConfig(band_cuts=(60.0, 55.0, 50.0, 45.0)))
    assert out["red_3_weeks"].any() and (~out["red_3_weeks"] & (out["band"] == "红")).any()
    for _, area in out.sort_values("week_start").groupby("area_code"):
        red = (area["band"] == "红").to_numpy()
        running = np.array([i >= 2 and red[i - 2 : i + 1].all() for i in range(len(red))])
        assert (area["red_3_weeks"].to_numpy() == running).all()


_W = 12
_RISING = np.linspace(60, 95, _W)


@pytest.mark.parametrize(
    ("name", "values", "hot"),
    [
        ("new", np.r_[np.full(_W - 1, 20.0), 90.0], np.r_[np.zeros(_W - 1), 1]),
        ("consecutive", np.r_[np.full(_W - 3, 20.0), 80, 85, 90], np.r_[np.zeros(_W - 3), 1, 1, 1]),
        ("intensifying", _RISING, np.ones(_W)),
        ("persistent", 80 + 5 * np.sin(np.arange(_W)), np.ones(_W)),
        ("diminishing", _RISING[::-1], np.ones(_W)),
        ("sporadic", np.tile([80.0, 20.0], _W // 2)[::-1], np.tile([1, 0], _W // 2)[::-1]),
        ("none", np.full(_W, 90.0), np.r_[np.ones(_W - 1), 0]),
        ("none", np.full(_W, 20.0), np.zeros(_W)),
    ],
)
def test_each_trend_class_on_a_constructed_series(name: str, values: np.ndarray, hot: np.ndarray) -> None:
    config = IndexConfig()
    got = trend_classes(
        values[None, :], hot.astype(bool)[None, :], window=config.trend_weeks, share=config.trend_share,
        alpha=config.trend_alpha,
    )  # fmt: skip
    assert got[0, -1] == name
    assert (got[0, :-1] == "none").all()  # fewer than trend_weeks weeks of history


def test_eleven_hot_weeks_of_twelve_meet_the_ninety_percent_rule() -> None:
    hot = np.r_[0, np.ones(_W - 1)].astype(bool)
    config = IndexConfig()
    got = trend_classes(
        _RISING[None, :], hot[None, :], window=_W, share=config.trend_share, alpha=config.trend_alpha
    )
    assert got[0, -1] == "intensifying"
    hot[1] = False  # 10 of 12 hot: below 90%, one run at the end after an earlier gap
    got = trend_classes(
        _RISING[None, :], hot[None, :], window=_W, share=config.trend_share, alpha=config.trend_alpha
    )
    assert got[0, -1] == "consecutive"


def test_trend_column_uses_only_the_documented_classes(index: pd.DataFrame) -> None:
    assert set(index["trend"]) <= set(TREND_CLASSES)
    first_weeks = index[index["week_start"] < MONDAY + pd.Timedelta(weeks=IndexConfig().trend_weeks - 1)]
    assert (first_weeks["trend"] == "none").all()


# --- drivers -------------------------------------------------------------------------------------


def test_driver_shares_sum_to_one_and_name_the_largest(index: pd.DataFrame) -> None:
    busy = index[index["forecast_escalations"] > 0]
    drivers = busy[[c for c in busy.columns if c.startswith("driver_")]]
    categories = busy[[f"category_{c}" for c in CATEGORIES]]
    assert np.allclose(drivers.sum(axis=1), 1.0) and np.allclose(categories.sum(axis=1), 1.0)
    assert (drivers.to_numpy() >= -1e-12).all()
    row = busy.iloc[len(busy) // 2]
    labels = {"driver_volume": "纠纷数量", "driver_severity": "暴力情节", "driver_repeat_parties": "反复纠纷当事人",
              "driver_key_groups": "重点人群", "driver_other": "其他因素", "driver_overdue": "督办超期"}  # fmt: skip
    assert row["top_drivers"].startswith(labels[drivers.loc[row.name].idxmax()])
    top_category = categories.loc[row.name].idxmax().removeprefix("category_")
    assert f"；{top_category}" in row["top_drivers"]


def test_threat_cases_make_severity_the_leading_driver(cases: pd.DataFrame) -> None:
    threats = cases.assign(cue_threat=np.where(cases["area_code"] == PLAIN, 2.0, 0.0))
    threats.loc[threats["area_code"] == PLAIN, "risk"] *= 4
    week = MONDAY + pd.Timedelta(weeks=25)
    row = _row(weekly_area_index(threats, _tree()), PLAIN, week)
    shares = row[[c for c in row.index if c.startswith("driver_")]].astype(float)
    assert shares.idxmax() == "driver_severity"
    assert row["top_drivers"].startswith("暴力情节")


def test_overdue_items_raise_the_forecast_and_add_a_driver(index: pd.DataFrame, cases: pd.DataFrame) -> None:
    week = MONDAY + pd.Timedelta(weeks=20)
    overdue = pd.DataFrame({"area_code": [TOWN_A], "week_start": [week], "overdue_items": [4]})
    config = IndexConfig()
    out = weekly_area_index(cases, _tree(), overdue=overdue, config=config)
    town, before = _row(out, TOWN_A, week), _row(index, TOWN_A, week)
    assert town["overdue_items"] == 4 and _row(out, CITY, week)["overdue_items"] == 4
    added = 4 * config.overdue_weight
    assert town["forecast_escalations"] == pytest.approx(before["forecast_escalations"] + added)
    assert town["driver_overdue"] == pytest.approx(added / town["forecast_escalations"])
    assert _row(out, BIG, week)["overdue_items"] == 0  # counted where it is supervised, and above


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column", ["case_id", "area_code", "registered_at", "category", "risk", "escalated_at"]
)
def test_missing_required_column_is_named(cases: pd.DataFrame, column: str) -> None:
    with pytest.raises(DisputeRiskError, match=f"cases: missing required column '{column}'"):
        weekly_area_index(cases.drop(columns=column), _tree())


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("risk", 1.5, r"cases: risk must be a probability in \[0, 1\], got 1.5 \(case C00003\)"),
        ("risk", np.nan, r"cases: risk must be a probability in \[0, 1\], got nan \(case C00003\)"),
        (
            "area_code",
            "999999999999",
            r"cases: area_code must be an area of the hierarchy, got '999999999999'",
        ),
        ("level", "紫", r"cases: level must be one of 红/橙/黄/蓝/无, got '紫' \(case C00003\)"),
        ("cue_threat", "many", r"cases: cue_threat must be a number, got 'many' \(case C00003\)"),
        ("case_id", "C00000", r"cases: case_id must be unique, got 'C00000'"),
    ],
)
def test_bad_values_are_named_with_the_rule_and_the_value(
    cases: pd.DataFrame, column: str, value: object, message: str
) -> None:
    bad = cases.copy()
    bad[column] = bad[column].astype(object)
    bad.loc[3, column] = value
    with pytest.raises(DisputeRiskError, match=message):
        weekly_area_index(bad, _tree())


def test_registered_at_must_be_datetimes(cases: pd.DataFrame) -> None:
    text = cases.assign(registered_at=cases["registered_at"].astype(str))
    with pytest.raises(DisputeRiskError, match="cases: registered_at must be datetime64 .*got dtype"):
        weekly_area_index(text, _tree())


def test_a_grid_in_two_villages_is_rejected(cases: pd.DataFrame) -> None:
    bad = cases.copy()
    bad.loc[bad["area_code"] == PLAIN, "grid_code"] = f"{BIG}G1"
    with pytest.raises(DisputeRiskError, match=rf"cases: grid_code must lie in one area, got '{BIG}G1'"):
        weekly_area_index(bad, _tree())


def test_bad_overdue_rows_are_named(cases: pd.DataFrame) -> None:
    overdue = pd.DataFrame({"area_code": ["320699999000"], "week_start": [MONDAY], "overdue_items": [1]})
    with pytest.raises(
        DisputeRiskError, match="overdue: area_code must be an area of the hierarchy, got '320699999000'"
    ):
        weekly_area_index(cases, _tree(), overdue=overdue)
    with pytest.raises(DisputeRiskError, match="overdue: missing required column 'overdue_items'"):
        weekly_area_index(cases, _tree(), overdue=overdue.drop(columns="overdue_items"))
    negative = overdue.assign(area_code=TOWN_A, overdue_items=-2)
    with pytest.raises(DisputeRiskError, match="overdue: overdue_items must be a number >= 0, got -2"):
        weekly_area_index(cases, _tree(), overdue=negative)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("forecast_weeks", 0),
        ("band_level", 1.0),
        ("trend_alpha", 0.0),
        ("delay_sigma", -1.0),
        ("trend_weeks", 2),
        ("history_weeks", 14),
    ],
)
def test_bad_parameters_are_named(field: str, value: object) -> None:
    with pytest.raises(DisputeRiskError, match=rf"IndexConfig.{field} must be .*, got {value}"):
        weekly_area_index(_cases(4), _tree(), config=IndexConfig(**{field: value}))


# --- the real code file ------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_index_over_the_real_area_codes(shared_data) -> None:
    areas = load_area_codes(shared_data / "area_codes.csv")
    tree = AreaTree.from_frame(areas)
    villages = tree.codes("village")[:40]
    rng = np.random.default_rng(5)
    n = 400
    frame = pd.DataFrame(
        {
            "case_id": [f"R{i}" for i in range(n)],
            "area_code": rng.choice(villages, n),
            "registered_at": MONDAY + pd.to_timedelta(np.sort(rng.random(n)) * 70, unit="D"),
            "category": "邻里纠纷",
            "risk": rng.beta(0.5, 30.0, n),
            "escalated_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
        }
    )
    out = weekly_area_index(frame, tree)
    assert {"city", "county", "town", "village"} <= set(out["level"])
    week = out["week_start"].max()
    last = out[out["week_start"] == week].set_index("area_code")
    for village in villages[:5]:
        town = tree.ancestor_at(village, "town")
        assert last.loc[village, "parent_code"] == town
        assert last.loc[town, "expected_escalations"] >= last.loc[village, "expected_escalations"]
    assert last["index"].between(0, 100).all()


def test_a_case_past_the_horizon_is_no_longer_open_but_may_still_escalate_late() -> None:
    frame = pd.DataFrame(
        {
            "case_id": ["only"],
            "area_code": [BIG],
            "registered_at": [MONDAY + pd.Timedelta(hours=10)],
            "category": ["婚恋家庭"],
            "risk": [0.4],
            "escalated_at": pd.Series([pd.NaT], dtype="datetime64[ns]"),
        }
    )
    config = IndexConfig(volume_weeks=13, tail_days=182)
    out = weekly_area_index(frame, _tree(), end=MONDAY + pd.Timedelta(weeks=30), config=config)
    village = out[out["area_code"] == BIG].set_index("week_start")
    young, late, gone = (MONDAY + pd.Timedelta(weeks=w) for w in (2, 16, 27))
    assert village.loc[young, "open_cases"] == 1 and village.loc[young, "expected_escalations"] == 0.4
    assert village.loc[late, "open_cases"] == 0 and village.loc[late, "expected_escalations"] == 0
    assert 0 < village.loc[late, "forecast_escalations"] < village.loc[young, "forecast_escalations"]
    assert village.loc[gone, "forecast_escalations"] == 0 and village.loc[gone, "index"] == 0


def test_rows_from_start_on_equal_those_of_the_whole_run(cases: pd.DataFrame) -> None:
    # Short windows, so that the weeks computed before `start` (the warm-up) leave early cases out.
    config = IndexConfig(reference_weeks=4, history_weeks=15, volume_weeks=4, trend_weeks=3, tail_days=90)
    start, end = MONDAY + pd.Timedelta(weeks=33), MONDAY + pd.Timedelta(weeks=35)
    part = weekly_area_index(cases, _tree(), start=start + pd.Timedelta(days=3), end=end, config=config)
    assert sorted(part["week_start"].unique()) == [start, start + pd.Timedelta(weeks=1), end]
    whole = weekly_area_index(cases, _tree(), end=end, config=config)
    whole = whole[whole["week_start"] >= start]
    key = ["area_code", "week_start"]
    pd.testing.assert_frame_equal(
        part.sort_values(key).reset_index(drop=True),
        whole.sort_values(key).reset_index(drop=True),
        check_exact=False,
        rtol=1e-12,
        atol=1e-12,
    )


def test_end_before_start_is_rejected(cases: pd.DataFrame) -> None:
    with pytest.raises(DisputeRiskError, match="end must not be before start .* got 2025-01-01"):
        weekly_area_index(cases, _tree(), start=MONDAY + pd.Timedelta(weeks=3), end="2025-01-01")
