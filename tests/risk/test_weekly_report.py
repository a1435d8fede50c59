"""The weekly report's assembly (sections, week-over-week change, scoping, masking) and its
Markdown, CSV and HTML outputs, on the small synthetic inputs of weekly_report_factory."""

from __future__ import annotations

import base64
import doctest
import hashlib
import re
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from weekly_report_factory import (
    BAIDIAN,
    ID_MASKED,
    ID_NUMBER,
    JUEGANG,
    PHONE,
    PHONE_MASKED,
    QUTANG,
    WEEK,
    cases_frame,
    weekly_inputs,
)

from features.errors import DisputeRiskError
from risk import report_charts, report_tables, weekly_report
from risk.report_render import SECTION_TITLES, render_html, render_markdown, write_report
from risk.weekly_report import ReportOptions, build_weekly_report


@pytest.fixture(scope="module")
def report() -> weekly_report.WeeklyReport:
    return build_weekly_report(WEEK, **weekly_inputs())


def headline(report: weekly_report.WeeklyReport) -> dict[str, list[float]]:
    frame = report.headline.set_index("metric")[["value", "previous", "change"]]
    return {metric: row.tolist() for metric, row in frame.iterrows()}


def test_headline_compares_the_week_with_the_week_before(report) -> None:
    numbers = headline(report)
    assert numbers["cases"] == [3, 1, 2]  # the case of the following week is not counted
    assert numbers["new_warnings"] == [2, 1, 1]
    assert numbers["escalations"] == [1, 0, 1]  # the root (the city) row of the index
    assert numbers["expected_escalations"] == pytest.approx([1.2, 1.19, 0.01])
    assert numbers["red_orange_town"] == [1, 1, 0]
    assert numbers["red_orange_village"] == [2, 2, 0]
    assert numbers["overdue_items"][0] == 3 and np.isnan(numbers["overdue_items"][1])
    assert (report.week, report.previous_week, report.week_start) == (
        WEEK,
        "2026-W46",
        pd.Timestamp("2026-11-16"),
    )


def test_ranking_orders_each_level_by_index_with_interval_trend_and_change(report) -> None:
    villages = report.ranking[report.ranking["level"] == "village"]
    assert villages["name"].tolist() == ["白甸村", "双楼村", "杨庄村", "东凌社区", "青园社区"]
    assert villages["rank"].tolist() == [1, 2, 3, 4, 5]
    top = villages.iloc[0]
    assert (top["parent_name"], top["lower"], top["upper"], top["band"], top["trend"]) == (
        "曲塘镇", 78.0, 94.0, "红", "intensifying"
    )  # fmt: skip
    assert top["index_change"] == 4.0 and bool(top["red_3_weeks"]) and top["top_drivers"]
    assert {"driver_volume", "driver_severity", "driver_overdue"} <= set(report.ranking.columns)
    short = build_weekly_report(WEEK, **weekly_inputs(), options=ReportOptions(top_n=2, trend_areas=1))
    assert short.ranking.groupby("level").size().to_dict() == {"town": 2, "village": 2}
    assert short.trends.groupby("level")["area_code"].unique().map(list).to_dict() == {
        "town": [QUTANG],
        "village": [BAIDIAN],
    }
    assert len(short.trends) == 2 * 8  # eight weeks of the index, up to the report week


def test_scoping_to_a_town_keeps_only_its_subtree(report) -> None:
    inputs = weekly_inputs()
    # a village the index does not know: placed by its code's digits (it lies in 曲塘镇)
    extra = cases_frame().iloc[[1]].assign(case_id="C-47-9", area_code="320685104299")
    inputs["cases"] = pd.concat([inputs["cases"], extra], ignore_index=True)
    town = build_weekly_report(WEEK, **inputs, area=QUTANG)
    assert (town.scope_code, town.scope_name) == (QUTANG, "曲塘镇")
    assert town.ranking["name"].tolist() == ["曲塘镇", "白甸村", "双楼村"]
    assert set(town.hierarchy["name"]) == {"曲塘镇", "白甸村", "双楼村"}
    assert town.warnings["case_id"].tolist() == ["C-47-1", "C-47-9"]
    assert town.overdue["item_id"].tolist() == [101, 102]
    numbers = headline(town)
    assert numbers["cases"] == [2, 1, 1]
    assert numbers["escalations"] == [1, 0, 1]  # 曲塘镇's own row, not the city's
    assert numbers["expected_escalations"][0] == 1.77  # 曲塘镇's index row
    assert town.model_health.equals(report.model_health)  # the model's health has no area


