"""The promotion gate: a challenger replaces the champion only when, on the same matured window
neither of them was fitted on, it is not worse beyond a stated margin by a paired bootstrap on
ROC-AUC and PR-AUC, its calibration error is within bounds, and no large slice (category,
county) is clearly worse. With no champion yet, the first valid model is promoted.

Pure: scores and labels in, a ``Decision`` with its reasons out. ``training.retrain`` chooses the
window and scores both models on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from training.evaluate import AucDifference, evaluate, paired_difference, paired_differences


@dataclass(frozen=True)
class GatePolicy:
    """The gate's bar. Margins are absolute differences in the metric, read off the lower end of the
    paired 95% interval of (challenger - champion): "not worse beyond the margin" with confidence."""

    auc_margin: float = 0.01
    # PR-AUC at a ~1.5% base rate is far noisier than ROC-AUC: on windows of ~100 escalations the
    # paired interval of two equally good models spans about +-0.05, so a tighter margin would keep
    # every champion whatever the challenger is worth (a PR-AUC guard, ROC-AUC being the test).
    pr_auc_margin: float = 0.05
    max_ece: float = 0.02  # the challenger's expected calibration error on the window
    min_positives: int = 20  # fewer escalations in the window and it says too little to promote on
    slice_min_cases: int = 1000  # a slice this large (and with slice_min_positives) is checked
    slice_min_positives: int = 15
    slice_margin: float = 0.05  # clearly worse: the upper end of its paired AUC difference below -margin
    n_boot: int = 1000
    slice_boot: int = 200
    seed: int = 0


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: tuple[str, ...]
    challenger: dict[str, float]  # roc_auc, pr_auc, ece, brier on the window
    champion: dict[str, float] | None
    auc_difference: dict[str, float] | None  # challenger - champion: diff, lo, hi
    pr_auc_difference: dict[str, float] | None
    slices: list[dict[str, Any]] = field(default_factory=list)  # each checked slice and whether it is worse

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    got = evaluate(y, p, n_boot=0)
    return {name: float(got[name].value) for name in ("roc_auc", "pr_auc", "ece", "brier", "n", "n_pos")}


def _interval(diff: AucDifference) -> dict[str, float]:
    return {"diff": diff.diff, "lo": diff.lo, "hi": diff.hi}


def decide(
    y: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray | None,
    groups: pd.DataFrame,
    policy: GatePolicy = GatePolicy(),
) -> Decision:
    """Promote or keep, and why. ``groups``: one column per slice kind (category, county), a row per case."""
    mine = _metrics(y, challenger)
    reasons: list[str] = []
    valid = True
    if mine["ece"] > policy.max_ece:
        valid = False
        reasons.append(f"challenger ECE {mine['ece']:.4f} is above the bound {policy.max_ece}")
    if champion is None:
        reasons.append(
            "no champion yet: the first valid model is promoted" if valid else "not valid: kept out"
        )
        return Decision(valid, tuple(reasons), mine, None, None, None)
    theirs = _metrics(y, champion)
    if mine["n_pos"] < policy.min_positives:
        reasons.append(
            f"the window holds {int(mine['n_pos'])} escalations (< {policy.min_positives}): too little evidence"
        )
        return Decision(False, tuple(reasons), mine, theirs, None, None)
    paired = paired_differences(
        y, challenger, champion, metrics=("roc_auc", "pr_auc"), n_boot=policy.n_boot, seed=policy.seed
    )
    auc, pr = paired["roc_auc"], paired["pr_auc"]
    ok_auc, ok_pr = auc.lo >= -policy.auc_margin, pr.lo >= -policy.pr_auc_margin
    reasons.append(
        f"ROC-AUC {mine['roc_auc']:.4f} vs {theirs['roc_auc']:.4f}: difference {auc.diff:+.4f} "
        f"[{auc.lo:+.4f}, {auc.hi:+.4f}] {'within' if ok_auc else 'beyond'} the margin -{policy.auc_margin}"
    )
    reasons.append(
        f"PR-AUC {mine['pr_auc']:.4f} vs {theirs['pr_auc']:.4f}: difference {pr.diff:+.4f} "
        f"[{pr.lo:+.4f}, {pr.hi:+.4f}] {'within' if ok_pr else 'beyond'} the margin -{policy.pr_auc_margin}"
    )
    slices = _slices(y, challenger, champion, groups, policy)
    worse = [s for s in slices if s["worse"]]
    reasons += [
        f"slice {s['kind']}={s['group']} (n={s['n']}) clearly worse: AUC difference {s['diff']:+.4f} "
        f"[{s['lo']:+.4f}, {s['hi']:+.4f}]"
        for s in worse
    ]
    promote = valid and ok_auc and ok_pr and not worse
    reasons.append("promote" if promote else "keep the champion")
    return Decision(promote, tuple(reasons), mine, theirs, _interval(auc), _interval(pr), slices)


def _slices(
    y: np.ndarray, challenger: np.ndarray, champion: np.ndarray, groups: pd.DataFrame, policy: GatePolicy
) -> list[dict[str, Any]]:
    out = []
    for kind in groups.columns:
        keys = groups[kind].fillna("(缺失)").astype(str).to_numpy()
        for group in sorted(set(keys)):
            mask = keys == group
            n, n_pos = int(mask.sum()), int(y[mask].sum())
            if n < policy.slice_min_cases or n_pos < policy.slice_min_positives or n_pos == n:
                continue
            diff = paired_difference(
                y[mask],
                challenger[mask],
                champion[mask],
                metric="roc_auc",
                n_boot=policy.slice_boot,
                seed=policy.seed,
            )
            worse = bool(diff.hi < -policy.slice_margin)
            out.append(
                {"kind": kind, "group": group, "n": n, "n_pos": n_pos, **_interval(diff), "worse": worse}
            )
    return out
