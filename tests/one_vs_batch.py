"""The single-example path is a first-class API (river's ``learn_one``/``transform_one``): one
generic check that applying it to each item gives the batch path's row, used for every pair
(history, tabular, cues, TF-IDF, text score, featurizer, TreeSHAP, reason families, the model)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def assert_one_equals_batch(
    one: Callable[[Any], Any],
    batch: Callable[[Sequence[Any]], Any],
    items: Sequence[Any],
    *,
    atol: float = 0.0,
    rtol: float = 0.0,
) -> None:
    """``one(item)`` for each item equals row i of ``batch(items)`` (NaN equals NaN). ``one`` is
    called in order, so a stateful path (history fed case by case) is checked as it is used."""
    assert len(items) > 0, "nothing to compare"
    expected = np.asarray(batch(items), dtype=np.float64).reshape(len(items), -1)
    got = np.vstack([np.asarray(one(item), dtype=np.float64).reshape(1, -1) for item in items])
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
