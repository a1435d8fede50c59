"""The single-case fast paths the intake API runs give what the batch paths give: LightGBM's
pred_contrib from the TreeSHAP tables, the reason families, the cue counts and the text score
for one narrative, and the whole single-case score of the registered model."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.cues import CueFlags
from features.text_score import NarrativeScore
from risk.reasons import ReasonIndex
from risk.tree_shap import TreeShap, tree_shap_for

TEXTS = [
    "两家因宅基地边界发生口角，社区已上门了解情况，双方同意再次协商。",
    "被申请人酒后扬言要杀了申请人全家，还拿着菜刀在门口转悠。",
    "双方未发生肢体冲突，但对方扬言要杀了他。",
    "工地拖欠工资三个月，工人多次讨薪未果，情绪激动，声称要跳楼。",
    "邻居装修噪音扰民，多次协商无果，昨晚双方推搡，一人轻微擦伤。",
    "",
    "债务纠纷，借款五万元到期未还，债主带人上门堵门，扬言不还钱就动手。",
]


def _rows(n_features: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    X[:, 0] = rng.integers(0, 3, size=n)  # counts with many zeros
    X[:, 1] = np.where(rng.random(n) < 0.3, 0.0, X[:, 1])
    X[rng.random(X.shape) < 0.08] = np.nan
    return X


def _booster(X: np.ndarray, **params: object) -> lgb.Booster:
    rng = np.random.default_rng(1)
    logit = np.nan_to_num(X[:, 0] - 0.8 * X[:, 2] + 0.5 * X[:, 3] * X[:, 4]) - 1.0
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    base = {"objective": "binary", "num_leaves": 8, "max_depth": 3, "min_data_in_leaf": 5, "verbosity": -1}
    return lgb.train(base | params, lgb.Dataset(X, y), num_boost_round=60)


@pytest.mark.parametrize(
    "params", [{}, {"zero_as_missing": True}, {"use_missing": False}, {"max_depth": 2, "num_leaves": 4}]
)
def test_tree_shap_tables_give_lightgbm_pred_contrib(params: dict[str, object]) -> None:
    X = _rows(8, 3000, seed=0)
    booster = _booster(X, **params)
    shap = TreeShap.build(booster)
    assert shap is not None
    rows = np.vstack([_rows(8, 400, seed=2), np.zeros((1, 8)), np.full((1, 8), np.nan)])
    expected = booster.predict(rows, pred_contrib=True)
    got = np.array([shap.contributions(r) for r in rows])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # float32 rows, as the featurizer makes them, are compared as LightGBM compares them
    rows32 = rows.astype(np.float32)
    expected32 = booster.predict(rows32, pred_contrib=True)
    np.testing.assert_allclose([shap.contributions(r) for r in rows32], expected32, rtol=0, atol=1e-9)


def test_deeper_trees_fall_back_to_lightgbm() -> None:
    booster = _booster(_rows(8, 2000, seed=0), max_depth=5, num_leaves=20)
    assert TreeShap.build(booster) is None
    assert tree_shap_for(booster) is None


def test_registered_model_single_case_contributions_and_score_match_the_batch(registry) -> None:
    import mlflow

    from risk.model import unwrap_pyfunc

    mlflow.set_tracking_uri(registry.tracking_uri)
    model = unwrap_pyfunc(mlflow.pyfunc.load_model(f"models:/dispute-escalation/{registry.version}")).warm()
    assert tree_shap_for(model.booster) is not None  # the tables are what the API runs
    n = model.booster.num_feature()
    rows = _rows(n, 300, seed=3).astype(np.float32)
    expected = model.booster.predict(rows, pred_contrib=True)
    for row, want in zip(rows, expected, strict=True):
        got = model.contributions_one(row[None, :])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
        np.testing.assert_allclose(
            model._reasons.family_contributions_one(got),
            model._reasons.family_contributions(want[None, :])[0],
            rtol=0,
            atol=1e-9,
        )


def test_family_sums_of_one_row_equal_the_sparse_product() -> None:
    names = [
        "category=邻里纠纷",
        "amount_log",
        "cue_threat",
        "cue_weapon",
        "party_prior_cases_max",
        "text_score",
    ]
    index = ReasonIndex(names)
    contrib = np.random.default_rng(0).normal(size=(50, len(names) + 1))
    batch = index.family_contributions(contrib)
    for row, want in zip(contrib, batch, strict=True):
        np.testing.assert_allclose(index.family_contributions_one(row), want, rtol=0, atol=1e-12)


def test_cue_counts_of_one_text_equal_the_batch_row() -> None:
    flags = CueFlags().fit(TEXTS)
    batch = flags.transform(TEXTS)
    for text, want in zip(TEXTS, batch, strict=True):
        assert flags.transform_one(text) == want.tolist()


def test_text_score_of_one_narrative_equals_the_batch_score() -> None:
    texts = [t + f"第{i % 7}次。" for i, t in enumerate(TEXTS * 30)]
    y = np.array([int("杀" in t or "动手" in t or i % 11 == 0) for i, t in enumerate(texts)])
    score = NarrativeScore(max_features=300, min_df=1, folds=2).fit(texts, y)
    probe = [*TEXTS, "完全没有见过的词语组合", "扬言要杀了他，扬言要杀了他"]
    batch = score.transform(probe)[:, 0]
    for text, want in zip(probe, batch, strict=True):
        assert abs(float(score.score_one(text)) - float(want)) <= 1e-9
        assert np.float32(score.score_one(text)) == want  # the same float32 the batch path gives


def test_single_case_path_through_the_api_matches_batch_scoring(registry) -> None:
    """The registered model scores a case alike through score_case (the API) and score (batch)."""
    import mlflow

    from risk.model import unwrap_pyfunc

    mlflow.set_tracking_uri(registry.tracking_uri)
    model = unwrap_pyfunc(mlflow.pyfunc.load_model(f"models:/dispute-escalation/{registry.version}"))
    case = {
        "case_id": "FAST-1",
        "registered_at": pd.Timestamp("2025-03-03T08:30:00").to_pydatetime(),
        "area_code": "320612001001",
        "grid_code": "G01",
        "source": "群众来访",
        "category": "邻里纠纷",
        "narrative": TEXTS[1],
        "amount_yuan": 5000.0,
        "n_parties": 2,
        "n_people": 3,
        "police_calls_before": 1.0,
        "mediation_attempts": float("nan"),
    }
    parties = [
        {
            "party_id": "FP-1",
            "role": "申请方",
            "party_type": "自然人",
            "gender": "男",
            "age": 41,
            "key_groups": "",
        },
        {
            "party_id": "FP-2",
            "role": "被申请方",
            "party_type": "自然人",
            "gender": "女",
            "age": 39,
            "key_groups": "",
        },
    ]
    one = model.score_case(case, parties)
    batch = model.score(pd.DataFrame([case]), pd.DataFrame([{**p, "case_id": "FAST-1"} for p in parties]))
    assert one.risk == pytest.approx(float(batch["risk"].iloc[0]), rel=1e-9, abs=1e-12)
    assert one.level == batch["level"].iloc[0]
    assert "；".join(f"{r.text}（{r.direction}）" for r in one.reasons) == batch["reasons"].iloc[0]
