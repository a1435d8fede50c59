"""The weekly report as a self-contained HTML page, and all its files (HTML, Markdown, CSV).

The page needs nothing from outside: the style is inline (allowed by its hash in the page's
Content-Security-Policy, which forbids everything else: scripts, fonts, connections), the charts
are inline SVG (``risk.report_charts`` says why), the fonts are the system's CJK fonts, and the
print CSS lays it out on A4. Jinja2 autoescapes every value; only the CSS and the charts (built
and escaped by ``risk.report_charts``) are marked safe. The tables are ``risk.report_tables``'.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

import jinja2
from markupsafe import Markup

from risk import report_charts as charts
from risk.drift import MAJOR_ABOVE, STABLE_BELOW
from risk.levels import NONE
from risk.report_sections import level_name
from risk.report_tables import (
    KINDS,
    SECTION_TITLES,
    TITLE,
    drift_text,
    frames,
    generated,
    missing,
    number,
    page_table,
    page_tables,
    period,
    render_markdown,
    section_tables,
    trend_label,
)
from risk.weekly_report import WeeklyReport

__all__ = [
    "SECTION_TITLES",
    "ReportFiles",
    "render_html",
    "render_markdown",
    "section_tables",
    "write_report",
]

_AREA_ORDER: Final = ("province", "city", "county", "town", "village", "grid")
_MAX_TILES: Final = 400
_TEMPLATES: Final = Path(__file__).with_name("templates")  # package data (pyproject.toml)


def render_html(report: WeeklyReport) -> str:
    """The report as one self-contained HTML page (charts, tables, print CSS for A4)."""
    tables = page_tables(report)
    css = _css()
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return _template().render(
        title=f"{TITLE} · {report.week}",
        scope=report.scope_name,
        period=period(report),
        generated=generated(report),
        css=Markup(css),
        style_hash=f"sha256-{digest}",
        sections=SECTION_TITLES,
        cards=_cards(report),
        rankings=_rankings(report),
        tile_map=Markup(_tile_map(report)),
        category_chart=Markup(_category_chart(report)),
        health_chart=Markup(_health_chart(report)),
        score_drift=drift_text(report),
        drift_rule=f"< {STABLE_BELOW:g} 稳定，{STABLE_BELOW:g}–{MAJOR_ABOVE:g} 中度偏移，> {MAJOR_ABOVE:g} 显著偏移",
        health_warnings=report.health_warnings,
        baseline_weeks=report.options.baseline_weeks,
        tables=tables,
    )


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )


def _template() -> jinja2.Template:
    return _environment().get_template("weekly_report.html")


@cache
def _css() -> str:
    return (_TEMPLATES / "weekly_report.css").read_text(encoding="utf-8")


def _cards(report: WeeklyReport) -> list[dict[str, str]]:
    cards = []
    for row in report.headline.to_dict("records"):
        change = row["change"]
        cards.append(
            {
                "label": row["label"],
                "value": "—" if missing(row["value"]) else number(row["value"]),
                "change": "较上周 —" if missing(change) else f"较上周 {KINDS['change'][1](change)}",
                "direction": "" if missing(change) or change == 0 else ("up" if change > 0 else "down"),
            }
        )
    return cards


def _rankings(report: WeeklyReport) -> list[dict[str, Any]]:
    """Per ranking level with areas in scope: its bar chart, table and trend chart."""
    out = []
    ranking, trends = frames(report)["ranking"], report.trends
    for level in report.options.levels:
        rows = ranking[ranking["level"] == level]
        if rows.empty:
            continue
        name, lines = level_name(level), trends[trends["level"] == level]
        weeks = sorted(lines["week"].unique())
        series = [
            charts.Series(str(group["name"].iloc[0]), list(group.set_index("week")["index"].reindex(weeks)))
            for _, group in lines.groupby("area_code", sort=False)  # names repeat across towns, codes do not
        ]
        title = f"{name}级风险排名（前 {len(rows)} 名）"
        bars = charts.ranking_chart(
            list(rows["name"]), list(rows["index"]), list(rows["lower"]), list(rows["upper"]), list(rows["band"]),
            title=title,
        )  # fmt: skip
        trend = charts.line_chart(weeks, series, title=f"{name}级指数走势", top=100.0) if series else ""
        out.append(
            {
                "title": title,
                "chart": Markup(bars),
                "table": page_table(rows, "ranking"),
                "trend_title": f"{name}级指数走势（前 {len(series)} 名，近 {len(weeks)} 周）",
                "trend": Markup(trend),
            }
        )
    return out


def _tile_map(report: WeeklyReport) -> str:
    """Tiles at the finest level with at most ``_MAX_TILES`` areas, grouped by their parents."""
    areas = report.hierarchy
    present = [lv for lv in _AREA_ORDER if lv in set(areas["level"]) and lv != "grid"]
    if not present:
        return ""
    tile_level = next(
        (lv for lv in reversed(present) if (areas["level"] == lv).sum() <= _MAX_TILES), present[0]
    )
    tiles = areas[areas["level"] == tile_level].sort_values(["index", "area_code"], ascending=[False, True])
    by_code = areas.set_index("area_code")
    groups = []
    for parent, members in tiles.groupby("parent_code", sort=True, dropna=False):
        known = isinstance(parent, str) and parent in by_code.index
        groups.append(
            charts.TileGroup(
                name=str(by_code.at[parent, "name"]) if known else str(parent or "—"),  # outside the scope
                band=str(by_code.at[parent, "band"]) if known else NONE,
                tiles=[
                    charts.Tile(
                        r["name"], r["band"], r["index"], f"指数 {r['index']:.1f}，{trend_label(r['trend'])}"
                    )
                    for r in members.to_dict("records")
                ],
            )
        )
    return charts.tile_map(groups, title=f"{level_name(tile_level)}级风险分布（按上级分组）")


def _category_chart(report: WeeklyReport) -> str:
    cats = report.categories
    if cats.empty:
        return ""
    return charts.paired_bar_chart(
        list(cats["category"]), list(cats["share"]), list(cats["baseline_share"].fillna(0.0)),
        title="纠纷类别占比：本周与基期", legend=("本周占比", f"前 {report.options.baseline_weeks} 周占比"),
        highlight=list(cats["hotspot"]),
    )  # fmt: skip


def _health_chart(report: WeeklyReport) -> str:
    health = report.model_health
    if health.empty:
        return ""
    series = [
        charts.Series("预测民转刑", list(health["predicted_escalations"].astype(float))),
        charts.Series("实际民转刑", list(health["realised_escalations"].astype(float)), dashed=True),
    ]
    return charts.line_chart(list(health["week"]), series, title="每周预测与实际民转刑（起）")


@dataclass(frozen=True)
class ReportFiles:
    """Where ``write_report`` put the report: the page, the Markdown, a CSV per section."""

    html: Path
    markdown: Path
    csv: dict[str, Path]


def write_report(report: WeeklyReport, out_dir: str | Path, *, stem: str | None = None) -> ReportFiles:
    """Write ``<stem>.html``, ``<stem>.md`` and ``<stem>.<section>.csv`` into ``out_dir``; the stem
    defaults to ``weekly-<week>`` (``-<area>`` when scoped)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or f"weekly-{report.week}" + (f"-{report.scope_code}" if report.scope_code else "")
    html, markdown = out / f"{stem}.html", out / f"{stem}.md"
    html.write_text(render_html(report), encoding="utf-8")
    markdown.write_text(render_markdown(report), encoding="utf-8")
    csv = {}
    for name, table in section_tables(report).items():
        csv[name] = out / f"{stem}.{name}.csv"
        table.to_csv(csv[name], index=False, encoding="utf-8-sig")
    return ReportFiles(html, markdown, csv)
