"""Warning levels (红/橙/黄/蓝/无) and how a calibrated risk maps onto them.

Thresholds are set at training time from the calibration window and travel with
the model; this module only applies them, so serving and batch scoring agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from features.errors import DisputeRiskError

RED: Final = "红"
ORANGE: Final = "橙"
YELLOW: Final = "黄"
BLUE: Final = "蓝"
NONE: Final = "无"

# Most severe first; the rank of a level is its distance from 无.
LEVELS: Final[tuple[str, ...]] = (RED, ORANGE, YELLOW, BLUE, NONE)
WARNING_LEVELS: Final[tuple[str, ...]] = (RED, ORANGE, YELLOW, BLUE)
_RANK: Final[dict[str, int]] = {level: len(LEVELS) - 1 - i for i, level in enumerate(LEVELS)}


def rank(level: str) -> int:
    """无 -> 0, 蓝 -> 1, 黄 -> 2, 橙 -> 3, 红 -> 4.

    >>> [rank(level) for level in LEVELS]
    [4, 3, 2, 1, 0]
    """
    try:
        return _RANK[level]
    except KeyError:
        raise DisputeRiskError(f"level must be one of {'/'.join(LEVELS)}, got {level!r}") from None


def higher(*levels: str) -> str:
    """The most severe of the given levels (无 when none are given).

    >>> higher("蓝", "橙", "黄"), higher()
    ('橙', '无')
    """
    return max(levels, key=rank, default=NONE)


def check_thresholds(thresholds: Mapping[str, float]) -> dict[str, float]:
    """Thresholds must name every warning level, lie in (0, 1) and fall from 红 to 蓝.

    >>> check_thresholds({"红": 0.4, "橙": 0.5, "黄": 0.1, "蓝": 0.05})
    Traceback (most recent call last):
    ...
    features.errors.DisputeRiskError: thresholds must not rise from 红 to 蓝, got {'红': 0.4, '橙': 0.5, '黄': 0.1, '蓝': 0.05}
    """
    missing = [lvl for lvl in WARNING_LEVELS if lvl not in thresholds]
    if missing:
        raise DisputeRiskError(f"thresholds must give every warning level, missing {missing}")
    values = [float(thresholds[lvl]) for lvl in WARNING_LEVELS]
    for lvl, value in zip(WARNING_LEVELS, values, strict=True):
        if not 0.0 < value < 1.0:
            raise DisputeRiskError(f"threshold for {lvl} must be in (0, 1), got {value}")
    if any(a < b for a, b in zip(values, values[1:], strict=False)):
        raise DisputeRiskError(
            f"thresholds must not rise from 红 to 蓝, got {dict(zip(WARNING_LEVELS, values, strict=True))}"
        )
    return dict(zip(WARNING_LEVELS, values, strict=True))


def level_for(risk: float, thresholds: Mapping[str, float]) -> str:
    """The most severe level whose threshold the risk reaches.

    >>> thresholds = {"红": 0.43, "橙": 0.17, "黄": 0.062, "蓝": 0.026}
    >>> level_for(0.2, thresholds), level_for(0.43, thresholds), level_for(0.01, thresholds)
    ('橙', '红', '无')
    """
    for lvl in WARNING_LEVELS:
        if risk >= thresholds[lvl]:
            return lvl
    return NONE


def levels_for(risks: Iterable[float], thresholds: Mapping[str, float]) -> list[str]:
    """``level_for`` of each risk.

    >>> levels_for([0.5, 0.03], {"红": 0.43, "橙": 0.17, "黄": 0.062, "蓝": 0.026})
    ['红', '蓝']
    """
    return [level_for(float(r), thresholds) for r in risks]
