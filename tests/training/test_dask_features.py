"""The Dask path computes exactly the single-machine features: history (every count, last time
and rate, NaN where it is NaN), cue counts and the model matrix, on the demo export written as
month-partitioned Parquet, and the history on a dataset built to break as-of code.

The cluster: two worker processes of one thread each (as on real hosts, every function and the
fitted featurizer are pickled to the workers; threads would hide a closure that cannot travel).
"""

from __future__ import annotations

from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from dask_layout import yearly_partitions

from features.build import CaseFeaturizer
from features.build import case_frame as local_case_frame
from features.contract import load_dataset as load_local
from features.cues import CueFlags
from features.history_batch import compute_history_features
from features.history_schema import HISTORY_FEATURES
from features.schema import KEY_GROUPS
from training.distributed.cluster import connect
from training.distributed.featurize import case_frame, cue_counts, feature_frame
from training.distributed.history import history_features
from training.distributed.load import load_dataset
from training.labels import horizon_labels

pytestmark = pytest.mark.slow  # a cluster of two worker processes per module


@pytest.fixture(scope="module")
def client():
    with connect(n_workers=2, threads_per_worker=1, processes=True, memory_limit="2GiB") as client:
        yield client


@pytest.fixture(scope="module")
def local(demo_dir: Path):
    dataset = load_local(demo_dir, write_rejects=False)
    known = dataset.areas.dropna(subset=["population"])
    population = dict(zip(known["area_code"], known["population"].astype(float), strict=True))
    return dataset, population, compute_history_features(dataset.cases, dataset.parties, population)


