"""risk/drift.py and risk/monitoring.py: PSI and the drift table, performance estimated from calibrated probabilities
(CBPE), and the weekly table that sets the estimates beside the realised values once labels mature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.errors import DisputeRiskError
from risk.drift import DRIFT_COLUMNS, MAJOR_ABOVE, STABLE_BELOW, drift_table, psi, psi_status
from risk.monitoring import WEEKLY_COLUMNS, estimate_performance, weekly_monitoring


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- PSI -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample",
    [
        _rng().normal(size=2000),
        _rng().poisson(0.3, size=2000),  # mostly zeros: quantile edges tie
        np.full(500, 7.0),
        np.where(_rng().random(1000) < 0.2, np.nan, _rng(1).normal(size=1000)),
        pd.Series(["邻里纠纷", "债务纠纷", None, "劳资纠纷"] * 100),
    ],
    ids=["normal", "counts", "constant", "with_nan", "categories"],
)
def test_psi_of_a_sample_against_itself_is_zero(sample):
    assert psi(sample, sample) == 0.0


def test_psi_of_two_draws_of_one_distribution_is_small_and_a_shift_is_major():
    reference = _rng(1).normal(size=20_000)
    assert psi(reference, _rng(2).normal(size=20_000)) < 0.01
    assert psi(reference, _rng(2).normal(0.1, 1, size=20_000)) < STABLE_BELOW
    assert STABLE_BELOW <= psi(reference, _rng(2).normal(0.4, 1, size=20_000)) <= MAJOR_ABOVE
    assert psi(reference, _rng(2).normal(1.0, 1, size=20_000)) > MAJOR_ABOVE


def test_psi_is_nearly_symmetric_for_a_moderate_shift():
    a, b = _rng(1).normal(size=20_000), _rng(2).normal(0.4, 1.2, size=20_000)
    forward, backward = psi(a, b), psi(b, a)
    assert forward > 0.1 and backward > 0.1
    assert abs(forward - backward) / forward < 0.25


def test_psi_equals_the_formula_on_hand_made_bins():
    # Two bins split at the reference median 5.5, then the NaN bin: shares .5/.5/0 against .3/.5/.2.
    reference = np.arange(1.0, 11.0)
    current = [1, 2, 3, 6, 7, 8, 9, 10, np.nan, np.nan]
    expected = (0.3 - 0.5) * np.log(0.3 / 0.5) + (0.2 - 1e-4) * np.log(0.2 / 1e-4)
    assert psi(reference, current, bins=2) == pytest.approx(expected, rel=1e-12)


def test_psi_sees_a_constant_column_change_and_values_beyond_the_reference():
    assert psi(np.zeros(100), np.ones(100)) > 5
    assert psi(np.arange(100.0), np.arange(100.0) + 1000) > 5


def test_psi_counts_missing_values_as_a_bin_of_their_own():
    reference = _rng(1).normal(size=5000)
    current = _rng(2).normal(size=5000)
    current[:1500] = np.nan
    assert psi(reference, current) > MAJOR_ABOVE
    both = reference.copy()
    both[:1500] = np.nan
    assert psi(both, current) < 0.01
    assert psi([np.nan] * 10, [np.nan] * 20) == 0.0


def test_psi_counts_a_category_the_reference_never_had():
    reference = ["邻里纠纷", "债务纠纷"] * 500
    assert psi(reference, ["邻里纠纷", "债务纠纷"] * 450 + ["网络纠纷"] * 100) > 0.1


@pytest.mark.parametrize(
    ("reference", "current", "bins", "message"),
    [
        ([1.0, 2.0], [1.0], 1, "bins must be an integer >= 2, got 1"),
        ([1.0, 2.0], [1.0], 2.5, "bins must be an integer >= 2, got 2.5"),
        ([], [1.0], 10, "reference must hold at least one value, got 0"),
        ([1.0], [], 10, "current must hold at least one value, got 0"),
        (
            [1.0, 2.0],
            ["a", "b"],
            10,
            "current must be numeric exactly when reference is, got ",
        ),
    ],
)
def test_psi_rejects_bad_input_naming_the_argument(reference, current, bins, message):
    with pytest.raises(DisputeRiskError) as err:
        psi(reference, current, bins=bins)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("value", "status"),
    [(0.0, "stable"), (0.0999, "stable"), (0.1, "moderate"), (0.25, "moderate"), (0.2501, "major")],
)
def test_psi_status_uses_the_conventional_cut_offs(value, status):
    assert psi_status(value) == status


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf")])
def test_psi_status_rejects_what_no_psi_can_be(value):
    with pytest.raises(DisputeRiskError, match="psi must be a finite number >= 0"):
        psi_status(value)


def test_drift_table_is_sorted_by_psi_with_english_and_chinese_status():
    rng = _rng(3)
    reference = pd.DataFrame(
        {"amount_yuan": rng.lognormal(8, 1, 4000), "police_calls_before": rng.poisson(0.3, 4000)}
    ).assign(category=["邻里纠纷", "债务纠纷"] * 2000, risk=rng.beta(1, 30, 4000))
    current = reference.assign(
        amount_yuan=rng.lognormal(8.5, 1, 4000),  # moderate shift
        risk=rng.beta(1, 10, 4000),  # major shift
    )
    table = drift_table(reference, current, ["category", "amount_yuan", "risk", "police_calls_before"])
    assert tuple(table.columns) == DRIFT_COLUMNS
    assert table["feature"].tolist() == ["risk", "amount_yuan", "category", "police_calls_before"]
    assert table["status"].tolist() == ["major", "moderate", "stable", "stable"]
    assert table["status_zh"].tolist() == ["显著偏移", "中度偏移", "稳定", "稳定"]
    assert table["psi"].is_monotonic_decreasing


def test_drift_table_names_the_frame_and_the_missing_column():
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(DisputeRiskError, match=r"current must have every column in columns, missing \['b'\]"):
        drift_table(frame.assign(b=1.0), frame, ["a", "b"])
    with pytest.raises(DisputeRiskError, match=r"reference\['a'\] must hold at least one value"):
        drift_table(frame.iloc[:0], frame, ["a"])


# --- estimated performance -----------------------------------------------------------------------


def _brute_force_auc(p: np.ndarray, s: np.ndarray) -> float:
    """sum_{i != j} p_i (1 - p_j) ([s_i > s_j] + [s_i = s_j] / 2) / sum_{i != j} p_i (1 - p_j)."""
    weight = np.outer(p, 1 - p)
    np.fill_diagonal(weight, 0.0)
    wins = (s[:, None] > s[None, :]) + 0.5 * (s[:, None] == s[None, :])
    return float((weight * wins).sum() / weight.sum())


@pytest.mark.parametrize("seed", range(8))
def test_expected_auc_equals_the_quadratic_sum_exactly(seed):
    rng = _rng(seed)
    n = int(rng.integers(2, 40))
    p = rng.beta(0.7, 4, n)
    scores = np.round(rng.normal(size=n) + 3 * p, 1) if seed % 2 else None  # rounding makes ties
    expected = _brute_force_auc(p, p if scores is None else scores)
    assert estimate_performance(p, scores, n_sim=0).expected_auc == pytest.approx(expected, rel=1e-12)


def test_expected_auc_matches_the_mean_auc_of_simulated_labels():
    rng = _rng(4)
    p = rng.beta(0.8, 8, 400)
    draws = (rng.random((400, p.size)) < p).astype(float)
    wins = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])  # pairs (positive, negative)
    n1 = draws.sum(axis=1)
    simulated = np.mean(np.einsum("ki,ij,kj->k", draws, wins, 1 - draws) / (n1 * (p.size - n1)))
    est = estimate_performance(p, n_sim=400, seed=5)
    assert est.expected_auc == pytest.approx(simulated, abs=0.01)
    assert est.auc_lo < est.expected_auc < est.auc_hi


def test_expected_auc_depends_only_on_the_order_of_the_scores():
    p = _rng(6).beta(1, 5, 300)
    logit = np.log(p / (1 - p))
    assert estimate_performance(p, logit, n_sim=50).expected_auc == pytest.approx(
        estimate_performance(p, n_sim=50).expected_auc, rel=1e-12
    )
    assert estimate_performance(p, -logit, n_sim=0).expected_auc < 0.5


def test_realised_rate_and_auc_fall_in_the_ranges_when_labels_follow_p():
    trials, rate_in, auc_in = 40, 0, 0
    for seed in range(trials):
        rng = _rng(100 + seed)
        p = rng.beta(0.8, 10, 500)
        labels = rng.random(p.size) < p
        est = estimate_performance(p, n_sim=200, seed=seed)
        rate_in += est.rate_lo <= labels.mean() <= est.rate_hi
        auc_in += est.auc_lo <= roc_auc_score(labels, p) <= est.auc_hi
    assert rate_in >= 0.85 * trials and auc_in >= 0.85 * trials, (rate_in, auc_in)


def test_realised_rate_leaves_the_range_when_the_model_underestimates_risk():
    outside = 0
    for seed in range(20):
        rng = _rng(200 + seed)
        p = rng.beta(0.8, 10, 1000)
        labels = rng.random(p.size) < np.minimum(1, 2 * p)  # the real risk is twice the estimate
        outside += labels.mean() > estimate_performance(p, n_sim=0).rate_hi
    assert outside >= 18


def test_estimate_is_nan_where_no_auc_can_exist():
    one = estimate_performance([0.3], n_sim=50)
    assert one.n == 1 and one.expected_rate == pytest.approx(0.3)
    assert np.isnan(one.expected_auc) and np.isnan(one.auc_lo) and np.isnan(one.auc_hi)
    none = estimate_performance(np.zeros(10), n_sim=50)
    assert (none.expected_rate, none.rate_lo, none.rate_hi) == (0.0, 0.0, 0.0)
    assert np.isnan(none.expected_auc) and np.isnan(none.auc_lo)


def test_estimate_is_reproducible_with_a_seed_and_frozen():
    p = _rng(7).beta(1, 6, 200)
    est = estimate_performance(p, seed=3)
    assert est == estimate_performance(pd.Series(p), seed=3)
    with pytest.raises(AttributeError):
        est.n = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p": [0.2, 1.3]}, "p must be probabilities in [0, 1], got 1.3"),
        ({"p": [0.2, np.nan]}, "p must be finite, got nan"),
        ({"p": []}, "p must hold at least one probability, got 0"),
        ({"p": [[0.2, 0.3]]}, "p must be one-dimensional, got shape (1, 2)"),
        ({"p": ["high"]}, "p must be numbers, got list"),
        ({"p": [0.2, 0.3], "scores": [1.0]}, "scores must have one value per probability (2), got 1"),
        ({"p": [0.2, 0.3], "scores": [1.0, np.inf]}, "scores must be finite, got inf"),
        ({"p": [0.2, 0.3], "n_sim": -1}, "n_sim must be an integer >= 0, got -1"),
        ({"p": [0.2, 0.3], "seed": -2}, "seed must be an integer >= 0, got -2"),
    ],
)
def test_estimate_rejects_bad_input_naming_the_argument(kwargs, message):
    with pytest.raises(DisputeRiskError) as err:
        estimate_performance(**kwargs)
    assert str(err.value) == message


# --- weekly monitoring ---------------------------------------------------------------------------

AS_OF = pd.Timestamp("2026-04-07")  # with 90 days, cases up to 2026-01-07 00:00 are mature


def _frame(times: list[str], risk: list[float], label: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {"registered_at": pd.to_datetime(times, format="ISO8601"), "risk": risk, "label": label}
    )


@pytest.mark.parametrize(("last", "mature"), [("2026-01-07 00:00:00", True), ("2026-01-07 00:00:01", False)])
def test_a_week_is_mature_only_when_its_last_case_is_horizon_days_old(last, mature):
    frame = _frame(["2026-01-05 09:00", last], [0.2, 0.6], [0.0, 1.0])
    row = weekly_monitoring(frame, as_of=AS_OF, n_sim=0).iloc[0]
    assert row["week"] == "2026-W02" and row["mature"] is np.bool_(mature)
    if mature:
        assert (row["realised_rate"], row["realised_escalations"], row["realised_auc"]) == (0.5, 1.0, 1.0)
        assert row["auc_gap"] == pytest.approx(row["estimated_auc"] - 1.0)
    else:
        assert np.isnan(row["realised_rate"]) and np.isnan(row["realised_auc"]) and np.isnan(row["auc_gap"])


def test_horizon_days_moves_the_maturity_boundary():
    frame = _frame(["2026-03-08 00:00", "2026-03-08 00:00:01"], [0.2, 0.6], [0.0, 1.0])  # AS_OF - 30 days
    assert weekly_monitoring(frame.iloc[:1], horizon_days=30, as_of=AS_OF, n_sim=0)["mature"].item()
    assert not weekly_monitoring(frame, horizon_days=30, as_of=AS_OF, n_sim=0)["mature"].item()


def test_weeks_are_iso_weeks_starting_monday_across_the_new_year():
    frame = _frame(
        ["2027-01-01 12:00", "2026-12-28 00:00", "2025-01-05 23:59", "2024-12-30 08:00"],
        [0.1, 0.2, 0.3, 0.4],
        [None, None, 0.0, 1.0],
    )
    table = weekly_monitoring(frame, as_of="2027-01-03", n_sim=0)
    assert table["week"].tolist() == ["2025-W01", "2026-W53"]
    assert table["week_start"].tolist() == [pd.Timestamp("2024-12-30"), pd.Timestamp("2026-12-28")]
    assert table["n"].tolist() == [2, 2]


def test_weekly_table_sums_the_predictions_and_needs_both_classes_for_auc():
    frame = _frame(
        ["2026-01-05", "2026-01-06", "2026-01-12", "2026-01-13", "2026-01-14"],
        [0.1, 0.3, 0.2, 0.4, 0.6],
        [0.0, 0.0, 1.0, 0.0, None],
    )
    table = weekly_monitoring(frame, as_of="2026-12-31", n_sim=20)
    assert tuple(table.columns) == WEEKLY_COLUMNS
    assert table["predicted_escalations"].tolist() == pytest.approx([0.4, 1.2])
    assert table["predicted_rate"].tolist() == pytest.approx([0.2, 0.4])
    assert table["n_labelled"].tolist() == [2, 2]
    assert table["realised_rate"].tolist() == [0.0, 0.5]  # over the labelled cases
    assert np.isnan(table["realised_auc"].iloc[0]) and table["realised_auc"].iloc[1] == 0.0
    assert (table["predicted_rate_lo"] <= table["predicted_rate"]).all()


def test_weekly_table_does_not_depend_on_row_order_or_index():
    rng = _rng(8)
    times = pd.Timestamp("2025-10-01") + pd.to_timedelta(rng.integers(0, 150 * 24 * 60, 3000), unit="min")
    p = rng.beta(0.8, 10, 3000)
    frame = pd.DataFrame({"registered_at": times, "risk": p, "label": (rng.random(3000) < p).astype(float)})
    frame.loc[frame["registered_at"] > AS_OF - pd.Timedelta(days=90), "label"] = np.nan
    table = weekly_monitoring(frame, as_of=AS_OF, n_sim=30)
    shuffled = frame.sample(frac=1.0, random_state=1).set_index(np.arange(3000) * 7)
    pd.testing.assert_frame_equal(weekly_monitoring(shuffled, as_of=AS_OF, n_sim=30), table)
    assert table["n"].sum() == 3000 and table["week_start"].is_monotonic_increasing
    assert table["mature"].tolist() == sorted(table["mature"].tolist(), reverse=True)
    assert table.loc[table["mature"], "auc_gap"].abs().mean() < 0.08


def test_weekly_table_of_no_cases_is_empty_with_its_columns():
    table = weekly_monitoring(_frame([], [], []), as_of=AS_OF)
    assert table.empty and tuple(table.columns) == WEEKLY_COLUMNS


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (
            lambda f: f.drop(columns="label"),
            {},
            r"frame must have columns registered_at, risk and label, missing \['label'\]",
        ),
        (
            lambda f: f.assign(registered_at=f["registered_at"].dt.tz_localize("Asia/Shanghai")),
            {},
            "registered_at must be naive datetime64",
        ),
        (
            lambda f: f.assign(registered_at=f["registered_at"].astype(str)),
            {},
            "registered_at must be naive datetime64",
        ),
        (
            lambda f: f.assign(registered_at=[pd.NaT, f["registered_at"][1]]),
            {},
            "registered_at must not be missing, got NaT in row 0",
        ),
        (lambda f: f.assign(risk=[0.2, 1.5]), {}, r"risk must be probabilities in \[0, 1\], got 1.5"),
        (lambda f: f.assign(label=[0.0, 2.0]), {}, "label must be 1, 0 or missing, got 2.0"),
        (lambda f: f, {"horizon_days": 0}, "horizon_days must be an integer >= 1, got 0"),
        (lambda f: f, {"as_of": "2026-04-07T00:00+08:00"}, "as_of must be a naive date or time"),
        (lambda f: f, {"as_of": "not a date"}, "as_of must be a date or time, got 'not a date'"),
    ],
)
def test_weekly_monitoring_rejects_bad_input_naming_the_argument(change, kwargs, message):
    frame = change(_frame(["2026-01-05", "2026-01-06"], [0.2, 0.4], [0.0, 1.0]))
    with pytest.raises(DisputeRiskError, match=message):
        weekly_monitoring(frame, **({"as_of": AS_OF, "n_sim": 0} | kwargs))
