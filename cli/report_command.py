"""``risk report``: the weekly 周研判 report of one ISO week, from the export, the 督办 queue and the
champion model, as an offline HTML page (charts as SVG, nothing fetched), Markdown, CSV tables and,
with ``--pdf``, a PDF. Exit code 0, or 2 when an input cannot be used (the message says which)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

    from cli.weekly_report_job import WrittenReport

DEFAULT_MODEL = "models:/dispute-escalation@champion"


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    data: Annotated[Path, typer.Option("--data", help="dataset folder that follows the data contract")],
    week: Annotated[
        str, typer.Option("--week", help="ISO week, e.g. 2026-W47, or 'latest' (the export's last)")
    ],
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
    per_county: Annotated[
        bool, typer.Option("--per-county", help="the every-area report and one per county of the areas")
    ] = False,
    store: Annotated[
        bool, typer.Option("--store", help="also store the reports in the queue database (the API's archive)")
    ] = False,
) -> None:
    """Write the weekly report of WEEK (headline, area ranking, hotspots, warnings, overdue items,
    model health) into OUT; with --store, keep it (and its PDF) for GET /v1/reports too."""
    from cli.logs import setup_logging
    from features.errors import DisputeRiskError

    setup_logging()
    try:
        if per_county and area is not None:
            raise DisputeRiskError(
                "--per-county writes the every-area report and one per county; leave out --area"
            )
        week, written = _run(
            data, week, out, area, pdf, model, tracking_uri, database_url, per_county=per_county, store=store
        )
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for one in written:
        scope = one.report.scope_code
        typer.echo(f"weekly report {week}{f' for {scope}' if scope else ''}:")
        for path in one.files:
            typer.echo(f"  {path}")
    if store:
        typer.echo(f"stored {len(written)} report(s) in the queue database")


def _run(
    data: Path,
    week: str,
    out: Path,
    area: str | None,
    pdf: bool,
    model_uri: str,
    tracking_uri: str | None,
    database_url: str | None,
    *,
    per_county: bool,
    store: bool,
) -> tuple[str, list[WrittenReport]]:
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
    engine = _engine(database_url or Settings().database_url)
    items = queue_items(engine, opened_before=now)
    end = (start + pd.Timedelta(days=7)).tz_localize(DEFAULT_TIMEZONE)
    weeks = pd.date_range(start - pd.Timedelta(weeks=job.ReportOptions().trend_weeks), start, freq="7D")
    version = registry.registered_version(model_uri)
    inputs = job.prepare(
        job.ReportJob(week, area),
        dataset,
        escalation_model,
        model_version=version,
        overdue_items=overdue_at(items, min(now, end.to_pydatetime())),
        overdue_weekly=overdue_by_week(items, weeks, DEFAULT_TIMEZONE),
        now=now,
    )
    areas = [None, *_counties(dataset.areas)] if per_county else [area]
    written = [job.write(job.assemble(inputs, a), out, pdf=pdf) for a in areas]
    if store:
        _store(engine, written, version)
    return week, written


def _counties(areas: pd.DataFrame) -> list[str]:
    return sorted(areas.loc[areas["level"] == "county", "area_code"])


def _store(engine: Engine, written: list[WrittenReport], model_version: str | None) -> None:
    """Keep the reports in the queue database (migrated first), each replacing its week's and scope's."""
    from serving.db import make_sessionmaker, upgrade
    from serving.report_archive import store_report

    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        for one in written:
            pdf = one.pdf.read_bytes() if one.pdf is not None else None
            store_report(session, one.report, one.html.read_text(encoding="utf-8"), pdf, model_version)


def _engine(url: str):  # noqa: ANN202
    from serving.db import make_engine

    return make_engine(url)
