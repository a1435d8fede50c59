from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.errors import DisputeRiskError
from training.labels import as_of_view, horizon_labels
from training.split import WINDOWS, temporal_split

T = pd.Timestamp


def _cases() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": ["a", "b", "c", "d", "e"],
            "registered_at": [
                T("2024-01-01"),
                T("2024-01-01"),
                T("2024-02-01"),
                T("2024-05-01"),
                T("2024-06-01"),
            ],
            "escalated": [True, True, False, True, False],
            "escalated_at": [T("2024-03-01"), T("2024-06-01"), pd.NaT, T("2024-05-03"), pd.NaT],
        }
    )


def test_label_counts_escalations_within_the_horizon_only() -> None:
    labels = horizon_labels(_cases(), 90, T("2024-07-01"))
    # a: 60 days -> 1; b: 152 days -> 0; c: never -> 0
    assert labels.iloc[:3].tolist() == [1.0, 0.0, 0.0]


def test_immature_cases_are_never_negatives() -> None:
    labels = horizon_labels(_cases(), 90, T("2024-07-01"))
    # d (escalated, registered 61 days before as-of) and e: both right-censored, even the known positive.
    assert np.isnan(labels.iloc[3]) and np.isnan(labels.iloc[4])


def test_as_of_view_forgets_what_was_learned_later() -> None:
    parties = pd.DataFrame({"case_id": ["a", "b", "e"], "party_id": ["p", "q", "r"]})
    cases, kept_parties = as_of_view(_cases(), parties, T("2024-04-01"))
    assert cases["case_id"].tolist() == ["a", "b", "c"]
    assert cases.set_index("case_id").loc["b", "escalated"] == False  # noqa: E712 - known only in June
    assert pd.isna(cases.set_index("case_id").loc["b", "escalated_at"])
    assert cases.set_index("case_id").loc["a", "escalated"] == True  # noqa: E712
    assert kept_parties["case_id"].tolist() == ["a", "b"]


def test_horizon_must_be_positive() -> None:
    with pytest.raises(DisputeRiskError, match="horizon_days must be >= 1, got 0"):
        horizon_labels(_cases(), 0, T("2024-07-01"))


def test_temporal_split_orders_windows_in_time_and_leaves_unlabelled_cases_out() -> None:
    rng = np.random.default_rng(0)
    times = pd.Series(pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, 2000), unit="D"))
    labelled = pd.Series(rng.random(2000) < 0.9)
    split = temporal_split(times, labelled)
    last_end = pd.Timestamp.min
    for name in WINDOWS:
        in_window = times[split.mask(name)]
        assert in_window.min() >= last_end
        last_end = in_window.max()
    assert (split.window[~labelled] == "").all()
    counts = [split.mask(w).sum() for w in WINDOWS]
    assert sum(counts) == labelled.sum()
    assert counts[0] > counts[3] > 0


def test_temporal_split_rejects_bad_fractions() -> None:
    times = pd.Series(pd.date_range("2023-01-01", periods=200, freq="D"))
    with pytest.raises(DisputeRiskError, match="four positive shares"):
        temporal_split(times, pd.Series(True, index=times.index), fractions=(0.5, 0.5, 0.0, 0.0))
