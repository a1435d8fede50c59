"""NarrativeVectorizer: narrative -> sparse TF-IDF of word 1..n-grams (the text features for LightGBM).

Tokens come from ``ChineseTokenizer`` (normalised text, project dictionary, stopwords dropped);
n-grams are joined with "_", which no token can contain (punctuation-only tokens are dropped),
so feature names need no escaping where LightGBM forbids spaces.

The weighting is sklearn's TfidfVectorizer formula (smooth idf, optional sublinear tf, l2 rows),
computed here with numpy: sklearn's per-call input validation alone costs more than a whole API
request may, and its fit keeps a count matrix of every n-gram in memory.
"""

from __future__ import annotations

import math
import os
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from features.checks import as_text_list, require_fitted
from features.errors import DisputeRiskError
from features.tokenizer import ChineseTokenizer

NGRAM_JOINER = "_"
T = TypeVar("T")
_CHUNK = 4096  # texts per block in transform: bounds the transient index arrays
# Counting document frequencies in fit: past this many distinct n-grams, those seen in only one
# text so far are forgotten (they rarely reach min_df). Bounds memory on very large corpora.
_PRUNE_AT = 5_000_000


def ngrams(tokens: list[str], ngram_range: tuple[int, int]) -> list[str]:
    """Unigrams .. n-grams of a token list, n-grams joined by ``NGRAM_JOINER``."""
    low, high = ngram_range
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), high + 1):
        if n == 2:  # the common case; concatenation is ~2x faster than join over slices
            grams += [a + NGRAM_JOINER + b for a, b in zip(tokens, tokens[1:], strict=False)]
        else:
            grams += [NGRAM_JOINER.join(g) for g in zip(*(tokens[i:] for i in range(n)), strict=False)]
    return grams


