"""Hard red flags: professional-judgement rules that stand beside the model.

As in DASH and VioGén, a few facts are serious enough on their own that the warning level
must not depend on what a statistical model makes of them. A flag can raise the level the
model gave, never lower it, and the response names every flag that fired so the officer
sees why the level differs from the model's.

Cue counts come from ``ScoredCase.cues`` (non-negated mentions per cue family: threat,
weapon, alcohol, physical, injury, self_harm, separation, property_damage), so negated
mentions ("没有动刀") do not fire a flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from features.schema import split_key_groups
from risk.levels import ORANGE, RED, higher

# Police calls about the same dispute before registration that make it a repeat call-out.
REPEAT_POLICE_CALLS = 3


@dataclass(frozen=True)
class Flag:
    """A rule that fired: its code, the level it demands at least, and why in plain Chinese."""

    code: str
    level: str
    text: str


def _count(value: object) -> int | None:
    """A count read from a case (None when unknown: missing or NaN)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return int(number) if number == number else None


def _cue(cues: Mapping[str, int], family: str) -> int:
    return int(cues.get(family, 0) or 0)


def is_key_group_person(party_type: object, key_groups: object) -> bool:
    """A party that is a person tagged with a 重点人群 group (an organisation cannot threaten self-harm).

    >>> is_key_group_person("自然人", "吸毒人员"), is_key_group_person("单位", "吸毒人员")
    (True, False)
    """
    return party_type != "单位" and bool(
        split_key_groups(key_groups if isinstance(key_groups, str) else None)
    )


def evaluate_flags(
    case: Mapping[str, Any],
    parties: Sequence[Mapping[str, Any]],
    cues: Mapping[str, int],
    *,
    repeat_police_calls: int = REPEAT_POLICE_CALLS,
) -> list[Flag]:
    """Every hard flag the case triggers, most severe first.

    >>> [f.code for f in evaluate_flags({"police_calls_before": 4}, [], {"threat": 1, "weapon": 1})]
    ['threat_with_weapon', 'repeat_police_calls']
    >>> evaluate_flags({"police_calls_before": float("nan")}, [], {"threat": 1})
    []
    """
    key_group_person = any(is_key_group_person(p.get("party_type"), p.get("key_groups")) for p in parties)
    return flags_for(
        case.get("police_calls_before"), key_group_person, cues, repeat_police_calls=repeat_police_calls
    )


# The rules, most severe first (a case's flags come out in this order); "{calls}" in a text
# stands for the case's police calls. ``fired`` says when each one fires.
RULES: tuple[Flag, ...] = (
    # The lexicon has no separate "threat to kill" family: a threat together with a weapon in
    # the same narrative is the closest reading of DASH's "threats to kill with a weapon".
    Flag("threat_with_weapon", RED, "事件简述同时提到言语威胁和凶器"),
    Flag("self_harm_key_group", RED, "重点人群当事人有自伤、自杀或同归于尽的言行"),
    Flag("repeat_police_calls", ORANGE, "同一纠纷登记前已有{calls}次110报警"),
    Flag("violence_with_injury", ORANGE, "事件简述提到肢体冲突并已致伤"),
)


def fired(
    police_calls: np.ndarray,
    key_group_person: np.ndarray,
    cues: Mapping[str, np.ndarray],
    *,
    repeat_police_calls: int = REPEAT_POLICE_CALLS,
) -> np.ndarray:
    """The rules themselves, on many cases at once: bool (n cases, len(RULES)).
    ``police_calls``: as ``police_calls_of`` reads them; ``cues``: counts per family (a family
    left out counts 0).

    >>> fired(np.array([4.0, np.nan]), np.array([False, True]), {"self_harm": np.array([1, 1])}).tolist()
    [[False, False, True, False], [False, True, False, False]]
    """
    n = len(police_calls)

    def cue(family: str) -> np.ndarray:
        return np.asarray(cues.get(family, np.zeros(n))) != 0

    with np.errstate(invalid="ignore"):  # NaN (unknown) compares False
        repeat = police_calls >= repeat_police_calls
    columns = [
        cue("threat") & cue("weapon"),
        cue("self_harm") & np.asarray(key_group_person, dtype=bool),
        repeat,
        cue("physical") & cue("injury"),
    ]
    return np.column_stack(columns).reshape(n, len(RULES))


def police_calls_of(values: Iterable[object]) -> np.ndarray:
    """Police-call counts read from cases (``_count``) as floats, NaN when unknown."""
    return np.array([np.nan if (c := _count(v)) is None else c for v in values], dtype=np.float64)


def flags_for(
    police_calls_before: object,
    key_group_person: bool,
    cues: Mapping[str, int],
    *,
    repeat_police_calls: int = REPEAT_POLICE_CALLS,
) -> list[Flag]:
    """``fired`` on one case, as the flags the API answers."""
    row = fired(
        police_calls_of([police_calls_before]),
        np.array([key_group_person]),
        {family: np.array([_cue(cues, family)]) for family in cues},
        repeat_police_calls=repeat_police_calls,
    )[0]
    calls = _count(police_calls_before)
    return [Flag(r.code, r.level, r.text.format(calls=calls)) for r, on in zip(RULES, row, strict=True) if on]


def flag_codes_and_levels(
    model_levels: Sequence[str], rules_fired: np.ndarray
) -> tuple[list[str], list[str]]:
    """Per case of ``fired``: its flag codes joined by ";", and its final level (``apply_flags``),
    each worked out once per combination of rules and model level."""
    masks = (rules_fired.astype(np.int64) @ (1 << np.arange(len(RULES)))).tolist()
    combinations = [[r for i, r in enumerate(RULES) if mask >> i & 1] for mask in range(1 << len(RULES))]
    codes = [";".join(f.code for f in flags) for flags in combinations]
    final: dict[tuple[str, int], str] = {}
    levels = []
    for key in zip(model_levels, masks, strict=True):
        if key not in final:
            final[key] = apply_flags(key[0], combinations[key[1]])
        levels.append(final[key])
    return [codes[m] for m in masks], levels


def apply_flags(model_level: str, flags: Sequence[Flag]) -> str:
    """The final level: the model's, raised (never lowered) to the most severe flag's level.

    >>> flags = evaluate_flags({}, [], {"physical": 1, "injury": 2})
    >>> apply_flags("蓝", flags), apply_flags("红", flags), apply_flags("黄", [])
    ('橙', '红', '黄')
    """
    return higher(model_level, *(f.level for f in flags))
