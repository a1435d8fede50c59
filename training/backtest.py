"""`risk backtest`: weekly retraining replayed over history, so a user sees what the gate buys.

Each week: train as of that date (the stages of ``risk train``), judge the challenger against the
gate's champion on the window ``risk retrain`` would use, promote or keep. Beside the gate, two
simple policies: always promote the newest model, never retrain after the first. Every policy's
champion is then scored on the cases of the following weeks, with labels from the whole export
(hindsight, which no decision sees), and compared with the best model trained by then: regret, as
dssg's triage/Audition reports it. The monitoring's confidence-based AUC estimate of the gate's
champion on those weeks is set beside the realised AUC, so the estimate itself is checked.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.contract import Dataset
from features.errors import DisputeRiskError
from features.schema import DEFAULT_HORIZON_DAYS
from risk.model import EscalationModel
from risk.monitoring import estimate_performance
from training.evaluate import evaluate
from training.fit import fit
from training.gate import GatePolicy, decide
from training.labels import horizon_labels
from training.prepare import prepare
from training.retrain import judge_window, slice_groups

POLICIES = ("gate", "always", "never")


@dataclass(frozen=True)
class BacktestConfig:
    start: pd.Timestamp
    end: pd.Timestamp
    every_days: int = 7
    follow_weeks: int = 4  # each week's champion is scored on the cases of the next weeks
    horizon_days: int = DEFAULT_HORIZON_DAYS
    quick: bool = False
    seed: int = 0
    policy: GatePolicy = GatePolicy(n_boot=500)


@dataclass(frozen=True)
class BacktestResult:
    weeks: pd.DataFrame  # one row per as-of date: decision, each policy's AUC and regret, the estimate
    summary: dict[str, dict[str, float]]  # per policy: mean AUC, mean and total regret, promotions


@dataclass(frozen=True)
class _Week:
    """What a week leaves for the replay: its model and what it knew of its test window."""

    as_of: pd.Timestamp
    model: EscalationModel
    frame: pd.DataFrame  # the labelled cases as of the week: case_id, registered_at, category, area_code
    y: np.ndarray
    test: np.ndarray  # rows of ``frame`` in the test window


def run_backtest(dataset: Dataset, config: BacktestConfig) -> BacktestResult:
    dates = pd.date_range(config.start, config.end, freq=f"{config.every_days}D")
    needed_until = (
        dates[-1] + pd.Timedelta(weeks=config.follow_weeks) + pd.Timedelta(days=config.horizon_days)
    )
    if len(dates) < 2 or dataset.export_date is None or needed_until > dataset.export_date:
        raise DisputeRiskError(
            f"start..end must span two weeks or more and leave {config.follow_weeks} weeks plus the "
            f"{config.horizon_days}-day horizon before the export's end ({dataset.export_date}), "
            f"got {config.start.date()}..{config.end.date()}"
        )
    weeks = [_train_week(dataset, as_of, config) for as_of in dates]
    labels = pd.Series(
        horizon_labels(dataset.cases, config.horizon_days, dataset.export_date).to_numpy(),
        index=dataset.cases["case_id"].to_numpy(),
    )
    registered = pd.Series(dataset.cases["registered_at"].to_numpy(), index=labels.index)
    follow = [_following(labels, registered, w.as_of, config) for w in weeks]
    needed = set().union(
        *(set(ids) for ids in follow), *(set(w.frame["case_id"].iloc[w.test]) for w in weeks)
    )
    scores = _scores([w.model for w in weeks], dataset, needed)
    rows = _replay(weeks, scores, labels, follow, config)
    frame = pd.DataFrame(rows)
    return BacktestResult(frame, _summary(frame))


def _train_week(dataset: Dataset, as_of: pd.Timestamp, config: BacktestConfig) -> _Week:
    prepared = prepare(dataset, as_of=as_of, horizon_days=config.horizon_days)
    model = fit(prepared, quick=config.quick, seed=config.seed).model
    frame = prepared.frame[["case_id", "registered_at", "category", "area_code"]].copy()
    return _Week(as_of, model, frame, prepared.y, prepared.rows["test"])


def _following(
    labels: pd.Series, registered: pd.Series, as_of: pd.Timestamp, config: BacktestConfig
) -> np.ndarray:
    window = (registered >= as_of) & (registered < as_of + pd.Timedelta(weeks=config.follow_weeks))
    return labels.index[(window & labels.notna()).to_numpy()].to_numpy()


def _scores(models: list[EscalationModel], dataset: Dataset, ids: set[str]) -> list[pd.Series]:
    """Each model's risk of the needed cases, each case with features as of its registration.

    One history per model holding the whole export suffices: a case's features count only records
    before it and escalations known by then, so later records change nothing."""
    cases = dataset.cases[dataset.cases["case_id"].isin(ids)].reset_index(drop=True)
    parties = dataset.parties[dataset.parties["case_id"].isin(ids)]
    out = []
    for model in models:
        state = copy.deepcopy(model.history)
        state.update(dataset.cases, dataset.parties)
        risk = model.assess(cases, parties, history=state, n_reasons=0)["risk"].to_numpy()
        out.append(pd.Series(risk, index=cases["case_id"].to_numpy()))
    return out


def _replay(
    weeks: list[_Week],
    scores: list[pd.Series],
    labels: pd.Series,
    follow: list[np.ndarray],
    config: BacktestConfig,
) -> list[dict[str, Any]]:
    rows = []
    champion = 0  # the first model is promoted: there is no champion to judge it against
    for i, week in enumerate(weeks):
        decision, reason = (
            ("promote", "first model")
            if i == 0
            else _gate(week, weeks[champion], scores[i], scores[champion], config)
        )
        if decision == "promote":
            champion = i
        chosen = {"gate": champion, "always": i, "never": 0}
        rows.append(_evaluate(week.as_of, decision, reason, chosen, scores[: i + 1], labels, follow[i]))
    return rows


def _gate(
    week: _Week, champion: _Week, mine: pd.Series, theirs: pd.Series, config: BacktestConfig
) -> tuple[str, str]:
    rows, window = judge_window(week.frame, week.y, week.test, champion.model, config.policy)
    ids = week.frame["case_id"].iloc[rows]
    decision = decide(
        week.y[rows],
        mine[ids].to_numpy(),
        theirs[ids].to_numpy(),
        slice_groups(week.frame, rows),
        config.policy,
    )
    failed = [r for r in decision.reasons if "beyond" in r or "clearly worse" in r or "too little" in r]
    why = (
        failed[0]
        if failed
        else next((r for r in decision.reasons if r.startswith("ROC-AUC")), decision.reasons[0])
    )
    verdict = "promote" if decision.promote else "keep"
    return verdict, f"{why} (window n={window['n']}, pos={window['n_pos']})"


def _evaluate(
    as_of: pd.Timestamp,
    decision: str,
    reason: str,
    chosen: dict[str, int],
    scores: list[pd.Series],
    labels: pd.Series,
    ids: np.ndarray,
) -> dict[str, Any]:
    """Each policy's champion on the following weeks, the best model trained by then, the estimate."""
    y = labels[ids].to_numpy()
    row: dict[str, Any] = {
        "as_of": as_of.date(),
        "decision": decision,
        "reason": reason,
        "n": len(y),
        "n_pos": int(y.sum()),
    }
    aucs = [_auc(y, s[ids].to_numpy()) for s in scores]
    best = float(np.nanmax(aucs)) if not np.all(np.isnan(aucs)) else np.nan
    row["best_auc"] = best
    for policy, index in chosen.items():
        row[f"{policy}_model"] = index
        row[f"{policy}_auc"] = aucs[index]
        row[f"{policy}_regret"] = best - aucs[index]
    p = scores[chosen["gate"]][ids].to_numpy()
    row["gate_estimated_auc"] = estimate_performance(p, n_sim=0).expected_auc if len(p) else np.nan
    return row


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    if len(y) == 0 or y.min() == y.max():
        return float("nan")
    return float(evaluate(y, p, n_boot=0)["roc_auc"].value)


