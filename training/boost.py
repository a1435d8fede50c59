"""LightGBM with early stopping on the validation window: its parameters, the monotone
constraints and the round cap, shared with the Dask trainer (``training.distributed.boosting``)."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np

from features.build import CATALOGUE


def default_params(seed: int = 0, *, quick: bool = False) -> dict[str, Any]:
    return {
        "objective": "binary",
        # Few, well-supported leaves: positives are 1-2% of cases, so deep trees fit noise.
        "learning_rate": 0.08 if quick else 0.02,
        "num_leaves": 8,
        "max_depth": 3,
        "min_data_in_leaf": 40 if quick else 200,
        "min_sum_hessian_in_leaf": 1e-2,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 10.0,
        # Early stopping reads the log-loss alone; an AUC beside it sorted the validation window
        # every round (a tenth of the training time) and was never read.
        "metric": ["binary_logloss"],
        "first_metric_only": True,
        # One thread per booster: rounds of 8-leaf trees are too short for two OpenMP threads to
        # pay for their synchronisation (beside a busy process they wait on each other for most
        # of each round), so the two candidate boosters train side by side instead (training.fit).
        "num_threads": 1,
        "verbosity": -1,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
    }


# Early stopping waits this many rounds without a better validation log-loss; the Dask trainer
# applies the same rule after the fact (``training.distributed.rounds``).
PATIENCE = 200


def round_cap(quick: bool) -> int:
    """The most rounds a booster may train."""
    return 600 if quick else 5000


def booster_params(params: dict[str, Any], feature_names: list[str]) -> dict[str, Any]:
    """``params`` with the catalogue's monotone constraints for these features, in order."""
    return {**params, "monotone_constraints": CATALOGUE.monotone(feature_names)}


def column_names(n: int) -> list[str]:
    """LightGBM rejects some characters in feature names (JSON specials); the model keeps its own
    names in the featurizer, so plain indices are enough for the booster."""
    return [f"f{i}" for i in range(n)]


def fit_booster(
    X_train: Any,
    y_train: np.ndarray,
    X_valid: Any,
    y_valid: np.ndarray,
    *,
    feature_names: list[str],
    params: dict[str, Any],
    max_rounds: int = 5000,
    patience: int = PATIENCE,
) -> lgb.Booster:
    """Early stopping on validation log-loss. The risk may only rise with the features the catalogue
    marks so (a threat, another 110 call): without the constraint a tree may learn a dip from noise."""
    names = column_names(len(feature_names))
    params = booster_params(params, feature_names)
    train = lgb.Dataset(X_train, label=y_train, feature_name=names, free_raw_data=True)
    valid = lgb.Dataset(X_valid, label=y_valid, reference=train, free_raw_data=True)
    return lgb.train(
        params,
        train,
        num_boost_round=max_rounds,
        valid_sets=[valid],
        valid_names=["validation"],
        callbacks=[lgb.early_stopping(patience, first_metric_only=True, verbose=False)],
    )
