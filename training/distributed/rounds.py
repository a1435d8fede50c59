"""The number of boosting rounds, chosen after training: ``lightgbm.dask`` has no early
stopping (an ``eval_set`` only records scores, each worker on its own chunks), so the booster
trains to the round cap and the validation window, scored here on the client, picks the round.

The rule is early stopping's own (``training.boost.PATIENCE``): walk the validation log-loss
curve and stop once it has not improved for PATIENCE rounds; the best round so far is kept. The
curve is read every ``step`` rounds (raw scores summed chunk by chunk: one pass over the trees
in all), so the round is early stopping's to within ``step``.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np

from training.boost import PATIENCE


def validation_curve(booster: lgb.Booster, X: np.ndarray, y: np.ndarray, *, step: int) -> dict[int, float]:
    """Validation log-loss after every ``step`` rounds (and after the last one)."""
    total = booster.num_trees()  # one tree per round for a binary objective
    raw = np.zeros(len(y))
    curve: dict[int, float] = {}
    for start in range(0, total, step):
        raw += booster.predict(
            X, start_iteration=start, num_iteration=min(step, total - start), raw_score=True
        )
        p = np.clip(1.0 / (1.0 + np.exp(-raw)), 1e-15, 1 - 1e-15)
        curve[min(start + step, total)] = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return curve


def stopping_round(curve: dict[int, float], patience: int = PATIENCE) -> int:
    """The round early stopping would keep on this curve."""
    best_round, best = 0, np.inf
    for rounds, loss in curve.items():
        if loss < best:
            best_round, best = rounds, loss
        elif rounds - best_round >= patience:
            break
    return best_round


def truncated(booster: lgb.Booster, rounds: int) -> Any:
    """A plain Booster of the first ``rounds`` rounds, its ``best_iteration`` set as early
    stopping sets it (the model card and the registry read it)."""
    out = lgb.Booster(model_str=booster.model_to_string(num_iteration=rounds))
    out.best_iteration = rounds
    return out


def best_rounds(booster: lgb.Booster, X_valid: np.ndarray, y_valid: np.ndarray, *, step: int = 10) -> Any:
    """The booster cut at the round the validation window picks (see the module docstring)."""
    return truncated(booster, max(stopping_round(validation_curve(booster, X_valid, y_valid, step=step)), 1))