def _summary(weeks: pd.DataFrame) -> dict[str, dict[str, float]]:
    out = {}
    for policy in POLICIES:
        out[policy] = {
            "mean_auc": float(weeks[f"{policy}_auc"].mean()),
            "mean_regret": float(weeks[f"{policy}_regret"].mean()),
            "total_regret": float(weeks[f"{policy}_regret"].sum()),
            "models_used": int(weeks[f"{policy}_model"].nunique()),
        }
    out["gate"]["promotions"] = int((weeks["decision"] == "promote").sum() - 1)
    gap = weeks["gate_estimated_auc"] - weeks["gate_auc"]
    out["monitoring"] = {"mean_abs_gap": float(gap.abs().mean()), "max_abs_gap": float(gap.abs().max())}
    return out


def summary_lines(result: BacktestResult) -> list[str]:
    """What `risk backtest` prints."""
    lines = [
        f"{'as of':<12}{'decision':<10}{'gate':>8}{'always':>8}{'never':>8}{'best':>8}{'est.':>8}  reason"
    ]
    for r in result.weeks.itertuples():
        lines.append(
            f"{r.as_of!s:<12}{r.decision:<10}{r.gate_auc:>8.3f}{r.always_auc:>8.3f}{r.never_auc:>8.3f}"
            f"{r.best_auc:>8.3f}{r.gate_estimated_auc:>8.3f}  {r.reason}"
        )
    lines.append("")
    for policy in POLICIES:
        s = result.summary[policy]
        lines.append(
            f"{policy:<8} mean AUC {s['mean_auc']:.4f}  mean regret {s['mean_regret']:.4f}  "
            f"total regret {s['total_regret']:.3f}  models used {s['models_used']}"
        )
    m = result.summary["monitoring"]
    lines.append(
        f"estimated vs realised AUC of the gate's champion: mean |gap| {m['mean_abs_gap']:.4f}, max {m['max_abs_gap']:.4f}"
    )
    return lines