class NarrativeVectorizer(TransformerMixin, BaseEstimator):
    """Raw or normalised narratives -> scipy CSR float32 TF-IDF matrix (n, n_terms).

    ``backend``, ``user_dict``, ``stopwords``: passed to ``ChineseTokenizer``. ``min_df``/``max_df``: int = number
    of texts, float = share of texts. ``max_features``: keep the terms found in most texts (ties by
    term). ``sublinear_tf``: 1 + log(count). The fitted object pickles without the segmenter and
    rebuilds it on first use, giving the same output.
    """

    def __init__(
        self,
        backend: str = "auto",
        user_dict: str | os.PathLike[str] | None = None,
        stopwords: Iterable[str] | None = None,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int | float = 2,
        max_df: int | float = 1.0,
        max_features: int | None = 50_000,
        sublinear_tf: bool = True,
    ) -> None:
        self.backend = backend
        self.user_dict = user_dict
        self.stopwords = stopwords
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def fit(self, X: Any, y: Any = None, *, normalised: bool = False) -> NarrativeVectorizer:
        """``normalised`` (here and in the transforms): the texts already went through ``normalise_text``."""
        texts = as_text_list(X, "NarrativeVectorizer")
        tokenizer = self._new_tokenizer()
        tokens = (tokenizer.tokenize(text, normalised=normalised) for text in texts)
        return self._fit_tokens(tokenizer, tokens, len(texts))

    def fit_transform(
        self, X: Any, y: Any = None, *, normalised: bool = False, **fit_params: Any
    ) -> sp.csr_matrix:
        """``fit(X).transform(X)`` segmenting each text once: the tokens are kept between the two
        (equal tokens as one shared string, so they cost a pointer each)."""
        texts = as_text_list(X, "NarrativeVectorizer")
        tokenizer = self._new_tokenizer()
        shared: dict[str, str] = {}
        tokens = [
            [shared.setdefault(t, t) for t in tokenizer.tokenize(text, normalised=normalised)]
            for text in texts
        ]
        self._fit_tokens(tokenizer, iter(tokens), len(texts))
        return self._stack([self._transform_block(chunk) for chunk in _chunks(tokens, _CHUNK)])

    def _new_tokenizer(self) -> ChineseTokenizer:
        self._validate_params()
        return ChineseTokenizer(backend=self.backend, user_dict=self.user_dict, stopwords=self.stopwords)

    def _fit_tokens(
        self, tokenizer: ChineseTokenizer, tokens: Iterator[list[str]], n_texts: int
    ) -> NarrativeVectorizer:
        ngram_range = (int(self.ngram_range[0]), int(self.ngram_range[1]))
        df: Counter[str] = Counter()
        prune_at = _PRUNE_AT
        for text_tokens in tokens:
            df.update(set(ngrams(text_tokens, ngram_range)))
            if len(df) > prune_at:
                df = Counter({term: n for term, n in df.items() if n > 1})
                prune_at = max(_PRUNE_AT, 2 * len(df))
        low = self.min_df if isinstance(self.min_df, int) else math.ceil(self.min_df * n_texts)
        high = self.max_df if isinstance(self.max_df, int) else math.floor(self.max_df * n_texts)
        kept = [term for term, n in df.items() if low <= n <= high]
        if self.max_features is not None and len(kept) > self.max_features:
            kept = sorted(kept, key=lambda term: (-df[term], term))[: self.max_features]
        if not kept:
            raise DisputeRiskError(
                f"NarrativeVectorizer found no term in at least min_df={self.min_df!r} and at most "
                f"max_df={self.max_df!r} of the {n_texts} texts"
            )
        kept.sort()
        self.tokenizer_ = tokenizer
        self.ngram_range_ = ngram_range
        self.vocabulary_ = {term: j for j, term in enumerate(kept)}
        doc_freq = np.array([df[term] for term in kept], dtype=np.float64)
        self.idf_ = np.log((1.0 + n_texts) / (1.0 + doc_freq)) + 1.0  # sklearn's smooth idf
        self.n_features_out_ = len(kept)
        return self

    def transform(self, X: Any, *, normalised: bool = False) -> sp.csr_matrix:
        require_fitted(self, "vocabulary_")
        texts = as_text_list(X, "NarrativeVectorizer")
        tokenize_many = self.tokenizer_.tokenize_many
        return self._stack(
            [
                self._transform_block(tokenize_many(chunk, normalised=normalised))
                for chunk in _chunks(texts, _CHUNK)
            ]
        )

    def _stack(self, blocks: list[sp.csr_matrix]) -> sp.csr_matrix:
        if not blocks:
            return sp.csr_matrix((0, self.n_features_out_), dtype=np.float32)
        return blocks[0] if len(blocks) == 1 else sp.vstack(blocks, format="csr", dtype=np.float32)

    def transform_one(self, text: str, *, normalised: bool = False) -> tuple[list[int], np.ndarray]:
        """The one row ``transform([text])`` gives, as (columns in order, float32 values): the
        intake fast path, without building a sparse matrix. The same arithmetic in the same
        order as ``_transform_block``, so the values are identical."""
        require_fitted(self, "vocabulary_")
        lookup = self.vocabulary_.get
        counts: dict[int, int] = {}
        for j in map(
            lookup, ngrams(self.tokenizer_.tokenize(text, normalised=normalised), self.ngram_range_)
        ):
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        cols = sorted(counts)
        if not cols:
            return cols, np.zeros(0, dtype=np.float32)
        data = np.array([counts[j] for j in cols], dtype=np.float64)
        if self.sublinear_tf:
            data = np.log(data) + 1.0
        data *= self.idf_[cols]
        data /= np.sqrt(np.bincount(np.zeros(len(cols), dtype=np.intp), weights=data * data, minlength=1))[0]
        return cols, data.astype(np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        require_fitted(self, "vocabulary_")
        return np.asarray(sorted(self.vocabulary_, key=self.vocabulary_.__getitem__), dtype=object)

    def _transform_block(self, tokens: list[list[str]]) -> sp.csr_matrix:
        """The rows of texts given as their tokens."""
        lookup = self.vocabulary_.get
        ngram_range = self.ngram_range_
        n_rows, n_cols = len(tokens), self.n_features_out_
        keys = array("q")  # row * n_cols + column of every in-vocabulary n-gram occurrence
        for row, text_tokens in enumerate(tokens):
            offset = row * n_cols
            keys.extend([offset + j for j in map(lookup, ngrams(text_tokens, ngram_range)) if j is not None])
        # np.unique sorts the keys and counts repeats: rows, columns and counts in CSR order at once
        unique, counts = np.unique(np.frombuffer(keys, dtype=np.int64), return_counts=True)
        rows, cols = np.divmod(unique, n_cols)
        data = counts.astype(np.float64)
        if self.sublinear_tf:
            data = np.log(data) + 1.0
        data *= self.idf_[cols]
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n_rows))
        data /= norms[rows]
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
        return sp.csr_matrix(
            (data.astype(np.float32), cols.astype(np.int32), indptr.astype(np.int32)), shape=(n_rows, n_cols)
        )

    def _validate_params(self) -> None:
        rng = self.ngram_range
        if (
            not isinstance(rng, tuple | list)
            or len(rng) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in rng)
            or not 1 <= rng[0] <= rng[1]
        ):
            raise DisputeRiskError(f"ngram_range must be (low, high) with 1 <= low <= high, got {rng!r}")
        for name in ("min_df", "max_df"):
            value = getattr(self, name)
            ok_int = isinstance(value, int) and not isinstance(value, bool) and value >= 1
            ok_float = isinstance(value, float) and 0.0 < value <= 1.0
            if not (ok_int or ok_float):
                raise DisputeRiskError(f"{name} must be an int >= 1 or a float in (0, 1], got {value!r}")
        mf = self.max_features
        if mf is not None and (isinstance(mf, bool) or not isinstance(mf, int) or mf < 1):
            raise DisputeRiskError(f"max_features must be an int >= 1 or None, got {mf!r}")


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
