"""``risk report``: the weekly report from an export, the queue and a registered model, as files."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli.main import app
from risk.report_render import SECTION_TITLES


def _run(trained, tmp_path: Path, *args: str):
    return CliRunner().invoke(
        app,
        [
            "report", "--data", str(trained.data), "--model", f"models:/dispute-escalation/{trained.version}",
            "--tracking-uri", trained.tracking_uri, "--database-url", f"sqlite:///{tmp_path / 'queue.db'}", *args,
        ],
    )  # fmt: skip


def test_report_writes_an_offline_page_markdown_and_tables(trained, tmp_path: Path) -> None:
    result = _run(trained, tmp_path, "--week", "2025-W24", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "weekly-2025-W24.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=[\"']?https?://|url\([\"']?https?://", html)  # nothing from outside
    assert all(title in html for title in SECTION_TITLES) and html.count("<svg") >= 4
    markdown = (tmp_path / "out" / "weekly-2025-W24.md").read_text(encoding="utf-8")
    assert "2025-W24" in markdown and "区域风险排名" in markdown
    health = pd.read_csv(tmp_path / "out" / "weekly-2025-W24.model_health.csv")
    assert len(health) >= 4


def test_report_refuses_a_bad_week_or_area_naming_the_option(trained, tmp_path: Path) -> None:
    bad_week = _run(trained, tmp_path, "--week", "2025-24", "--out", str(tmp_path / "out"))
    assert (
        bad_week.exit_code == 2 and "week must be an ISO week like 2026-W47, got '2025-24'" in bad_week.output
    )
    bad_area = _run(trained, tmp_path, "--week", "2025-W24", "--area", "3206", "--out", str(tmp_path / "out"))
    assert bad_area.exit_code == 2 and "--area" in bad_area.output
    future = _run(trained, tmp_path, "--week", "2026-W10", "--out", str(tmp_path / "out"))
    assert future.exit_code == 2 and "the export must reach into week 2026-W10" in future.output
