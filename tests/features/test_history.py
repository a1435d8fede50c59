"""As-of history features on small hand-built scenarios with exact expected values."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest

from features.errors import ContractError, RecordError
from features.history_batch import compute_history_features
from features.history_schema import HISTORY_FEATURES, KEY_GROUP_FEATURES
from features.history_state import HistoryState

V1, V2 = "320621101001", "320621101002"  # two villages of town T
T = "320621101000"
OTHER_TOWN_VILLAGE = "320621102001"
DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2024-06-01 10:00")


def frames(cases: list[tuple], parties: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """cases: (case_id, registered_at, area_code[, escalated_at]); parties: (case_id, party_id[, type[, tags]])."""
    c = pd.DataFrame(
        [(*row, None)[:4] for row in cases], columns=["case_id", "registered_at", "area_code", "escalated_at"]
    )
    c["registered_at"] = pd.to_datetime(c["registered_at"]).astype("datetime64[ns]")
    c["escalated_at"] = pd.to_datetime(c["escalated_at"]).astype("datetime64[ns]")
    c["escalated"] = c["escalated_at"].notna()
    p = pd.DataFrame(
        [(*row, "自然人", "")[:4] for row in parties],
        columns=["case_id", "party_id", "party_type", "key_groups"],
    )
    p["role"] = "申请方"
    return c, p


def features_of(case_id: str, cases: pd.DataFrame, parties: pd.DataFrame, population=None) -> pd.Series:
    out = compute_history_features(cases, parties, population)
    return out.loc[cases.index[cases["case_id"] == case_id][0]]


def test_history_features_have_a_fixed_order_of_unique_names():
    assert len(HISTORY_FEATURES) == len(set(HISTORY_FEATURES)) == 41
    assert HISTORY_FEATURES[:2] == ("party_prior_cases_max", "party_prior_cases_sum")
    assert set(KEY_GROUP_FEATURES.values()) <= set(HISTORY_FEATURES)


def test_party_counts_earlier_cases_and_only_escalations_known_at_registration():
    cases, parties = frames(
        [
            ("a", T0 - 60 * DAY, V1, T0 - 50 * DAY),  # escalated before c was registered: known
            ("b", T0 - 29 * DAY, V1, T0 + 14 * DAY),  # escalated after: not known at c
            ("c", T0, V1),
        ],
        [("a", "P"), ("b", "P"), ("c", "P"), ("c", "Q")],
    )
    f = features_of("c", cases, parties)
    assert f["party_prior_cases_max"] == 2
    assert f["party_prior_cases_sum"] == 2  # Q has none
    assert f["party_prior_escalations_max"] == 1
    assert f["party_prior_escalations_sum"] == 1
    assert f["party_days_since_last_case"] == 29.0
    assert f["party_cases_365d_max"] == 2


def test_escalation_at_the_registration_instant_counts_but_not_the_cases_own():
    cases, parties = frames(
        [("a", T0 - 5 * DAY, V1, T0), ("c", T0, V1, T0 + DAY)],
        [("a", "P"), ("c", "P")],
    )
    f = compute_history_features(cases, parties)
    assert f.loc[1, "party_prior_escalations_max"] == 1  # escalated_at == registered_at: known
    assert f.loc[0, "party_prior_escalations_max"] == 0
    assert f.loc[1, "village_escalations_30d"] == 1


def test_records_at_the_same_instant_do_not_count():
    cases, parties = frames([("a", T0, V1), ("b", T0, V1)], [("a", "P"), ("b", "P")])
    f = compute_history_features(cases, parties)
    assert (f[["party_prior_cases_max", "village_cases_30d", "town_cases_30d"]] == 0).all().all()
    assert f["party_days_since_last_case"].isna().all()


def test_pair_history_takes_the_pair_seen_together_most_often():
    cases, parties = frames(
        [
            ("a", T0 - 40 * DAY, V1),
            ("b", T0 - 30 * DAY, V1),
            ("c", T0 - 20 * DAY, V1),
            ("d", T0 - 10 * DAY, V1),
            ("e", T0, V1),
        ],
        [
            ("a", "P"),
            ("a", "Q"),
            ("b", "P"),
            ("b", "Q"),
            ("b", "R"),
            ("c", "P"),
            ("c", "R"),
            ("d", "Q"),
            ("d", "S"),
            ("e", "P"),
            ("e", "Q"),
            ("e", "R"),
        ],
    )
    f = features_of("e", cases, parties)
    assert f["pair_prior_cases_max"] == 2  # P+Q in a, b; P+R in b, c; Q+R in b only
    assert f["party_prior_cases_max"] == 3  # P and Q each in three earlier cases
    assert f["party_prior_cases_sum"] == 3 + 3 + 2


def test_party_window_counts_only_the_last_365_days():
    cases, parties = frames(
        [("a", T0 - 400 * DAY, V1), ("b", T0 - 100 * DAY, V1), ("c", T0, V1)],
        [("a", "P"), ("b", "P"), ("c", "P")],
    )
    f = features_of("c", cases, parties)
    assert (f["party_prior_cases_max"], f["party_cases_365d_max"]) == (2, 1)


def test_person_history_ignores_organisations():
    cases, parties = frames(
        [("a", T0 - 3 * DAY, V1), ("b", T0 - 2 * DAY, V1), ("c", T0 - DAY, V1), ("d", T0, V1)],
        [
            ("a", "ORG", "单位"),
            ("b", "ORG", "单位"),
            ("c", "ORG", "单位"),
            ("c", "P"),
            ("d", "ORG", "单位"),
            ("d", "P"),
        ],
    )
    f = features_of("d", cases, parties)
    assert (f["party_prior_cases_max"], f["party_prior_cases_person_max"], f["org_party_present"]) == (
        3,
        1,
        1,
    )
    # the organisation's case a day ago (c) is also P's; drop P from c and only the company recurs
    assert f["party_days_since_last_case"] == 1.0
    alone = parties[~((parties["case_id"] == "c") & (parties["party_id"] == "P"))]
    assert math.isnan(features_of("d", cases, alone)["party_days_since_last_case"])
    state = HistoryState.from_records(cases.iloc[:3], alone[alone["case_id"] != "d"])
    assert math.isnan(_one(state, "d", cases, alone)["party_days_since_last_case"])


def test_village_and_town_windows_at_29_and_31_days():
    cases, parties = frames(
        [
            ("near", T0 - 29 * DAY, V1),
            ("far", T0 - 31 * DAY, V2),
            ("elsewhere", T0 - DAY, OTHER_TOWN_VILLAGE),
            ("old_same_village", T0 - 31 * DAY, V1),
            ("c", T0, V1),
        ],
        [],
    )
    f = features_of("c", cases, parties)
    assert (f["village_cases_30d"], f["village_cases_90d"]) == (1, 2)
    assert (f["town_cases_30d"], f["town_cases_90d"], f["town_cases_365d"]) == (1, 3, 3)


def test_area_escalations_count_at_escalated_at_and_only_once_known():
    cases, parties = frames(
        [("a", T0 - 100 * DAY, V1, T0 - 10 * DAY), ("b", T0 - 50 * DAY, V2, T0 + 5 * DAY), ("c", T0, V1)],
        [],
    )
    f = features_of("c", cases, parties)
    assert (f["village_cases_30d"], f["village_escalations_30d"]) == (0, 1)
    assert (f["town_escalations_30d"], f["town_escalations_365d"]) == (
        1,
        1,
    )  # b's escalation is in the future


def test_population_rates_per_10k_residents_and_nan_when_unknown():
    cases, parties = frames(
        [("a", T0 - 10 * DAY, V1), ("b", T0 - 5 * DAY, V2), ("c", T0, V1), ("d", T0, V2)],
        [],
    )
    out = compute_history_features(cases, parties, population={V1: 2000, T: 10_000, V2: float("nan")})
    assert out.loc[2, "village_cases_30d_per10k"] == 5.0
    assert out.loc[2, "town_cases_30d_per10k"] == 2.0
    assert math.isnan(out.loc[3, "village_cases_30d_per10k"]) and out.loc[3, "village_cases_30d"] == 1


def test_town_level_code_has_unknown_village_but_counts_in_its_town():
    cases, parties = frames([("a", T0 - DAY, T), ("b", T0, V1), ("c", T0 + DAY, T)], [])
    out = compute_history_features(cases, parties)
    assert out.loc[2, "village_cases_30d":"village_escalations_365d"].isna().all()
    assert out.loc[2, "town_cases_30d"] == 2
    assert out.loc[1, "village_cases_30d"] == 0 and out.loc[1, "town_cases_30d"] == 1


def test_key_group_flags_count_distinct_tagged_parties():
    cases, parties = frames(
        [("c", T0, V1)],
        [
            ("c", "P", "自然人", "吸毒人员；刑满释放人员"),
            ("c", "P", "自然人", "低保困难群众"),
            ("c", "Q", "自然人", "其他人群"),
            ("c", "R", "自然人", ""),
        ],
    )
    f = features_of("c", cases, parties)
    assert (f["key_group_present"], f["key_group_persons"], f["org_party_present"]) == (1, 2, 0)
    on = {
        name
        for tag, name in KEY_GROUP_FEATURES.items()
        if tag in ("吸毒人员", "刑满释放人员", "低保困难群众")
    }
    assert all(f[name] == (name in on) for name in KEY_GROUP_FEATURES.values())


def test_case_without_parties_has_zero_party_history():
    cases, parties = frames([("a", T0 - DAY, V1), ("c", T0, V1)], [("a", "P")])
    f = features_of("c", cases, parties)
    assert f["party_prior_cases_max":"party_cases_365d_max"].drop("party_days_since_last_case").eq(0).all()
    assert math.isnan(f["party_days_since_last_case"])


def test_pair_feature_is_nan_for_a_mass_dispute():
    members = [f"W{i}" for i in range(51)]
    cases, parties = frames(
        [("a", T0 - DAY, V1), ("c", T0, V1)], [("a", m) for m in members[:2]] + [("c", m) for m in members]
    )
    f = features_of("c", cases, parties)
    assert math.isnan(f["pair_prior_cases_max"]) and f["party_prior_cases_max"] == 1


def test_rejects_bad_area_code_duplicate_case_and_missing_column():
    cases, parties = frames([("a", T0, "3206211010")], [])
    with pytest.raises(RecordError, match="area_code: must be a 12-digit .*got '3206211010'"):
        compute_history_features(cases, parties)
    cases, parties = frames([("a", T0, V1), ("a", T0, V1)], [])
    with pytest.raises(RecordError, match="case_id: must be unique in cases, got 'a'"):
        compute_history_features(cases, parties)
    with pytest.raises(ContractError, match=r"missing \['party_type'\]"):
        compute_history_features(cases.iloc[:1], parties.drop(columns="party_type"))


def test_aware_times_are_read_as_shanghai_wall_time_and_key_groups_may_be_absent():
    cases, parties = frames([("a", T0 - DAY, V1, T0 - DAY / 2), ("c", T0, V1)], [("a", "P"), ("c", "P")])
    naive = compute_history_features(cases, parties)
    aware = cases.assign(
        registered_at=cases["registered_at"].dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC"),
        escalated_at=cases["escalated_at"].dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC"),
    )
    pd.testing.assert_frame_equal(compute_history_features(aware, parties.drop(columns="key_groups")), naive)
    assert naive.loc[1, "party_prior_escalations_max"] == 1


# ---- HistoryState -----------------------------------------------------------------------------
def _one(state: HistoryState, case_id: str, cases: pd.DataFrame, parties: pd.DataFrame) -> dict[str, float]:
    row = cases[cases["case_id"] == case_id].iloc[0].to_dict()
    return state.features_one(row, parties[parties["case_id"] == case_id].to_dict("records"))


def test_record_escalation_counts_for_cases_after_it_was_learned_only():
    cases, parties = frames(
        [("a", T0 - 20 * DAY, V1), ("early", T0 - DAY, V1), ("late", T0 + DAY, V1)],
        [("a", "P"), ("early", "P"), ("late", "P")],
    )
    state = HistoryState.from_records(cases.iloc[:1], parties.iloc[:1])
    state.record_escalation("a", T0)
    assert _one(state, "early", cases, parties)["party_prior_escalations_max"] == 0
    late = _one(state, "late", cases, parties)
    assert (
        late["party_prior_escalations_max"],
        late["village_escalations_30d"],
        late["town_escalations_30d"],
    ) == (1, 1, 1)
    state.record_escalation("a", T0)  # the same news twice is harmless
    assert _one(state, "late", cases, parties)["party_prior_escalations_sum"] == 1


def test_record_escalation_rejects_unknown_case_and_a_second_different_time():
    cases, parties = frames([("a", T0, V1, T0 + DAY)], [("a", "P")])
    state = HistoryState.from_records(cases, parties)
    with pytest.raises(RecordError, match="case_id: must be a case the history state holds"):
        state.record_escalation("zz", T0)
    with pytest.raises(
        RecordError, match="escalated_at: case a already has escalated_at 2024-06-02 10:00:00"
    ):
        state.record_escalation("a", T0 + 2 * DAY)


def test_update_adds_a_held_case_once_and_learns_its_later_escalation():
    cases, parties = frames([("a", T0 - DAY, V1), ("c", T0 + DAY, V1)], [("a", "P"), ("c", "P")])
    state = HistoryState.from_records(cases.iloc[:1], parties.iloc[:1])
    state.update(cases.iloc[:1], parties.iloc[:1])
    assert len(state) == 1
    escalated = cases.iloc[:1].assign(escalated=True, escalated_at=T0)
    state.update(escalated, parties.iloc[:1])
    f = _one(state, "c", cases, parties)
    assert (f["party_prior_cases_max"], f["party_prior_escalations_max"], f["village_cases_30d"]) == (1, 1, 1)


def test_features_one_reads_an_aware_time_as_shanghai_wall_time():
    cases, parties = frames([("a", T0 - DAY, V1)], [("a", "P")])
    state = HistoryState.from_records(cases, parties)
    party = [{"party_id": "P", "party_type": "自然人"}]
    naive = state.features_one({"registered_at": T0, "area_code": V1}, party)
    aware = state.features_one({"registered_at": "2024-06-01T02:00:00+00:00", "area_code": V1}, party)
    assert naive == pytest.approx(aware, nan_ok=True)
    assert naive["party_days_since_last_case"] == 1.0


def test_prune_drops_old_area_events_but_keeps_party_history():
    cases, parties = frames(
        [("a", T0 - 400 * DAY, V1), ("b", T0 - 10 * DAY, V1), ("c", T0, V1)],
        [("a", "P"), ("b", "Q"), ("c", "P")],
    )
    state = HistoryState.from_records(cases.iloc[:2], parties.iloc[:2])
    before = _one(state, "c", cases, parties)
    state.prune(T0 - 365 * DAY)
    after = _one(state, "c", cases, parties)
    assert after == pytest.approx(before, nan_ok=True)  # the window never reached that far
    assert state._index["village_cases"].times.tolist() == [int((T0 - 10 * DAY).value)]
    assert after["party_prior_cases_max"] == 1


def test_state_pickles_with_recent_additions_and_gives_the_same_features():
    cases, parties = frames(
        [("a", T0 - 3 * DAY, V1, T0 - DAY), ("b", T0 - 2 * DAY, V2), ("c", T0, V1)],
        [("a", "P"), ("a", "Q"), ("b", "Q"), ("c", "P"), ("c", "Q")],
    )
    state = HistoryState.from_records(cases.iloc[:1], parties.iloc[:2], population={V1: 500})
    state.update(cases.iloc[1:2], parties.iloc[2:3])  # still in the unmerged part
    before = _one(state, "c", cases, parties)
    clone = pickle.loads(pickle.dumps(state))
    assert _one(clone, "c", cases, parties) == pytest.approx(before, nan_ok=True)
    assert before["village_cases_30d_per10k"] == 20.0 and before["pair_prior_cases_max"] == 1
    assert np.isnan(before["town_cases_30d_per10k"])
