"""`risk retrain`: the weekly champion/challenger run.

As of a date: the export's cases (and the queue's outcomes, ``training.feedback``) known then ->
a challenger trained exactly as ``risk train`` trains (the same typed stages) -> champion and
challenger scored on the same matured window (``judge_window``) -> the gate (``training.gate``)
-> the challenger registered with the decision as tags, and promoted only when the gate says so.
Aliases move last: a run that fails or is killed before leaves the champion where it was. One
run at a time (``training.run_lock``); a run for the same as-of date and data decides nothing new.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from features import area_codes
from features.contract import Dataset
from features.schema import DEFAULT_HORIZON_DAYS
from risk.model import MODEL_NAME, EscalationModel
from training import aliases, registry
from training.feedback import FeedbackMerge, merge_feedback
from training.fit import Fitted, fit
from training.gate import GatePolicy, decide
from training.judge import judge
from training.monitor import Monitoring, assess_as_of, monitor, watched_cases
from training.prepare import Prepared, prepare, resolve_as_of
from training.report import card_for, metrics_json
from training.run_lock import run_lock
from training.train import register_model

RETRAIN_KEY = "retrain_key"  # version tag: the run's as-of date and data, for idempotency
PROMOTED, KEPT = "promoted", "kept"


@dataclass(frozen=True)
class RetrainConfig:
    as_of: pd.Timestamp | None = None
    horizon_days: int = DEFAULT_HORIZON_DAYS
    quick: bool = False
    seed: int = 0
    n_boot: int = 1000
    policy: GatePolicy = GatePolicy()


@dataclass(frozen=True)
class RetrainOutcome:
    status: str  # promoted | kept
    repeated: bool  # an earlier run had decided for the same as-of date and data
    as_of: str
    champion_version: str | None  # before the run
    challenger_version: str | None
    decision: dict[str, Any]
    window: dict[str, Any]
    feedback: dict[str, int] | None
    monitoring_warnings: tuple[str, ...]
    seconds: dict[str, float]  # per stage, from fingerprint to register (as in decision.json)

    @property
    def promoted(self) -> bool:
        return self.status == PROMOTED

    def as_json(self) -> dict[str, Any]:
        return {
            "promoted": self.promoted,
            **self.__dict__,
            "monitoring_warnings": list(self.monitoring_warnings),
        }


class FitStage(Protocol):
    """Stage 3 (``training.fit.fit``, or ``training.distributed.train.ClusterFit``)."""

    def __call__(self, prepared: Prepared, *, quick: bool, seed: int) -> Fitted: ...


def retrain(
    dataset: Dataset,
    *,
    feedback: pd.DataFrame | None = None,
    config: RetrainConfig = RetrainConfig(),
    tracking_uri: str | None = None,
    models_dir: Path | None = None,
    fit_stage: FitStage = fit,
) -> RetrainOutcome:
    """One weekly run (see the module docstring); the outcome says what it decided and why.
    ``fit_stage`` fits the challenger (the gate and the judging do not depend on where)."""
    models_dir = Path(models_dir or Path.cwd() / "models")
    registry.configure(tracking_uri, models_dir)
    with run_lock(models_dir / "retrain.lock"):
        t = time.perf_counter()
        as_of = resolve_as_of(dataset, config.as_of)
        key = fingerprint(dataset, feedback, as_of, config)
        earlier = _decided(key)
        if earlier is not None:
            return replace(earlier, repeated=True)
        clock = {"fingerprint": time.perf_counter() - t}
        return _run(dataset, feedback, as_of, key, config, models_dir, fit_stage, clock)


def _run(
    dataset: Dataset,
    feedback: pd.DataFrame | None,
    as_of: pd.Timestamp,
    key: str,
    config: RetrainConfig,
    models_dir: Path,
    fit_stage: FitStage,
    clock: dict[str, float],
) -> RetrainOutcome:
    # One run reads top to bottom (train -> gate -> register -> promote -> mark done) on purpose:
    # the order is what makes a crashed run safe, so it is not split across helpers.
    # ``clock``: seconds per stage, named as ``risk train`` names them (history = feedback + prepare).
    t = time.perf_counter()
    merged: FeedbackMerge | None = None
    if feedback is not None:
        cases, merged = merge_feedback(dataset.cases, feedback, as_of=as_of)
        dataset = replace(dataset, cases=cases)
    prepared = prepare(dataset, as_of=as_of, horizon_days=config.horizon_days)
    clock["history"] = time.perf_counter() - t
    fitted = fit_stage(prepared, quick=config.quick, seed=config.seed)
    clock.update(fitted.seconds)  # features, train
    t = time.perf_counter()
    judgement = judge(prepared, fitted, n_boot=config.n_boot, seed=config.seed)
    clock["evaluate"] = time.perf_counter() - t

    t = time.perf_counter()
    champion_version = aliases.alias_version(MODEL_NAME, registry.CHAMPION)
    champion = (
        registry.load_escalation_model(f"models:/{MODEL_NAME}/{champion_version}")
        if champion_version
        else None
    )
    rows, window = judge_window(prepared.frame, prepared.y, prepared.rows["test"], champion, config.policy)
    theirs, assessed = (
        champion_scores(champion, prepared, rows, as_of) if champion is not None else (None, None)
    )
    decision = decide(
        prepared.y[rows],
        # the challenger's matrix of these rows is the one scoring would build (features as of
        # registration, the test window never cross-fitted): no need to featurise them again
        fitted.model.predict(fitted.X[rows]),
        theirs,
        slice_groups(prepared.frame, rows),
        config.policy,
    )
    watched = monitor(champion or fitted.model, prepared, as_of=as_of, assessed=assessed)
    clock["gate"] = time.perf_counter() - t

    t = time.perf_counter()
    registration = register_model(
        dataset, prepared, fitted, judgement, dict(clock), tracking_uri=None, models_dir=models_dir,
        register=True, aliases=(), set_champion_if_missing=False, quick=config.quick, seed=config.seed,
    )  # fmt: skip
    clock["register"] = time.perf_counter() - t  # the tags and aliases after decision.json: not timed
    version = str(registration.version)
    outcome = RetrainOutcome(
        status=PROMOTED if decision.promote else KEPT,
        repeated=False,
        as_of=str(as_of),
        champion_version=champion_version,
        challenger_version=version,
        decision=decision.as_dict(),
        window=window,
        feedback=merged.__dict__ if merged else None,
        monitoring_warnings=watched.warnings,
        seconds=dict(clock),
    )
    _record(registration.run_id, version, champion_version, outcome, prepared, fitted, judgement, watched)
    if decision.promote:
        aliases.promote(MODEL_NAME, version)
    # last: only a run that applied its decision is one a repeat may stand on
    _client().set_model_version_tag(MODEL_NAME, version, RETRAIN_KEY, key)
    return outcome


def judge_window(
    frame: pd.DataFrame, y: np.ndarray, test: np.ndarray, champion: EscalationModel | None, policy: GatePolicy
) -> tuple[np.ndarray, dict[str, Any]]:
    """Rows of the labelled ``frame`` (labels ``y``, test window rows ``test``) both models are
    judged on, and how they were chosen.

    The challenger's test window: the challenger was neither fitted nor calibrated on it. The
    champion calibrated on the weeks before its own test window; where the two windows overlap
    those weeks, the cases from the champion's test window on are kept, which neither model
    touched, provided they hold ``policy.min_positives`` escalations. Otherwise the whole test
    window is used and the outcome says so: the champion has then seen some of it, which can only
    favour the champion, so a promotion stays a fair win."""
    registered = frame["registered_at"].to_numpy()[test]
    rows, rule = test, "the challenger's test window (the champion's fitting ended before it)"
    start = (champion.metadata.get("windows", {}).get("test", {}) if champion is not None else {}).get("from")
    if start is not None and registered.min() < np.datetime64(pd.Timestamp(start)):
        fresh = test[registered >= np.datetime64(pd.Timestamp(start))]
        if y[fresh].sum() >= policy.min_positives:
            rows, rule = (
                fresh,
                f"the challenger's test window from {start}, where neither model was fitted or calibrated",
            )
        else:
            rule = (
                f"the challenger's whole test window: from {start} on it holds fewer than {policy.min_positives} "
                "escalations, and before that the champion calibrated on some of it (which favours the champion)"
            )
    dates = frame["registered_at"].iloc[rows]
    return rows, {
        "from": str(dates.min().date()), "to": str(dates.max().date()), "n": int(len(rows)),
        "n_pos": int(y[rows].sum()), "rule": rule,
    }  # fmt: skip


def champion_scores(
    champion: EscalationModel, prepared: Prepared, rows: np.ndarray, as_of: pd.Timestamp
) -> tuple[np.ndarray, pd.DataFrame]:
    """The champion's calibrated risks of the window's ``rows`` of ``prepared.frame``, and its
    ``assess_as_of`` of the cases monitoring watches: both from one featurisation of the cases
    either needs (a case's features are as of its registration, whichever batch it is in)."""
    cases = prepared.cases
    watched = cases.index.isin(watched_cases(prepared, as_of).index)
    ids = prepared.frame["case_id"].iloc[rows]
    needed = watched | cases["case_id"].isin(ids).to_numpy()
    assessed = assess_as_of(champion, prepared, cases[needed])
    risk = pd.Series(assessed["risk"].to_numpy(), index=cases.loc[needed, "case_id"].to_numpy())
    return risk.loc[ids.to_numpy()].to_numpy(), assessed[watched[needed]].reset_index(drop=True)


def slice_groups(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The slices the gate checks (category, county) of the window's rows."""
    frame = frame.iloc[rows]
    return pd.DataFrame(
        {
            "category": frame["category"].to_numpy(),
            "county": frame["area_code"].map(area_codes.county_of).to_numpy(),
        }
    )


def fingerprint(
    dataset: Dataset, feedback: pd.DataFrame | None, as_of: pd.Timestamp, config: RetrainConfig
) -> str:
    """The run's identity: the as-of date, the data and the settings that change what is trained."""
    digest = hashlib.sha256()
    named = ("case_id", "registered_at", "area_code", "escalated", "escalated_at")
    columns = [c for c in named if c in dataset.cases]
    for frame in (dataset.cases[columns], dataset.parties[["case_id", "party_id"]], feedback):
        if frame is not None:
            digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    digest.update(f"{as_of}|{config.horizon_days}|{config.quick}|{config.seed}|{config.policy}".encode())
    return digest.hexdigest()[:32]


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def _decided(key: str) -> RetrainOutcome | None:
    """The outcome of an earlier run with the same key, from its version's tags."""
    from mlflow.exceptions import MlflowException

    try:
        found = _client().search_model_versions(f"name='{MODEL_NAME}' and tags.{RETRAIN_KEY}='{key}'")
    except MlflowException:
        return None
    if not found:
        return None
    import mlflow

    recorded = json.loads(mlflow.artifacts.load_text(f"runs:/{found[0].run_id}/decision.json"))
    recorded.pop("promoted", None)
    recorded["monitoring_warnings"] = tuple(recorded["monitoring_warnings"])
    return RetrainOutcome(**recorded)


def _record(
    run_id: str,
    version: str,
    champion_version: str | None,
    outcome: RetrainOutcome,
    prepared: Prepared,
    fitted: Any,
    judgement: Any,
    watched: Monitoring,
) -> None:
    """The decision on both versions (tags) and in the challenger's run (artifacts)."""
    client = _client()
    client.set_model_version_tag(MODEL_NAME, version, "gate", outcome.status)
    client.set_model_version_tag(MODEL_NAME, version, "gate_as_of", outcome.as_of)
    client.set_model_version_tag(MODEL_NAME, version, "gate_champion", str(champion_version))
    client.set_model_version_tag(
        MODEL_NAME, version, "gate_reasons", "; ".join(outcome.decision["reasons"])[:4900]
    )
    if champion_version is not None:
        client.set_model_version_tag(
            MODEL_NAME, champion_version, f"judged_against_v{version}", outcome.status
        )
    registry.log_texts(
        run_id,
        {
            "model_card.md": card_for(prepared, fitted, judgement, version=version),
            "metrics.json": metrics_json(prepared, fitted, judgement, outcome.seconds),
            "decision.json": json.dumps(outcome.as_json(), ensure_ascii=False, indent=2, default=str),
            "monitoring_weekly.csv": watched.weekly.to_csv(index=False),
            "monitoring_drift.csv": watched.drift.to_csv(index=False),
        },
    )
