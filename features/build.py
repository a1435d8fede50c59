"""The feature pipeline: one fitted object that training, batch scoring and the API all use.

Input is a "case frame": the contract's case columns plus the as-of history columns
(``features.history_schema.HISTORY_FEATURES``), computed beforehand so that history never sees
the future. Output is one dense float32 matrix: tabular | cues | history | text score.
NaN means "unknown" (LightGBM routes it on its own branch).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from features.catalogue import Catalogue
from features.checks import require_fitted
from features.cue_lexicon import CUE_FAMILIES
from features.cue_rules import count_cues
from features.cues import CUE_CATALOGUE, CUE_REASON_FAMILIES, CueFlags
from features.errors import DisputeRiskError
from features.history_schema import HISTORY_CATALOGUE, HISTORY_FEATURES, HISTORY_REASON_FAMILIES
from features.narrative_parts import NarrativeParts, narrative_parts, normalised
from features.tabular import TABULAR_CATALOGUE, TABULAR_REASON_FAMILIES, tabular_matrix, tabular_row
from features.text_score import TEXT_CATALOGUE, TEXT_FEATURE, TEXT_REASON_FAMILIES, NarrativeScore
from features.tokenizer import normalise_text

# Every feature in the model matrix's order (tabular | cues | history | text score), and the
# reason family of each: the one list that reasons, constraints, baselines and the card read.
CATALOGUE = Catalogue(
    TABULAR_CATALOGUE + CUE_CATALOGUE + HISTORY_CATALOGUE + TEXT_CATALOGUE,
    TABULAR_REASON_FAMILIES + CUE_REASON_FAMILIES + HISTORY_REASON_FAMILIES + TEXT_REASON_FAMILIES,
)
_REQUIRED = ("registered_at", "category", "source", "narrative", "n_parties", "n_people")


class CaseFeaturizer(TransformerMixin, BaseEstimator):
    """Turns a case frame into the model matrix.

    ``use_text=False`` leaves the narrative's word score out (the cue flags stay). With text,
    ``fit`` needs the labels, and ``fit_transform`` returns cross-fitted text scores for the rows
    it was fitted on (see ``features.text_score``).
    """

    def __init__(
        self,
        use_text: bool = True,
        text_max_features: int = 20_000,
        text_min_df: int = 5,
        text_ngram_range: tuple[int, int] = (1, 2),
        text_C: float = 1.0,
        tokenizer_backend: str = "auto",
    ) -> None:
        self.use_text = use_text
        self.text_max_features = text_max_features
        self.text_min_df = text_min_df
        self.text_ngram_range = text_ngram_range
        self.text_C = text_C
        self.tokenizer_backend = tokenizer_backend

    def fit(self, X: pd.DataFrame, y: Any = None) -> CaseFeaturizer:
        self.fit_transform(X, y)
        return self

    def fit_transform(
        self,
        X: pd.DataFrame,
        y: Any = None,
        *,
        cue_counts: Callable[[], np.ndarray] | None = None,
        **fit_params: Any,
    ) -> np.ndarray:
        """``cue_counts``: gives ``count_cues`` of X's narratives, asked once the word score is
        fitted (training has a second process count them meanwhile)."""
        _require_columns(X)
        texts = normalised(X["narrative"])
        self.cues_ = CueFlags().fit(texts)
        text_column = None
        self.text_: NarrativeScore | None = None
        if self.use_text:
            self.text_ = NarrativeScore(
                max_features=self.text_max_features,
                min_df=self.text_min_df,
                ngram_range=self.text_ngram_range,
                C=self.text_C,
                backend=self.tokenizer_backend,
            )
            text_column = self.text_.fit_transform(texts, y, normalised=True)
        names = [name for name in CATALOGUE.names if self.use_text or name != TEXT_FEATURE]
        self.feature_names_ = np.array(names, dtype=object)
        counts = _checked(cue_counts(), len(X)) if cue_counts is not None else count_cues(texts)
        return self._matrix(X, NarrativeParts(counts, text_column))

    def transform(self, X: pd.DataFrame, *, narrative: NarrativeParts | None = None) -> np.ndarray:
        """``narrative``: ``narrative_parts(X["narrative"], self.text_)`` when already computed
        (batch scoring computes them in a second process while this one reads the history); its
        word score may be left out (None), and is then computed here."""
        require_fitted(self, "feature_names_")
        _require_columns(X)
        if narrative is None:
            narrative = narrative_parts(X["narrative"], self.text_)
        elif len(narrative) != len(X) or (narrative.word_score is not None and self.text_ is None):
            raise DisputeRiskError(
                f"narrative parts of {len(narrative)} rows do not fit this featurizer and {len(X)} cases"
            )
        elif narrative.word_score is None and self.text_ is not None:
            words = self.text_.transform(normalised(X["narrative"]), normalised=True)
            narrative = NarrativeParts(narrative.cue_counts, words)
        return self._matrix(X, narrative)

    def transform_one(self, case: Mapping[str, Any], history: Mapping[str, float]) -> np.ndarray:
        """The intake fast path: one case as a mapping, its history features as a mapping -> (1, F)."""
        require_fitted(self, "feature_names_")
        text = normalise_text(str(case.get("narrative", "")))
        values = self.cues_.transform_one(text, normalised=True)
        values += [history.get(name, np.nan) for name in HISTORY_FEATURES]
        if self.text_ is not None:
            values.append(float(self.text_.score_one(text, normalised=True)))
        return np.concatenate([tabular_row(case), np.array(values, dtype=np.float32)])[None, :]

    def without_text(self) -> CaseFeaturizer:
        """A copy that drops the text score (used when validation says the words do not help)."""
        require_fitted(self, "feature_names_")
        other = copy.deepcopy(self)
        other.use_text = False
        other.text_ = None
        other.feature_names_ = self.feature_names_[: len(self.feature_names_) - int(self.text_ is not None)]
        return other

    def top_terms(self, narrative: str, k: int = 2) -> list[str]:
        text = getattr(self, "text_", None)  # a featurizer pickled before it had one
        return [] if text is None else text.top_terms(normalise_text(narrative), k, normalised=True)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        require_fitted(self, "feature_names_")
        return self.feature_names_

    def _matrix(self, X: pd.DataFrame, narrative: NarrativeParts) -> np.ndarray:
        parts = [
            tabular_matrix(X),
            self.cues_.from_counts(narrative.cue_counts).astype(np.float32),
            X.loc[:, list(HISTORY_FEATURES)].to_numpy(dtype=np.float32),
        ]
        if narrative.word_score is not None:
            parts.append(np.asarray(narrative.word_score, dtype=np.float32).reshape(-1, 1))
        return np.hstack(parts).astype(np.float32, copy=False)


def _checked(cue_counts: np.ndarray, n: int) -> np.ndarray:
    if cue_counts.shape != (n, len(CUE_FAMILIES)):
        raise DisputeRiskError(f"cue counts of shape {cue_counts.shape} do not fit {n} cases")
    return cue_counts


def _require_columns(X: pd.DataFrame) -> None:
    missing = [c for c in (*_REQUIRED, *HISTORY_FEATURES) if c not in X]
    if missing:
        raise DisputeRiskError(f"case frame is missing columns {missing}; join the history features first")


def case_frame(cases: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Cases with their as-of history columns, aligned by position."""
    return pd.concat(
        [cases.reset_index(drop=True), history.reset_index(drop=True)[list(HISTORY_FEATURES)]], axis=1
    )
