"""What a training run reports: the console summary, flat MLflow metrics, metrics.json and the
model card's inputs. Acceptance checks are spelled out here so `risk train` prints them."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC
from typing import Any

import pandas as pd

from features.build import CATALOGUE
from training.evaluate import Metric
from training.fit import Fitted
from training.judge import Judgement, ModelKey
from training.metric_tables import format_metrics_table
from training.prepare import Prepared


def params_of(prepared: Prepared, fitted: Fitted, *, quick: bool, seed: int) -> dict[str, Any]:
    """The run's MLflow parameters."""
    meta = fitted.model.metadata
    return {
        "data_dir": str(prepared.data_dir),
        "horizon_days": prepared.horizon_days,
        "as_of": str(prepared.as_of),
        "quick": quick,
        "seed": seed,
        "n_features": meta["n_features"],
        "best_iteration": meta["best_iteration"],
        **{f"threshold_{k}": v for k, v in fitted.model.thresholds.items()},
        **{f"window_{w}": f"{d['from']}..{d['to']} n={d['n']}" for w, d in prepared.windows.items()},
    }


def flat_metrics(judgement: Judgement, seconds: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, metrics in judgement.metrics.items():
        for name, metric in metrics.items():
            out[f"{key.slug}.{name}"] = float(metric.value)
            if not math.isnan(metric.lo):
                out[f"{key.slug}.{name}.lo"] = float(metric.lo)
                out[f"{key.slug}.{name}.hi"] = float(metric.hi)
    for key, diff in judgement.comparisons.items():
        out[f"auc_diff.model_minus_{key.slug}"] = float(diff.diff)
    for step, value in seconds.items():
        out[f"seconds.{step}"] = float(value)
    return out


def metrics_json(
    prepared: Prepared, fitted: Fitted, judgement: Judgement, seconds: Mapping[str, float]
) -> str:
    payload: dict[str, Any] = {
        "windows": {name: dict(window) for name, window in prepared.windows.items()},
        "thresholds": dict(fitted.model.thresholds),
        "metrics": {str(key): {k: list(m) for k, m in ms.items()} for key, ms in judgement.metrics.items()},
        "auc_differences": {str(key): list(d) for key, d in judgement.comparisons.items()},
        "seconds": dict(seconds),
        "acceptance": acceptance(judgement),
    }
    return json.dumps(payload, ensure_ascii=False, default=float)


def acceptance(judgement: Judgement) -> dict[str, Any]:
    """The model's bar, computed on the test window: oracle gap, ECE, and both baselines beaten."""
    model = judgement.metrics[ModelKey.MODEL]
    checks: dict[str, Any] = {
        "test_auc": model["roc_auc"].value,
        "test_ece": model["ece"].value,
        "ece_at_most_0.01": bool(model["ece"].value <= 0.01),
        "beats_checklist": bool(judgement.comparisons[ModelKey.CHECKLIST].diff > 0),
        "beats_logistic": bool(judgement.comparisons[ModelKey.LOGISTIC].diff > 0),
    }
    if ModelKey.ORACLE in judgement.metrics:
        oracle = judgement.metrics[ModelKey.ORACLE]["roc_auc"].value
        gap = oracle - model["roc_auc"].value
        checks.update({"oracle_auc": oracle, "oracle_gap": gap, "oracle_gap_within_0.02": bool(gap <= 0.02)})
    return checks


def summary_text(
    prepared: Prepared, fitted: Fitted, judgement: Judgement, seconds: Mapping[str, float]
) -> str:
    """What `risk train` prints."""
    lines = [
        f"cases {len(prepared.cases):,}; labelled (mature) {prepared.n_labelled:,}; base rate "
        f"{prepared.base_rate:.2%}; as of {prepared.as_of}; rejects {prepared.rejects}"
    ]
    for name, window in prepared.windows.items():
        lines.append(f"  {name:<12} {window['from']} .. {window['to']}  n={window['n']:,}")
    lines += [
        "",
        "test window (95% bootstrap intervals):",
        format_metrics_table(compare_frame_from(judgement.metrics)),
        "",
    ]
    for key, diff in judgement.comparisons.items():
        lines.append(f"AUC(model) - AUC({key}): {diff.diff:+.4f} [{diff.lo:+.4f}, {diff.hi:+.4f}]")
    thresholds = ", ".join(f"{k} >= {v:.4f}" for k, v in fitted.model.thresholds.items())
    lines.append(f"thresholds (from the calibration window): {thresholds}")
    lines.append("acceptance: " + ", ".join(f"{k}={_fmt(v)}" for k, v in acceptance(judgement).items()))
    lines.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
    return "\n".join(lines)


def feature_groups(names: list[str]) -> dict[str, str]:
    """The model card's feature section, from the catalogue: per group, its reason families, the
    number of the model's columns in each, and which may only raise the risk (↑)."""
    out: dict[str, list[str]] = {}
    for code, family in CATALOGUE.families.items():
        columns = [name for name in names if CATALOGUE.family_of(name) == code]
        if columns:
            rising = " ↑" if all(CATALOGUE[name].monotone > 0 for name in columns) else ""
            out.setdefault(family.group, []).append(f"{family.label} ({len(columns)}{rising})")
    return {group: "; ".join(labels) for group, labels in out.items()}


def card_for(prepared: Prepared, fitted: Fitted, judgement: Judgement, *, version: str) -> str:
    from datetime import datetime

    from training.model_card import ModelCardInfo, Window, render_model_card

    model = fitted.model
    windows = [
        Window(name, str(w["from"]), str(w["to"]), int(w["n"]), int(w.get("n_pos", 0)))
        for name, w in prepared.windows.items()
    ]
    info = ModelCardInfo(
        model_name=model.name,
        version=version,
        created_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        data_source=str(prepared.data_dir),
        demo_data=ModelKey.ORACLE in judgement.metrics,
        horizon_days=model.horizon_days,
        windows=windows,
        n_censored=len(prepared.cases) - prepared.n_labelled,
        feature_families=feature_groups(list(model.featurizer.get_feature_names_out())),
        model_key=ModelKey.MODEL,
        metrics={str(key): {k: tuple(m) for k, m in ms.items()} for key, ms in judgement.metrics.items()},
        auc_differences={str(key): tuple(d) for key, d in judgement.comparisons.items()},
        slices={name: frame.to_dict("records") for name, frame in judgement.slices.items()},
        thresholds=fitted.threshold_table.to_dict("records"),
        calibration=judgement.calibration_table.to_dict("records"),
        calibration_method=str(getattr(model.calibrator, "method_", "?")),
        reproduce=[
            f"risk train --data {prepared.data_dir} --horizon-days {model.horizon_days} --as-of {prepared.as_of}"
        ],
        n_boot=judgement.n_boot,
    )
    return render_model_card(info)


def compare_frame_from(results: Mapping[ModelKey, Mapping[str, Metric]]) -> pd.DataFrame:
    """Metrics already computed per model -> the side-by-side frame format_metrics_table prints."""
    parts = {
        str(name): pd.DataFrame(list(m.values()), index=list(m.keys()), columns=list(Metric._fields))
        for name, m in results.items()
    }
    return pd.concat(parts, axis=1)


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
