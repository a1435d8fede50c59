"""The fitted CaseFeaturizer: one object for training, batch scoring and the API."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.build import CaseFeaturizer, case_frame
from features.contract import load_dataset
from features.cue_rules import count_cues
from features.errors import DisputeRiskError
from features.history_batch import compute_history_features
from features.narrative_parts import NarrativeParts, narrative_parts, normalised


@pytest.fixture(scope="module")
def frame_and_labels(demo_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    ds = load_dataset(demo_dir, write_rejects=False)
    cases = ds.cases.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
    frame = case_frame(cases, compute_history_features(cases, ds.parties))
    y = cases["escalated"].astype(int).to_numpy()
    return frame, ds.parties, y


@pytest.fixture(scope="module")
def fitted(frame_and_labels: tuple[pd.DataFrame, pd.DataFrame, np.ndarray]) -> CaseFeaturizer:
    frame, _, y = frame_and_labels
    return CaseFeaturizer(text_max_features=2000, text_min_df=2).fit(frame.iloc[:3000], y[:3000])


def test_fit_transform_gives_cross_fitted_text_scores(frame_and_labels, fitted: CaseFeaturizer) -> None:
    frame, _, y = frame_and_labels
    crossed = CaseFeaturizer(text_max_features=2000, text_min_df=2).fit_transform(frame.iloc[:3000], y[:3000])
    in_sample = fitted.transform(frame.iloc[:3000])
    assert crossed.shape == in_sample.shape
    # Only the text score differs: a row's cross-fitted score comes from a model that did not see it.
    np.testing.assert_array_equal(crossed[:, :-1], in_sample[:, :-1])
    assert not np.allclose(crossed[:, -1], in_sample[:, -1])


def test_transform_one_equals_the_batch_row(frame_and_labels, fitted: CaseFeaturizer) -> None:
    frame, _, _ = frame_and_labels
    batch = fitted.transform(frame.iloc[3000:3050])
    names = list(fitted.get_feature_names_out())
    history_names = [n for n in names if n in frame.columns]
    for i in range(50):
        row = frame.iloc[3000 + i]
        one = fitted.transform_one(row.to_dict(), {k: row[k] for k in history_names})
        np.testing.assert_allclose(one[0], batch[i], rtol=1e-6, equal_nan=True)


def test_pipeline_survives_a_pickle_round_trip_unchanged(frame_and_labels, fitted: CaseFeaturizer) -> None:
    frame, _, _ = frame_and_labels
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        restored.transform(frame.iloc[3000:3200]), fitted.transform(frame.iloc[3000:3200])
    )


def test_punctuation_width_and_spacing_do_not_change_features(
    frame_and_labels, fitted: CaseFeaturizer
) -> None:
    frame, _, _ = frame_and_labels
    rows = frame.iloc[3000:3100].copy()
    variant = rows.copy()
    variant["narrative"] = (
        rows["narrative"]
        .str.replace("，", ",")
        .str.replace("。", ".")
        .str.replace("：", ":")
        .map(lambda s: " ".join(s[i : i + 7] for i in range(0, len(s), 7)))
    )
    np.testing.assert_array_equal(fitted.transform(rows)[:, :-1], fitted.transform(variant)[:, :-1])
    np.testing.assert_allclose(fitted.transform(rows)[:, -1], fitted.transform(variant)[:, -1], rtol=1e-6)


def test_features_of_a_case_ignore_every_later_record(
    frame_and_labels, fitted: CaseFeaturizer, demo_dir: Path
) -> None:
    ds = load_dataset(demo_dir, write_rejects=False)
    cases = ds.cases.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(3)
    for i in rng.choice(np.arange(500, len(cases)), size=8, replace=False):
        cut = cases["registered_at"].iloc[i]
        # Everything registered after the case is gone; escalations learned after it are unknown.
        earlier = cases[cases["registered_at"] <= cut].copy()
        late = earlier["escalated"] & (earlier["escalated_at"] > cut)
        earlier.loc[late, ["escalated", "escalated_at"]] = [False, pd.NaT]
        parties = ds.parties[ds.parties["case_id"].isin(earlier["case_id"])]
        full = fitted.transform(case_frame(cases, compute_history_features(cases, ds.parties)).iloc[[i]])
        truncated_frame = case_frame(earlier, compute_history_features(earlier, parties))
        j = int(np.flatnonzero(truncated_frame["case_id"].to_numpy() == cases["case_id"].iloc[i])[0])
        np.testing.assert_array_equal(full[0], fitted.transform(truncated_frame.iloc[[j]])[0])


def test_featurizer_names_the_missing_history_columns(fitted: CaseFeaturizer) -> None:
    with pytest.raises(DisputeRiskError, match="join the history features first"):
        fitted.transform(pd.DataFrame({"narrative": ["x"], "category": ["其他"]}))


def test_text_needs_labels_to_fit(frame_and_labels) -> None:
    frame, _, _ = frame_and_labels
    with pytest.raises(DisputeRiskError, match="needs the labels y"):
        CaseFeaturizer().fit(frame.iloc[:100])


def test_narrative_parts_computed_elsewhere_give_the_same_matrix(frame_and_labels, fitted) -> None:
    """Training and batch scoring hand the featurizer narrative parts a second process computed."""
    frame, _, y = frame_and_labels
    train, new = frame.iloc[:3000], frame.iloc[3000:3400]
    counted = count_cues(normalised(train["narrative"]))
    asked: list[bool] = []

    def counts() -> np.ndarray:
        asked.append(True)
        return counted

    again = CaseFeaturizer(text_max_features=2000, text_min_df=2)
    np.testing.assert_array_equal(
        again.fit_transform(train, y[:3000], cue_counts=counts),
        CaseFeaturizer(text_max_features=2000, text_min_df=2).fit_transform(train, y[:3000]),
    )
    assert asked == [True]
    parts = narrative_parts(new["narrative"], fitted.text_)
    expected = fitted.transform(new)
    np.testing.assert_array_equal(fitted.transform(new, narrative=parts), expected)
    # without the word score, the featurizer computes it
    np.testing.assert_array_equal(
        fitted.transform(new, narrative=NarrativeParts(parts.cue_counts, None)), expected
    )
    with pytest.raises(DisputeRiskError, match="do not fit"):
        fitted.transform(new.iloc[:10], narrative=parts)
    with pytest.raises(DisputeRiskError, match="do not fit"):
        fitted.without_text().transform(new, narrative=parts)
