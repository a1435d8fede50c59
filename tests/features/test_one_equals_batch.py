"""Each single-case path of features/ (what the intake API runs) equals its batch path."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from one_vs_batch import assert_one_equals_batch

from features.build import CaseFeaturizer, case_frame
from features.contract import load_dataset
from features.cues import CueFlags
from features.history_batch import compute_history_features
from features.history_schema import HISTORY_FEATURES
from features.history_state import HistoryState
from features.tabular import tabular_matrix, tabular_row
from features.text_score import NarrativeScore
from features.text_vectorizer import NarrativeVectorizer

N = 120  # cases compared per pair


@pytest.fixture(scope="module")
def demo(demo_dir: Path):
    ds = load_dataset(demo_dir, write_rejects=False)
    cases = ds.cases.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
    population = dict(zip(ds.areas["area_code"], ds.areas["population"], strict=True))
    return cases, ds.parties, population


def _parties_of(parties: pd.DataFrame, case_id: str) -> list[dict]:
    return parties[parties["case_id"] == case_id].to_dict("records")


def test_history_one_case_at_a_time_equals_the_batch_with_the_same_names(demo) -> None:
    cases, parties, population = demo
    full = compute_history_features(cases, parties, population)
    assert list(full.columns) == list(HISTORY_FEATURES)
    cut = len(cases) - N
    state = HistoryState.from_records(
        cases.iloc[:cut], parties[parties["case_id"].isin(cases["case_id"][:cut])], population
    )

    def one(case: dict) -> list[float]:
        people = _parties_of(parties, case["case_id"])
        row = state.features_one(case, people)
        assert list(row) == list(HISTORY_FEATURES)  # names and order, not only values
        unknown = {**case, "escalated": False, "escalated_at": pd.NaT}  # its outcome is not known yet
        state.update(pd.DataFrame([unknown]), pd.DataFrame(people))
        return list(row.values())

    later = cases.iloc[cut:]
    # The batch sees the later cases' escalations only once known, as the state never does here:
    # compare on the cases' own history, which no escalation of the later cases can reach.
    as_known = later.assign(escalated=False, escalated_at=pd.NaT)
    known = pd.concat([cases.iloc[:cut], as_known], ignore_index=True)
    batch = compute_history_features(known, parties, population).iloc[cut:]
    assert_one_equals_batch(one, lambda _: batch.to_numpy(), later.to_dict("records"))


def test_tabular_row_equals_the_matrix_row(demo) -> None:
    cases, _, _ = demo
    items = cases.tail(N).to_dict("records")
    assert_one_equals_batch(tabular_row, lambda rows: tabular_matrix(pd.DataFrame(rows)), items)


def test_cue_counts_of_one_text_equal_the_batch_row(demo) -> None:
    texts = demo[0]["narrative"].tail(N).tolist()
    flags = CueFlags().fit(texts)
    assert_one_equals_batch(flags.transform_one, flags.transform, texts)


def test_tfidf_of_one_document_equals_the_batch_row(demo) -> None:
    texts = demo[0]["narrative"].tolist()
    vectorizer = NarrativeVectorizer(min_df=2, max_features=3000).fit(texts[:2000])
    width = len(vectorizer.vocabulary_)

    def one(text: str) -> np.ndarray:
        row = np.zeros(width)
        indices, values = vectorizer.transform_one(text)
        row[indices] = values
        return row

    assert_one_equals_batch(one, lambda docs: vectorizer.transform(docs).toarray(), texts[-N:])


def test_text_score_of_one_narrative_equals_the_batch_score(demo) -> None:
    cases = demo[0]
    texts, y = cases["narrative"].tolist(), cases["escalated"].astype(int).to_numpy()
    score = NarrativeScore(max_features=2000, min_df=2, folds=2).fit(texts[:2500], y[:2500])
    assert_one_equals_batch(score.score_one, lambda docs: score.transform(docs)[:, 0], texts[-N:])


def test_featurizer_one_case_equals_the_batch_row(demo) -> None:
    cases, parties, population = demo
    frame = case_frame(cases, compute_history_features(cases, parties, population))
    y = cases["escalated"].astype(int).to_numpy()
    featurizer = CaseFeaturizer(text_max_features=2000, text_min_df=2).fit(frame.iloc[:3000], y[:3000])
    rows = frame.tail(N).to_dict("records")
    history = [{name: row[name] for name in HISTORY_FEATURES} for row in rows]
    pairs = list(zip(rows, history, strict=True))
    assert_one_equals_batch(
        lambda pair: featurizer.transform_one(*pair),
        lambda _: featurizer.transform(pd.DataFrame(rows)),
        pairs,
        rtol=1e-6,
    )
    assert copy.deepcopy(featurizer).transform(frame.tail(5)).shape[1] == len(
        featurizer.get_feature_names_out()
    )
