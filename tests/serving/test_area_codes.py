"""Reading 统计用区划代码 by their structure: scope, parent (提级), responsible town."""

from __future__ import annotations

import pytest

from serving import area_codes


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        ("320612001001", "320612001000"),  # village -> town
        ("320612001000", "320612000000"),  # town -> county
        ("320612000000", "320600000000"),  # county -> city
        ("320600000000", "320000000000"),  # city -> province
        ("320000000000", None),
    ],
)
def test_parent_follows_the_code_structure(code, parent):
    assert area_codes.parent_of(code) == parent


def test_scope_is_the_subtree_of_the_code():
    assert area_codes.within("320612001001", "320612000000")
    assert area_codes.within("320612001001", None)
    assert not area_codes.within("320623101001", "320612000000")
    assert not area_codes.within("320612101001", "320612001000")  # same county, other town


def test_town_of_a_village_is_its_first_nine_digits_and_000():
    assert area_codes.town_of("320612001001") == "320612001000"
