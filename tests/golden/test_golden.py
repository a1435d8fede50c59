"""Behaviour pinned across refactors: the same demo seed trains to the same test-window metrics,
and a fixed set of contract cases scores to the same risk (1e-9), level, reasons and flags through
the API and through the batch path as recorded in golden.json (``record_golden.py``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from golden_cases import compute, read

pytestmark = pytest.mark.slow
RISK_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def now_and_then(trained, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    return compute(trained, Path(tmp_path_factory.mktemp("golden"))), read()


def _close(a: float, b: float, tolerance: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tolerance


def test_same_seed_trains_to_the_same_test_window_metrics(now_and_then):
    now, then = now_and_then
    assert now["metrics"]["thresholds"] == pytest.approx(then["metrics"]["thresholds"], abs=1e-12)
    assert now["metrics"]["windows"] == then["metrics"]["windows"]
    differ = [
        (model, name, now["metrics"]["test"][model][name], value)
        for model, metrics in then["metrics"]["test"].items()
        for name, value in metrics.items()
        if not _close(now["metrics"]["test"][model][name], value, _tolerance(model))
    ]
    assert not differ


def _tolerance(model: str) -> float:
    # Ours is pinned to 1e-9. scikit-learn's lbfgs stops at its own tolerance, so the logistic
    # baseline moves by ~1e-8 between scikit-learn/BLAS builds without any change of ours.
    return 1e-6 if model == "logistic regression" else 1e-9


@pytest.mark.parametrize("path", ["api", "batch"])
def test_fixed_cases_score_as_recorded(now_and_then, path):
    now, then = now_and_then
    assert [r["case_id"] for r in now[path]] == [r["case_id"] for r in then[path]]
    for got, want in zip(now[path], then[path], strict=True):
        assert abs(got["risk"] - want["risk"]) <= RISK_TOLERANCE, got["case_id"]
        assert {k: v for k, v in got.items() if k != "risk"} == {k: v for k, v in want.items() if k != "risk"}
