"""Hard red flags (risk/flags.py): they raise a level, never lower it, and say which rule fired."""

from __future__ import annotations

import math

import pytest

from risk.flags import apply_flags, evaluate_flags

PERSON = {"party_type": "自然人", "key_groups": ""}
KEY_GROUP_PERSON = {"party_type": "自然人", "key_groups": "严重精神障碍患者"}
CASE = {"police_calls_before": 0}


def codes(case=CASE, parties=(PERSON,), **cues):
    return [f.code for f in evaluate_flags(case, list(parties), cues)]


def test_threat_together_with_weapon_is_a_red_flag():
    (flag,) = evaluate_flags(CASE, [PERSON], {"threat": 1, "weapon": 2})
    assert (flag.code, flag.level) == ("threat_with_weapon", "红")


def test_threat_or_weapon_alone_fires_nothing():
    assert codes(threat=3) == [] and codes(weapon=1) == []


def test_self_harm_fires_only_with_a_key_group_person():
    assert codes(parties=[PERSON], self_harm=1) == []
    assert codes(parties=[PERSON, KEY_GROUP_PERSON], self_harm=1) == ["self_harm_key_group"]
    # An organisation carries no person's key-group tag.
    assert codes(parties=[{"party_type": "单位", "key_groups": "吸毒人员"}], self_harm=1) == []


@pytest.mark.parametrize(
    ("calls", "fires"), [(2, False), (3, True), (7, True), (math.nan, False), (None, False)]
)
def test_three_or_more_police_calls_raise_to_orange(calls, fires):
    flags = evaluate_flags({"police_calls_before": calls}, [PERSON], {})
    assert [(f.code, f.level) for f in flags] == ([("repeat_police_calls", "橙")] if fires else [])


def test_flags_come_most_severe_first():
    case = {"police_calls_before": 4}
    assert codes(case, threat=1, weapon=1, physical=1, injury=1) == [
        "threat_with_weapon",
        "repeat_police_calls",
        "violence_with_injury",
    ]


@pytest.mark.parametrize(
    ("model_level", "expected"), [("无", "橙"), ("黄", "橙"), ("橙", "橙"), ("红", "红")]
)
def test_a_flag_raises_the_model_level_and_never_lowers_it(model_level, expected):
    flags = evaluate_flags({"police_calls_before": 3}, [PERSON], {})
    assert apply_flags(model_level, flags) == expected


def test_no_flag_keeps_the_model_level():
    assert apply_flags("蓝", []) == "蓝"
