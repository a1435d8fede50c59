"""The demo generator's parties, and that the history the mechanism used is the export's history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.schema import KEY_GROUPS
from training.demo import effects
from training.demo.generate import DemoConfig, build_demo_tables


@pytest.fixture(scope="module")
def tables():
    return build_demo_tables(DemoConfig(n_cases=3000, seed=3))


def test_party_ids_are_16_hex_digits_and_stable_per_person(tables):
    parties = tables.parties
    assert parties["party_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    persons = parties[parties["party_type"] == "自然人"]
    # a person keeps one gender in every case (where recorded)
    genders = persons[persons["gender"] != ""].groupby("party_id")["gender"].nunique()
    assert (genders == 1).all()
    kg = persons.groupby("party_id")["key_groups"].nunique()
    assert (kg == 1).all()


def test_some_people_recur_across_cases(tables):
    persons = tables.parties[tables.parties["party_type"] == "自然人"]
    cases_per_person = persons.groupby("party_id")["case_id"].nunique()
    assert 0.05 < (cases_per_person >= 2).mean() < 0.4
    assert cases_per_person.max() >= 4
    assert 0.1 < (tables.truth["prior_cases"] > 0).mean() < 0.4


def test_organisations_appear_in_the_categories_that_involve_them(tables):
    merged = tables.parties.merge(tables.cases[["case_id", "category"]], on="case_id")
    org_share = merged.assign(org=merged["party_type"] == "单位").groupby("category")["org"].mean()
    for category in ("劳资纠纷", "物业纠纷", "消费纠纷", "医疗纠纷", "建设工程"):
        assert org_share[category] > 0.3, category
    assert org_share["婚恋家庭"] == 0
    orgs = merged[merged["party_type"] == "单位"]
    assert (orgs["gender"] == "").all() and (orgs["age"] == "").all() and (orgs["key_groups"] == "").all()


def test_key_groups_have_a_realistic_prevalence(tables):
    persons = tables.parties[tables.parties["party_type"] == "自然人"]
    tagged = persons["key_groups"] != ""
    assert 0.01 < tagged.mean() < 0.06
    tags = {t for value in persons["key_groups"] for t in value.split(";") if t}
    assert tags == set(KEY_GROUPS)


def test_ages_are_adult_and_genders_recorded(tables):
    persons = tables.parties[tables.parties["party_type"] == "自然人"]
    ages = pd.to_numeric(persons["age"].replace("", None)).dropna()
    assert ages.between(18, 100).all()
    assert set(persons["gender"]) <= {"男", "女", ""}


def _earlier_counts(tables):
    """Recompute, from the export alone, the history terms' inputs: per case the max over its
    natural persons of earlier cases, and of earlier cases already escalated by registration."""
    cases = tables.cases.assign(
        t=pd.to_datetime(tables.cases["registered_at"]),
        esc=pd.to_datetime(tables.cases["escalated_at"].replace("", None)),
    )
    rows = tables.parties[tables.parties["party_type"] == "自然人"].merge(
        cases[["case_id", "t", "esc"]], on="case_id"
    )
    prior, prior_esc = {}, {}
    for _, group in rows.groupby("party_id"):
        times, escs = group["t"].to_numpy(), group["esc"].to_numpy()
        for case_id, t in zip(group["case_id"], times, strict=True):
            earlier = times < t
            prior[case_id] = max(prior.get(case_id, 0), int(earlier.sum()))
            known = earlier & ~pd.isna(escs) & (escs < t)
            prior_esc[case_id] = max(prior_esc.get(case_id, 0), int(known.sum()))
    ids = tables.cases["case_id"]
    return ids.map(prior).fillna(0).astype(int), ids.map(prior_esc).fillna(0).astype(int)


def test_history_terms_are_computable_from_the_export(tables):
    prior, prior_esc = _earlier_counts(tables)
    assert (prior.to_numpy() == tables.truth["prior_cases"].to_numpy()).all()
    assert (prior_esc.to_numpy() == tables.truth["prior_escalations"].to_numpy()).all()
    assert (tables.truth["prior_escalations"] > 0).any()


def test_town_recent_term_counts_known_escalations_of_the_town(tables):
    cases = tables.cases.assign(
        t=pd.to_datetime(tables.cases["registered_at"]),
        esc=pd.to_datetime(tables.cases["escalated_at"].replace("", None)),
        town=tables.cases["area_code"].str[:9],
    )
    events = cases.dropna(subset=["esc"])
    expected = []
    for town, t in zip(cases["town"], cases["t"], strict=True):
        e = events.loc[events["town"] == town, "esc"]
        expected.append(int(((e < t) & (e >= t - pd.Timedelta(days=365))).sum()))
    assert np.array_equal(np.asarray(expected), tables.truth["town_recent_escalations"].to_numpy())


def test_recency_term_uses_what_the_history_feature_measures(tables):
    """The generator's 'days since a person's last case' is the project's own as-of feature, so a
    model can learn the recency term from the export alone."""
    from features.history_batch import compute_history_features

    cases = tables.cases.assign(
        registered_at=pd.to_datetime(tables.cases["registered_at"]),
        escalated_at=pd.to_datetime(tables.cases["escalated_at"].replace("", None)),
        escalated=tables.cases["escalated"] == "true",
    )
    features = compute_history_features(cases, tables.parties)
    measured = features["party_days_since_last_case"].to_numpy()
    truth = tables.truth["days_since_last_case"].to_numpy()
    assert np.array_equal(np.isnan(measured), np.isnan(truth))
    seen = ~np.isnan(truth)
    assert 0.1 < seen.mean() < 0.5
    assert np.allclose(measured[seen], truth[seen], atol=1e-5)
    expected = np.where(
        seen, effects.RECENCY_EFFECT * np.exp(-np.nan_to_num(truth) / effects.RECENCY_DAYS), 0.0
    )
    assert np.allclose(tables.truth["term_recency"], expected, atol=1e-5)


def test_violence_cues_count_half_against_an_organisation(tables):

    truth = tables.truth.set_index("case_id")
    with_org = set(tables.parties.loc[tables.parties["party_type"] == "单位", "case_id"])
    only_threat = truth[(truth["cue_threat"] == 1) & (truth.filter(like="cue_").sum(axis=1) == 1)]
    org = only_threat.index.isin(with_org)
    assert org.any() and (~org).any()
    assert np.allclose(
        only_threat.loc[org, "term_cues"], effects.ORG_CUE_FACTOR * effects.CUE_EFFECT["threat"]
    )
    assert np.allclose(only_threat.loc[~org, "term_cues"], effects.CUE_EFFECT["threat"])
