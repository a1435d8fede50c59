"""The hard flags of many cases at once (risk/flags.py ``fired`` + ``flag_codes_and_levels``, what
batch scoring runs) equal the per-case answer (``flags_for`` + ``apply_flags``, the API's) on every
combination of what the rules read."""

from __future__ import annotations

import itertools
import math

import numpy as np

from risk.flags import RULES, apply_flags, fired, flag_codes_and_levels, flags_for, police_calls_of
from risk.levels import LEVELS, rank

FAMILIES = ("threat", "weapon", "self_harm", "physical", "injury", "alcohol")
CALLS = (None, math.nan, 0, 2, 3, 3.0, 7, "4", "x")


def test_batch_flags_equal_the_per_case_flags_on_every_combination():
    cases = list(itertools.product(CALLS, (False, True), *[(0, 1)] * len(FAMILIES), LEVELS))
    calls = [c[0] for c in cases]
    person = np.array([c[1] for c in cases])
    cues = {f: np.array([c[2 + i] for c in cases]) for i, f in enumerate(FAMILIES)}
    levels = [c[-1] for c in cases]
    codes, final = flag_codes_and_levels(levels, fired(police_calls_of(calls), person, cues))
    for i, (call, key_group, *counts, level) in enumerate(cases):
        one = flags_for(call, key_group, dict(zip(FAMILIES, counts, strict=True)))
        assert codes[i] == ";".join(f.code for f in one), cases[i]
        assert final[i] == apply_flags(level, one), cases[i]


def test_rules_are_listed_most_severe_first():
    ranks = [rank(r.level) for r in RULES]
    assert ranks == sorted(ranks, reverse=True)


def test_repeat_police_calls_text_names_the_count():
    (flag,) = flags_for("4", False, {})
    assert flag.text == "同一纠纷登记前已有4次110报警"
