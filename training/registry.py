"""MLflow tracking and model registry: log a training run, register the model, move aliases.

Default store: a SQLite database under ``models/`` (``MLFLOW_TRACKING_URI`` wins), artifacts
beside it, so one machine needs nothing else and nothing leaves the intranet.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from risk.model import MODEL_NAME, EscalationModel, unwrap_pyfunc

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
EXPERIMENT = "dispute-escalation"
# What the pyfunc needs at load time; the project itself must be installed where it is served.
PIP_REQUIREMENTS = ["lightgbm", "scikit-learn", "pandas", "numpy", "scipy", "jieba", "rjieba", "dispute-risk"]


def offline_environment() -> None:
    """No telemetry from MLflow, ever: these deployments sit on government intranets."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")


def default_tracking_uri(models_dir: Path | None = None) -> str:
    models_dir = Path(models_dir or Path.cwd() / "models").resolve()
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{models_dir / 'mlflow.db'}"


def configure(tracking_uri: str | None = None, models_dir: Path | None = None) -> str:
    import mlflow

    offline_environment()
    uri = tracking_uri or default_tracking_uri(models_dir)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def ensure_experiment(name: str = EXPERIMENT, models_dir: Path | None = None) -> str:
    import mlflow

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    uri = mlflow.get_tracking_uri()
    artifact_location = None
    if uri.startswith("sqlite:///"):
        # Keep artifacts beside the database, not in ./mlruns of whatever directory we run from.
        artifact_location = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=artifact_location)


def input_example(cases: pd.DataFrame, parties: pd.DataFrame, n: int = 2) -> pd.DataFrame:
    """Contract-shaped cases with their parties nested as a JSON string column."""
    head = cases.head(n).copy()
    nested = parties[parties["case_id"].isin(head["case_id"])].groupby("case_id")
    head["parties"] = [
        json.dumps(
            nested.get_group(cid)
            .drop(columns=["case_id"])
            .where(lambda d: d.notna(), None)
            .to_dict("records")
            if cid in nested.groups
            else [],
            ensure_ascii=False,
            default=str,
        )
        for cid in head["case_id"]
    ]
    keep = [
        c
        for c in head.columns
        if c not in ("escalated", "escalated_at", "criminal_charge") and not c.endswith("_raw")
    ]
    head = head[keep]
    head["registered_at"] = head["registered_at"].dt.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    # Optional counts may be empty in a real export: declare them as doubles so NaN passes the schema.
    for column in ("amount_yuan", "police_calls_before", "mediation_attempts", "n_parties", "n_people"):
        if column in head:
            head[column] = head[column].astype(float)
    return head.reset_index(drop=True)


@dataclass(frozen=True)
class Registration:
    """Where a run's model was logged and, if registered, its version."""

    run_id: str
    model_uri: str
    version: str | None


def log_and_register(
    model: EscalationModel,
    *,
    example: pd.DataFrame,
    params: dict[str, Any],
    metrics: dict[str, float],
    register: bool = True,
    set_champion_if_missing: bool = True,
    aliases: tuple[str, ...] = (),
    tags: dict[str, str] | None = None,
) -> Registration:
    """Log one training run with its model, and register the model (version tags from ``tags``).
    Artifacts that name the version (the model card) are added afterwards with ``log_texts``."""
    import mlflow
    from mlflow import MlflowClient

    experiment_id = ensure_experiment()
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})  # NaN is skipped
        if tags:
            mlflow.set_tags(tags)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=model,
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
            registered_model_name=model.name if register else None,
        )
    if not register:
        return Registration(run.info.run_id, info.model_uri, None)
    client = MlflowClient()
    version = str(info.registered_model_version)
    for key, value in (tags or {}).items():
        client.set_model_version_tag(model.name, version, key, value)
    for alias in aliases:
        client.set_registered_model_alias(model.name, alias, version)
    if set_champion_if_missing and champion_version(model.name) is None:
        client.set_registered_model_alias(model.name, CHAMPION, version)
        log.info("no champion yet: version %s of %s is now %s", version, model.name, CHAMPION)
    return Registration(run.info.run_id, f"models:/{model.name}/{version}", version)


def log_texts(run_id: str, texts: dict[str, str]) -> None:
    """Add text artifacts (file name -> content) to a finished run."""
    from mlflow import MlflowClient

    client = MlflowClient()
    for name, text in texts.items():
        client.log_text(run_id, text, name)


def champion_version(name: str = MODEL_NAME) -> str | None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return str(MlflowClient().get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def load_escalation_model(uri: str) -> EscalationModel:
    """Load a registered pyfunc and return the EscalationModel inside it."""
    import mlflow

    return unwrap_pyfunc(mlflow.pyfunc.load_model(uri))


def registered_version(uri: str) -> str | None:
    """The registry version a ``models:/name/N`` or ``models:/name@alias`` URI names (None for
    other URIs, e.g. a run's artifact)."""
    from mlflow import MlflowClient

    name, _, rest = uri.removeprefix("models:/").partition("/")
    if not uri.startswith("models:/"):
        return None
    if "@" in name:
        name, _, alias = name.partition("@")
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    return rest or None
