"""The 12-digit 统计用区划代码 read by its structure (PP CC DD TTT VVV). The queue needs only
this (whose 综治中心 is responsible, who is above whom, which codes lie under a scope), not
the names, so it needs no area table. The structure itself is defined in features.schema."""

from __future__ import annotations

from features.errors import RecordError
from features.schema import AREA_LEVELS, AREA_PREFIX_LENGTHS, implied_level, is_area_code


def check_code(code: str, field: str = "area_code") -> str:
    if not is_area_code(code):
        raise RecordError(field, code, "must be 12 digits")
    return code


def level_of(code: str) -> str:
    return implied_level(code)


def prefix(code: str) -> str:
    """The digits every code under ``code`` starts with (``320612000000`` -> ``320612``)."""
    return code[: AREA_PREFIX_LENGTHS[implied_level(code)]]


def within(code: str, scope: str | None) -> bool:
    """``code`` lies in the subtree of ``scope`` (everything does when scope is None)."""
    return scope is None or code.startswith(prefix(scope))


def town_of(code: str) -> str:
    """The 镇/街道 of a village or town code: its 综治中心 is responsible by default."""
    return code[:9] + "000"


def parent_of(code: str) -> str | None:
    """One level up by the code structure: village -> town -> county -> city -> province."""
    i = AREA_LEVELS.index(implied_level(code))
    return None if i == 0 else code[: AREA_PREFIX_LENGTHS[AREA_LEVELS[i - 1]]].ljust(12, "0")


def is_above(level: str, other: str) -> bool:
    """``level`` is strictly higher in the hierarchy than ``other`` (city above county)."""
    return AREA_LEVELS.index(level) < AREA_LEVELS.index(other)
