"""Queue outcomes complete the export's labels: a 民转刑 closed in the queue reaches the training set,
never before it was known, and never overrides what the export says."""

from __future__ import annotations

import pandas as pd
import pytest

from features.errors import ContractError
from training.feedback import merge_feedback
from training.labels import horizon_labels


def _cases() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": ["A", "B", "C", "D"],
            "registered_at": pd.to_datetime(["2025-01-01 09:00"] * 4),
            "escalated": [False, False, True, False],
            "escalated_at": pd.to_datetime([None, None, "2025-01-20 10:00", None]),
            "criminal_charge": [None, None, "故意伤害", None],
        }
    )


def _feedback() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": ["A", "B", "C", "Z"],
            "outcome": ["民转刑", "民转刑", "化解", "民转刑"],
            "closed_at": [
                "2025-01-15T10:00:00+08:00",
                "2025-03-01T10:00:00+08:00",
                "2025-01-10T10:00:00+08:00",
                "2025-01-15T10:00:00",
            ],
            "escalated": ["true", "true", "false", "true"],
            "escalated_at": [
                "2025-01-14T08:00:00+08:00",
                "2025-02-20T08:00:00+08:00",
                "",
                "2025-01-14T08:00:00",
            ],
            "criminal_charge": ["故意伤害", "寻衅滋事", "", "故意伤害"],
        }
    )


def test_a_queue_escalation_known_by_the_as_of_date_becomes_a_label() -> None:
    merged, summary = merge_feedback(_cases(), _feedback(), as_of=pd.Timestamp("2025-02-01"))
    a = merged.set_index("case_id").loc["A"]
    assert (
        a["escalated"]
        and a["escalated_at"] == pd.Timestamp("2025-01-14 08:00")
        and a["criminal_charge"] == "故意伤害"
    )
    labels = horizon_labels(merged, 90, pd.Timestamp("2025-06-01")).set_axis(merged["case_id"])
    assert labels["A"] == 1.0 and labels["D"] == 0.0
    assert (summary.rows, summary.known, summary.added, summary.unknown_cases) == (4, 3, 1, 1)


def test_nothing_leaks_from_after_the_as_of_date() -> None:
    merged, summary = merge_feedback(_cases(), _feedback(), as_of=pd.Timestamp("2025-02-01"))
    b = merged.set_index("case_id").loc["B"]  # closed 2025-03-01: unknown on 2025-02-01
    assert not b["escalated"] and pd.isna(b["escalated_at"])
    early, _ = merge_feedback(_cases(), _feedback(), as_of=pd.Timestamp("2025-01-14 12:00"))
    assert not early.set_index("case_id").loc["A", "escalated"]  # arisen, but the item closed later


def test_a_case_closed_as_resolved_that_later_turned_criminal_keeps_the_export_label() -> None:
    merged, summary = merge_feedback(_cases(), _feedback(), as_of=pd.Timestamp("2025-02-01"))
    c = merged.set_index("case_id").loc["C"]
    assert c["escalated"] and c["escalated_at"] == pd.Timestamp("2025-01-20 10:00")
    assert summary.corrected == 1


def test_the_queue_never_stands_in_for_an_export_without_outcomes() -> None:
    with pytest.raises(ContractError, match="never replaces"):
        merge_feedback(
            _cases().drop(columns=["escalated", "escalated_at"]),
            _feedback(),
            as_of=pd.Timestamp("2025-02-01"),
        )
