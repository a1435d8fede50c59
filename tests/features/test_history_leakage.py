"""No leakage, and one answer from both paths, on a random dataset with repeat parties.

The generator makes what breaks as-of code: people who come back, pairs who meet again,
escalations learnt days or months later (some dated before registration, some without a date),
cases registered at the same instant, town-level codes and one mass dispute.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import features.history_events
from features.history_batch import compute_history_features
from features.history_state import HistoryState
from features.schema import KEY_GROUPS

N_CASES = 2000


def random_dataset(seed: int = 7, n: int = N_CASES) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    rng = np.random.default_rng(seed)
    towns = [f"3206{c:02d}{t:03d}000" for c in (21, 82) for t in (101, 102, 103)]
    villages = [town[:9] + f"{v:03d}" for town in towns for v in (1, 2, 3, 4)]
    minutes = np.sort(rng.integers(0, 2 * 365 * 24 * 60, n))
    minutes[rng.random(n) < 0.05] = minutes[0]  # a batch registered at one instant
    registered = pd.Timestamp("2022-01-01") + pd.to_timedelta(np.sort(minutes), unit="min")
    area = np.where(rng.random(n) < 0.06, rng.choice(towns, n), rng.choice(villages, n))
    escalated = rng.random(n) < 0.12
    delay = pd.to_timedelta(
        rng.choice([0, 1, 3, 20, 60, 200, -0.4], n), unit="D"
    )  # -0.4: dated the day before
    escalated_at = pd.Series(registered + delay).where(escalated)
    escalated_at[escalated & (rng.random(n) < 0.05)] = pd.NaT  # escalated, date unknown
    cases = (
        pd.DataFrame(
            {
                "case_id": [f"C{i:05d}" for i in range(n)],
                "registered_at": registered,
                "area_code": area,
                "escalated": escalated,
                "escalated_at": escalated_at.astype("datetime64[ns]"),
            }
        )
        .sample(frac=1.0, random_state=seed)
        .reset_index(drop=True)
    )  # input order must not matter

    people = [f"P{i:04d}" for i in range(700)]
    rows: list[tuple[str, str, str, str]] = []
    earlier_pairs: list[tuple[str, str]] = []
    for i, case_id in enumerate(sorted(cases["case_id"])):
        if i == n // 2:
            members = [f"W{k}" for k in range(55)] + people[:2]  # a mass dispute
        elif earlier_pairs and rng.random() < 0.3:
            members = list(earlier_pairs[rng.integers(len(earlier_pairs))])  # the same two again
        else:
            members = list(rng.choice(people[: 50 + i // 4], rng.integers(1, 4), replace=False))
        if rng.random() < 0.1:
            members.append(f"ORG{rng.integers(20)}")
        if len(members) >= 2:
            earlier_pairs.append((members[0], members[1]))
        for m in members:
            tags = ";".join(rng.choice(KEY_GROUPS, rng.integers(1, 3))) if rng.random() < 0.1 else ""
            rows.append((case_id, m, "单位" if m.startswith("ORG") else "自然人", tags))
    parties = pd.DataFrame(rows, columns=["case_id", "party_id", "party_type", "key_groups"]).assign(
        role="申请方"
    )
    population = {v: float(rng.integers(800, 5000)) for v in villages[::2]} | {towns[0]: 30_000.0}
    return cases, parties, population


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float], pd.DataFrame]:
    cases, parties, population = random_dataset()
    return cases, parties, population, compute_history_features(cases, parties, population)


def as_known_at(
    cases: pd.DataFrame, parties: pd.DataFrame, t: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dataset as it stood at ``t``: later records gone, later escalations not yet known."""
    kept = cases[cases["registered_at"] <= t].copy()
    future = kept["escalated_at"] > t
    kept.loc[future, "escalated"] = False
    kept.loc[future, "escalated_at"] = pd.NaT
    return kept, parties[parties["case_id"].isin(kept["case_id"])]


