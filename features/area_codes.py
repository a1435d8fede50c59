"""The 12-digit 统计用区划代码 (PP CC DD TTT VVV): its level, parent, town, county and city,
and whether one code lies within another. Every package reads codes through this module.

A code's level is its last group that is not all zeros. The non-zero groups must come first:
``320612000005`` (a village number under no town) or ``320600000001`` are not codes of any
level and are rejected, never guessed. One exception is real: cities without counties
(东莞 4419, 中山 4420, 儋州 4604, 嘉峪关 6202) number their towns directly under the city, so
the county group alone may be zero below a city (``441900003000`` is a town of 东莞市).

The history features key areas by the code as an int64 for speed (``as_keys``); the town of
a key is the same rule on the same group table (``town_keys``), so the two cannot drift.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from features.errors import RecordError
from features.schema import AREA_LEVELS

if TYPE_CHECKING:
    from features.areas import AreaTree

# Where each level's group of digits ends: 省 2, 市 4, 县 6, 镇 9, 村 12.
GROUP_END: Final[dict[str, int]] = {"province": 2, "city": 4, "county": 6, "town": 9, "village": 12}
_GROUP_START: Final[dict[str, int]] = {"province": 0, "city": 2, "county": 4, "town": 6, "village": 9}
_GROUPS: Final = tuple((level, _GROUP_START[level], GROUP_END[level]) for level in AREA_LEVELS)
_VILLAGE_DIGITS: Final = 10 ** (GROUP_END["village"] - GROUP_END["town"])  # 1000


def problem(code: object) -> str | None:
    """Why ``code`` is not a code of any level, or None when it is one."""
    if not (isinstance(code, str) and len(code) == 12 and code.isascii() and code.isdigit()):
        return "must be a 12-digit 统计用区划代码"
    zero = [code[start:end].strip("0") == "" for _, start, end in _GROUPS]
    if zero[0]:
        return "must not start with 00 (no province has that number)"
    last = max(i for i, z in enumerate(zero) if not z)
    gaps = [AREA_LEVELS[i] for i in range(1, last) if zero[i]]
    if gaps and not (gaps == ["county"] and not zero[AREA_LEVELS.index("city")]):
        return f"has {AREA_LEVELS[last]} digits under an all-zero {gaps[0]} group, which no level allows"
    return None


def is_valid(code: object) -> bool:
    """True for a 12-digit code consistent with some level.

    >>> is_valid("320612001001"), is_valid("320612000005"), is_valid("32061200100１")
    (True, False, False)
    """
    return problem(code) is None


def check(code: object, field: str = "area_code") -> str:
    """``code`` itself when valid, else a RecordError naming ``field`` and the rule.

    >>> check("320612001000")
    '320612001000'
    >>> check("320600000001")
    Traceback (most recent call last):
    ...
    features.errors.RecordError: area_code: has village digits under an all-zero county group, which no level allows, got '320600000001'
    """
    reason = problem(code)
    if reason is not None:
        raise RecordError(field, code, reason)
    assert isinstance(code, str)
    return code


def level_of(code: str) -> str:
    """The level the code's structure implies.

    >>> [level_of(c) for c in ("320000000000", "320600000000", "320612000000", "320612001000", "320612001001")]
    ['province', 'city', 'county', 'town', 'village']
    >>> level_of("441900003000")  # 东莞: a town directly under the city
    'town'
    """
    check(code)
    return next(level for level, start, end in reversed(_GROUPS) if code[start:end].strip("0"))


def prefix(code: str) -> str:
    """The digits every code within ``code`` starts with.

    >>> prefix("320612000000"), prefix("320612001000")
    ('320612', '320612001')
    """
    return code[: GROUP_END[level_of(code)]]


def ancestor_at(code: str, level: str) -> str | None:
    """``code`` itself or the code of its area at ``level`` (the town of a village); None when
    ``code`` lies above ``level`` or has no area there (the county of a 东莞 town).

    >>> ancestor_at("320612001001", "town"), ancestor_at("320612001001", "county")
    ('320612001000', '320612000000')
    >>> ancestor_at("320612000000", "town") is None, ancestor_at("441900003000", "county") is None
    (True, True)
    """
    own = level_of(code)
    if AREA_LEVELS.index(level) > AREA_LEVELS.index(own):
        return None
    if code[_GROUP_START[level] : GROUP_END[level]].strip("0") == "":
        return None
    return code[: GROUP_END[level]].ljust(12, "0")


def town_of(code: str) -> str | None:
    """The 镇/街道 of a village or town code (None above town level).

    >>> town_of("320612001001"), town_of("320612001000")
    ('320612001000', '320612001000')
    """
    return ancestor_at(code, "town")


def county_of(code: str) -> str | None:
    return ancestor_at(code, "county")


def city_of(code: str) -> str | None:
    return ancestor_at(code, "city")


def parent_of(code: str) -> str | None:
    """One level up: village -> town -> county (or the city, for a town of a city without
    counties) -> city -> province; None for a province.

    >>> parent_of("320612001001"), parent_of("320612000000"), parent_of("441900003000")
    ('320612001000', '320600000000', '441900000000')
    >>> parent_of("320000000000") is None
    True
    """
    i = AREA_LEVELS.index(level_of(code))
    for level in reversed(AREA_LEVELS[:i]):
        up = ancestor_at(code, level)
        if up is not None:
            return up
    return None


def is_within(code: str, scope: str | None) -> bool:
    """``code`` is ``scope`` or lies below it; everything lies within no scope (None).

    >>> is_within("320612001001", "320612000000"), is_within("320623101001", "320612000000")
    (True, False)
    >>> is_within("320612001001", None)
    True
    """
    return scope is None or code.startswith(prefix(scope))


def is_above(level: str, other: str) -> bool:
    """``level`` is strictly higher in the hierarchy than ``other``.

    >>> is_above("city", "county"), is_above("town", "town")
    (True, False)
    """
    return AREA_LEVELS.index(level) < AREA_LEVELS.index(other)


def responsible_town(code: str, tree: AreaTree | None = None) -> str:
    """The 镇/街道 whose 综治中心 handles a dispute registered at ``code``: its town in the area
    table where the table knows the code, otherwise the town its digits name. A code above
    town level is its own desk.

    >>> responsible_town("320612001001")
    '320612001000'
    """
    if tree is not None and code in tree:
        found = tree.ancestor_at(code, "town")
        if found is not None:
            return found
    return town_of(code) or code


# ---- the same rules on int64 keys (the history features' vectorised paths) -----------------
def as_keys(codes: pd.Series | list[str]) -> np.ndarray:
    """Codes as int64 keys, each distinct code checked once (a bad one raises RecordError).

    >>> as_keys(["320612001001", "320612001000"]).tolist()
    [320612001001, 320612001000]
    """
    positions, uniques = pd.factorize(pd.Series(codes, dtype=object), use_na_sentinel=False)
    return np.array([int(check(c)) for c in uniques], dtype=np.int64)[positions]


def code_of_key(key: int) -> str:
    """The 12-digit code of an int64 key (``as_keys`` back).

    >>> code_of_key(320612001000)
    '320612001000'
    """
    return check(f"{int(key):012d}")


def town_keys(keys: np.ndarray) -> np.ndarray:
    """The town key of each village or town key (``town_of`` on keys).

    >>> town_keys(np.array([320612001001, 320612001000])).tolist()
    [320612001000, 320612001000]
    """
    return keys - keys % _VILLAGE_DIGITS


def village_keys(keys: np.ndarray) -> np.ndarray:
    """The village key of each key, -1 where the code is a town (village unknown).

    >>> village_keys(np.array([320612001001, 320612001000])).tolist()
    [320612001001, -1]
    """
    return np.where(keys % _VILLAGE_DIGITS != 0, keys, -1)


def town_key(key: int) -> int:
    """``town_keys`` of one key, in plain Python (the intake path: no array for one case).

    >>> town_key(320612001001) == int(town_keys(np.array([320612001001]))[0])
    True
    """
    return key - key % _VILLAGE_DIGITS


def village_key(key: int) -> int:
    """``village_keys`` of one key, in plain Python.

    >>> village_key(320612001000), village_key(320612001001)
    (-1, 320612001001)
    """
    return key if key % _VILLAGE_DIGITS else -1
