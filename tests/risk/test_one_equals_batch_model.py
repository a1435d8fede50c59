"""The single-case paths of risk/ (what the intake API runs) equal their batch paths: LightGBM's
pred_contrib from the TreeSHAP tables, the reason families, and the whole single-case score of
the registered model."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from one_vs_batch import assert_one_equals_batch

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
    contrib = lambda batch: booster.predict(np.asarray(batch), pred_contrib=True)  # noqa: E731
    assert_one_equals_batch(shap.contributions, contrib, list(rows), atol=1e-9)
    # float32 rows, as the featurizer makes them, are compared as LightGBM compares them
    assert_one_equals_batch(shap.contributions, contrib, list(rows.astype(np.float32)), atol=1e-9)


def test_deeper_trees_fall_back_to_lightgbm() -> None:
    booster = _booster(_rows(8, 2000, seed=0), max_depth=5, num_leaves=20)
    assert TreeShap.build(booster) is None
    assert tree_shap_for(booster) is None


def test_registered_model_single_case_contributions_and_reasons_match_the_batch(trained) -> None:
    model = _registered(trained).warm()
    assert tree_shap_for(model.booster) is not None  # the tables are what the API runs
    rows = list(_rows(model.booster.num_feature(), 300, seed=3).astype(np.float32))
    contrib = lambda batch: model.booster.predict(np.asarray(batch), pred_contrib=True)  # noqa: E731
    assert_one_equals_batch(lambda row: model.contributions_one(row[None, :]), contrib, rows, atol=1e-9)
    families = model._reasons
    assert_one_equals_batch(
        families.family_contributions_one,
        lambda b: families.family_contributions(np.asarray(b)),
        contrib(rows),
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
    contrib = list(np.random.default_rng(0).normal(size=(50, len(names) + 1)))
    assert_one_equals_batch(
        index.family_contributions_one,
        lambda b: index.family_contributions(np.asarray(b)),
        contrib,
        atol=1e-12,
    )


def _registered(trained):
    import mlflow

    from risk.model import unwrap_pyfunc

    mlflow.set_tracking_uri(trained.tracking_uri)
    return unwrap_pyfunc(mlflow.pyfunc.load_model(f"models:/dispute-escalation/{trained.version}"))


def test_single_case_score_matches_batch_scoring(trained) -> None:
    """The registered model scores a case alike through score_case (the API) and score (batch)."""
    model = _registered(trained)
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
