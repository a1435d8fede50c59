"""Shared fixtures. Real public material is read from ../shared/data and never copied here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DISPUTE_RISK_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public material; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real public material not found at {SHARED_DATA} (../shared/data is absent)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo export (4,000 cases), generated once per test session."""
    from training.demo.generate import DemoConfig, generate_demo_data

    out = tmp_path_factory.mktemp("demo") / "data"
    generate_demo_data(out, DemoConfig(n_cases=4000, seed=11))
    return out


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path):
    """A real model trained (quick settings) and registered in a throw-away MLflow store."""
    from training.train import run_training

    root = tmp_path_factory.mktemp("registry")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    report = run_training(demo_dir, tracking_uri=f"sqlite:///{root / 'mlflow.db'}", quick=True, models_dir=root)
    report.extra["tracking_uri"] = f"sqlite:///{root / 'mlflow.db'}"
    report.extra["root"] = root
    return report