def test_new_warnings_are_the_weeks_red_and_orange_with_personal_numbers_masked(report) -> None:
    warnings = report.warnings
    assert warnings["case_id"].tolist() == ["C-47-1", "C-47-2"]
    assert warnings["level"].tolist() == ["红", "橙"]
    assert warnings[["area_name", "parent_name"]].values.tolist() == [
        ["白甸村", "曲塘镇"],
        ["东凌社区", "掘港街道"],
    ]
    first = warnings.iloc[0]
    assert first["reasons"] == f"叙述中有威胁言语；申请人电话{PHONE_MASKED}，身份证号{ID_MASKED}"
    assert first["flags"] == f"扬言杀人（联系{PHONE_MASKED}）"
    assert not warnings[["reasons", "flags"]].stack().str.contains(f"{PHONE}|{ID_NUMBER}").any()


def test_category_hotspots_rank_the_rise_against_the_baseline_weeks(report) -> None:
    cats = report.categories.set_index("category")
    assert cats.index.tolist()[:2] == ["邻里纠纷", "婚恋家庭"]
    assert cats.loc["邻里纠纷", ["cases", "share", "baseline_share"]].tolist() == pytest.approx(
        [1, 1 / 3, 0.0]
    )
    # four cases in the four weeks before: two 劳资纠纷 -> half a case a week, half the share
    assert cats.loc["劳资纠纷", ["baseline_cases", "baseline_share"]].tolist() == pytest.approx([0.5, 0.5])
    assert cats.loc["劳资纠纷", "share_change"] == pytest.approx(1 / 3 - 0.5)
    assert cats["hotspot"].tolist() == [True, True, True, False, False]
    assert not cats.loc[cats["expected_change"] <= 0, "hotspot"].any()


def test_overdue_items_are_grouped_by_responsible_area(report) -> None:
    by_area = report.overdue_by_area
    assert by_area[["area_name", "items", "red", "orange", "max_hours_overdue"]].values.tolist() == [
        ["曲塘镇", 2, 1, 1, 80.0],
        ["掘港街道", 1, 0, 1, 8.0],
    ]
    assert report.overdue.loc[report.overdue["area_code"] == JUEGANG, "area_name"].tolist() == ["掘港街道"]


def test_model_health_keeps_the_recent_weeks_up_to_the_report_week() -> None:
    short = build_weekly_report(WEEK, **weekly_inputs(), options=ReportOptions(health_weeks=3))
    assert short.model_health["week"].tolist() == ["2026-W45", "2026-W46", "2026-W47"]
    assert (short.score_drift, short.health_warnings) == (0.042, ("近 4 周实际民转刑标签尚未成熟",))


def test_empty_overdue_items_and_a_quiet_week_still_make_a_report() -> None:
    inputs = weekly_inputs()
    inputs["overdue_items"] = pd.DataFrame()
    inputs["cases"] = inputs["cases"].iloc[0:0]
    quiet = build_weekly_report(WEEK, **inputs)
    assert quiet.overdue.empty and quiet.overdue_by_area.empty and quiet.warnings.empty
    assert headline(quiet)["cases"] == [0, 0, 0]
    markdown = render_markdown(quiet)
    assert "报告时无超期督办事项。" in markdown and "本周无新增红/橙预警。" in markdown


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"week": "2026-47"}, "week must be an ISO week like 2026-W47, got '2026-47'"),
        ({"week": "2026-W30"}, "index has no rows for week 2026-W30 (it covers 2026-W40 to 2026-W47), got '2026-W30'"),
        ({"area": "320685999000"}, "area must be an area code of the index, got '320685999000'"),
        ({"options": ReportOptions(levels=("county", "grid"))},
         "levels must be levels of the index ['city', 'county', 'town', 'village'], got ['county', 'grid']"),
        ({"cases": cases_frame().drop(columns="risk")},
         "cases must have the columns ['case_id', 'area_code', 'registered_at', 'category', 'risk', 'level', "
         "'reasons', 'flags'], missing ['risk']"),
    ],
)  # fmt: skip
def test_build_rejects_bad_input_naming_the_rule_and_the_value(change: dict, message: str) -> None:
    arguments = {"week": WEEK, **weekly_inputs(), **change}
    with pytest.raises(DisputeRiskError) as caught:
        build_weekly_report(arguments.pop("week"), **arguments)
    assert str(caught.value) == message


def test_report_options_reject_non_positive_counts() -> None:
    with pytest.raises(DisputeRiskError, match=r"^top_n must be an integer >= 1, got 0$"):
        ReportOptions(top_n=0)


