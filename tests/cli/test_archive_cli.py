"""``risk index --store`` and ``risk report --per-county --store``: the index and the weekly reports
kept in the queue database for the API, from the session model and its demo export, on SQLite and
PostgreSQL. Running either again replaces what it stored."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from serving.db import make_engine, make_sessionmaker
from serving.tables import AreaIndex, WeeklyReportRow


def _risk(trained, *args: str):
    model = [
        "--model",
        f"models:/dispute-escalation/{trained.version}",
        "--tracking-uri",
        trained.tracking_uri,
    ]
    return CliRunner().invoke(app, [*args, "--data", str(trained.data), *model])


def _rows(url: str, *columns) -> list:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        rows = session.execute(select(*columns)).all()
    engine.dispose()
    return rows


def test_index_store_upserts_every_row_of_the_file(trained, tmp_path: Path, db_url: str) -> None:
    out = tmp_path / "index.parquet"
    args = (
        "index",
        "--out",
        str(out),
        "--from",
        "2025-04-14",
        "--to",
        "2025-04-27",
        "--store",
        "--database-url",
        db_url,
    )
    first = _risk(trained, *args)
    assert first.exit_code == 0, first.output
    again = _risk(trained, *args)
    assert again.exit_code == 0, again.output
    frame = pd.read_parquet(out)
    stored = _rows(db_url, AreaIndex.area_code, AreaIndex.week, AreaIndex.index, AreaIndex.model_version)
    assert len(stored) == len(frame) and f"stored: {len(frame):,} rows" in again.output
    by_key = {(code, week): (index, version) for code, week, index, version in stored}
    for row in frame.sample(20, random_state=1).itertuples():
        assert by_key[(row.area_code, row.week)][0] == row.index
    assert {version for _, version in by_key.values()} == {trained.version}


def test_report_per_county_stores_the_every_area_report_and_one_per_county(
    trained, tmp_path: Path, db_url: str
) -> None:
    args = ("report", "--week", "2025-W24", "--out", str(tmp_path / "out"), "--per-county", "--store",
            "--database-url", db_url)  # fmt: skip
    first = _risk(trained, *args)
    assert first.exit_code == 0, first.output
    areas = pd.read_csv(trained.data / "areas.csv", dtype=str)
    counties = sorted(areas.loc[areas["level"] == "county", "area_code"])
    assert len(counties) >= 2 and f"stored {1 + len(counties)} report(s)" in first.output
    html = sorted(p.name for p in (tmp_path / "out").glob("*.html"))
    assert html == sorted(["weekly-2025-W24.html", *(f"weekly-2025-W24-{c}.html" for c in counties)])
    ids = dict(_rows(db_url, WeeklyReportRow.scope_code, WeeklyReportRow.id))
    again = _risk(trained, *args)
    assert again.exit_code == 0, again.output
    stored = _rows(
        db_url, WeeklyReportRow.scope_code, WeeklyReportRow.id, WeeklyReportRow.week, WeeklyReportRow.pdf
    )
    assert sorted(stored, key=lambda r: r[0] or "") == [
        (scope, ids[scope], "2025-W24", None) for scope in (None, *counties)
    ]  # one per scope, replaced in place, no PDF without --pdf
    count = _rows(db_url, func.count(WeeklyReportRow.html.distinct()))
    assert count == [(1 + len(counties),)]  # each report's own page


def test_per_county_and_area_together_is_refused(trained, tmp_path: Path) -> None:
    result = _risk(trained, "report", "--week", "2025-W24", "--out", str(tmp_path), "--per-county", "--area",
                   "320612000000")  # fmt: skip
    assert result.exit_code == 2
    assert "--per-county writes the every-area report and one per county; leave out --area" in result.output