@pytest.fixture(scope="module")
def dist(client, demo_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    # A file per year (4 per table), not per month: every history family still crosses files and
    # shuffle partitions, without Dask's per-task cost for 42 months (test_dask_contract keeps
    # the month layout's own check).
    return load_dataset(
        yearly_partitions(demo_dir, tmp_path_factory.mktemp("years") / "data"), write_rejects=False
    )


@pytest.fixture(scope="module")
def dist_history(local, dist):
    """The Dask history with one shuffle partition per file (the default), kept on the workers."""
    return history_features(dist.cases, dist.parties, local[1]).persist()


@pytest.fixture(scope="module")
def case_ids(dist) -> pd.Series:
    """row id -> case_id of the Dask cases."""
    return dist.cases["case_id"].compute()


def _in_order(frame: pd.DataFrame, case_ids: pd.Series, order: pd.Series) -> pd.DataFrame:
    """``frame`` (indexed by row id) in the order of the case ids ``order``, with a RangeIndex."""
    by_case = frame.set_axis(case_ids.loc[frame.index].to_numpy())
    return by_case.loc[order.to_numpy()].reset_index(drop=True)


def test_year_partitions_validate_to_the_same_tables(local, dist):
    dataset, population, _ = local
    assert dist.cases.npartitions == dist.parties.npartitions == 4 and dist.rejects.empty
    cases = dist.cases.compute().sort_values("case_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(
        cases, dataset.cases.sort_values("case_id").reset_index(drop=True), check_exact=True
    )
    assert dist.population() == population and dist.export_date == dataset.export_date


@pytest.mark.parametrize("npartitions", [None, 3], ids=["one-per-file", "three"])
def test_history_equals_the_single_machine_history(local, dist, dist_history, case_ids, npartitions):
    dataset, population, expected = local
    found = dist_history
    if npartitions is not None:
        found = history_features(dist.cases, dist.parties, population, npartitions=npartitions)
    assert found.divisions == dist.cases.divisions  # lined up with the cases: joining moves no row
    got = found.compute()
    assert list(got.columns) == list(HISTORY_FEATURES) and got.index.equals(case_ids.index)
    pd.testing.assert_frame_equal(
        _in_order(got, case_ids, dataset.cases["case_id"]), expected, check_exact=True
    )
    # the check has teeth: repeat parties, pairs, escalations and area rates all occur
    for name in ("party_prior_escalations_max", "pair_prior_cases_max", "village_escalations_365d_per10k"):
        assert (expected[name] > 0).sum() >= 5, name


def edge_dataset(seed: int = 3, n: int = 1500) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Cases at one instant, town-level codes, escalations dated before registration or not at
    all, recurring people and pairs, a party listed twice, a case without parties, a mass
    dispute above MAX_PAIR_PARTIES, organisations and key-group tags (one outside the list)."""
    rng = np.random.default_rng(seed)
    towns = [f"3206{c:02d}{t:03d}000" for c in (21, 82) for t in (101, 102)]
    villages = [town[:9] + f"{v:03d}" for town in towns for v in (1, 2, 3)]
    minutes = np.sort(rng.integers(0, 2 * 365 * 24 * 60, n))
    minutes[rng.random(n) < 0.05] = minutes[n // 3]
    registered = pd.Timestamp("2022-01-01") + pd.to_timedelta(np.sort(minutes), unit="min")
    escalated = rng.random(n) < 0.12
    delay = pd.to_timedelta(rng.choice([0, 1, 3, 20, 60, 200, -0.4], n), unit="D")
    escalated_at = pd.Series(registered + delay).where(escalated)
    escalated_at[escalated & (rng.random(n) < 0.05)] = pd.NaT
    cases = pd.DataFrame(
        {
            "case_id": pd.Series([f"C{i:05d}" for i in range(n)], dtype=object),
            "registered_at": registered,
            "area_code": pd.Series(
                np.where(rng.random(n) < 0.08, rng.choice(towns, n), rng.choice(villages, n)), dtype=object
            ),
            "escalated": escalated,
            "escalated_at": escalated_at.astype("datetime64[ns]"),
        }
    ).sample(frac=1.0, random_state=seed)
    people = [f"P{i:03d}" for i in range(300)]
    rows = []
    for i in range(n - 1):  # the last case has no parties
        members = list(rng.choice(people[: 40 + i // 5], rng.integers(1, 4), replace=False))
        if i == n // 2:
            members = [f"W{k}" for k in range(55)] + people[:2]
        elif i % 7 == 0:
            members = ["P001", "P002"]  # the same pair again and again
        if rng.random() < 0.1:
            members.append(f"ORG{rng.integers(10)}")
        if i % 50 == 0:
            members.append(members[0])  # listed twice: one party
        for m in members:
            tags = ";".join(rng.choice([*KEY_GROUPS, "其他关注人员"], 2)) if rng.random() < 0.1 else ""
            rows.append((f"C{i:05d}", m, "单位" if m.startswith("ORG") else "自然人", tags))
    parties = pd.DataFrame(rows, columns=["case_id", "party_id", "party_type", "key_groups"], dtype=object)
    population = {v: float(rng.integers(800, 5000)) for v in villages[::2]} | {towns[0]: 30_000.0}
    return cases.reset_index(drop=True), parties, population


@pytest.mark.parametrize("divisions", ["known", "unknown"])
def test_history_equals_the_single_machine_history_on_edge_cases(client, divisions):
    cases, parties, population = edge_dataset()
    expected = compute_history_features(cases, parties, population)
    dist_cases = dd.from_pandas(cases, npartitions=4)
    if divisions == "unknown":  # then the partials go to the cases' index by hash, not by range
        dist_cases = dist_cases.clear_divisions()
    got = history_features(dist_cases, dd.from_pandas(parties, npartitions=3), population).compute()
    pd.testing.assert_frame_equal(got.sort_index(), expected, check_exact=True)
    assert expected["pair_prior_cases_max"].isna().sum() == 1  # the mass dispute
    assert expected["party_days_since_last_case"].isna().any() and expected["village_cases_30d"].isna().any()


def test_cue_counts_and_feature_matrix_equal_the_single_machine_ones(local, dist, dist_history, case_ids):
    dataset, population, history = local
    frame = local_case_frame(dataset.cases, history)
    labels = horizon_labels(dataset.cases, 90, dataset.export_date)
    known = labels.notna().to_numpy()
    featurizer = CaseFeaturizer(text_max_features=2000, text_min_df=3).fit(
        frame[known], labels[known].to_numpy()
    )

    got = feature_frame(case_frame(dist.cases, dist_history), featurizer)
    assert got.divisions == dist.cases.divisions
    matrix = _in_order(got.compute(), case_ids, dataset.cases["case_id"])
    assert list(matrix.columns) == list(featurizer.get_feature_names_out())
    assert matrix.to_numpy().dtype == np.float32
    np.testing.assert_array_equal(matrix.to_numpy(), featurizer.transform(frame))

    cues = _in_order(cue_counts(dist.cases).compute(), case_ids, dataset.cases["case_id"])
    np.testing.assert_array_equal(cues.to_numpy(), CueFlags().fit([]).transform(dataset.cases["narrative"]))
    assert (cues.to_numpy() > 0).any(axis=0).all()  # every cue family occurs
