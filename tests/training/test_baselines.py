"""training.baselines: the checklist counts exactly; the logistic baseline runs on sparse features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from features.errors import DisputeRiskError, NotFittedError
from training.baselines import CHECKLIST_FLAGS, RedFlagChecklist, logistic_baseline


def hand_made() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cue_threat": [0, 2, 0, 1, 0],
            "cue_weapon": [0, 1, 0, 1, 0],
            "cue_physical": [0, 0, 1, 1, 0],
            "cue_injury": [1, 0, 1, 1, 0],  # physical and injury together are one flag
            "cue_self_harm": [0, 0, 0, 1, 0],
            "police_calls_before": [1, 2, np.nan, 5, 0],  # 1 call is not a flag, NaN is unknown
            "mediation_attempts": [0, 0, 2, 3, 1],
            "key_group_present": [0, 0, 0, 1, 1],
            "party_prior_escalations_max": [0, 0, 0, 1, 0],
            "party_prior_cases_max": [0, 0, 1, 4, 0],
        }
    )


def test_checklist_counts_flags_exactly():
    frame = hand_made()
    assert RedFlagChecklist().decision_function(frame).tolist() == [1, 3, 3, 9, 1]
    flags = RedFlagChecklist.flags(frame)
    assert list(flags.columns) == list(CHECKLIST_FLAGS)
    assert flags.loc[2].to_dict() == {
        "threat": 0,
        "weapon": 0,
        "violence": 1,
        "self_harm": 0,
        "repeat_police_calls": 0,
        "failed_mediations": 1,
        "key_group": 0,
        "prior_escalation": 0,
        "repeat_disputant": 1,
    }


def test_checklist_treats_missing_columns_as_absent_flags_and_records_them():
    frame = pd.DataFrame(
        {"cue_threat": [1, 0], "police_calls_before": [3, np.nan], "key_group_present": [0, 1]}
    )
    assert RedFlagChecklist().decision_function(frame).tolist() == [2, 1]
    model = RedFlagChecklist().fit(frame, [1, 0])
    assert "party_prior_cases_max" in model.missing_columns_
    assert "cue_threat" not in model.missing_columns_
    assert "key_group_present" not in model.missing_columns_
    assert RedFlagChecklist().fit(hand_made(), [0, 1, 0, 1, 0]).missing_columns_ == []


def test_checklist_probability_is_smoothed_rate_per_count_and_non_decreasing():
    frame = pd.DataFrame({"cue_threat": [0] * 100 + [1] * 20, "cue_weapon": [0] * 100 + [1] * 10 + [0] * 10})
    y = np.r_[np.zeros(98), np.ones(2), np.ones(6), np.zeros(4), np.ones(2), np.zeros(8)]
    model = RedFlagChecklist(smoothing=0.0).fit(frame, y)
    # rates per count, 0: 2/100, 1: 2/10, 2: 6/10 (already non-decreasing, so nothing is pooled)
    assert model.probability_by_count_[:3] == pytest.approx([0.02, 0.2, 0.6])
    assert model.probability_by_count_[9] == pytest.approx(0.6)  # unseen counts take the neighbour's rate
    proba = model.predict_proba(frame)
    assert proba.shape == (120, 2)
    assert proba[:, 1][[0, 105, 115]] == pytest.approx([0.02, 0.6, 0.2])
    smoothed = RedFlagChecklist(smoothing=10.0).fit(frame, y).probability_by_count_
    base = y.mean()
    assert smoothed[2] == pytest.approx((6 + 10 * base) / (10 + 10))
    assert np.all(np.diff(smoothed) >= 0)


def test_checklist_pools_counts_whose_rate_falls():
    frame = pd.DataFrame({"cue_threat": [0] * 10 + [1] * 10})
    y = np.r_[np.ones(3), np.zeros(7), np.ones(1), np.zeros(9)]  # 30% with no flag, 10% with one
    model = RedFlagChecklist(smoothing=0.0).fit(frame, y)
    assert model.probability_by_count_[:2] == pytest.approx([0.2, 0.2])


def test_checklist_refuses_unfitted_use_and_non_frames():
    with pytest.raises(NotFittedError):
        RedFlagChecklist().predict_proba(hand_made())
    with pytest.raises(DisputeRiskError, match="RedFlagChecklist needs a DataFrame, got ndarray"):
        RedFlagChecklist().decision_function(np.zeros((2, 3)))


def test_logistic_baseline_fits_sparse_features_with_nan():
    rng = np.random.default_rng(0)
    n = 600
    signal = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2 * signal - 2)))).astype(int)
    dense = np.column_stack([signal, rng.normal(size=n)])
    dense[rng.random(n) < 0.1, 1] = np.nan
    text = sp.random(n, 200, density=0.02, format="csr", random_state=1)
    X = sp.hstack([sp.csr_matrix(dense), text], format="csr")
    model = logistic_baseline().fit(X, y)
    p = model.predict_proba(X)[:, 1]
    assert np.isfinite(p).all()
    assert model.named_steps["logit"].class_weight is None
    assert np.corrcoef(p, signal)[0, 1] > 0.8
