"""The weekly report's tables: one column definition per section (``SECTION_COLUMNS``) for every
output. The CSV tables keep numbers as numbers (percentages from 0 to 100, ``（%）`` in the header);
the page and the Markdown show them formatted, a missing value as "—". ``render_markdown`` writes
the report as Markdown from the same tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

import pandas as pd

from risk.drift import STATUS_ZH, psi_status
from risk.levels import BLUE, NONE, ORANGE, RED, YELLOW
from risk.report_sections import level_name
from risk.weekly_report import WeeklyReport

__all__ = [
    "SECTION_COLUMNS",
    "SECTION_TITLES",
    "TITLE",
    "TREND_LABELS",
    "PageTable",
    "render_markdown",
    "section_tables",
]

SECTION_TITLES: Final[dict[str, str]] = {
    "headline": "一、核心指标",
    "ranking": "二、区域风险排名",
    "categories": "三、纠纷类别热点",
    "warnings": "四、本周新增红/橙预警",
    "overdue": "五、超期督办事项",
    "model_health": "六、模型运行状况",
}
TITLE: Final = "社会矛盾风险周研判"
TREND_LABELS: Final[dict[str, str]] = {
    "new": "新出现",
    "consecutive": "连续",
    "intensifying": "加剧",
    "persistent": "持续",
    "diminishing": "减弱",
    "sporadic": "零星",
    "none": "无明显趋势",
}
BAND_CLASS: Final = {
    RED: "band-red",
    ORANGE: "band-orange",
    YELLOW: "band-yellow",
    BLUE: "band-blue",
    NONE: "band-none",
}
_SHANGHAI: Final = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Column:
    """A column of a section table: ``kind`` decides how its values are written; ``where`` is
    "both", "csv" (CSV only) or "page" (HTML and Markdown only)."""

    key: str
    header: str
    kind: str = "text"
    where: str = "both"


C = Column
SECTION_COLUMNS: Final[dict[str, tuple[Column, ...]]] = {
    "headline": (C("label", "指标"), C("value", "本周", "num"), C("previous", "上周", "num"),
                 C("change", "较上周", "change")),
    "ranking": (C("level", "层级", "level"), C("rank", "排名", "int"), C("area_code", "区域代码", where="csv"),
                C("name", "区域"), C("parent_name", "上级"), C("index", "指数", "num1"),
                C("lower", "下限", "num1", "csv"), C("upper", "上限", "num1", "csv"),
                C("interval", "区间", where="page"), C("band", "等级", "band"), C("trend", "趋势", "trend"),
                C("red_3_weeks", "连续3周红", "bool"), C("index_change", "较上周", "change1"),
                C("expected_escalations", "预期民转刑", "num2"), C("cases", "纠纷", "int"),
                C("escalations", "民转刑", "int"), C("top_drivers", "主要因素")),
    "trends": (C("level", "层级", "level"), C("area_code", "区域代码"), C("name", "区域"), C("week", "周"),
               C("index", "指数", "num1"), C("lower", "下限", "num1"), C("upper", "上限", "num1"),
               C("band", "等级", "band")),
    "categories": (C("category", "类别"), C("cases", "本周件数", "int"), C("share", "本周占比", "pct"),
                   C("baseline_share", "基期占比", "pct"), C("share_change", "占比变化", "pp"),
                   C("expected", "本周预期民转刑", "num2"), C("baseline_expected", "基期周均预期", "num2"),
                   C("expected_change", "预期变化", "change2"), C("hotspot", "热点", "bool")),
    "warnings": (C("case_id", "案件编号"), C("registered_at", "登记时间", "time"), C("area_code", "区域代码", where="csv"),
                 C("parent_name", "上级"), C("area_name", "区域"), C("category", "类别"), C("level", "等级", "band"),
                 C("risk", "风险", "pct"), C("reasons", "理由"), C("flags", "规则")),
    "overdue_by_area": (C("area_code", "区域代码", where="csv"), C("area_name", "责任区域"), C("items", "超期事项", "int"),
                        C("red", "红", "int"), C("orange", "橙", "int"), C("max_hours_overdue", "最长超期（小时）", "num1")),
    "overdue": (C("area_code", "区域代码", where="csv"), C("area_name", "责任区域"), C("item_id", "事项编号"),
                C("case_id", "案件编号"), C("level", "等级", "band"), C("status", "状态"), C("due_at", "期限", "time"),
                C("hours_overdue", "超期（小时）", "num1")),
    "model_health": (C("week", "周"), C("n", "案件数", "int"), C("predicted_escalations", "预测民转刑", "num1"),
                     C("realised_escalations", "实际民转刑", "num1"), C("predicted_rate", "预测率", "pct2"),
                     C("realised_rate", "实际率", "pct2"), C("estimated_auc", "估计AUC", "num3"),
                     C("realised_auc", "实际AUC", "num3")),
}  # fmt: skip
_EMPTY: Final = {
    "ranking": "本周无区域指数。",
    "categories": "本周无登记纠纷。",
    "warnings": "本周无新增红/橙预警。",
    "overdue_by_area": "报告时无超期督办事项。",
    "overdue": "报告时无超期督办事项。",
    "model_health": "无模型运行数据。",
}


def _level(value: object) -> str:
    return level_name(str(value))


def trend_label(value: object) -> str:
    """The Chinese name of a trend class (the class itself when unknown)."""
    return TREND_LABELS.get(str(value), str(value))


def missing(value: object) -> bool:
    """None, NaN or NaT."""
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def shanghai_time(value: object) -> str:
    """A time as Shanghai wall time (a naive time is taken as given).

    >>> shanghai_time(pd.Timestamp("2026-11-23 01:00", tz="UTC")), shanghai_time("2026-11-23 01:00")
    ('2026-11-23 09:00', '2026-11-23 01:00')
    """
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(_SHANGHAI)
    return stamp.strftime("%Y-%m-%d %H:%M")


def number(value: float) -> str:
    """A count without decimals, anything else with two.

    >>> number(3.0), number(1.2), number(12345.0)
    ('3', '1.20', '12,345')
    """
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


# kind -> (value in the CSV, text on the page); missing values are empty in the CSV and "—" on the page.
KINDS: Final[dict[str, tuple[Callable[[Any], object], Callable[[Any], str]]]] = {
    "text": (str, str),
    "int": (int, lambda v: f"{v:,.0f}"),
    "num": (lambda v: round(float(v), 2), number),
    "num1": (lambda v: round(float(v), 1), lambda v: f"{v:.1f}"),
    "num2": (lambda v: round(float(v), 2), lambda v: f"{v:.2f}"),
    "num3": (lambda v: round(float(v), 3), lambda v: f"{v:.3f}"),
    "change": (
        lambda v: round(float(v), 2),
        lambda v: f"{v:+.0f}" if float(v).is_integer() else f"{v:+.2f}",
    ),
    "change1": (lambda v: round(float(v), 1), lambda v: f"{v:+.1f}"),
    "change2": (lambda v: round(float(v), 2), lambda v: f"{v:+.2f}"),
    "pct": (lambda v: round(100 * float(v), 1), lambda v: f"{100 * v:.1f}%"),
    "pct2": (lambda v: round(100 * float(v), 2), lambda v: f"{100 * v:.2f}%"),
    "pp": (lambda v: round(100 * float(v), 1), lambda v: f"{100 * v:+.1f} 个百分点"),
    "bool": (lambda v: "是" if v else "否", lambda v: "是" if v else ""),
    "band": (str, str),
    "level": (_level, _level),
    "trend": (trend_label, trend_label),
    "time": (shanghai_time, shanghai_time),
}


def frames(report: WeeklyReport) -> dict[str, pd.DataFrame]:
    """The report's tables with the page's derived columns added."""
    out = dict(report.tables())
    ranking = report.ranking
    out["ranking"] = ranking.assign(
        interval=[f"{lo:.1f}–{hi:.1f}" for lo, hi in zip(ranking["lower"], ranking["upper"], strict=True)]
    )
    return out


def section_tables(report: WeeklyReport) -> dict[str, pd.DataFrame]:
    """The CSV tables, one per section (plus the trend lines behind the charts), with Chinese
    headers; percentages are numbers from 0 to 100 with ``（%）`` in the header."""
    out = {}
    for name, frame in frames(report).items():
        columns = [c for c in SECTION_COLUMNS[name] if c.where != "page"]
        data = {}
        for c in columns:
            to_csv = KINDS[c.kind][0]
            header = f"{c.header}（%）" if c.kind in ("pct", "pct2", "pp") else c.header
            data[header] = [None if missing(v) else to_csv(v) for v in frame[c.key]]
        out[name] = pd.DataFrame(data, columns=list(data))
    drift = report.score_drift
    status = "" if missing(drift) else STATUS_ZH[psi_status(drift)]
    out["model_health_summary"] = pd.DataFrame(
        {
            "指标": ["评分分布漂移（PSI）", "漂移判断", *("监测提示" for _ in report.health_warnings)],
            "值": [None if missing(drift) else round(drift, 4), status, *report.health_warnings],
        }
    )
    return out


@dataclass(frozen=True)
class PageTable:
    """A table as shown: headers, cells as (text, CSS class), and the sentence shown when empty."""

    headers: list[str]
    rows: list[list[tuple[str, str]]]  # (text, CSS class) per cell
    empty: str


def page_table(frame: pd.DataFrame, name: str) -> PageTable:
    """Section ``name``'s rows of ``frame`` as formatted cells for the page and the Markdown."""
    columns = [c for c in SECTION_COLUMNS[name] if c.where != "csv"]
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for c in columns:
            value = record[c.key]
            text = "—" if missing(value) else KINDS[c.kind][1](value)
            css = f"band {BAND_CLASS.get(str(value), 'band-none')}" if c.kind == "band" else ""
            cells.append((text, css or ("num" if c.kind not in ("text", "level", "trend", "time") else "")))
        rows.append(cells)
    return PageTable([c.header for c in columns], rows, _EMPTY.get(name, "无。"))


