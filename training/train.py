"""`risk train`: fit and evaluate, write the model card, log and register in MLflow."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from features.schema import DEFAULT_HORIZON_DAYS
from training import registry
from training.fit import TrainReport, fit_and_evaluate
from training.report import card_for, flat_metrics, metrics_json

log = logging.getLogger(__name__)


def run_training(
    data_dir: Path,
    *,
    tracking_uri: str | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    as_of: pd.Timestamp | str | None = None,
    register: bool = True,
    quick: bool = False,
    seed: int = 0,
    models_dir: Path | None = None,
    aliases: tuple[str, ...] = (),
    set_champion_if_missing: bool = True,
) -> TrainReport:
    """Train on a contract dataset and register the model (alias champion if there is none)."""
    data_dir = Path(data_dir)
    report = fit_and_evaluate(
        data_dir, horizon_days=horizon_days, as_of=pd.Timestamp(as_of) if as_of is not None else None,
        quick=quick, seed=seed,
    )
    registry.configure(tracking_uri, models_dir)
    from features.contract import load_dataset
    from training.registry import input_example

    sample = load_dataset(data_dir, write_rejects=False)
    example = input_example(sample.cases, sample.parties)
    card = card_for(report, version="(registering)")
    params = {
        "data_dir": str(data_dir), "horizon_days": horizon_days, "as_of": str(report.extra["as_of"]),
        "quick": quick, "seed": seed, "n_features": report.model.metadata["n_features"],
        "best_iteration": report.model.metadata["best_iteration"],
        **{f"threshold_{k}": v for k, v in report.thresholds.items()},
        **{f"window_{w}": f"{d['from']}..{d['to']} n={d['n']}" for w, d in report.windows.items()},
    }
    result = registry.log_and_register(
        report.model, example=example, params=params, metrics=flat_metrics(report),
        artifacts={"model_card.md": card, "metrics.json": metrics_json(report),
                   "slices_category.csv": report.slices["category"].to_csv(index=False),
                   "slices_county.csv": report.slices["county"].to_csv(index=False)},
        register=register, aliases=aliases, set_champion_if_missing=set_champion_if_missing,
        tags={"horizon_days": str(horizon_days), "as_of": str(report.extra["as_of"])},
    )
    report.run_id, report.model_uri, report.version = result["run_id"], result["model_uri"], result["version"]
    report.model_card = card_for(report, version=report.version or "unregistered")
    out_dir = Path(models_dir or Path.cwd() / "models") / "cards"
    out_dir.mkdir(parents=True, exist_ok=True)
    report.card_path = out_dir / f"{report.model.name}-v{report.version or report.run_id}.md"
    report.card_path.write_text(report.model_card, encoding="utf-8")
    (out_dir / f"{report.model.name}-v{report.version or report.run_id}.metrics.json").write_text(
        json.dumps(json.loads(metrics_json(report)), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return report
