"""`risk train`: load once -> prepare -> fit -> judge -> register, each stage a function with a
typed, immutable result (``training.prepare``, ``training.fit``, ``training.judge``,
``training.registry``). The model card is rendered once, after registration, with its version."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.contract import Dataset, load_dataset
from features.schema import DEFAULT_HORIZON_DAYS
from risk.model import EscalationModel
from training import registry
from training.fit import Fitted, fit
from training.judge import Judgement, judge
from training.prepare import Prepared, prepare, resolve_as_of
from training.registry import Registration, input_example
from training.report import card_for, flat_metrics, metrics_json, params_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    prepared: Prepared
    fitted: Fitted
    judgement: Judgement
    registration: Registration
    card: str
    card_path: Path
    seconds: Mapping[str, float]

    @property
    def model(self) -> EscalationModel:
        return self.fitted.model

    @property
    def version(self) -> str | None:
        return self.registration.version


def run_training(
    data_dir: Path,
    *,
    tracking_uri: str | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    as_of: pd.Timestamp | str | None = None,
    holdout_days: int = 0,
    register: bool = True,
    quick: bool = False,
    seed: int = 0,
    n_boot: int | None = None,
    models_dir: Path | None = None,
    aliases: tuple[str, ...] = (),
    set_champion_if_missing: bool = True,
) -> TrainResult:
    """Train on a contract dataset and register the model (alias champion if there is none)."""
    started = time.perf_counter()
    dataset = load_dataset(data_dir)
    loaded = time.perf_counter()
    prepared = prepare(dataset, as_of=resolve_as_of(dataset, as_of, holdout_days), horizon_days=horizon_days)
    prepared_at = time.perf_counter()
    fitted = fit(prepared, quick=quick, seed=seed)
    seconds = {"load": loaded - started, "history": prepared_at - loaded, **fitted.seconds}
    return conclude(
        dataset,
        prepared,
        fitted,
        seconds,
        tracking_uri=tracking_uri,
        register=register,
        quick=quick,
        seed=seed,
        n_boot=n_boot,
        models_dir=models_dir,
        aliases=aliases,
        set_champion_if_missing=set_champion_if_missing,
    )


def conclude(
    dataset: Dataset,
    prepared: Prepared,
    fitted: Fitted,
    seconds: Mapping[str, float],
    *,
    tracking_uri: str | None,
    register: bool,
    quick: bool,
    seed: int,
    n_boot: int | None,
    models_dir: Path | None,
    aliases: tuple[str, ...],
    set_champion_if_missing: bool,
) -> TrainResult:
    """Stages 4 and 5 and the model card, whichever engine fitted the model (``dataset``: only its
    first cases are read, as the registered model's input example)."""
    started = time.perf_counter()
    judgement = judge(
        prepared, fitted, n_boot=n_boot if n_boot is not None else (200 if quick else 1000), seed=seed
    )
    seconds = {**seconds, "evaluate": time.perf_counter() - started}
    registration = register_model(
        dataset,
        prepared,
        fitted,
        judgement,
        seconds,
        tracking_uri=tracking_uri,
        models_dir=models_dir,
        register=register,
        aliases=aliases,
        set_champion_if_missing=set_champion_if_missing,
        quick=quick,
        seed=seed,
    )
    card = card_for(prepared, fitted, judgement, version=registration.version or "unregistered")
    registry.log_texts(registration.run_id, _artifacts(card, prepared, fitted, judgement, seconds))
    card_path = _write_card(card, fitted, judgement, prepared, seconds, registration, models_dir)
    return TrainResult(prepared, fitted, judgement, registration, card, card_path, seconds)


def register_model(
    dataset: Dataset,
    prepared: Prepared,
    fitted: Fitted,
    judgement: Judgement,
    seconds: Mapping[str, float],
    *,
    tracking_uri: str | None,
    models_dir: Path | None,
    register: bool,
    aliases: tuple[str, ...],
    set_champion_if_missing: bool,
    quick: bool,
    seed: int,
) -> Registration:
    """Stage 5: log the run and register the model in MLflow."""
    registry.configure(tracking_uri, models_dir)
    return registry.log_and_register(
        fitted.model,
        example=input_example(dataset.cases, dataset.parties),
        params=params_of(prepared, fitted, quick=quick, seed=seed),
        metrics=flat_metrics(judgement, seconds),
        register=register,
        aliases=aliases,
        set_champion_if_missing=set_champion_if_missing,
        tags={"horizon_days": str(prepared.horizon_days), "as_of": str(prepared.as_of)},
    )


def _artifacts(
    card: str, prepared: Prepared, fitted: Fitted, judgement: Judgement, seconds: Mapping[str, float]
) -> dict[str, str]:
    return {
        "model_card.md": card,
        "metrics.json": metrics_json(prepared, fitted, judgement, seconds),
        **{f"slices_{name}.csv": frame.to_csv(index=False) for name, frame in judgement.slices.items()},
    }


def _write_card(
    card: str,
    fitted: Fitted,
    judgement: Judgement,
    prepared: Prepared,
    seconds: Mapping[str, float],
    registration: Registration,
    models_dir: Path | None,
) -> Path:
    out_dir = Path(models_dir or Path.cwd() / "models") / "cards"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{fitted.model.name}-v{registration.version or registration.run_id}"
    (out_dir / f"{stem}.md").write_text(card, encoding="utf-8")
    metrics = json.loads(metrics_json(prepared, fitted, judgement, seconds))
    (out_dir / f"{stem}.metrics.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return out_dir / f"{stem}.md"
