"""AreaTree and load_area_codes, on small frames and on the real NBS code file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from contract_factory import AREA_ROWS, CITY, COUNTY, TOWN, VILLAGE, VILLAGE_2, write_table

from features.areas import AreaTree, load_area_codes
from features.errors import ContractError, RecordError


def _tree(rows=AREA_ROWS) -> AreaTree:
    frame = pd.DataFrame(rows).replace({"": None})
    frame["population"] = pd.to_numeric(frame.get("population"), errors="coerce")
    return AreaTree.from_frame(frame)


def test_tree_lookups() -> None:
    tree = _tree()
    assert len(tree) == 5 and VILLAGE in tree and "999999999999" not in tree
    assert tree.parent(VILLAGE) == TOWN and tree.parent(CITY) is None  # its province is not a row: a root
    assert tree.ancestors(VILLAGE) == [TOWN, COUNTY, CITY]
    assert tree.children(TOWN) == [VILLAGE, VILLAGE_2]
    assert tree.descendants(COUNTY) == [TOWN, VILLAGE, VILLAGE_2]
    assert tree.descendants(VILLAGE) == []
    assert tree.ancestor_at(VILLAGE, "town") == TOWN and tree.ancestor_at(TOWN, "town") == TOWN
    assert tree.ancestor_at(VILLAGE, "province") is None
    assert tree.is_within(VILLAGE, COUNTY) and tree.is_within(TOWN, TOWN) and not tree.is_within(COUNTY, TOWN)
    assert not tree.is_within(VILLAGE, VILLAGE_2)
    assert tree.codes("village") == [VILLAGE, VILLAGE_2] and tree.codes() == sorted(
        r["area_code"] for r in AREA_ROWS
    )
    assert tree.level(COUNTY) == "county" and tree.name(TOWN) == "金沙街道"
    assert tree.population(COUNTY) == 1258739 and tree.population(TOWN) is None


def test_unknown_code_is_a_record_error_naming_it() -> None:
    with pytest.raises(RecordError, match="area_code: is not in the area table, got '999999999999'"):
        _tree().ancestors("999999999999")


def test_consistent_tree_has_no_problems() -> None:
    assert _tree().problems() == []


def test_problems_name_level_jumps_foreign_prefixes_and_structure() -> None:
    rows = [
        *AREA_ROWS,
        {"area_code": "320612002001", "name": "跳级村", "level": "village", "parent_code": COUNTY},
        {"area_code": "320685001001", "name": "错挂村", "level": "village", "parent_code": TOWN},
        {"area_code": "320612002005", "name": "错级镇", "level": "town", "parent_code": COUNTY},
    ]
    assert _tree(rows).problems() == [
        "320612002001: level 'village' is not one below its parent 320612000000's level 'county'",
        "320685001001: does not start with its parent 320612001000's prefix 320612001",
        "320612002005: level 'town' does not match the code's structure (village)",
    ]


def test_cycle_is_reported_and_cut_instead_of_hanging() -> None:
    rows = [
        {"area_code": "320612001000", "name": "甲镇", "level": "town", "parent_code": "320612001001"},
        {"area_code": "320612001001", "name": "乙村", "level": "village", "parent_code": "320612001000"},
        {"area_code": "320612001002", "name": "丙村", "level": "village", "parent_code": "320612001000"},
    ]
    tree = _tree(rows)
    problems = tree.problems()
    assert problems[0] == (
        "cycle 320612001000 -> 320612001001 -> 320612001000: 320612001000 treated as a root"
    )
    assert tree.parent("320612001000") is None
    assert tree.descendants("320612001000") == ["320612001001", "320612001002"]


def test_self_parent_is_a_cycle_of_one() -> None:
    tree = _tree([{"area_code": TOWN, "name": "甲镇", "level": "town", "parent_code": TOWN}])
    assert tree.parent(TOWN) is None and tree.problems()[0].startswith("cycle 320612001000 -> 320612001000")


def test_load_area_codes_reads_contract_shape_and_joins_population(tmp_path: Path) -> None:
    path = write_table(tmp_path, "areas", AREA_ROWS)
    population = tmp_path / "population.csv"
    population.write_text(
        f"code,population,note\n{TOWN},52000,estimate\n{COUNTY},1300000,\n", encoding="utf-8"
    )
    areas = load_area_codes(path, population)
    assert areas.set_index("area_code")["population"].to_dict() == pytest.approx(
        {
            CITY: float("nan"),
            COUNTY: 1300000.0,
            TOWN: 52000.0,
            VILLAGE: float("nan"),
            VILLAGE_2: float("nan"),
        },
        nan_ok=True,
    )


def test_load_area_codes_reads_nbs_shape(tmp_path: Path) -> None:
    rows = [
        {"code": r["area_code"], "name": r["name"], "level": r["level"], "parent_code": r["parent_code"]}
        for r in AREA_ROWS
    ]
    areas = load_area_codes(write_table(tmp_path, "codes", rows))
    assert list(areas.columns) == ["area_code", "name", "level", "parent_code", "population"]
    assert areas["area_code"].tolist() == [r["area_code"] for r in AREA_ROWS]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"level": "district"}, "line 3: level: must be one of"),
        ({"area_code": "3206"}, "line 3: area_code: must be a 12-digit 统计用区划代码"),
        ({"area_code": CITY}, "duplicate area_code '320600000000'"),
    ],
)
def test_load_area_codes_refuses_a_bad_row(tmp_path: Path, change: dict, message: str) -> None:
    rows = [AREA_ROWS[0], dict(AREA_ROWS[1], **change)]
    with pytest.raises(ContractError, match=message):
        load_area_codes(write_table(tmp_path, "areas", rows))


def test_load_area_codes_refuses_a_row_of_the_wrong_width(tmp_path: Path) -> None:
    path = write_table(tmp_path, "areas", AREA_ROWS)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("320612001009,某村\n")
    with pytest.raises(ContractError, match="areas.csv: line 7: row has 2 fields, the header has 5"):
        load_area_codes(path)


def test_load_area_codes_needs_a_code_column(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="missing required column 'area_code'"):
        load_area_codes(write_table(tmp_path, "areas", [{"id": "1", "name": "x", "level": "town"}]))


@pytest.mark.shared_data
def test_real_area_code_file_loads_into_a_consistent_tree(shared_data: Path) -> None:
    areas = load_area_codes(shared_data / "area_codes.csv", shared_data / "population_county.csv")
    assert len(areas) == 10_814
    assert areas["level"].value_counts().to_dict() == {"village": 10112, "town": 653, "county": 44, "city": 5}
    tree = AreaTree.from_frame(areas)
    assert tree.problems() == []
    assert [tree.parent(city) for city in tree.codes("city")] == [None] * 5
    assert tree.population("320612000000") == 1258739  # 通州区, 7th census
    for village in tree.codes("village")[::500]:
        ancestors = tree.ancestors(village)
        assert [tree.level(a) for a in ancestors] == ["town", "county", "city"]
        assert ancestors[-1] == village[:4] + "00000000"
    for county in tree.codes("county"):
        below = tree.descendants(county)
        assert below and all(tree.is_within(code, county) and code.startswith(county[:6]) for code in below)
    assert sum(len(tree.descendants(city)) for city in tree.codes("city")) == 10_814 - 5
