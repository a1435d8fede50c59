"""``risk report``: the weekly 周研判 report of one ISO week, from the export, the 督办 queue and the
champion model, as an offline HTML page (charts as SVG, nothing fetched), Markdown, CSV tables and,
with ``--pdf``, a PDF. Exit code 0, or 2 when an input cannot be used (the message says which)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_MODEL = "models:/dispute-escalation@champion"


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    data: Annotated[Path, typer.Option("--data", help="dataset folder that follows the data contract")],
    week: Annotated[str, typer.Option("--week", help="ISO week, e.g. 2026-W47, or 'latest' (the export's last)")],
    out: Annotated[Path, typer.Option("--out", help="folder for the HTML, Markdown, CSV (and PDF)")],
    area: Annotated[
        str | None, typer.Option("--area", help="only this area's subtree (12-digit code)")
    ] = None,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="also print the page to PDF (headless Chromium)")
    ] = False,
    model: Annotated[str, typer.Option("--model", help="MLflow model URI")] = DEFAULT_MODEL,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", envvar="MLFLOW_TRACKING_URI")] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", envvar="DATABASE_URL", help="the 督办 queue (overdue items)"),
    ] = None,
) -> None:
    """Write the weekly report of WEEK (headline, area ranking, hotspots, warnings, overdue items,
    model health) into OUT."""
    from cli.logs import setup_logging
    from features.errors import DisputeRiskError

    setup_logging()
    try:
        week, written = _run(data, week, out, area, pdf, model, tracking_uri, database_url)
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"weekly report {week}{f' for {area}' if area else ''}:")
    for path in written:
        typer.echo(f"  {path}")


def _run(
    data: Path,
    week: str,
    out: Path,
    area: str | None,
    pdf: bool,
    model_uri: str,
    tracking_uri: str | None,
    database_url: str | None,
) -> tuple[str, list[Path]]:
    from datetime import UTC, datetime

    import pandas as pd

    from cli import weekly_report_job as job
    from features import area_codes
    from features.contract import load_dataset
    from features.schema import DEFAULT_TIMEZONE
    from risk.weeks import iso_week, week_start
    from serving.report_inputs import overdue_at, overdue_by_week, queue_items
    from serving.settings import Settings
    from training import registry

    dataset = load_dataset(data)
    if week == "latest" and dataset.export_date is not None:
        week = iso_week(dataset.export_date)
    start = week_start(week)
    if area is not None:
        area_codes.check(area, "--area")
    registry.configure(tracking_uri)
    escalation_model = registry.load_escalation_model(model_uri)
    now = datetime.now(UTC)
    items = queue_items(_engine(database_url or Settings().database_url), opened_before=now)
    end = (start + pd.Timedelta(days=7)).tz_localize(DEFAULT_TIMEZONE)
    weeks = pd.date_range(start - pd.Timedelta(weeks=job.ReportOptions().trend_weeks), start, freq="7D")
    built = job.build(
        job.ReportJob(week, area),
        dataset,
        escalation_model,
        model_version=registry.registered_version(model_uri),
        overdue_items=overdue_at(items, min(now, end.to_pydatetime())),
        overdue_weekly=overdue_by_week(items, weeks, DEFAULT_TIMEZONE),
        now=now,
    )
    return week, job.write(built, out, pdf=pdf)


def _engine(url: str):  # noqa: ANN202
    from serving.db import make_engine

    return make_engine(url)
