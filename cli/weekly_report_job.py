"""The weekly report's inputs, gathered from where they live: the export (cases and outcomes), the
champion model (scores, reasons, the reference it keeps of its own windows) and the 督办 queue
(overdue items). Only the ``risk`` command may join training (scoring) and serving (the queue);
the report itself is assembled and rendered by the pure ``risk.weekly_report`` and
``risk.report_render``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from features.areas import AreaTree
from features.contract import Dataset
from features.errors import DisputeRiskError
from features.schema import DEFAULT_TIMEZONE
from risk.area_index import IndexConfig, weekly_area_index
from risk.drift import SCORE, WATCHED, drift_table, psi
from risk.levels import ORANGE, RED
from risk.model import EscalationModel
from risk.monitoring import weekly_monitoring
from risk.weekly_report import ReportOptions, WeeklyReport, build_weekly_report
from risk.weeks import week_start
from training.labels import horizon_labels
from training.score import explain, score_for_index

SHANGHAI = ZoneInfo(DEFAULT_TIMEZONE)
HISTORY_WEEKS = 104  # cases scored before the week: the index's windows reach back two years at most
HEALTH_WEEKS = 26


@dataclass(frozen=True)
class ReportJob:
    week: str
    area: str | None = None
    options: ReportOptions = ReportOptions()
    config: IndexConfig = IndexConfig()


@dataclass(frozen=True, eq=False)  # eq would compare DataFrames
class ReportInputs:
    """What every report of one week is assembled from, whatever its area: scoring, the index and
    the model's health are computed once for all of them."""

    job: ReportJob
    index: pd.DataFrame
    cases: pd.DataFrame
    overdue_items: pd.DataFrame
    model_health: pd.DataFrame
    score_drift: float
    health_warnings: list[str]
    generated_at: datetime


def prepare(
    job: ReportJob,
    dataset: Dataset,
    model: EscalationModel,
    *,
    model_version: str | None,
    overdue_items: pd.DataFrame,
    overdue_weekly: pd.DataFrame | None,
    now: datetime,
) -> ReportInputs:
    """Score the cases, compute the index and the model's health for ``job.week`` (every area)."""
    start = week_start(job.week)
    end = start + pd.Timedelta(days=7)
    if dataset.export_date is None or dataset.export_date < start:
        raise DisputeRiskError(f"the export must reach into week {job.week}, it ends {dataset.export_date}")
    scored = score_for_index(
        model, dataset, since=start - pd.Timedelta(weeks=HISTORY_WEEKS), model_version=model_version
    )
    shown = start - pd.Timedelta(weeks=job.options.trend_weeks)
    index = weekly_area_index(
        scored,
        AreaTree.from_frame(dataset.areas),
        start=shown,
        end=start,
        overdue=overdue_weekly,
        config=job.config,
    )
    health, drift, warnings = _health(model, dataset, scored, start, end)
    return ReportInputs(
        job=job,
        index=index,
        cases=_report_cases(model, dataset, scored, start, end),
        overdue_items=overdue_items,
        model_health=health,
        score_drift=drift,
        health_warnings=warnings,
        generated_at=min(now, end.tz_localize(SHANGHAI).to_pydatetime()),
    )


def assemble(inputs: ReportInputs, area: str | None) -> WeeklyReport:
    """The report of the prepared week for ``area``'s subtree (None: every area)."""
    return build_weekly_report(
        inputs.job.week,
        index=inputs.index,
        cases=inputs.cases,
        overdue_items=inputs.overdue_items,
        model_health=inputs.model_health,
        score_drift=inputs.score_drift,
        health_warnings=inputs.health_warnings,
        area=area,
        options=inputs.job.options,
        generated_at=inputs.generated_at,
    )


def _report_cases(
    model: EscalationModel, dataset: Dataset, scored: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """The scored cases of the report's weeks, with reasons for the week's new 红/橙 warnings."""
    cases = scored[
        scored["registered_at"] >= start - pd.Timedelta(weeks=ReportOptions().baseline_weeks)
    ].copy()
    warned = cases.loc[(cases["registered_at"] >= start) & (cases["registered_at"] < end), :]
    warned = warned[warned["level"].isin((RED, ORANGE))]
    reasons = explain(model, dataset, warned["case_id"])
    cases["reasons"] = cases["case_id"].map(reasons).fillna("")
    return cases


def _health(
    model: EscalationModel, dataset: Dataset, scored: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, float, list[str]]:
    """Predicted vs realised escalations by week, the score's drift this week, and warnings."""
    assert dataset.export_date is not None
    recent = scored[
        (scored["registered_at"] >= start - pd.Timedelta(weeks=HEALTH_WEEKS))
        & (scored["registered_at"] < end)
    ]
    cases = dataset.cases.set_index("case_id").loc[recent["case_id"]].reset_index()
    labels = horizon_labels(cases, model.horizon_days, dataset.export_date) if "escalated" in cases else None
    frame = pd.DataFrame(
        {
            "registered_at": recent["registered_at"].to_numpy(),
            "risk": recent["risk"].to_numpy(),
            "label": labels.to_numpy() if labels is not None else float("nan"),
        }
    )
    health = weekly_monitoring(frame, horizon_days=model.horizon_days, as_of=dataset.export_date)
    week = recent[recent["registered_at"] >= start]
    reference = model.metadata.get("reference")
    if reference is None or week.empty:
        return (
            health,
            float("nan"),
            ["模型未保存训练窗口的参考分布，无法计算评分漂移"] if reference is None else [],
        )
    drift = psi(reference[SCORE], week["risk"])
    current = week.assign(**{SCORE: week["risk"]})
    columns = [c for c in (*WATCHED, SCORE) if c in reference.columns and c in current.columns]
    table = drift_table(reference, current, columns)
    warnings = [
        f"{row.feature}：PSI {row.psi:.2f}（{row.status_zh}）"
        for row in table.itertuples()
        if row.status == "major"
    ]
    return health, drift, warnings


@dataclass(frozen=True, eq=False)
class WrittenReport:
    report: WeeklyReport
    html: Path
    pdf: Path | None
    files: list[Path]  # every file written: page, Markdown, CSV tables (and the PDF)


def write(report: WeeklyReport, out_dir: Path, *, pdf: bool) -> WrittenReport:
    from risk.report_render import write_report

    files = write_report(report, out_dir)
    written = [files.html, files.markdown, *files.csv.values()]
    printed = None
    if pdf:
        from serving.report_pdf import html_to_pdf

        printed = html_to_pdf(files.html, files.html.with_suffix(".pdf"))
        written.append(printed)
    return WrittenReport(report, files.html, printed, written)
