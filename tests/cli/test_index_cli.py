"""``risk index``: the weekly area index from an export and a registered model, as a file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli.main import app
from risk.area_index import OUTPUT_COLUMNS

REQUIRED = ("area_code", "level", "week", "week_start", "index", "lower", "upper", "band", "trend",
            "expected_escalations", "cases", "escalations")  # fmt: skip


def _run(trained, *args: str):
    model = [
        "--model",
        f"models:/dispute-escalation/{trained.version}",
        "--tracking-uri",
        trained.tracking_uri,
    ]
    return CliRunner().invoke(app, ["index", "--data", str(trained.data), *model, *args])


def test_index_writes_one_row_per_area_and_iso_week(trained, tmp_path: Path) -> None:
    out = tmp_path / "index.parquet"
    result = _run(trained, "--out", str(out), "--from", "2025-03-03", "--to", "2025-04-27")
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert set(REQUIRED) <= set(frame.columns) and list(frame.columns) == list(OUTPUT_COLUMNS)
    assert sorted(frame["week"].unique()) == [f"2025-W{w:02d}" for w in range(10, 18)]
    assert not frame.duplicated(["area_code", "week"]).any()
    assert set(frame["level"]) >= {"city", "county", "town", "village"}
    assert frame["index"].between(0, 100).all() and (frame["lower"] <= frame["upper"]).all()
    assert "top towns in 2025-W17" in result.output


def test_index_csv_opens_in_excel_and_a_bad_date_is_a_clear_error(trained, tmp_path: Path) -> None:
    out = tmp_path / "index.csv"
    assert _run(trained, "--out", str(out), "--from", "2025-04-21").exit_code == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    bad = _run(trained, "--out", str(out), "--from", "2025-13-01")
    assert bad.exit_code == 2 and "--from" in bad.output and "calendar date" in bad.output
