"""A narrative's words as one feature: a linear model on TF-IDF, cross-fitted.

Thousands of sparse word columns handed straight to the trees let them chase noise in the
rare positive class; one log-odds score per narrative keeps what the words know and leaves
the trees the structured signals. The score for a training row comes from a model that did
not see that row (k-fold cross-fitting, as sklearn's TargetEncoder does in fit_transform),
so the trees downstream never learn from an in-sample, overconfident text score.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from features.catalogue import RISES, Family, Feature
from features.checks import as_text_list, require_fitted
from features.errors import DisputeRiskError
from features.text_vectorizer import NarrativeVectorizer

TEXT_FEATURE = "text_score"
# Monotone: the trees may not learn that a narrative's words make it calmer than its score says.
TEXT_CATALOGUE: tuple[Feature, ...] = (Feature(TEXT_FEATURE, "text", RISES),)
TEXT_REASON_FAMILIES: tuple[Family, ...] = (
    Family(
        "text",
        "事件简述用词",
        "narrative",
        lambda case, history, terms: (
            f"事件简述中的用词（如“{'”“'.join(terms)}”）" if terms else "事件简述的整体内容"
        ),
    ),
)


class NarrativeScore(TransformerMixin, BaseEstimator):
    """Texts -> (n, 1) array: the log-odds a linear model on the narrative's TF-IDF gives."""

    def __init__(
        self,
        max_features: int = 20_000,
        min_df: int = 5,
        ngram_range: tuple[int, int] = (1, 2),
        C: float = 1.0,
        folds: int = 5,
        backend: str = "auto",
        random_state: int = 0,
    ) -> None:
        self.max_features = max_features
        self.min_df = min_df
        self.ngram_range = ngram_range
        self.C = C
        self.folds = folds
        self.backend = backend
        self.random_state = random_state

    def fit(self, X: Any, y: Any, *, normalised: bool = False) -> NarrativeScore:
        self.fit_transform(X, y, normalised=normalised)
        return self

    def fit_transform(
        self, X: Any, y: Any = None, *, normalised: bool = False, **fit_params: Any
    ) -> np.ndarray:
        """Fit on all rows; return cross-fitted scores for these same rows. ``normalised`` (here
        and in the transforms): the texts already went through ``normalise_text``."""
        texts = as_text_list(X, "NarrativeScore")
        labels = _labels(y, len(texts))
        self.__dict__.pop("_coef32", None)  # score_one's copy of the coefficients, made anew
        self.vectorizer_ = NarrativeVectorizer(
            backend=self.backend,
            ngram_range=self.ngram_range,
            min_df=self.min_df,
            max_features=self.max_features,
        )
        T = self.vectorizer_.fit_transform(texts, normalised=normalised)
        self.term_names_ = self.vectorizer_.get_feature_names_out()  # sorted once, not per reason
        n_pos = int(labels.sum())
        folds = min(self.folds, n_pos, len(labels) - n_pos)
        scores = np.empty(len(labels), dtype=np.float64)
        if folds >= 2:
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
            coefs, intercepts = [], []
            for train, held_out in splitter.split(np.zeros(len(labels)), labels):
                fold = self._linear().fit(T[train], labels[train])
                scores[held_out] = fold.decision_function(T[held_out])
                coefs.append(fold.coef_)
                intercepts.append(fold.intercept_)
            # New texts get the mean of the fold models (one linear model, as the score is linear):
            # the same strength of model that gave the training rows their scores, so the trees see
            # one distribution of text scores in training and in use. (So no model is fitted on all
            # rows: its coefficients would be replaced by these.)
            self.model_ = fold
            self.model_.coef_ = np.mean(coefs, axis=0)
            self.model_.intercept_ = np.mean(intercepts, axis=0)
        else:  # too few positives to cross-fit: in-sample scores, said in the fitted state
            self.model_ = self._linear().fit(T, labels)
            scores = self.model_.decision_function(T)
        self.cross_fitted_ = folds >= 2
        self.n_features_in_ = 1
        return scores[:, None].astype(np.float32)

    def transform(self, X: Any, *, normalised: bool = False) -> np.ndarray:
        require_fitted(self, "model_")
        texts = as_text_list(X, "NarrativeScore")
        # The linear score directly: sklearn's per-call input checks cost as much as the product
        # for the single narrative of an intake request.
        T = self.vectorizer_.transform(texts, normalised=normalised)
        return (T @ self.model_.coef_[0] + self.model_.intercept_[0]).reshape(-1, 1).astype(np.float32)

    def score_one(self, text: str, *, normalised: bool = False) -> np.float32:
        """``transform([text])[0, 0]`` for one text without a sparse matrix (the intake fast
        path). The same arithmetic as scipy's float32 CSR times the coefficients there: float32
        products summed in column order in float32, then the intercept in float64."""
        require_fitted(self, "model_")
        cols, values = self.vectorizer_.transform_one(text, normalised=normalised)
        coef = self.__dict__.get("_coef32")
        if coef is None:
            coef = self._coef32 = self.model_.coef_[0].astype(np.float32)
        total = np.cumsum(values * coef[cols], dtype=np.float32)[-1] if cols else np.float32(0.0)
        return np.float32(float(total) + float(self.model_.intercept_[0]))

    def top_terms(self, text: str, k: int = 2, *, normalised: bool = False) -> list[str]:
        """The words of this narrative that raise its score the most (for plain-language reasons)."""
        require_fitted(self, "model_")
        row = self.vectorizer_.transform([text], normalised=normalised)
        weights = row.data * self.model_.coef_[0][row.indices]
        names = self.term_names_
        order = np.argsort(-weights)
        return [str(names[row.indices[i]]).replace("_", "") for i in order[:k] if weights[i] > 0]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(["text_score"], dtype=object)

    def _linear(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, max_iter=2000)


def _labels(y: Any, n: int) -> np.ndarray:
    if y is None:
        raise DisputeRiskError("NarrativeScore needs the labels y to fit, got None")
    labels = np.asarray(y)
    if labels.shape != (n,) or not np.isin(labels, (0, 1)).all():
        raise DisputeRiskError(f"y must be {n} values of 0/1, got shape {labels.shape}")
    if labels.min() == labels.max():
        raise DisputeRiskError(f"NarrativeScore needs both outcomes in y, got only {int(labels[0])}")
    return labels.astype(int)
