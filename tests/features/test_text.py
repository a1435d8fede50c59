"""NarrativeVectorizer (features/text_vectorizer.py): TF-IDF of word n-grams."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer

from features.errors import DisputeRiskError, NotFittedError
from features.text_vectorizer import NarrativeVectorizer, ngrams
from features.tokenizer import ChineseTokenizer

CORPUS = [
    "双方因宅基地界址发生争吵，对方扬言要同归于尽",
    "李某酒后持菜刀到王某家中，砸坏门窗，双方发生肢体冲突",
    "张某拖欠工资三个月，工人多次讨要未果",
    "双方因宅基地界址问题多次发生争吵，未发生肢体冲突",
    "对方酒后辱骂张某，扬言要打死他，张某报警",
    "张某与物业公司因物业费发生纠纷，拖欠物业费两年",
]


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def fitted() -> NarrativeVectorizer:
    return NarrativeVectorizer(min_df=1, max_features=None).fit(CORPUS)


def test_output_is_csr_float32_with_one_row_per_text(fitted):
    matrix = fitted.transform(CORPUS)
    assert sp.isspmatrix_csr(matrix) and matrix.dtype == np.float32
    assert matrix.shape == (len(CORPUS), len(fitted.get_feature_names_out()))
    np.testing.assert_allclose(sp.linalg.norm(matrix, axis=1), 1.0, rtol=1e-6)


def test_weights_equal_sklearn_tfidf_with_the_same_tokens():
    texts = CORPUS * 2 + ["张某酒后扬言报复"]
    ours = NarrativeVectorizer(min_df=2, max_features=None).fit(texts)
    tok = ours.tokenizer_
    reference = TfidfVectorizer(
        analyzer=lambda t: ngrams(tok.tokenize(t), (1, 2)), min_df=2, sublinear_tf=True
    )
    expected = reference.fit_transform(texts)
    assert reference.vocabulary_ == ours.vocabulary_
    assert abs(expected - ours.transform(texts)).max() < 1e-6


def test_output_does_not_depend_on_width_or_spacing(fitted):
    full = "对方，扬言：“要打死他！”（酒后）　双方发生肢体冲突。"
    half = '对方,扬言:"要打死他!"(酒后)双方发生 肢体 冲突.'
    assert (fitted.transform([full]) != fitted.transform([half])).nnz == 0


def test_raw_and_normalised_text_give_the_same_row(fitted):
    from features.tokenizer import normalise_text

    raw = "李某酒后持菜刀到王某家中，砸坏门窗"
    assert (fitted.transform([raw]) != fitted.transform([normalise_text(raw)])).nnz == 0


def test_pickle_round_trip_gives_identical_output(fitted):
    restored = pickle.loads(pickle.dumps(fitted))
    assert restored.tokenizer_._cut is None  # the segmenter is rebuilt, not pickled
    assert (restored.transform(CORPUS) != fitted.transform(CORPUS)).nnz == 0


def test_feature_names_are_unigrams_and_underscore_joined_bigrams(fitted):
    names = set(fitted.get_feature_names_out())
    assert {"扬言", "同归于尽", "肢体冲突", "扬言_要", "要_同归于尽"} <= names
    assert all(" " not in n and "," not in n for n in names)


def test_min_df_drops_terms_seen_in_too_few_texts():
    vec = NarrativeVectorizer(min_df=2, max_features=None).fit(CORPUS)
    assert "宅基地" in vec.vocabulary_  # in two texts
    assert "菜刀" not in vec.vocabulary_  # in one


def test_max_features_keeps_the_terms_in_most_texts():
    vec = NarrativeVectorizer(min_df=1, max_features=3).fit(CORPUS)
    assert len(vec.vocabulary_) == 3
    assert "发生" in vec.vocabulary_  # appears in four of the six texts


def test_text_without_known_terms_gives_an_empty_row(fitted):
    row = fitted.transform(["甲乙丙丁"])
    assert row.shape == (1, fitted.n_features_out_) and row.nnz == 0


def test_accepts_series_and_one_column_frame(fitted):
    series = pd.Series(CORPUS[:2])
    frame = pd.DataFrame({"narrative": CORPUS[:2]})
    expected = fitted.transform(CORPUS[:2])
    assert (fitted.transform(series) != expected).nnz == 0
    assert (fitted.transform(frame) != expected).nnz == 0


def test_large_batches_are_processed_in_blocks_with_the_same_result(fitted, monkeypatch):
    import features.text_vectorizer

    whole = fitted.transform(CORPUS)
    monkeypatch.setattr(features.text_vectorizer, "_CHUNK", 2)
    assert (fitted.transform(CORPUS) != whole).nnz == 0


def test_transform_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError, match="NarrativeVectorizer must be fitted"):
        NarrativeVectorizer().transform(CORPUS)


def test_single_string_input_is_rejected(fitted):
    with pytest.raises(DisputeRiskError, match="takes an iterable of texts, got a single str"):
        fitted.transform(CORPUS[0])


def test_missing_narrative_is_rejected(fitted):
    with pytest.raises(DisputeRiskError, match="every narrative must be a str, got NoneType"):
        fitted.transform(["纠纷", None])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"ngram_range": (2, 1)},
            "ngram_range must be \\(low, high\\) with 1 <= low <= high, got \\(2, 1\\)",
        ),
        ({"min_df": 0}, "min_df must be an int >= 1 or a float in \\(0, 1\\], got 0"),
        ({"max_df": 1.5}, "max_df must be an int >= 1 or a float in \\(0, 1\\], got 1.5"),
        ({"max_features": 0}, "max_features must be an int >= 1 or None, got 0"),
    ],
)
def test_invalid_parameters_are_rejected_at_fit(params, message):
    with pytest.raises(DisputeRiskError, match=message):
        NarrativeVectorizer(**params).fit(CORPUS)


def test_fit_without_any_frequent_term_is_a_clear_error():
    with pytest.raises(DisputeRiskError, match="found no term in at least min_df=5"):
        NarrativeVectorizer(min_df=5).fit(CORPUS[:2])


def test_clone_keeps_parameters_verbatim_and_is_unfitted():
    vec = NarrativeVectorizer(backend="jieba", ngram_range=(1, 3), min_df=3, max_features=100)
    copy = clone(vec)
    assert copy.get_params() == vec.get_params()
    assert not hasattr(copy, "vocabulary_")


@pytest.mark.shared_data
def test_pickle_round_trip_is_identical_on_real_texts(shared_data):
    texts = [r["fact"] for r in _jsonl(shared_data / "cases_cail2018_criminal.jsonl")[:400]]
    texts += [r["text"] for r in _jsonl(shared_data / "cases_cail2019_cjrc.jsonl")[:200]]
    vec = NarrativeVectorizer(min_df=2, max_features=5000).fit(texts)
    blob = pickle.dumps(vec)
    restored = pickle.loads(blob)
    assert isinstance(restored.tokenizer_, ChineseTokenizer)
    assert (restored.transform(texts) != vec.transform(texts)).nnz == 0
