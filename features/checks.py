"""Checks every estimator shares: its input texts, its labels, and whether it was fitted."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from features.errors import DisputeRiskError, NotFittedError


def as_text_list(X: Any, owner: str) -> list[str]:
    """A 1-D column of texts (list, Series, 1-D array, or one-column 2-D array/DataFrame) -> list."""
    if isinstance(X, str):
        raise DisputeRiskError(f"{owner} takes an iterable of texts, got a single str")
    if hasattr(X, "to_numpy"):
        X = X.to_numpy()
    elif not isinstance(X, np.ndarray):
        X = list(X)
    array = np.asarray(X, dtype=object)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DisputeRiskError(f"{owner} takes a 1-D column of texts, got shape {array.shape}")
    texts = array.tolist()
    for value in texts:
        if not isinstance(value, str):
            raise DisputeRiskError(f"{owner}: every narrative must be a str, got {type(value).__name__}")
    return texts


def check_int(value: object, name: str, minimum: int) -> None:
    """A parameter that must be an integer of at least ``minimum`` (a bool is not one).

    >>> check_int(True, "bins", 2)
    Traceback (most recent call last):
    ...
    features.errors.DisputeRiskError: bins must be an integer >= 2, got True
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise DisputeRiskError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_labels(y: object, n: int, name: str = "y") -> np.ndarray:
    """``n`` outcome labels, each 0 or 1, as floats: the one label check of every estimator.

    >>> check_labels([0, 1, 1], 3).tolist()
    [0.0, 1.0, 1.0]
    """
    y_arr = np.asarray(y)
    if y_arr.shape != (n,) or not np.isin(y_arr, (0, 1)).all():
        shown = np.unique(y_arr)[:5].tolist() if y_arr.size else []
        raise DisputeRiskError(
            f"{name} must be {n} values of 0/1, got shape {y_arr.shape} with values {shown}"
        )
    return y_arr.astype(float)


def require_fitted(estimator: Any, attribute: str) -> None:
    """sklearn's check_is_fitted, raising the project's NotFittedError (a DisputeRiskError)."""
    try:
        check_is_fitted(estimator, attribute)
    except SklearnNotFittedError:
        name = type(estimator).__name__
        raise NotFittedError(
            f"{name} must be fitted before use (call fit first), {attribute} is missing"
        ) from None
