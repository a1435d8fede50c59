"""Reading 统计用区划代码 by their structure: level, parent (提级), scope, responsible town, and
the codes no level allows, which are rejected instead of being read as villages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import area_codes
from features.areas import AreaTree
from features.errors import RecordError


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("320000000000", "province"),
        ("320600000000", "city"),
        ("320612000000", "county"),
        ("320612001000", "town"),
        ("320612001001", "village"),
        ("320612001200", "village"),
        ("150571100000", "town"),
        ("441900003000", "town"),  # 东莞: towns directly under a city without counties
        ("441900003001", "village"),
    ],
)
def test_level_reads_the_code_structure(code: str, level: str) -> None:
    assert area_codes.level_of(code) == level


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("32061200100", "12-digit"),
        ("３２０６１２００１００１", "12-digit"),
        ("32061200100a", "12-digit"),
        ("000000000000", "must not start with 00"),
        ("320612000005", "village digits under an all-zero town group"),
        ("320600000001", "village digits under an all-zero county group"),
        ("320012000000", "county digits under an all-zero city group"),
    ],
)
def test_a_code_no_level_allows_is_rejected_with_the_rule(code: str, reason: str) -> None:
    assert not area_codes.is_valid(code)
    with pytest.raises(RecordError, match=reason) as caught:
        area_codes.check(code, "area")
    assert caught.value.field == "area"


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        ("320612001001", "320612001000"),  # village -> town
        ("320612001000", "320612000000"),  # town -> county
        ("320612000000", "320600000000"),  # county -> city
        ("320600000000", "320000000000"),  # city -> province
        ("441900003000", "441900000000"),  # a 东莞 town -> its city
        ("320000000000", None),
    ],
)
def test_parent_follows_the_code_structure(code: str, parent: str | None) -> None:
    assert area_codes.parent_of(code) == parent


def test_scope_is_the_subtree_of_the_code() -> None:
    assert area_codes.is_within("320612001001", "320612000000")
    assert area_codes.is_within("320612001001", None)
    assert area_codes.is_within("320612000000", "320612000000")
    assert not area_codes.is_within("320623101001", "320612000000")
    assert not area_codes.is_within("320612101001", "320612001000")  # same county, other town


def test_ancestors_at_each_level() -> None:
    code = "320612001001"
    assert [area_codes.ancestor_at(code, lv) for lv in ("province", "city", "county", "town", "village")] == [
        "320000000000",
        "320600000000",
        "320612000000",
        "320612001000",
        code,
    ]
    assert area_codes.town_of("320612000000") is None


def test_responsible_town_uses_the_area_table_where_it_knows_the_code() -> None:
    # A table whose village hangs under another town than its digits say (a boundary change):
    # the table decides; a code it does not hold falls back to the digits.
    tree = AreaTree.from_frame(
        pd.DataFrame(
            {
                "area_code": ["320612000000", "320612002000", "320612001007"],
                "name": ["县", "新镇", "村"],
                "level": ["county", "town", "village"],
                "parent_code": ["320600000000", "320612000000", "320612002000"],
            }
        )
    )
    assert area_codes.responsible_town("320612001007", tree) == "320612002000"
    assert area_codes.responsible_town("320612001008", tree) == "320612001000"
    assert area_codes.responsible_town("320612001008") == "320612001000"


def test_int_keys_follow_the_same_town_rule_as_codes() -> None:
    codes = ["320612001001", "320612001000", "320623101017"]
    keys = area_codes.as_keys(codes)
    assert [str(k) for k in area_codes.town_keys(keys)] == [area_codes.town_of(c) for c in codes]
    assert area_codes.village_keys(keys).tolist() == [320612001001, -1, 320623101017]
    assert [area_codes.town_key(int(k)) for k in keys] == area_codes.town_keys(keys).tolist()
    assert [area_codes.village_key(int(k)) for k in keys] == area_codes.village_keys(keys).tolist()
    with pytest.raises(RecordError, match="village digits under an all-zero town"):
        area_codes.as_keys(pd.Series(["320612000005"]))
    assert area_codes.as_keys(np.array([], dtype=object)).dtype == np.int64


@pytest.mark.shared_data
def test_every_real_code_is_valid_and_its_level_matches_the_file(shared_data) -> None:
    frame = pd.read_csv(shared_data / "area_codes.csv", dtype=str)
    assert all(
        area_codes.level_of(code) == level for code, level in zip(frame["code"], frame["level"], strict=True)
    )
