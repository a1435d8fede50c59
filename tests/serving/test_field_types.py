"""The API's field types say the project's rules once: the area-code patterns agree with
features.area_codes, and each enum with the vocabulary it documents."""

from __future__ import annotations

import random
import re
from typing import get_args

import pytest

from features import area_codes
from features.schema import GENDERS, PARTY_TYPES, ROLES
from risk.levels import LEVELS, WARNING_LEVELS
from serving import audit, auth, queue
from serving import field_types as ft


def test_area_code_patterns_accept_exactly_the_codes_area_codes_accepts() -> None:
    any_level, case_level = re.compile(ft.AREA_PATTERN), re.compile(ft.CASE_AREA_PATTERN)
    rng = random.Random(7)
    for _ in range(50_000):
        code = "".join(rng.choice("0000001239") for _ in range(12))
        valid = area_codes.problem(code) is None
        assert bool(any_level.match(code)) == valid, code
        assert bool(case_level.match(code)) == (valid and area_codes.level_of(code) in ("town", "village")), (
            code
        )


@pytest.mark.parametrize(
    ("alias", "vocabulary"),
    [
        (ft.LevelName, LEVELS),
        (ft.WarningLevelName, WARNING_LEVELS),
        (ft.StatusName, queue.STATUSES),
        (ft.LightName, queue.LIGHTS),
        (ft.OutcomeName, queue.OUTCOMES),
        (ft.RoleName, auth.ROLES),
        (ft.PartyRole, ROLES),
        (ft.PartyType, PARTY_TYPES),
        (ft.Gender, GENDERS),
        (ft.AuditAction, audit.ACTIONS),
    ],
)
def test_each_enum_is_its_vocabulary(alias, vocabulary) -> None:
    assert get_args(alias) == tuple(vocabulary)


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (
            ft.ID_PATTERN,
            ["C1", "（2025）海调字第12号", "a b"],
            ["", " C1", "C1 ", "C\x001", "x" * 65, "C1\u3000"],
        ),
        (ft.TEXT_PATTERN, ["吵架", " 吵架\n后来和好", "a\tb"], ["", " \n\t", "\u3000", "a\x00b", "a\x1fb"]),
        (
            ft.DATETIME_PATTERN,
            ["2025-03-03T08:30:00", "2025-03-03 08:30", "2025-03-03T08:30:00.5+08:00"],
            ["2025-13-01T00:00", "1899-01-01T00:00", "2025-03-03"],
        ),
    ],
)
def test_text_patterns(pattern, good, bad) -> None:
    compiled = re.compile(pattern)
    assert all(compiled.match(v) for v in good) and not any(compiled.match(v) for v in bad)
