"""The demo generator's areas: a synthetic city shaped like 统计用区划代码, and real code files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.demo.areas import SYNTHETIC_CITY, real_areas, synthetic_city


@pytest.fixture(scope="module")
def city():
    return synthetic_city(np.random.default_rng(11))


def test_synthetic_city_has_one_city_and_six_to_ten_counties(city):
    levels = city.frame["level"].value_counts()
    assert levels["city"] == 1
    assert 6 <= levels["county"] <= 10
    assert levels["town"] > levels["county"] and levels["village"] > 5 * levels["town"]


def test_synthetic_codes_follow_the_nbs_prefix_structure(city):
    frame = city.frame.set_index("area_code")
    for code, row in frame.iterrows():
        assert len(code) == 12 and code.isdigit() and code.startswith(SYNTHETIC_CITY)
        if row["level"] == "city":
            assert code.endswith("00000000") and pd.isna(row["parent_code"])
        elif row["level"] == "county":
            assert code.endswith("000000") and row["parent_code"] == code[:4] + "00000000"
        elif row["level"] == "town":
            assert code.endswith("000") and code[6:9] != "000" and row["parent_code"] == code[:6] + "000000"
        else:
            assert code[9:] != "000" and row["parent_code"] == code[:9] + "000"


def test_synthetic_names_carry_the_suffix_of_their_level_and_number_range(city):
    frame = city.frame
    for code, name, level in frame[["area_code", "name", "level"]].itertuples(index=False):
        if level == "county":
            expected = "区" if int(code[4:6]) < 21 else "县" if int(code[4:6]) < 81 else "市"
            assert name.endswith(expected)
        elif level == "town":
            number = int(code[6:9])
            assert name.endswith("街道" if number < 100 else "镇" if number < 200 else "乡")
        elif level == "village":
            assert name.endswith("社区居委会" if int(code[9:]) < 200 else "村委会")


def test_synthetic_populations_add_up_the_hierarchy(city):
    frame = city.frame
    pop = frame.set_index("area_code")["population"]
    towns = frame[frame["level"] == "town"]
    for code in towns["area_code"].head(20):
        children = frame[frame["parent_code"] == code]["population"].sum()
        assert pop[code] == pytest.approx(children)
    assert (frame["population"] > 0).all()


def test_registration_units_are_the_villages_and_map_to_their_town(city):
    villages = city.frame[city.frame["level"] == "village"]
    assert sorted(city.unit_codes) == sorted(villages["area_code"])
    towns = city.town_codes[city.unit_town]
    assert all(t == u[:9] + "000" for t, u in zip(towns, city.unit_codes, strict=True))


@pytest.mark.shared_data
def test_real_nbs_file_loads_with_villages_as_units(shared_data):
    areas = real_areas(
        np.random.default_rng(0), shared_data / "area_codes.csv", shared_data / "population_county.csv"
    )
    assert len(areas.frame) == 10_814
    assert len(areas.unit_codes) == 10_112
    cities = areas.frame[areas.frame["level"] == "city"]
    assert len(cities) == 5 and cities["parent_code"].isna().all()  # province codes are not in the file
    assert (areas.unit_weight > 0).all()
    assert areas.frame.set_index("area_code").loc["320600000000", "population"] == 7_726_635
