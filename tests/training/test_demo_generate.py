"""The demo dataset: contract shape, time consistency, censoring, shares, seasonality, people."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from features.schema import CATEGORIES, SOURCES
from training.demo.calendar import SPRING_FESTIVAL
from training.demo.generate import DemoConfig, build_demo_tables, generate_demo_data

N = 3000


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    generate_demo_data(out, DemoConfig(n_cases=N, seed=7))
    return out


@pytest.fixture(scope="module")
def data(folder):
    read = {
        name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("cases", "parties", "areas")
    }
    truth = pd.read_csv(folder / "truth.csv", dtype={"case_id": str, "follow_up_of": str})
    meta = json.loads((folder / "generator.json").read_text(encoding="utf-8"))
    cases = read["cases"]
    cases["t"] = pd.to_datetime(cases["registered_at"])
    cases["esc"] = pd.to_datetime(cases["escalated_at"].replace("", None))
    return cases, read["parties"], read["areas"], truth, meta


def test_files_have_the_contract_columns_and_truth_and_meta(folder, data):
    cases, parties, areas, truth, meta = data
    assert list(cases.columns[:15]) == [
        "case_id",
        "registered_at",
        "area_code",
        "grid_code",
        "source",
        "category",
        "narrative",
        "amount_yuan",
        "n_parties",
        "n_people",
        "police_calls_before",
        "mediation_attempts",
        "escalated",
        "escalated_at",
        "criminal_charge",
    ]
    assert list(parties.columns) == [
        "case_id",
        "party_id",
        "role",
        "party_type",
        "gender",
        "age",
        "key_groups",
    ]
    assert list(areas.columns) == ["area_code", "name", "level", "parent_code", "population"]
    assert len(cases) == N and cases["case_id"].is_unique
    assert list(truth["case_id"]) == list(cases["case_id"])
    assert meta["config"]["seed"] == 7 and meta["counts"]["cases"] == N


def test_every_party_row_belongs_to_a_case_and_n_parties_matches(data):
    cases, parties, *_ = data
    per_case = parties.groupby("case_id").size()
    assert set(parties["case_id"]) <= set(cases["case_id"])
    assert (cases.set_index("case_id")["n_parties"].astype(int) == per_case).all()
    assert not parties.duplicated(["case_id", "party_id"]).any()
    assert (cases["n_people"].astype(int) >= cases["n_parties"].astype(int)).all()


def test_case_areas_are_villages_or_towns_of_the_areas_table(data):
    cases, _, areas, *_ = data
    level = cases["area_code"].map(areas.set_index("area_code")["level"])
    assert level.isin(["village", "town"]).all()
    assert 0.01 < (level == "town").mean() < 0.12
    gridded = cases[cases["grid_code"] != ""]
    assert 0.3 < len(gridded) / N < 0.8
    assert (gridded["grid_code"].str[:12] == gridded["area_code"]).all()


def test_registrations_span_three_years_in_time_order(data):
    cases, *_, meta = data
    assert cases["t"].is_monotonic_increasing
    assert (cases["t"].iloc[-1] - cases["t"].iloc[0]).days >= 3 * 365
    assert cases["t"].max() < pd.Timestamp(meta["config"]["export_date"])


def test_escalations_follow_registration_and_precede_the_export(data):
    cases, *_, meta = data
    escalated = cases[cases["escalated"] == "true"]
    assert len(escalated) > 0
    assert (escalated["esc"] > escalated["t"]).all()
    assert (escalated["esc"] < pd.Timestamp(meta["config"]["export_date"])).all()
    assert (escalated["criminal_charge"] != "").all()
    quiet = cases[cases["escalated"] == "false"]
    assert (quiet["escalated_at"] == "").all() and (quiet["criminal_charge"] == "").all()


def test_escalations_after_the_export_date_are_censored():
    # a three-month window: many escalations fall after the export date
    tables = build_demo_tables(
        DemoConfig(n_cases=1500, seed=2, start=date(2022, 3, 1), export_date=date(2022, 6, 1))
    )
    cases, truth = tables.cases, tables.truth
    true_at = pd.to_datetime(truth["true_escalated_at"])
    after = (true_at >= pd.Timestamp("2022-06-01")).to_numpy()
    assert after.sum() >= 3
    assert (
        (cases.loc[after, ["escalated", "escalated_at", "criminal_charge"]] == ["false", "", ""]).all().all()
    )
    before = (true_at < pd.Timestamp("2022-06-01")).to_numpy()
    assert (cases.loc[before, "escalated"] == "true").all()
    assert (cases.loc[before, "escalated_at"] == truth.loc[before, "true_escalated_at"]).all()
    assert (cases.loc[before, "criminal_charge"] == truth.loc[before, "true_charge"]).all()


def test_base_rate_within_one_to_two_percent(data):
    cases, _, _, truth, meta = data
    assert 0.010 <= truth["p_true"].mean() <= 0.020
    assert 0.005 <= meta["base_rate_90d"] <= 0.030  # realised, ~45 positives at this size


def test_p_true_is_the_sigmoid_of_the_logit_terms_times_the_horizon_share(data):
    *_, truth, _ = data
    terms = truth[[c for c in truth.columns if c.startswith("term_")]].sum(axis=1)
    assert np.allclose(terms, truth["logit"], atol=1e-4)
    p = truth["p_within_horizon_if_escalates"] / (1 + np.exp(-truth["logit"]))
    assert np.allclose(p, truth["p_true"], atol=1e-6)


def test_p_true_ranks_the_realised_outcomes(data):
    from sklearn.metrics import roc_auc_score

    cases, _, _, truth, meta = data
    labelled = cases["t"] <= pd.Timestamp(meta["config"]["export_date"]) - pd.Timedelta(days=90)
    y = (cases["escalated"] == "true") & (cases["esc"] - cases["t"] <= pd.Timedelta(days=90))
    assert roc_auc_score(y[labelled], truth.loc[labelled, "p_true"]) > 0.75


def test_category_shares_are_realistic_and_all_sources_appear(data):
    cases, *_ = data
    shares = cases["category"].value_counts(normalize=True)
    assert set(shares.index) == set(CATEGORIES)
    assert set(shares.index[:4]) == {"邻里纠纷", "婚恋家庭", "债务纠纷", "劳资纠纷"}
    assert 0.18 <= shares["邻里纠纷"] <= 0.30 and shares["医疗纠纷"] <= 0.04
    assert set(cases["source"]) == set(SOURCES)


def test_labour_disputes_peak_before_the_spring_festival(data):
    cases, *_ = data
    pre = np.zeros(len(cases), bool)
    for year in range(2022, 2026):
        festival = pd.Timestamp(SPRING_FESTIVAL[year])
        pre |= ((cases["t"] >= festival - pd.Timedelta(days=42)) & (cases["t"] < festival)).to_numpy()
    summer = cases["t"].dt.month.isin([6, 7, 8]).to_numpy()
    labour = (cases["category"] == "劳资纠纷").to_numpy()
    assert labour[pre].mean() > 1.5 * labour[summer].mean()
    neighbours = (cases["category"] == "邻里纠纷").to_numpy()
    winter = cases["t"].dt.month.isin([11, 12]).to_numpy()
    assert neighbours[summer].mean() > neighbours[winter].mean()


def test_weekdays_and_office_hours_dominate(data):
    cases, *_ = data
    weekday = cases["t"].dt.dayofweek < 5
    assert weekday.mean() / 5 > 1.5 * (1 - weekday.mean()) / 2
    office = cases[cases["source"] != "110警情转办"]["t"].dt.hour.between(8, 17)
    assert office.mean() > 0.85
    night = cases[cases["source"] == "110警情转办"]["t"].dt.hour.isin([20, 21, 22, 23, 0, 1])
    assert night.mean() > 0.15


def test_amounts_are_positive_and_sometimes_unknown(data):
    cases, *_ = data
    amount = pd.to_numeric(cases["amount_yuan"].replace("", None))
    assert (amount.dropna() > 0).all()
    assert 0.2 < amount.isna().mean() < 0.6
    by_category = amount.groupby(cases["category"]).median()
    assert by_category["建设工程"] > by_category["债务纠纷"] > by_category["消费纠纷"]