def test_markdown_has_every_section_in_order_and_masked_tables(report) -> None:
    markdown = render_markdown(report)
    headings = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    assert headings == list(SECTION_TITLES.values())
    assert markdown.startswith(f"# 社会矛盾风险周研判 · {WEEK}\n")
    assert "| 层级 | 排名 | 区域 | 上级 | 指数 | 区间 | 等级 | 趋势 |" in markdown
    assert "| 村 | 1 | 白甸村 | 曲塘镇 | 86.0 | 78.0–94.0 | 红 | 加剧 |" in markdown
    assert PHONE_MASKED in markdown and PHONE not in markdown and ID_NUMBER not in markdown
    inputs = weekly_inputs()
    inputs["cases"].loc[0, "reasons"] = "甲|乙"
    assert "甲\\|乙" in render_markdown(build_weekly_report(WEEK, **inputs))


def test_csv_tables_one_per_section_with_chinese_headers_and_numbers(report, tmp_path) -> None:
    files = write_report(report, tmp_path)
    assert sorted(files.csv) == sorted(
        ["headline", "ranking", "trends", "categories", "warnings", "overdue", "overdue_by_area", "model_health",
         "model_health_summary"]
    )  # fmt: skip
    assert files.csv["ranking"].read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    ranking = pd.read_csv(files.csv["ranking"], encoding="utf-8-sig", dtype={"区域代码": str})
    first = ranking.iloc[3]  # the village ranking follows the three towns
    assert (first["区域代码"], first["区域"], first["下限"], first["上限"], first["趋势"]) == (
        BAIDIAN, "白甸村", 78.0, 94.0, "加剧"
    )  # fmt: skip
    categories = pd.read_csv(files.csv["categories"], encoding="utf-8-sig")
    assert categories.loc[0, ["类别", "本周占比（%）"]].tolist() == ["邻里纠纷", 33.3]
    warnings = files.csv["warnings"].read_text(encoding="utf-8-sig")
    assert PHONE_MASKED in warnings and PHONE not in warnings and ID_NUMBER not in warnings
    summary = pd.read_csv(files.csv["model_health_summary"], encoding="utf-8-sig")
    assert summary.values.tolist() == [
        ["评分分布漂移（PSI）", "0.042"],
        ["漂移判断", "稳定"],
        ["监测提示", "近 4 周实际民转刑标签尚未成熟"],
    ]
    assert "评分分布漂移（PSI，本周对训练窗口）：0.042（稳定）" in render_markdown(report)


def test_html_is_self_contained_escaped_and_its_style_allowed_by_its_csp() -> None:
    inputs = weekly_inputs()
    inputs["cases"].loc[0, "reasons"] = "<script>alert(1)</script>"
    inputs["generated_at"] = datetime(2026, 11, 23, 9, 0)  # naive: shown as given
    html = render_html(build_weekly_report(WEEK, **inputs))
    assert "生成时间：2026-11-23 09:00" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"<script|https?:|//[a-z]|@import|url\(|@font-face|<link|<img|<iframe", html, re.I)
    assert html.count('<svg class="chart"') == 7
    for title in SECTION_TITLES.values():
        assert f"<h2>{title}</h2>" in html
    css = re.search(r"<style>(.*?)</style>", html, re.S)
    assert css is not None and "font-family" in css[1] and '"Noto Sans CJK SC"' in css[1]
    digest = base64.b64encode(hashlib.sha256(css[1].encode()).digest()).decode()
    assert f"content=\"default-src 'none'; style-src 'sha256-{digest}'\"" in html
    assert "@page { size: A4" in css[1] and "@media print" in css[1]


@pytest.mark.parametrize("module", [weekly_report, report_tables, report_charts])
def test_docstring_examples_run(module) -> None:
    assert doctest.testmod(module, raise_on_error=False).failed == 0


def test_every_trend_class_of_the_index_has_a_chinese_label() -> None:
    from risk.index_trend import TREND_CLASSES
    from risk.report_tables import TREND_LABELS

    assert set(TREND_LABELS) == set(TREND_CLASSES)


def test_html_keeps_same_named_areas_apart_and_skips_levels_without_areas() -> None:
    inputs = weekly_inputs()
    index = inputs["index"]
    index.loc[index["name"] == "青园社区", "name"] = "白甸村"  # another town's village of the same name
    charts = render_html(build_weekly_report(WEEK, **inputs)).split('<svg class="chart"')[1:]
    village_trend = charts[3]
    assert village_trend.count('font-size="11" fill="#') == 5  # one line and end label per village
    village = render_html(build_weekly_report(WEEK, **weekly_inputs(), area=BAIDIAN))
    assert village.count('<svg class="chart"') == 5  # no town ranking or trend inside a village
    assert "村级风险排名（前 1 名）" in village and "镇级风险排名" not in village