def page_tables(report: WeeklyReport) -> dict[str, PageTable]:
    return {name: page_table(frame, name) for name, frame in frames(report).items()}


def period(report: WeeklyReport) -> str:
    """The week and its dates: 2026-W47（2026-11-16 至 2026-11-22）."""
    end = report.week_start + pd.Timedelta(days=6)
    return f"{report.week}（{report.week_start:%Y-%m-%d} 至 {end:%Y-%m-%d}）"


def generated(report: WeeklyReport) -> str:
    return "" if report.generated_at is None else shanghai_time(report.generated_at)


def render_markdown(report: WeeklyReport) -> str:
    """The report as Markdown: the same sections and tables as the page, without the charts."""
    tables = page_tables(report)
    lines = [f"# {TITLE} · {report.week}", "", f"范围：{report.scope_name}　周期：{period(report)}"]
    if report.generated_at is not None:
        lines[-1] += f"　生成时间：{generated(report)}"
    sections = {
        "headline": [tables["headline"]],
        "ranking": [tables["ranking"]],
        "categories": [tables["categories"]],
        "warnings": [tables["warnings"]],
        "overdue": [tables["overdue_by_area"], tables["overdue"]],
        "model_health": [tables["model_health"]],
    }
    for key, title in SECTION_TITLES.items():
        lines += ["", f"## {title}", ""]
        if key == "model_health":
            lines += [f"评分分布漂移（PSI，本周对训练窗口）：{drift_text(report)}", ""]
            lines += [*(f"- {w}" for w in report.health_warnings), *([""] if report.health_warnings else [])]
        for table in sections[key]:
            lines += [*_markdown_table(table), ""]
    return "\n".join(lines).rstrip() + "\n"


def _markdown_table(table: PageTable) -> list[str]:
    if not table.rows:
        return [table.empty]

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(map(cell, table.headers)) + " |", "|" + "---|" * len(table.headers)]
    return out + ["| " + " | ".join(cell(text) for text, _ in row) + " |" for row in table.rows]


def drift_text(report: WeeklyReport) -> str:
    """The score drift with its reading: "0.042（稳定）"."""
    drift = report.score_drift
    return "—（无数据）" if missing(drift) else f"{drift:.3f}（{STATUS_ZH[psi_status(drift)]}）"
