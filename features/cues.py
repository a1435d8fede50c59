"""Escalation cues in a narrative: counts per cue family, negation-aware, and their transformer.

A cue mention does not count when a negator precedes it in the same clause (clause = text
between punctuation marks), at most ``NEGATION_MAX_GAP`` characters before it, with no scope
breaker (但, 就, 后 ...) in between: "双方未发生肢体冲突" counts no physical conflict, while in
"未发生肢体冲突,但对方扬言要杀了他" the threat still counts. Each mention is judged on its
own, so a negated clause never cancels a positive one elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from features.catalogue import RISES, Family, Feature, fixed
from features.checks import as_text_list, require_fitted
from features.cue_lexicon import CUE_FAMILIES, CUE_LABELS
from features.cue_rules import count_cues
from features.errors import DisputeRiskError
from features.tokenizer import normalise_text

__all__ = [
    "CUE_CATALOGUE",
    "CUE_COLUMNS",
    "CUE_FAMILIES",
    "CUE_LABELS",
    "CUE_REASON_FAMILIES",
    "cue_column",
    "CueFlags",
    "cue_reasons",
    "detect_cues",
]


def cue_column(family: str) -> str:
    """The model-matrix column (and reason family) of a cue family.

    >>> cue_column("threat")
    'cue_threat'
    """
    return f"cue_{family}"


# column -> cue family, for readers of a feature row (the API's cue counts)
CUE_COLUMNS: dict[str, str] = {cue_column(f): f for f in CUE_FAMILIES}

# One feature and one reason per cue family; a threat or a weapon added to a narrative never
# lowers the risk (a monotone constraint).
CUE_CATALOGUE: tuple[Feature, ...] = tuple(Feature(cue_column(f), cue_column(f), RISES) for f in CUE_FAMILIES)
CUE_REASON_FAMILIES: tuple[Family, ...] = tuple(
    Family(cue_column(f), CUE_LABELS[f], "escalation cues", fixed(f"事件简述提到{CUE_LABELS[f]}"))
    for f in CUE_FAMILIES
)


def detect_cues(text: str, *, normalised: bool = False) -> dict[str, int]:
    """Counts of non-negated cue mentions per family (every family present, 0 when absent).
    ``normalised``: the text already went through ``normalise_text`` (it is idempotent; this
    only spares doing it twice). The batch rule (``features/cue_rules.py``) on a batch of one.

    >>> detect_cues("未发生肢体冲突,但对方扬言要杀了他")["threat"]
    1
    """
    counts = count_cues([text if normalised else normalise_text(text)])[0]
    return dict(zip(CUE_FAMILIES, counts.tolist(), strict=True))


def cue_reasons(counts: dict[str, int]) -> list[str]:
    """Chinese labels of the families present, in ``CUE_FAMILIES`` order (for plain reasons)."""
    return [CUE_LABELS[f] for f in CUE_FAMILIES if counts.get(f, 0) > 0]


class CueFlags(TransformerMixin, BaseEstimator):
    """Texts -> dense float array (n, n_families) of cue counts capped at ``max_count``.

    ``families``: None = all of ``CUE_FAMILIES``, else a subset in any order.
    ``max_count``: cap per family (None = uncapped); capping keeps one verbose text from
    looking many times riskier than a terse one.
    """

    def __init__(self, families: Iterable[str] | None = None, max_count: int | None = 3) -> None:
        self.families = families
        self.max_count = max_count

    def fit(self, X: Any, y: Any = None) -> CueFlags:
        families = CUE_FAMILIES if self.families is None else tuple(self.families)
        unknown = [f for f in families if f not in CUE_FAMILIES]
        if unknown or not families:
            raise DisputeRiskError(
                f"families must be a non-empty subset of {', '.join(CUE_FAMILIES)}, got {list(families)!r}"
            )
        if self.max_count is not None and (
            isinstance(self.max_count, bool) or not isinstance(self.max_count, int) or self.max_count < 1
        ):
            raise DisputeRiskError(f"max_count must be an int >= 1 or None, got {self.max_count!r}")
        as_text_list(X, "CueFlags")  # validates the input shape; the lexicon has nothing to learn
        self.families_ = families
        self.n_features_out_ = len(families)
        return self

    def transform(self, X: Any) -> np.ndarray:
        return self.counts(as_text_list(X, "CueFlags"))

    def counts(self, texts: list[str], *, normalised: bool = False) -> np.ndarray:
        """``transform`` of a list of texts; ``normalised``: each already went through
        ``normalise_text`` (the featurizer normalises once for every text feature)."""
        require_fitted(self, "families_")
        return self.from_counts(count_cues(texts if normalised else [normalise_text(t) for t in texts]))

    def from_counts(self, counts: np.ndarray) -> np.ndarray:
        """``counts``' output from ``count_cues``'s (every family, uncapped) of the same texts."""
        require_fitted(self, "families_")
        out = counts[:, [CUE_FAMILIES.index(f) for f in self.families_]].astype(np.float64)
        if self.max_count is not None:
            np.minimum(out, self.max_count, out=out)
        return out

    def transform_one(self, text: str, *, normalised: bool = False) -> list[float]:
        """``transform([text])[0]`` as a list, for one text (the intake fast path)."""
        require_fitted(self, "families_")
        counts = detect_cues(text, normalised=normalised)
        cap = math.inf if self.max_count is None else self.max_count
        return [float(min(counts[f], cap)) for f in self.families_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        require_fitted(self, "families_")
        return np.asarray([cue_column(f) for f in self.families_], dtype=object)
