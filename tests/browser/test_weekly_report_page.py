"""The weekly report in a real headless Chromium: opened offline from file://, its charts, tables
and sections drawn, nothing fetched, no console error, personal numbers masked; printed to PDF
with the Chinese text intact and a CJK font embedded. A screenshot and the PDF are kept in
test-artifacts/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from weekly_report_factory import (
    ID_MASKED,
    ID_NUMBER,
    PHONE,
    PHONE_MASKED,
    WEEK,
    weekly_inputs,
)

from features.errors import DisputeRiskError
from risk.report_render import SECTION_TITLES, TITLE, write_report
from risk.weekly_report import build_weekly_report
from serving.report_pdf import INSTALL_HINT, html_to_pdf

AREA_NAMES = ("曲塘镇", "李堡镇", "掘港街道", "白甸村", "双楼村", "杨庄村", "东凌社区", "青园社区")
# 2 rankings (town, village) + 2 trend charts + the tile map + categories + model health
CHARTS = 7
CJK_FONT = re.compile(r"WenQuanYi|Noto ?Sans ?CJK|SourceHan|Source Han|YaHei|SimHei", re.IGNORECASE)
RADICALS = re.compile("[\u2e80-\u2fdf]")  # what a mis-mapped CJK glyph extracts as


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = build_weekly_report(WEEK, **weekly_inputs())
    return write_report(report, tmp_path_factory.mktemp("weekly-report")).html


@pytest.fixture
def page(open_page, report_html: Path, cjk_fonts: list[str]):
    return open_page(report_html.as_uri())


def test_report_page_draws_every_section_chart_and_table(page, artifacts: Path) -> None:
    p = page.page
    assert p.title() == f"{TITLE} · {WEEK}"
    assert p.locator("h2").all_inner_texts() == list(SECTION_TITLES.values())
    sizes = p.eval_on_selector_all(
        "svg.chart",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [r.width, r.height, e.querySelectorAll('rect, path, circle').length]; })",
    )
    assert len(sizes) == CHARTS
    assert all(width > 100 and height > 20 and marks > 0 for width, height, marks in sizes), sizes
    rows = p.eval_on_selector_all(
        "table", "els => els.map(e => [e.getBoundingClientRect().height, e.tBodies[0].rows.length])"
    )
    assert len(rows) == 7  # town and village rankings, categories, warnings, overdue x2, model health
    assert all(height > 0 and n > 0 for height, n in rows), rows
    text = p.inner_text("body")
    assert all(name in text for name in AREA_NAMES)
    p.screenshot(path=str(artifacts / "weekly-report.png"), full_page=True)


def test_report_page_fetches_nothing_and_logs_no_error(page) -> None:
    assert page.requests, "the page load itself should have been recorded"
    assert page.outside_requests() == []
    assert page.errors == []


def test_report_page_draws_chinese_with_a_cjk_font(page) -> None:
    cdp = page.page.context.new_cdp_session(page.page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    for selector in ("h1", "h2", "td", "svg.chart g text"):  # a chart's first area name
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        assert fonts and all(CJK_FONT.search(f["familyName"]) for f in fonts), (selector, fonts)


def test_report_page_masks_personal_numbers(page) -> None:
    html, text = page.page.content(), page.page.inner_text("body")
    assert PHONE not in html and ID_NUMBER not in html
    assert PHONE_MASKED in text and ID_MASKED in text


def test_report_prints_to_a4_pdf_with_exact_chinese_and_an_embedded_cjk_font(
    report_html: Path, artifacts: Path, chromium_path: str, pdffonts_path: str, cjk_fonts: list[str]
) -> None:
    from pypdf import PdfReader

    pdf = html_to_pdf(report_html, artifacts / "weekly-report.pdf", chromium=chromium_path)
    reader = PdfReader(pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (f"{TITLE} · {WEEK}", *SECTION_TITLES.values(), *AREA_NAMES, PHONE_MASKED):
        assert expected in text
    assert PHONE not in text and ID_NUMBER not in text
    assert "\ufffd" not in text and not RADICALS.findall(text)
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    fonts = subprocess.run([pdffonts_path, str(pdf)], capture_output=True, text=True, check=True).stdout
    embedded_cjk = [line for line in fonts.splitlines()[2:] if CJK_FONT.search(line) and " yes " in line]
    assert embedded_cjk, fonts


def test_page_probe_sees_a_request_that_would_leave_and_a_console_error(open_page, tmp_path: Path) -> None:
    """The offline and console checks above are not vacuous: a page that tries both is caught."""
    leaky = tmp_path / "leaky.html"
    leaky.write_text(
        '<!DOCTYPE html><img src="http://example.invalid/x.png"><script>console.error("boom")</script>',
        encoding="utf-8",
    )
    probe = open_page(leaky.as_uri())
    assert probe.outside_requests() == ["http://example.invalid/x.png"]
    assert "boom" in probe.errors


def test_html_to_pdf_names_the_fix_when_chromium_is_missing(report_html: Path, tmp_path: Path) -> None:
    with pytest.raises(DisputeRiskError) as caught:
        html_to_pdf(report_html, tmp_path / "r.pdf", chromium=tmp_path / "no-chromium")
    assert str(caught.value) == (
        f"chromium must be an executable, got '{tmp_path / 'no-chromium'}'; {INSTALL_HINT}"
    )
    assert "make browser-deps" in INSTALL_HINT and "apt-get install chromium fonts-noto-cjk" in INSTALL_HINT


def test_html_to_pdf_stops_chromium_at_the_timeout(
    report_html: Path, tmp_path: Path, chromium_path: str
) -> None:
    with pytest.raises(DisputeRiskError, match=r"^Chromium must print within 0.01 s, timed out on "):
        html_to_pdf(report_html, tmp_path / "r.pdf", chromium=chromium_path, timeout=0.01)
