"""风险指数 and 周研判报告, read from the archive (``serving.index_archive``,
``serving.report_archive``) within the user's area scope: the ranking of a level with band,
trend and interval; an area's page with its trend chart, drivers and child areas (drill down,
and up while the parent is in scope); the weekly reports, opened as stored or as PDF.

Charts are the weekly report's own (``risk.report_charts``: inline SVG, no script). A stored
report page is served as it was written, under a CSP that allows its one inline style by hash
and nothing else."""

from __future__ import annotations

import base64
import hashlib
import re
from math import ceil
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from features import area_codes
from risk import report_charts as charts
from risk.index_drivers import DRIVER_LABELS
from risk.report_sections import level_name
from risk.report_tables import trend_label
from serving import index_archive, report_archive
from serving.archive_schemas import WEEK_PATTERN
from serving.console import auditing
from serving.console.deps import Reader
from serving.console.pages import render
from serving.deps import Runtime
from serving.errors import NotFound
from serving.routes.items import MAX_ID

router = APIRouter()
RANK_LEVELS: Final = ("county", "town", "village")
RANK_LIMIT: Final = 50  # rows of the ranking table; the chart shows the first CHART_ROWS
CHART_ROWS: Final = 20
TREND_WEEKS: Final = 26
REPORTS_PAGE: Final = 20
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def _default_level(scope: str | None) -> str:
    """The level just below the user's area (a county's towns), towns for every area."""
    if scope is None:
        return "town"
    below = {"province": "county", "city": "county", "county": "town"}
    return below.get(area_codes.level_of(scope), "village")


@router.get("/index", name="index_ranking")
def ranking_page(
    request: Request,
    login: Reader,
    level: Annotated[str, Query(max_length=8)] = "",
    week: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    """The areas of a level in the user's scope, highest index first, with band, trend, interval."""
    rt: Runtime = request.app.state.runtime
    who = login.who
    level = level or _default_level(who.area_code)
    if level not in RANK_LEVELS or (week and not re.fullmatch(WEEK_PATTERN, week)):
        raise NotFound(f"no ranking of level {level!r} week {week!r}")
    with rt.session() as session:
        ranking = index_archive.ranking(session, level, week or None, who.area_code, RANK_LIMIT)
    top = ranking.rows[:CHART_ROWS]
    chart = charts.ranking_chart(
        [r.name for r in top], [r.index for r in top], [r.lower for r in top], [r.upper for r in top],
        [r.band for r in top], title=f"{level_name(level)}级风险指数排名（{ranking.week or '—'}）",
    ) if top else ""  # fmt: skip
    auditing.view(rt, who, {"page": "index", "level": level, "week": ranking.week or ""})
    return render(
        request, "index.html", who, login.csrf,
        ranking=ranking, chart=Markup(chart), level=level, levels=RANK_LEVELS, level_name=level_name,
        trend_label=trend_label,
    )  # fmt: skip


@router.get("/index/areas/{code}", name="index_area")
def area_page(request: Request, login: Reader, code: str) -> HTMLResponse:
    """One area: its index trend chart, its drivers this week, and its child areas."""
    rt: Runtime = request.app.state.runtime
    who = login.who
    if len(code) > 64:
        raise NotFound(f"no area index for area {code[:64]}")
    with rt.session() as session:
        rows = index_archive.index_of(session, code, TREND_WEEKS, who.area_code)  # outside: NotFound
        latest = rows[-1]
        children = index_archive.children_of(session, code, latest.week, who.area_code)
    series = [
        charts.Series("指数", [r.index for r in rows]),
        charts.Series("区间下限", [r.lower for r in rows], dashed=True),
        charts.Series("区间上限", [r.upper for r in rows], dashed=True),
    ]
    chart = charts.line_chart([r.week for r in rows], series, title=f"{latest.name}风险指数走势", top=100.0)
    drivers = sorted(((DRIVER_LABELS.get(k, k), v) for k, v in latest.drivers.items()), key=lambda kv: -kv[1])
    categories = sorted(((k, v) for k, v in latest.categories.items() if v > 0), key=lambda kv: -kv[1])[:6]
    parent = latest.parent_code if latest.parent_code and _covers(who.area_code, latest.parent_code) else None
    auditing.view(rt, who, {"page": "index_area", "area": code, "week": latest.week}, area=code)
    return render(
        request, "area.html", who, login.csrf,
        row=latest, chart=Markup(chart), drivers=drivers, categories=categories, children=children,
        parent=parent, level_name=level_name, trend_label=trend_label, weeks=len(rows),
    )  # fmt: skip


def _covers(scope: str | None, code: str) -> bool:
    return area_codes.problem(code) is None and area_codes.is_within(code, scope)


@router.get("/reports", name="reports")
def reports_page(
    request: Request, login: Reader, page: Annotated[int, Query(ge=1, le=MAX_ID // REPORTS_PAGE)] = 1
) -> HTMLResponse:
    """The weekly reports the user may read, newest first."""
    rt: Runtime = request.app.state.runtime
    with rt.session() as session:
        total, rows = report_archive.list_reports(
            session, login.who.area_code, limit=REPORTS_PAGE, offset=(page - 1) * REPORTS_PAGE
        )
    auditing.view(rt, login.who, {"page": "reports"})
    return render(
        request, "reports.html", login.who, login.csrf,
        rows=rows, total=total, page=page, pages=max(1, ceil(total / REPORTS_PAGE)),
    )  # fmt: skip


@router.get("/reports/{report_id}", name="report")
def report(request: Request, login: Reader, report_id: int) -> HTMLResponse:
    """A stored report page as it was written (it holds no script and no outside URL)."""
    rt: Runtime = request.app.state.runtime
    with rt.session() as session:
        row = report_archive.get_report(session, report_id, login.who.area_code)
        html, week, scope = row.html, row.week, row.scope_code
    auditing.view(rt, login.who, {"page": "report", "report_id": str(report_id), "week": week}, area=scope)
    return HTMLResponse(html, headers={"content-security-policy": report_csp(html)})


@router.get("/reports/{report_id}/pdf", name="report_pdf")
def report_pdf(request: Request, login: Reader, report_id: int) -> Response:
    rt: Runtime = request.app.state.runtime
    with rt.session() as session:
        row = report_archive.get_report(session, report_id, login.who.area_code)
        pdf, week, scope = row.pdf, row.week, row.scope_code
    if pdf is None:
        raise NotFound(f"weekly report {report_id} has no PDF")
    auditing.view(
        rt, login.who, {"page": "report_pdf", "report_id": str(report_id), "week": week}, area=scope
    )
    name = f"weekly-{week}" + (f"-{scope}" if scope else "") + ".pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"content-disposition": f'attachment; filename="{name}"'}
    )


def report_csp(html: str) -> str:
    """Nothing but the page's own inline style (by its hash): no script, no request at all."""
    style = _STYLE.search(html)
    allowed = "'none'"
    if style is not None:
        digest = base64.b64encode(hashlib.sha256(style.group(1).encode("utf-8")).digest()).decode("ascii")
        allowed = f"'sha256-{digest}'"
    return (
        f"default-src 'none'; style-src {allowed}; img-src data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
