"""Data for the area-index bench: demo export, a model trained as of a cut date, every case scored
as of its registration, and the generator's true probabilities."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from features.contract import Dataset, load_dataset
from risk.model import EscalationModel
from training.score import score_for_index

# Signal columns the index reads, as the featurizer names them (non-negated cue counts and history).
CUE_COLUMNS = ("cue_threat", "cue_weapon", "cue_physical", "cue_injury", "cue_self_harm")
HISTORY_COLUMNS = ("party_prior_cases_max", "key_group_persons")


def demo_dataset(folder: Path, n_cases: int, seed: int) -> Path:
    """The demo export in ``folder``, generated unless an earlier run left it there."""
    if not ((folder / "cases.csv").exists() and (folder / "truth.csv").exists()):
        from training.demo.generate import DemoConfig, generate_demo_data

        generate_demo_data(folder, DemoConfig(n_cases=n_cases, seed=seed))
    return folder


def train_model(data_dir: Path, as_of: pd.Timestamp) -> EscalationModel:
    """The project's training run as of ``as_of`` (labels and escalations known by then only), in a
    throw-away MLflow store."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from training.train import run_training

    with tempfile.TemporaryDirectory(prefix="area-index-") as tmp:
        report = run_training(
            data_dir, tracking_uri=f"sqlite:///{tmp}/mlflow.db", as_of=as_of, models_dir=Path(tmp)
        )
    return report.model


def score_cases(model: EscalationModel, dataset: Dataset, *, since: pd.Timestamp) -> pd.DataFrame:
    """Every case registered at or after ``since``, scored as of its registration by the official
    batch path (``training.score.score_for_index``: the same features, flags and levels as the API)."""
    return score_for_index(model, dataset, since=since)


def load(data_dir: Path) -> Dataset:
    return load_dataset(data_dir, write_rejects=False)


def true_probabilities(data_dir: Path) -> pd.Series:
    """The generator's p_true per case_id (truth.csv: not part of the data contract)."""
    truth = pd.read_csv(data_dir / "truth.csv", usecols=["case_id", "p_true"], dtype={"case_id": str})
    return truth.set_index("case_id")["p_true"]


def synthetic_scored(areas: pd.DataFrame, n_cases: int, weeks: int, seed: int = 0) -> pd.DataFrame:
    """Scored-looking cases for timing only: registrations spread over ``weeks`` weeks and the villages
    (by population), 5% at the town code, 55% with one of ~4 grids per village, risks from a skewed
    Beta (mean ~1.5%), escalations drawn from them with lognormal delays, random signal counts."""
    rng = np.random.default_rng(seed)
    villages = areas[areas["level"] == "village"]
    weight = villages["population"].fillna(villages["population"].median()).to_numpy(dtype=float)
    code = villages["area_code"].to_numpy()[rng.choice(len(villages), n_cases, p=weight / weight.sum())]
    town_level = rng.random(n_cases) < 0.05
    code = np.where(town_level, pd.Series(code).str[:9].to_numpy() + "000", code)
    grid = np.where(
        ~town_level & (rng.random(n_cases) < 0.55),
        np.char.add(code.astype(str), rng.integers(1, 5, n_cases).astype(str).astype("<U3")),
        None,
    )
    registered = pd.Timestamp("2023-01-02") + pd.to_timedelta(
        np.sort(rng.random(n_cases)) * weeks * 7, unit="D"
    )
    risk = rng.beta(0.4, 26.0, n_cases)
    escalates = rng.random(n_cases) < risk
    delay = pd.to_timedelta(rng.lognormal(np.log(11.0), 1.6, n_cases), unit="D")
    from features.schema import CATEGORIES

    return pd.DataFrame(
        {
            "case_id": np.char.add("S", np.arange(n_cases).astype(str)),
            "area_code": code,
            "grid_code": grid,
            "registered_at": registered,
            "category": rng.choice(np.array(CATEGORIES), n_cases),
            "risk": risk,
            "escalated_at": pd.Series(registered + delay).where(escalates).astype("datetime64[ns]"),
            "police_calls_before": rng.poisson(0.3, n_cases).astype(float),
            "party_prior_cases_max": rng.poisson(0.3, n_cases).astype(float),
            "key_group_persons": (rng.random(n_cases) < 0.04).astype(float),
            **{c: (rng.random(n_cases) < 0.05).astype(float) for c in CUE_COLUMNS},
            "level": rng.choice(
                np.array(["红", "橙", "黄", "蓝", "无"]), n_cases, p=[0.005, 0.015, 0.03, 0.05, 0.9]
            ),
        }
    )
