"""The feature catalogue: each model feature declared once, where it is built, with its reason
family and the direction it may push the risk; each family with its plain-Chinese reason.

The modules that build features declare them (``features.tabular``, ``features.cues``,
``features.history_schema``, ``features.text_score``); ``features.build`` puts them in the
model matrix's order as ``CATALOGUE``. Reasons (``risk.reasons``), LightGBM's monotone
constraints, the baselines and the model card read it; nobody keeps a prefix table by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from features.errors import DisputeRiskError

RISES: int = 1  # more of it never lowers the risk (a LightGBM monotone constraint)

# (case, history features, top narrative terms) -> one sentence
Describe = Callable[[Mapping[str, Any], Mapping[str, Any], Sequence[str]], str]


@dataclass(frozen=True)
class Feature:
    """One column of the model matrix."""

    name: str
    family: str
    monotone: int = 0


@dataclass(frozen=True)
class Family:
    """Features a supervisor reads as one reason (叙述中的威胁, 当事人的纠纷史 ...)."""

    code: str
    label: str  # short Chinese name, for the model card
    group: str  # the model card's section: case, escalation cues, narrative, party history ...
    describe: Describe


def features(family: str, names: Iterable[str], monotone: int = 0) -> tuple[Feature, ...]:
    """Several features of one family.

    >>> features("people", ["n_parties", "n_people"])[1]
    Feature(name='n_people', family='people', monotone=0)
    """
    return tuple(Feature(name, family, monotone) for name in names)


def fixed(text: str) -> Describe:
    """A reason that reads the same for every case."""
    return lambda case, history, terms: text


def number(value: Any) -> float:
    """A case value as a float; NaN when missing or not a number."""
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def count_of(history: Mapping[str, Any], name: str) -> int:
    """A history count as an int (0 when unknown)."""
    value = number(history.get(name))
    return 0 if math.isnan(value) else int(value)


class Catalogue:
    """Features in matrix order and their families; lookups by name."""

    def __init__(self, features: Sequence[Feature], families: Sequence[Family]) -> None:
        self.features = tuple(features)
        self.families = {family.code: family for family in families}
        self._by_name = {feature.name: feature for feature in self.features}
        if len(self._by_name) != len(self.features):
            raise DisputeRiskError("feature names must be unique in the catalogue")
        unknown = sorted({f.family for f in self.features} - set(self.families))
        if unknown:
            raise DisputeRiskError(f"every feature's family must be declared, missing {unknown}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    def __getitem__(self, name: str) -> Feature:
        try:
            return self._by_name[name]
        except KeyError:
            raise DisputeRiskError(f"{name!r} is not a feature of the catalogue") from None

    def require(self, names: Iterable[str]) -> tuple[str, ...]:
        """``names`` unchanged when each is a catalogue feature (a renamed one fails here)."""
        return tuple(self[name].name for name in names)

    def family_of(self, name: str) -> str:
        return self[name].family

    def monotone(self, names: Sequence[str]) -> list[int]:
        """LightGBM's ``monotone_constraints`` for columns ``names``."""
        return [self[name].monotone for name in names]

    def describe(
        self, family: str, case: Mapping[str, Any], history: Mapping[str, Any], terms: Sequence[str] = ()
    ) -> str:
        return self.families[family].describe(case, history, terms)
