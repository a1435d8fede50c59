"""Monitoring in each retraining run (warnings only, never an automatic action): how far recent
intake has drifted from the champion's own windows (PSI of the watched features and of the score),
and, week by week, the escalation rate and ROC-AUC the champion's calibrated probabilities lead
one to expect while labels are immature, beside the realised values where they have matured."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pandas as pd

from features.errors import DisputeRiskError
from risk.drift import SCORE, WATCHED, drift_table
from risk.model import EscalationModel
from risk.monitoring import weekly_monitoring
from training.prepare import Prepared
from training.score import featurizer_run, hold_all_but

RECENT_WEEKS = 4  # recent intake: the last weeks before the as-of date
WEEKS = 26  # weeks of the monitoring table


@dataclass(frozen=True)
class Monitoring:
    drift: pd.DataFrame  # feature, psi, status, status_zh
    weekly: pd.DataFrame  # risk.monitoring.WEEKLY_COLUMNS
    warnings: tuple[str, ...]


def watched_cases(prepared: Prepared, as_of: pd.Timestamp) -> pd.DataFrame:
    """The rows of ``prepared.cases`` monitoring watches: those of the last ``WEEKS`` weeks."""
    cases = prepared.cases[prepared.cases["registered_at"] >= as_of - pd.Timedelta(weeks=WEEKS)]
    if cases.empty:
        raise DisputeRiskError(f"no case registered in the {WEEKS} weeks before {as_of}: nothing to monitor")
    return cases


def assess_as_of(model: EscalationModel, prepared: Prepared, cases: pd.DataFrame) -> pd.DataFrame:
    """``model.assess`` of some rows of ``prepared.cases``, each case with its features as of its
    registration (the model's history plus every record known at the as-of date). Index: 0..n-1."""
    cases = cases.reset_index(drop=True)
    parties = prepared.parties[prepared.parties["case_id"].isin(cases["case_id"])]
    with featurizer_run(model, cases) as transform:
        state = copy.deepcopy(model.history)
        hold_all_but(state, cases, prepared.cases, prepared.parties)
        return model.assess(cases, parties, history=state, n_reasons=0, transform=transform)


def monitor(
    model: EscalationModel,
    prepared: Prepared,
    *,
    as_of: pd.Timestamp,
    assessed: pd.DataFrame | None = None,
) -> Monitoring:
    """The champion watched on the cases known at ``as_of`` (its probabilities as of registration).
    ``assessed``: ``assess_as_of`` of ``watched_cases`` when the caller has it already."""
    cases = watched_cases(prepared, as_of)
    if assessed is None:
        assessed = assess_as_of(model, prepared, cases)
    labels = _labels(prepared, cases)
    weekly = weekly_monitoring(
        pd.DataFrame(
            {"registered_at": cases["registered_at"].to_numpy(), "risk": assessed["risk"], "label": labels}
        ),
        horizon_days=model.horizon_days,
        as_of=as_of,
    )
    recent = (cases["registered_at"] >= as_of - pd.Timedelta(weeks=RECENT_WEEKS)).to_numpy()
    current = assessed[recent].assign(
        category=cases["category"].to_numpy()[recent], source=cases["source"].to_numpy()[recent]
    )
    current = current.rename(columns={"risk": SCORE})
    reference = model.metadata.get("reference")
    drift = (
        drift_table(reference, current, [c for c in (*WATCHED, SCORE) if c in reference and c in current])
        if reference is not None
        else pd.DataFrame(columns=["feature", "psi", "status", "status_zh"])
    )
    warnings = [
        f"{r.feature}: PSI {r.psi:.2f} ({r.status})" for r in drift.itertuples() if r.status != "stable"
    ]
    if reference is None:
        warnings.append("the champion keeps no reference sample of its windows: drift not measured")
    gaps = weekly["auc_gap"].dropna()
    if len(gaps) and gaps.abs().max() > 0.1:
        warnings.append(
            f"estimated and realised AUC parted by up to {gaps.abs().max():.2f} in a matured week"
        )
    return Monitoring(drift, weekly, tuple(warnings))


def _labels(prepared: Prepared, cases: pd.DataFrame) -> pd.Series:
    """The label of each case where mature at the as-of date, NaN where not (prepared.frame holds
    the labelled cases only)."""
    known = pd.Series(prepared.y, index=prepared.frame["case_id"].to_numpy())
    return cases["case_id"].map(known).astype("float64").reset_index(drop=True)
