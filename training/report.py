"""What a training run reports: the console summary, flat MLflow metrics, metrics.json and the
model card's inputs. Acceptance checks are spelled out here so `risk train` prints them."""

from __future__ import annotations

import json
import math
from datetime import UTC
from typing import Any

import pandas as pd

from features.build import CATALOGUE
from training.evaluate import Metric, format_metrics_table
from training.fit import TrainReport

MODEL_KEY = "LightGBM (calibrated)"
ORACLE_KEY = "generator truth (oracle)"


def _slug(name: str) -> str:
    return {"LightGBM (calibrated)": "model", "red-flag checklist": "checklist",
            "logistic regression": "logistic", ORACLE_KEY: "oracle"}.get(name, name.replace(" ", "_"))


def flat_metrics(report: TrainReport) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, metrics in report.metrics.items():
        for key, metric in metrics.items():
            out[f"{_slug(name)}.{key}"] = float(metric.value)
            if not math.isnan(metric.lo):
                out[f"{_slug(name)}.{key}.lo"] = float(metric.lo)
                out[f"{_slug(name)}.{key}.hi"] = float(metric.hi)
    for name, diff in report.comparisons.items():
        out[f"auc_diff.model_minus_{_slug(name)}"] = float(diff.diff)
    for step, seconds in report.seconds.items():
        out[f"seconds.{step}"] = float(seconds)
    return out


def metrics_json(report: TrainReport) -> str:
    payload: dict[str, Any] = {
        "windows": report.windows,
        "thresholds": report.thresholds,
        "metrics": {name: {k: list(m) for k, m in ms.items()} for name, ms in report.metrics.items()},
        "auc_differences": {name: list(d) for name, d in report.comparisons.items()},
        "seconds": report.seconds,
        "acceptance": acceptance(report),
    }
    return json.dumps(payload, ensure_ascii=False, default=float)


def acceptance(report: TrainReport) -> dict[str, Any]:
    """The issue's bar, computed on the test window: oracle gap, ECE, and both baselines beaten."""
    model = report.metrics[MODEL_KEY]
    checks: dict[str, Any] = {
        "test_auc": model["roc_auc"].value,
        "test_ece": model["ece"].value,
        "ece_at_most_0.01": bool(model["ece"].value <= 0.01),
        "beats_checklist": bool(report.comparisons["red-flag checklist"].diff > 0),
        "beats_logistic": bool(report.comparisons["logistic regression"].diff > 0),
    }
    if ORACLE_KEY in report.metrics:
        gap = report.metrics[ORACLE_KEY]["roc_auc"].value - model["roc_auc"].value
        checks.update({"oracle_auc": report.metrics[ORACLE_KEY]["roc_auc"].value, "oracle_gap": gap,
                       "oracle_gap_within_0.02": bool(gap <= 0.02)})
    return checks


def summary_text(report: TrainReport) -> str:
    lines = [f"cases {report.extra['n_cases']:,}; labelled (mature) {report.extra['n_labelled']:,}; "
             f"base rate {report.extra['base_rate']:.2%}; as of {report.extra['as_of']}; rejects {report.extra['rejects']}"]
    for name, window in report.windows.items():
        lines.append(f"  {name:<12} {window['from']} .. {window['to']}  n={window['n']:,}")
    lines.append("")
    lines.append("test window (95% bootstrap intervals):")
    lines.append(format_metrics_table(compare_frame_from(report.metrics)))
    lines.append("")
    for name, diff in report.comparisons.items():
        lines.append(f"AUC(model) - AUC({name}): {diff.diff:+.4f} [{diff.lo:+.4f}, {diff.hi:+.4f}]")
    lines.append("thresholds (from the calibration window): "
                 + ", ".join(f"{k} >= {v:.4f}" for k, v in report.thresholds.items()))
    lines.append("acceptance: " + ", ".join(f"{k}={_fmt(v)}" for k, v in acceptance(report).items()))
    lines.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))
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


def card_for(report: TrainReport, *, version: str) -> str:
    from datetime import datetime

    from training.model_card import ModelCardInfo, Window, render_model_card

    windows = [Window(name, str(w["from"]), str(w["to"]), int(w["n"]), int(w.get("n_pos", 0)))
               for name, w in report.windows.items()]
    data_dir = report.model.metadata.get("data_dir", "")
    info = ModelCardInfo(
        model_name=report.model.name,
        version=version,
        created_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        data_source=str(data_dir),
        demo_data=ORACLE_KEY in report.metrics,
        horizon_days=report.model.horizon_days,
        windows=windows,
        n_censored=int(report.extra["n_cases"] - report.extra["n_labelled"]),
        feature_families=feature_groups(list(report.model.featurizer.get_feature_names_out())),
        model_key=MODEL_KEY,
        metrics={name: {k: tuple(m) for k, m in ms.items()} for name, ms in report.metrics.items()},
        auc_differences={name: tuple(d) for name, d in report.comparisons.items()},
        slices={name: frame.to_dict("records") for name, frame in report.slices.items()},
        thresholds=report.threshold_table.to_dict("records"),
        calibration=report.calibration_table.to_dict("records"),
        calibration_method=str(getattr(report.model.calibrator, "method_", "?")),
        reproduce=[f"risk train --data {data_dir} --horizon-days {report.model.horizon_days} --as-of {report.extra['as_of']}"],
        n_boot=int(report.extra.get("n_boot", 1000)),
    )
    return render_model_card(info)


def compare_frame_from(results: dict[str, dict[str, Metric]]) -> pd.DataFrame:
    """Metrics already computed per model -> the side-by-side frame format_metrics_table prints."""
    parts = {name: pd.DataFrame(list(m.values()), index=list(m.keys()), columns=list(Metric._fields))
             for name, m in results.items()}
    return pd.concat(parts, axis=1)


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
