"""Response bodies of the area index and the weekly report archive (``routes/areas.py``,
``routes/reports.py``), typed as the OpenAPI schema documents them; free text masked on its way out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from serving.field_types import LevelName, Masked
from serving.report_archive import mask_records
from serving.schemas import local
from serving.tables import AreaIndex, WeeklyReportRow

# The vocabularies as enums (tests tie each to its tuple: risk.index_trend.TREND_CLASSES,
# features.schema.AREA_LEVELS plus risk.index_weekly.GRID).
TrendName = Literal["none", "new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic"]
IndexLevelName = Literal["province", "city", "county", "town", "village", "grid"]
# An ISO week as stored ("2026-W09"); a week that does not exist (2025-W53) simply matches nothing.
WEEK_PATTERN: Final = "^(?:19[0-9]{2}|20[0-9]{2}|2100)-W(?:0[1-9]|[1-4][0-9]|5[0-3])$"
Week = Annotated[str, Field(pattern=WEEK_PATTERN, description="ISO week, e.g. 2026-W09")]
Records = Annotated[list[dict[str, Any]], AfterValidator(mask_records)]


class AreaWeekOut(BaseModel):
    """An area's 社会矛盾风险指数 in one ISO week (risk.area_index; docs/area_index.md)."""

    area_code: str
    name: str
    level: IndexLevelName
    parent_code: str | None
    week: str
    week_start: date  # its Monday
    index: float  # 0-100
    lower: float  # the band's lower end (band_level of the posterior)
    upper: float
    band: LevelName  # 红/橙/黄/蓝, 无 below the last cut
    trend: TrendName
    red_3_weeks: bool
    forecast_escalations: float
    expected_escalations: float
    open_cases: int
    warnings: int
    cases: int
    escalations: int
    overdue_items: int
    population: float | None
    top_drivers: Masked
    drivers: dict[str, float]  # share of the forecast by signal (volume, severity, ..., overdue)
    categories: dict[str, float]  # share of the model's forecast by dispute category
    model_version: str | None
    computed_at: datetime

    @classmethod
    def of(cls, row: AreaIndex) -> AreaWeekOut:
        values = {name: getattr(row, name) for name in cls.model_fields}
        return cls.model_validate(values | {"computed_at": local(row.computed_at)})


class AreaIndexOut(BaseModel):
    area_code: str
    name: str
    level: IndexLevelName
    parent_code: str | None
    weeks: list[AreaWeekOut]  # its last weeks stored, oldest first
    children_week: str  # the week of ``children``: the newest in ``weeks``
    children: list[AreaWeekOut]  # the areas one level down in that week, highest index first

    @classmethod
    def of(cls, weeks: list[AreaIndex], children: list[AreaIndex]) -> AreaIndexOut:
        last = weeks[-1]
        return cls.model_validate(
            dict(
                area_code=last.area_code,
                name=last.name,
                level=last.level,
                parent_code=last.parent_code,
                weeks=[AreaWeekOut.of(row) for row in weeks],
                children_week=last.week,
                children=[AreaWeekOut.of(row) for row in children],
            )
        )


class RankingOut(BaseModel):
    level: IndexLevelName
    week: str | None  # None: nothing is stored at this level
    total: int  # areas of the level in the caller's scope that week
    limit: int
    areas: list[AreaWeekOut]  # highest index first


class ReportSummaryOut(BaseModel):
    id: int
    week: str
    week_start: date
    scope_code: str | None  # None: every area
    scope_name: str
    created_at: datetime  # when it was stored
    generated_at: datetime | None  # the report time (overdue items are as of then)
    model_version: str | None
    html_url: str
    pdf_url: str | None  # None: stored without a PDF

    @classmethod
    def fields_of(cls, row: WeeklyReportRow, has_pdf: bool) -> dict[str, Any]:
        return dict(
            id=row.id,
            week=row.week,
            week_start=row.week_start,
            scope_code=row.scope_code,
            scope_name=row.scope_name,
            created_at=local(row.created_at),
            generated_at=local(row.generated_at),
            model_version=row.model_version,
            html_url=f"/v1/reports/{row.id}.html",
            pdf_url=f"/v1/reports/{row.id}.pdf" if has_pdf else None,
        )

    @classmethod
    def of(cls, row: WeeklyReportRow, has_pdf: bool) -> ReportSummaryOut:
        return cls.model_validate(cls.fields_of(row, has_pdf))


class ReportPage(BaseModel):
    total: int
    limit: int
    offset: int
    reports: list[ReportSummaryOut]


class HeadlineOut(BaseModel):
    metric: str
    label: Masked
    value: float | None
    previous: float | None  # the week before; None where there is none (overdue items: a snapshot)
    change: float | None


class WeeklyReportOut(ReportSummaryOut):
    """The report's numbers: the headline and each section's table as records (times ISO-8601:
    without an offset Shanghai wall time, with Z UTC; personal numbers masked)."""

    headline: list[HeadlineOut]
    # ranking, trends, categories, warnings, overdue, overdue_by_area, model_health, hierarchy
    sections: dict[str, Records]
    score_drift: float | None  # PSI of the week's scores against the training window
    health_warnings: list[Masked]

    @classmethod
    def of(cls, row: WeeklyReportRow, has_pdf: bool) -> WeeklyReportOut:
        return cls.model_validate(
            cls.fields_of(row, has_pdf)
            | dict(
                headline=row.headline,
                sections=row.sections,
                score_drift=row.score_drift,
                health_warnings=row.health_warnings,
            )
        )
