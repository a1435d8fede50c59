"""The archive of weekly 周研判 reports (``risk report --store``): the list a caller may read, one
week's report as JSON, and each stored page and PDF. Analysts and admins.

A report of area S is readable when S lies within the key's area; the every-area report only
with a key for every area. Anything else answers exactly as a report never stored (404)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from serving import report_archive
from serving.archive_schemas import ReportPage, ReportSummaryOut, Week, WeeklyReportOut
from serving.deps import Analyst, RuntimeDep, SessionDep
from serving.errors import NotFound
from serving.field_types import AreaCode
from serving.routes.items import MAX_ID
from serving.schemas import error_responses

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=error_responses(401, 403, 422))

ReportId = Annotated[int, Path(ge=1, le=MAX_ID, description="the stored report's id")]
_MISSING: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such report stored, or one the key's area may not read (answered alike)"}
}
_HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "the report page"}
}
_PDF: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        "description": "the report printed to PDF",
    },
    404: {"description": "no such report, one the key's area may not read, or one stored without a PDF"},
}


@router.get("", response_model=ReportPage)
def list_reports(
    user: Analyst,
    session: SessionDep,
    rt: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=MAX_ID, description="at most page_max (200) are served")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> ReportPage:
    """The stored reports the caller may read, newest week first."""
    limit = min(limit, rt.settings.page_max)
    total, rows = report_archive.list_reports(session, user.area_code, limit=limit, offset=offset)
    reports = [ReportSummaryOut.of(row, pdf) for row, pdf in rows]
    return ReportPage(total=total, limit=limit, offset=offset, reports=reports)


@router.get("/weekly", response_model=WeeklyReportOut, responses=_MISSING)
def weekly_report(
    user: Analyst,
    session: SessionDep,
    week: Annotated[Week | None, Query(description="default: the newest week stored")] = None,
    area: Annotated[AreaCode | None, Query(description="the report's area; default: the key's area")] = None,
) -> WeeklyReportOut:
    """One week's report as JSON: headline and section tables (personal numbers masked)."""
    row = report_archive.weekly_report(session, week, area or user.area_code, user.area_code)
    return WeeklyReportOut.of(row, report_archive.has_pdf(session, row.id))


@router.get("/{report_id}.html", response_class=HTMLResponse, responses=_HTML | _MISSING)
def report_page(report_id: ReportId, user: Analyst, session: SessionDep) -> HTMLResponse:
    """The stored report page (self-contained: no script, nothing fetched)."""
    row = report_archive.get_report(session, report_id, user.area_code)
    return HTMLResponse(row.html)


@router.get("/{report_id}.pdf", response_class=Response, responses=_PDF)
def report_pdf(report_id: ReportId, user: Analyst, session: SessionDep) -> Response:
    """The stored report as PDF (a download)."""
    row = report_archive.get_report(session, report_id, user.area_code)
    if row.pdf is None:
        raise NotFound(f"weekly report {report_id} was stored without a PDF")
    name = f"weekly-{row.week}" + (f"-{row.scope_code}" if row.scope_code else "") + ".pdf"
    return Response(
        row.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
