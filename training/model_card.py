"""The model card: what the model is, how it was tested, where it fails, and what it is for.

``train.py`` fills a ``ModelCardInfo`` with plain values (the records of ``slice_metrics``,
``threshold_report`` and ``calibration_table``, metrics as (value, lo, hi)) and renders it to
Markdown, which is stored next to the registered model.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_METRIC_NAMES = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (average precision)",
    "brier": "Brier score",
    "ece": "ECE (10 quantile bins)",
    "n": "cases",
    "n_pos": "民转刑 cases",
    "base_rate": "base rate",
}
SECTIONS: tuple[str, ...] = (
    "Data windows",
    "Label",
    "Features",
    "Metrics on the test window",
    "Does the model beat the baselines?",
    "Slices",
    "Warning thresholds",
    "Calibration",
    "Intended use",
    "Limits",
    "How to reproduce",
)


@dataclass(frozen=True)
class Window:
    """One time window of the split: dates as ISO strings, n cases, n_pos of them 民转刑."""

    name: str
    start: str
    end: str
    n: int
    n_pos: int


@dataclass(frozen=True)
class ModelCardInfo:
    """Everything the card states, as plain values. Metrics are (value, lo, hi) on the test window."""

    model_name: str
    version: str
    created_at: str
    data_source: str  # e.g. "demo data (risk demo --seed 7)" or the dataset folder
    demo_data: bool
    horizon_days: int
    windows: Sequence[Window]
    n_censored: int  # right-censored cases left out of every window
    feature_families: Mapping[str, str]  # family -> what it holds
    model_key: str  # the key of ``metrics`` that is the model; the other keys are baselines
    metrics: Mapping[str, Mapping[str, Sequence[float]]]  # model -> metric -> (value, lo, hi)
    auc_differences: Mapping[str, Sequence[float]]  # baseline -> model AUC minus its AUC (diff, lo, hi)
    slices: Mapping[str, Sequence[Mapping[str, Any]]]  # e.g. "category" -> slice_metrics(...) records
    thresholds: Sequence[Mapping[str, Any]]  # threshold_report records on the calibration window
    calibration: Sequence[Mapping[str, Any]]  # calibration_table records on the test window
    calibration_method: str
    reproduce: Sequence[str]  # shell commands
    n_boot: int = 1000
    min_slice_n: int = 100
    thresholds_test: Sequence[Mapping[str, Any]] = ()  # the same report on the test window, if given
    extra_limits: Sequence[str] = field(default_factory=tuple)


def _num(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, numbers.Integral):
        return str(int(x))
    return f"{float(x):.{digits}f}"


def _pct(x: Any) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def _ci(m: Sequence[float], digits: int = 3) -> str:
    value, lo, hi = (float(v) for v in m)
    if math.isnan(lo):
        return _num(value, digits)
    return f"{value:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _metric_label(key: str) -> str:
    if key in _METRIC_NAMES:
        return _METRIC_NAMES[key]
    kind, _, share = key.partition("_at_")
    return f"{kind} in top {share.replace('pct', '%')}" if share else key


def _windows(info: ModelCardInfo) -> str:
    rows = [
        [w.name, w.start, w.end, str(w.n), str(w.n_pos), _pct(w.n_pos / w.n if w.n else math.nan)]
        for w in info.windows
    ]
    return (
        _table(["window", "from", "to", "cases", "民转刑", "rate"], rows)
        + f"\n\n{info.n_censored} right-censored cases "
        f"(registered less than {info.horizon_days} days before the data end) are left out of every window."
    )


def _metrics(info: ModelCardInfo) -> str:
    names = [info.model_key, *(k for k in info.metrics if k != info.model_key)]
    keys = list(dict.fromkeys(k for name in names for k in info.metrics[name]))

    def cell(name: str, key: str) -> str:
        if key not in info.metrics[name]:
            return "—"
        m = info.metrics[name][key]
        return str(int(m[0])) if key in ("n", "n_pos") else _ci(m)

    rows = [[_metric_label(k), *(cell(n, k) for n in names)] for k in keys]
    return (
        _table(["metric", *(f"{n} (model)" if n == info.model_key else n for n in names)], rows)
        + f"\n\nIn brackets: 95% bootstrap percentile intervals ({info.n_boot} resamples of test cases). "
        "Top k%: the k% of cases with the highest risk, as a reviewer working down the list would see them."
    )


def _verdict(diff: Sequence[float]) -> str:
    d, lo, hi = (float(v) for v in diff)
    if math.isnan(lo):
        return "no interval (too few resamples with both outcomes)"
    if lo > 0:
        return "the model ranks better; the interval excludes 0"
    if hi < 0:
        return "the baseline ranks better; the interval excludes 0"
    return "not distinguishable on this test window; the interval includes 0"


def _differences(info: ModelCardInfo) -> str:
    lines = [
        f"- ROC-AUC of the model minus {name}: {float(d[0]):+.3f} (95% CI {float(d[1]):+.3f} to "
        f"{float(d[2]):+.3f}): {_verdict(d)}."
        for name, d in info.auc_differences.items()
    ]
    return "\n".join(lines or ["- no baseline was compared"]) + (
        "\n\nPaired bootstrap: each resample draws the same test cases for both models."
    )


def _slices(info: ModelCardInfo) -> str:
    parts = []
    for name, records in info.slices.items():
        rows = []
        for r in records:
            auc = _ci((r["auc"], r["auc_lo"], r["auc_hi"])) if "auc_lo" in r else _num(r["auc"])
            note = f"small n (< {info.min_slice_n}): noise" if r.get("small_n") else ""
            rows.append(
                [
                    str(r["group"]),
                    str(r["n"]),
                    str(r["n_pos"]),
                    _pct(r["base_rate"]),
                    _pct(r["mean_predicted"]),
                    auc,
                    _num(r["ece"]),
                    note,
                ]
            )
        parts.append(
            f"### By {name}\n\n"
            + _table(["group", "n", "民转刑", "base rate", "mean predicted", "AUC", "ECE", "note"], rows)
        )
    return ("\n\n".join(parts) or "No slices were computed.") + (
        "\n\nAUC is — where a slice has only one outcome. A slice whose mean predicted risk is far from its "
        "base rate is systematically over- or under-warned."
    )


def _threshold_rows(records: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    return [
        [
            str(r["level"]),
            _num(r["threshold"], 4),
            _pct(r["target_share"]),
            _pct(r["share_in_level"]),
            _pct(r["share_at_or_above"]),
            _num(r["precision_at_or_above"]),
            _num(r["recall_at_or_above"]),
        ]
        for r in records
    ]


def _thresholds(info: ModelCardInfo) -> str:
    headers = [
        "level",
        "risk ≥",
        "target share",
        "share in level",
        "share at or above",
        "precision at or above",
        "recall at or above",
    ]
    text = (
        "Set on the calibration window from review workload: each level's share of cases, not a "
        "probability cut, so that 红 stays a short list.\n\n"
        + _table(headers, _threshold_rows(info.thresholds))
    )
    if info.thresholds_test:
        text += "\n\nThe same thresholds on the test window:\n\n" + _table(
            headers, _threshold_rows(info.thresholds_test)
        )
    return text


def _calibration(info: ModelCardInfo) -> str:
    rows = [
        [
            str(r["bin"]),
            f"{_num(r['p_lo'], 4)}–{_num(r['p_hi'], 4)}",
            str(r["n"]),
            str(r["n_pos"]),
            _num(r["mean_predicted"], 4),
            _num(r["observed_rate"], 4),
        ]
        for r in info.calibration
    ]
    return (
        f"Calibrator: {info.calibration_method}, fitted on the calibration window. Test window, "
        "quantile bins:\n\n"
        + _table(["bin", "risk range", "n", "民转刑", "mean predicted", "observed rate"], rows)
    )


_INTENDED_USE = """\
A prompt for human review by 综治中心 staff: the list says which registered disputes to look at first
(visit, follow up the mediation, involve the police station where the law allows). It is **never** an
automatic decision about a person: no sanction, record or refusal of service may rest on a score, and a
low score (无) is no reason to stop handling a dispute. Reviewers see the reasons behind each score and may
overrule it; the hard red flags (e.g. an explicit threat to kill) raise a level regardless of the model."""


def _limits(info: ModelCardInfo) -> str:
    items = []
    if info.demo_data:
        items.append(
            "**These numbers come from synthetic demo data.** They show the pipeline works; they say "
            "nothing about performance on real 矛盾纠纷 records, which must be measured on a real export."
        )
    items += [
        "Fairness: slices cover 纠纷类别 and county only. Parties' gender and age are in the data but the model was "
        "not audited by them; key-group membership (重点人群) is a feature, so those people are warned more often.",
        "Label: 民转刑 as recorded in the export. Escalations the platform never linked back to the dispute count "
        "as negatives, so the true rate, and recall, may be higher than shown.",
        f"Censoring: cases younger than {info.horizon_days} days at the data end have no label and are excluded; "
        "a model trained on older windows may not reflect recent practice.",
        "Drift: narratives, registration habits and policing change. Compare the share per level on new data "
        "with the calibration window and recalibrate when they part.",
        "Small slices (marked above) and rare categories have wide intervals; do not read their numbers as facts.",
    ]
    items += list(info.extra_limits)
    return "\n".join(f"- {item}" for item in items)


def render_model_card(info: ModelCardInfo) -> str:
    """The card as Markdown, one section per entry of ``SECTIONS``."""
    families = "\n".join(f"- **{name}**: {text}" for name, text in info.feature_families.items())
    body = {
        "Data windows": _windows(info),
        "Label": (
            f"1 when the dispute turned into a criminal case (民转刑) within {info.horizon_days} days of "
            f"registration (escalated and escalated_at − registered_at ≤ {info.horizon_days} days, per the "
            "data contract); 0 otherwise. Right-censored cases have no label and are excluded, never "
            "counted as 0."
        ),
        "Features": ("All computed as of the registration time (no later record leaks in).\n\n" + families),
        "Metrics on the test window": _metrics(info),
        "Does the model beat the baselines?": _differences(info),
        "Slices": _slices(info),
        "Warning thresholds": _thresholds(info),
        "Calibration": _calibration(info),
        "Intended use": _INTENDED_USE,
        "Limits": _limits(info),
        "How to reproduce": "```sh\n" + "\n".join(info.reproduce) + "\n```",
    }
    head = [
        f"# Model card: {info.model_name} {info.version}",
        "",
        f"Created {info.created_at} from {info.data_source}. Predicts the calibrated probability that a "
        f"registered dispute turns criminal within {info.horizon_days} days.",
    ]
    if info.demo_data:
        head += ["", "> **Demo data.** Every number below comes from synthetic data."]
    return "\n".join(head) + "\n" + "".join(f"\n## {name}\n\n{body[name]}\n" for name in SECTIONS)
