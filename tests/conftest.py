"""Shared fixtures. Real public material is read from ../shared/data and never copied here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from model_factory import TrainedModel, train_session_model

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DISPUTE_RISK_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public material; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real public material not found at {SHARED_DATA} (../shared/data is absent)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    """The session's one real model: trained (quick) on demo data and registered as champion in a
    throw-away MLflow store (see tests/model_factory.py). Tests that move aliases put them back."""
    return train_session_model(tmp_path_factory.mktemp("session-model"))


@pytest.fixture(scope="session")
def demo_dir(trained: TrainedModel) -> Path:
    """The demo export the session model was trained on (4,000 cases; its last 60 days unseen)."""
    return trained.data
