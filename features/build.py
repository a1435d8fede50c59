"""The feature pipeline: one fitted object that training, batch scoring and the API all use.

Input is a "case frame": the contract's case columns plus the as-of history columns
(``features.history.HISTORY_FEATURES``), computed beforehand so that history never
sees the future. Output is one sparse float32 matrix: tabular | cues | history | text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from features.cues import CUE_FAMILIES, CueFlags
from features.history import HISTORY_FEATURES
from features.tabular import TABULAR_FEATURES, tabular_matrix, tabular_row
from features.text_vectorizer import NarrativeVectorizer
from features.tokenizer import normalise_text

CUE_FEATURES = tuple(f"cue_{family}" for family in CUE_FAMILIES)
TEXT_PREFIX = "term="


class CaseFeaturizer(BaseEstimator, TransformerMixin):
    """Turns a case frame into the model matrix.

    ``text_max_features=0`` leaves the bag of words out (the cue flags stay).
    """

    def __init__(
        self,
        text_max_features: int = 5000,
        text_min_df: int = 5,
        text_ngram_range: tuple[int, int] = (1, 2),
        tokenizer_backend: str = "auto",
    ) -> None:
        self.text_max_features = text_max_features
        self.text_min_df = text_min_df
        self.text_ngram_range = text_ngram_range
        self.tokenizer_backend = tokenizer_backend

    def fit(self, X: pd.DataFrame, y: Any = None) -> CaseFeaturizer:
        _require_columns(X)
        self.cues_ = CueFlags().fit(X["narrative"])
        if self.text_max_features > 0:
            self.vectorizer_ = NarrativeVectorizer(
                max_features=self.text_max_features,
                min_df=self.text_min_df,
                ngram_range=self.text_ngram_range,
                backend=self.tokenizer_backend,
            ).fit(X["narrative"])
            terms = [f"{TEXT_PREFIX}{t}" for t in self.vectorizer_.get_feature_names_out()]
        else:
            self.vectorizer_ = None
            terms = []
        self.feature_names_ = np.array([*TABULAR_FEATURES, *CUE_FEATURES, *HISTORY_FEATURES, *terms], dtype=object)
        self.n_dense_ = len(TABULAR_FEATURES) + len(CUE_FEATURES) + len(HISTORY_FEATURES)
        return self

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        check_is_fitted(self, "feature_names_")
        _require_columns(X)
        # Normalise once; both text transformers accept normalised text unchanged (idempotent).
        texts = [normalise_text(str(t)) for t in X["narrative"]]
        dense = np.hstack([
            tabular_matrix(X),
            self.cues_.transform(texts).astype(np.float32),
            X.loc[:, list(HISTORY_FEATURES)].to_numpy(dtype=np.float32),
        ])
        return self._combine(dense, texts)

    def transform_one(self, case: Mapping[str, Any], history: Mapping[str, float]) -> sp.csr_matrix:
        """The intake fast path: one case as a mapping, its history features as a mapping."""
        check_is_fitted(self, "feature_names_")
        narrative = normalise_text(str(case.get("narrative", "")))
        dense = np.concatenate([
            tabular_row(case),
            self.cues_.transform([narrative])[0].astype(np.float32),
            np.array([history.get(name, np.nan) for name in HISTORY_FEATURES], dtype=np.float32),
        ])[None, :]
        return self._combine(dense, [narrative])

    def _combine(self, dense: np.ndarray, narratives: Iterable[str]) -> sp.csr_matrix:
        # NaN means "unknown" to LightGBM; keep it as an explicit stored value, zeros stay implicit.
        parts = [sp.csr_matrix(dense, dtype=np.float32)]
        if self.vectorizer_ is not None:
            parts.append(self.vectorizer_.transform(narratives).astype(np.float32))
        return sp.hstack(parts, format="csr", dtype=np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_")
        return self.feature_names_

    def dense_feature_names(self) -> list[str]:
        return list(self.feature_names_[: self.n_dense_])


def _require_columns(X: pd.DataFrame) -> None:
    missing = [c for c in ("registered_at", "category", "source", "narrative", "n_parties", "n_people", *HISTORY_FEATURES) if c not in X]
    if missing:
        from features.errors import DisputeRiskError

        raise DisputeRiskError(f"case frame is missing columns {missing}; join the history features first")


def case_frame(cases: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Cases with their as-of history columns, aligned on the index."""
    return pd.concat([cases.reset_index(drop=True), history.reset_index(drop=True)[list(HISTORY_FEATURES)]], axis=1)
