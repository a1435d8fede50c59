"""What the 模型状态 page reads from the MLflow registry: the champion alias's version, its run's
``metrics.json`` (the test window's figures with their bootstrap intervals, the windows, the
thresholds, the acceptance checks), the tags ``training.retrain`` and ``training.aliases`` write
on a version (``gate*``, ``champion_periods``) and the monitoring warnings of the newest
retraining decision (its run's ``decision.json``).

``serving`` may not import ``training`` (the layer contract), so the two tag names are written
here again; tests/serving/test_console_model.py ties them to training's constants."""

from __future__ import annotations

import json
import logging
import math
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from risk.model import MODEL_NAME
from serving.settings import Settings

log = logging.getLogger(__name__)

PERIODS_TAG: Final = "champion_periods"  # training.aliases.PERIODS_TAG
GATE_PREFIX: Final = "gate"  # training.retrain._record: gate, gate_as_of, gate_champion, gate_reasons
METRICS: Final = (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"), ("ece", "ECE"), ("brier", "Brier"),
                  ("recall_at_5pct", "前5%召回率"))  # fmt: skip
WINDOW_NAMES: Final = {"train": "训练", "validation": "验证", "calibration": "校准", "test": "测试"}


@dataclass(frozen=True)
class Version:
    version: str
    run_id: str | None
    created: datetime | None
    tags: dict[str, str]

    @property
    def gate(self) -> dict[str, str]:
        return {k: v for k, v in sorted(self.tags.items()) if k.startswith(GATE_PREFIX)}

    @property
    def periods(self) -> list[dict[str, Any]]:
        try:
            return list(json.loads(self.tags.get(PERIODS_TAG, "[]")))
        except ValueError:
            return []


@dataclass
class ModelStatus:
    name: str
    champion: Version | None = None
    newest: Version | None = None  # the newest version, when it is not the champion (a challenger)
    metrics: dict[str, Any] = field(default_factory=dict)  # the champion's metrics.json
    monitoring: list[str] = field(default_factory=list)
    monitoring_from: str | None = None  # the version whose retraining decision said them
    error: str | None = None

    def metric_rows(self) -> list[dict[str, Any]]:
        """Per compared model: each metric as (value, lower, upper), NaN as None."""
        rows = []
        for model, values in self.metrics.get("metrics", {}).items():
            cells = [tuple(_number(v) for v in (values.get(key) or [math.nan] * 3)[:3]) for key, _ in METRICS]
            rows.append({"model": model, "cells": cells})
        return rows

    def acceptance_rows(self) -> list[tuple[str, str]]:
        """The acceptance checks of metrics.json as (name, text): 是/否 or the figure."""
        out = []
        for key, value in self.metrics.get("acceptance", {}).items():
            if isinstance(value, bool):
                out.append((key, "是" if value else "否"))
            else:
                number = _number(value)
                out.append((key, "—" if number is None else f"{number:.4f}"))
        return out


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _version(mv: Any) -> Version:
    created = datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC) if mv.creation_timestamp else None
    return Version(str(mv.version), mv.run_id, created, dict(mv.tags or {}))


def _artifact(client: Any, run_id: str | None, name: str) -> Any | None:
    if run_id is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, name, tmp)
        except Exception:  # not logged by this run (a first training has no decision.json)
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)


def read_status(settings: Settings) -> ModelStatus:
    """The registry's view of the champion; an unreachable registry is said, not raised."""
    from mlflow import MlflowClient

    name = settings.model_name or MODEL_NAME
    status = ModelStatus(name)
    uri = settings.mlflow_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        status.champion = _version(client.get_model_version_by_alias(name, settings.model_alias))
        versions = sorted(
            (_version(mv) for mv in client.search_model_versions(f"name='{name}'")),
            key=lambda v: int(v.version),
        )
    except Exception as exc:
        # The reason may name the tracking URI (and a password in it): the log has it, the page not.
        log.warning("model registry not readable", extra={"error": type(exc).__name__})
        status.error = "无法读取模型注册表（详见服务器日志）。"
        return status
    newest = versions[-1] if versions else None
    if newest is not None and status.champion is not None and newest.version != status.champion.version:
        status.newest = newest
    status.metrics = _artifact(client, status.champion.run_id, "metrics.json") or {}
    decided = next((v for v in reversed(versions) if v.gate), None)
    if decided is not None:
        decision = _artifact(client, decided.run_id, "decision.json") or {}
        status.monitoring = [str(w) for w in decision.get("monitoring_warnings", [])]
        status.monitoring_from = decided.version
    return status
