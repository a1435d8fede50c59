"""The one trained model of the test session: demo data (4,000 cases, seed 11), trained quick as
of 60 days before the export's end (so the last weeks are unseen), registered as champion in a
throw-away MLflow store. The golden test pins what this model scores."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

DEMO_CASES, DEMO_SEED, HOLDOUT_DAYS = 4000, 11, 60


@dataclass(frozen=True)
class TrainedModel:
    result: Any  # training.train.TrainResult
    data: Path  # the demo dataset folder
    tracking_uri: str
    root: Path  # where the MLflow store and model cards live

    @property
    def model(self) -> Any:
        return self.result.model

    @property
    def version(self) -> str:
        return str(self.result.version)

    @property
    def as_of(self) -> pd.Timestamp:
        return self.result.prepared.as_of


def demo_data(root: Path) -> Path:
    from training.demo.generate import DemoConfig, generate_demo_data

    data = root / "data"
    if not data.exists():
        generate_demo_data(data, DemoConfig(n_cases=DEMO_CASES, seed=DEMO_SEED))
    return data


def train_session_model(root: Path) -> TrainedModel:
    from training.train import run_training

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    data = demo_data(root)
    tracking = f"sqlite:///{root / 'mlflow.db'}"
    result = run_training(data, tracking_uri=tracking, quick=True, holdout_days=HOLDOUT_DAYS, models_dir=root)
    return TrainedModel(result, data, tracking, root)
