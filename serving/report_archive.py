"""The archive of weekly 周研判 reports: ``store_report`` keeps one report per (week, scope) (a
re-run replaces it in place, keeping its id), the readers answer with what a caller may read.

A report scoped to area S is readable by a caller whose scope covers S (S lies within the
caller's area); the every-area report (scope None) only by callers without an area limit. A
report the caller may not read is answered exactly as a missing one (NotFound).

Free text in the stored tables is masked for personal numbers (``features.personal_data``) as it
is stored, whatever the report did already."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from features import area_codes
from features.personal_data import mask_personal
from risk.weekly_report import WeeklyReport
from serving.errors import NotFound
from serving.tables import WeeklyReportRow

ALL_AREAS = ""  # scope_key of the every-area report


def store_report(
    session: Session,
    report: WeeklyReport,
    html: str,
    pdf: bytes | None,
    model_version: str | None,
    *,
    now: datetime | None = None,
) -> WeeklyReportRow:
    """Store ``report`` with its page and PDF (replacing the stored one of its week and scope) and commit."""
    key = report.scope_code or ALL_AREAS
    row = session.scalars(
        select(WeeklyReportRow).where(WeeklyReportRow.week == report.week, WeeklyReportRow.scope_key == key)
    ).one_or_none()
    if row is None:
        row = WeeklyReportRow(week=report.week, scope_key=key)
        session.add(row)
    tables = {**report.tables(), "hierarchy": report.hierarchy}
    drift = report.score_drift
    row.week_start = report.week_start.date()
    row.scope_code = report.scope_code
    row.scope_name = report.scope_name
    row.created_at = now or datetime.now(UTC)
    row.generated_at = report.generated_at
    row.model_version = model_version
    row.headline = records(tables.pop("headline"))
    row.sections = {name: records(frame) for name, frame in tables.items()}
    row.score_drift = None if drift is None or np.isnan(drift) else float(drift)
    row.health_warnings = [mask_personal(w) for w in report.health_warnings]
    row.html = html
    row.pdf = pdf
    session.commit()
    return row


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON records: NaN as null, times as ISO-8601 (naive: Shanghai wall time; Z: UTC),
    text masked."""
    text = frame.to_json(orient="records", date_format="iso", date_unit="s", force_ascii=False)
    return mask_records(json.loads(text))


def mask_records(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records with every string value passed through ``mask_personal``."""
    return [{k: mask_personal(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows]


# ---- readers -------------------------------------------------------------------------------------


def readable(scope: str | None) -> ColumnElement[bool]:
    """Reports a caller limited to ``scope`` may read (None: every report)."""
    if scope is None:
        return true()
    return and_(
        WeeklyReportRow.scope_code.is_not(None),
        WeeklyReportRow.scope_code.startswith(area_codes.prefix(scope)),
    )


def list_reports(
    session: Session, scope: str | None, *, limit: int = 50, offset: int = 0
) -> tuple[int, list[tuple[WeeklyReportRow, bool]]]:
    """The reports the caller may read, newest week first (the every-area report first within a
    week, then by area code), each with whether a PDF is stored; and how many there are."""
    total = session.scalar(select(func.count()).select_from(WeeklyReportRow).where(readable(scope))) or 0
    stmt = (
        select(WeeklyReportRow, WeeklyReportRow.pdf.is_not(None))
        .where(readable(scope))
        .order_by(WeeklyReportRow.week.desc(), WeeklyReportRow.scope_key)
        .limit(limit)
        .offset(offset)
    )
    return total, [(row, bool(has_pdf)) for row, has_pdf in session.execute(stmt)]


def get_report(session: Session, report_id: int, scope: str | None) -> WeeklyReportRow:
    """One report by id, if the caller may read it."""
    row = session.scalars(
        select(WeeklyReportRow).where(WeeklyReportRow.id == report_id, readable(scope))
    ).one_or_none()
    if row is None:
        raise NotFound(f"no weekly report {report_id}")
    return row


def weekly_report(session: Session, week: str | None, area: str | None, scope: str | None) -> WeeklyReportRow:
    """The report of ``week`` (default: the newest stored) for ``area`` (None: every area), if
    the caller may read it."""
    stmt = select(WeeklyReportRow).where(WeeklyReportRow.scope_key == (area or ALL_AREAS), readable(scope))
    if week is not None:
        stmt = stmt.where(WeeklyReportRow.week == week)
    row = session.scalars(stmt.order_by(WeeklyReportRow.week.desc()).limit(1)).one_or_none()
    if row is None:
        what = "every area" if area is None else f"area {area}"
        raise NotFound(f"no weekly report for {what}" + (f" in week {week}" if week else ""))
    return row


def has_pdf(session: Session, report_id: int) -> bool:
    stmt = select(WeeklyReportRow.pdf.is_not(None)).where(WeeklyReportRow.id == report_id)
    return bool(session.scalar(stmt))