def test_features_do_not_change_when_the_future_is_removed(data):
    cases, parties, population, full = data
    sample = cases.sample(60, random_state=1).index
    hidden_escalations = 0
    for i in sample:
        t = cases.at[i, "registered_at"]
        earlier, earlier_parties = as_known_at(cases, parties, t)
        hidden_escalations += int(((cases["registered_at"] < t) & (cases["escalated_at"] > t)).sum() > 0)
        truncated = compute_history_features(earlier, earlier_parties, population)
        pd.testing.assert_series_equal(truncated.loc[i], full.loc[i], check_exact=True)
    # The check has teeth: most sampled cases had later news to leak, and history to see.
    assert hidden_escalations > len(sample) // 2
    assert (full.loc[sample, "party_prior_escalations_max"] > 0).sum() >= 5
    assert (full.loc[sample, "town_escalations_90d"] > 0).sum() >= 20


@pytest.mark.parametrize("method", ["per_case", "vectorised", "auto"])
def test_state_path_equals_batch_path_after_a_cutoff(data, method):
    cases, parties, population, full = data
    cutoff = cases["registered_at"].quantile(0.6)
    before = cases["registered_at"] < cutoff
    state = HistoryState.from_records(
        cases[before], parties[parties["case_id"].isin(cases.loc[before, "case_id"])], population
    )
    rest = cases[~before]
    got = state.features_for(rest, parties[parties["case_id"].isin(rest["case_id"])], method=method)
    pd.testing.assert_frame_equal(got, full.loc[rest.index], check_exact=True)
    assert (got["pair_prior_cases_max"] > 0).mean() > 0.2  # repeat pairs are exercised


def test_state_fed_one_case_at_a_time_with_late_escalations_equals_batch(data, monkeypatch):
    monkeypatch.setattr(features.history_events, "_MERGE_AT", 16)  # force merges of the recent parts
    cases, parties, population, full = data
    ordered = cases.sort_values("registered_at")
    cutoff = ordered["registered_at"].iloc[1200]
    first, rest = ordered.iloc[:900], ordered[ordered["registered_at"] >= cutoff]
    later = ordered.iloc[900:][ordered.iloc[900:]["registered_at"] < cutoff]
    state = HistoryState.from_records(*as_known_at(first, parties, first["registered_at"].max()), population)
    unknown = later.assign(escalated=False, escalated_at=pd.NaT)
    for _, row in unknown.iloc[:120].iterrows():  # one at a time, as the intake API observes them
        state.update(row.to_frame().T, parties[parties["case_id"] == row["case_id"]])
    bulk = unknown.iloc[120:]
    state.update(bulk, parties[parties["case_id"].isin(bulk["case_id"])])
    learnt = ordered[
        (ordered["registered_at"] < cutoff) & ordered["escalated"] & ordered["escalated_at"].notna()
    ]
    for _, row in learnt.iterrows():
        state.record_escalation(row["case_id"], row["escalated_at"])
    assert len(state) == len(first) + len(later)
    state = pickle.loads(pickle.dumps(state))
    got = state.features_for(rest, parties[parties["case_id"].isin(rest["case_id"])])
    pd.testing.assert_frame_equal(got, full.loc[rest.index], check_exact=True)


def test_features_one_equals_features_for_on_a_single_case(data):
    cases, parties, population, _ = data
    cutoff = cases["registered_at"].quantile(0.7)
    before = cases["registered_at"] < cutoff
    state = HistoryState.from_records(cases[before], parties, population)
    for i in cases[~before].sample(40, random_state=2).index:
        one_case = cases.loc[[i]]
        its_parties = parties[parties["case_id"] == cases.at[i, "case_id"]]
        expected = state.features_for(one_case, its_parties).loc[i]
        got = pd.Series(
            state.features_one(one_case.iloc[0].to_dict(), its_parties.to_dict("records")), name=i
        )
        pd.testing.assert_series_equal(got, expected, check_exact=True)
