"""``risk retrain`` (weekly, from cron / a systemd timer / a Kubernetes CronJob), ``risk rollback``
and ``risk backtest``.

Exit codes of ``risk retrain``: 0 the challenger was promoted, 3 the champion was kept (a normal
outcome), 2 the run failed or could not start (the champion is untouched either way)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.engine import Engine, EngineOption, SchedulerOption, cluster

EXIT_PROMOTED, EXIT_KEPT, EXIT_FAILED = 0, 3, 2


def register(app: typer.Typer) -> None:
    app.command("retrain")(retrain)
    app.command("rollback")(rollback)
    app.command("backtest")(backtest)


def retrain(
    data: Annotated[Path | None, typer.Option("--data", help="dataset folder (the data contract)")] = None,
    database: Annotated[
        str | None,
        typer.Option("--database", help="database URL holding the contract's cases/parties/areas tables"),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="train as of this date (default: the data's end)")
    ] = None,
    queue_url: Annotated[
        str | None,
        typer.Option(
            "--queue-url", envvar="DATABASE_URL", help="the 督办 queue whose outcomes complete the labels"
        ),
    ] = None,
    no_queue: Annotated[bool, typer.Option("--no-queue", help="do not read the queue's outcomes")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the outcome as one JSON object")] = False,
    quick: Annotated[
        bool, typer.Option("--quick", help="small vocabulary, fewer rounds (tests, smoke runs)")
    ] = False,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", envvar="MLFLOW_TRACKING_URI")] = None,
    models_dir: Annotated[
        Path | None, typer.Option("--models-dir", help="model cards and the run lock")
    ] = None,
    engine: EngineOption = Engine.LOCAL,
    scheduler: SchedulerOption = None,
) -> None:
    """Train a challenger as of a date, judge it against the champion on the same matured window,
    and promote it only when the gate says so."""
    from cli.logs import setup_logging
    from features.errors import DisputeRiskError

    setup_logging()
    try:
        if engine is Engine.DASK and database is not None:
            raise DisputeRiskError(
                "--engine dask reads a dataset folder (--data); --database is read by the local engine only"
            )
        with cluster(engine, scheduler) as client:
            outcome = _retrain(
                data,
                database,
                as_of,
                None if no_queue else queue_url,
                quick,
                tracking_uri,
                models_dir,
                client,
            )
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from exc
    if as_json:
        typer.echo(json.dumps(outcome.as_json(), ensure_ascii=False, default=str))
    else:
        _print(outcome)
    raise typer.Exit(EXIT_PROMOTED if outcome.promoted else EXIT_KEPT)


def _retrain(data, database, as_of, queue_url, quick, tracking_uri, models_dir, client):  # noqa: ANN001, ANN202
    import pandas as pd

    from features.contract import load_dataset
    from features.errors import DisputeRiskError
    from training.fit import fit
    from training.retrain import RetrainConfig, retrain

    if (data is None) == (database is None):
        raise DisputeRiskError("give exactly one of --data DIR or --database URL")
    if data is not None and client is not None:  # validated on the cluster (a folder of files works too)
        from training.distributed.load import load_dataset as load_on_cluster

        dataset = load_on_cluster(data).to_local()
    elif data is not None:
        dataset = load_dataset(data)
    else:
        from training.database import load_from_database

        dataset = load_from_database(database)
    config = RetrainConfig(as_of=pd.Timestamp(as_of) if as_of else None, quick=quick)
    fit_stage = fit
    if client is not None:  # the challenger's boosters train on the cluster; the gate stays here
        from training.distributed.train import ClusterFit

        fit_stage = ClusterFit(client)
    return retrain(
        dataset,
        feedback=_queue_feedback(queue_url),
        config=config,
        tracking_uri=tracking_uri,
        models_dir=models_dir,
        fit_stage=fit_stage,
    )


def _queue_feedback(url: str | None):  # noqa: ANN202
    """The queue's closed outcomes (what GET /v1/feedback gives, every area), None without a queue."""
    if url is None:
        return None
    import pandas as pd
    from sqlalchemy import inspect
    from sqlalchemy.orm import Session

    from serving.db import make_engine
    from serving.queries import FEEDBACK_COLUMNS, feedback_labels

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("items"):
                return None
        with Session(engine) as session:
            rows = feedback_labels(session, scope=None, since=None)
    finally:
        engine.dispose()
    return pd.DataFrame(rows, columns=list(FEEDBACK_COLUMNS))


def _print(outcome) -> None:  # noqa: ANN001
    decision = outcome.decision
    head = "already decided for this as-of date and data: " if outcome.repeated else ""
    typer.echo(
        f"{head}{outcome.status}: challenger v{outcome.challenger_version} vs champion v{outcome.champion_version}"
    )
    typer.echo(f"as of {outcome.as_of}; window {outcome.window['from']}..{outcome.window['to']}, "
               f"{outcome.window['n']:,} cases, {outcome.window['n_pos']} escalations ({outcome.window['rule']})")  # fmt: skip
    for reason in decision["reasons"]:
        typer.echo(f"  - {reason}")
    if outcome.feedback:
        typer.echo(f"queue outcomes: {outcome.feedback}")
    for warning in outcome.monitoring_warnings:
        typer.echo(f"  monitoring: {warning}")


def rollback(
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", envvar="MLFLOW_TRACKING_URI")] = None,
) -> None:
    """Move the champion alias back to the previous version (a running API follows it)."""
    from cli.logs import setup_logging
    from features.errors import DisputeRiskError
    from risk.model import MODEL_NAME
    from training import aliases, registry

    setup_logging()
    try:
        registry.configure(tracking_uri)
        left, back_to = aliases.rollback(MODEL_NAME)
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from exc
    typer.echo(f"champion: v{left} -> v{back_to} (previous is now v{left})")


def backtest(
    data: Annotated[Path, typer.Option("--data", help="dataset folder (the data contract)")],
    start: Annotated[str, typer.Option("--start", help="first weekly as-of date")],
    end: Annotated[str, typer.Option("--end", help="last weekly as-of date")],
    out: Annotated[Path | None, typer.Option("--out", help="write the weekly table as CSV")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="small vocabulary, fewer rounds")] = False,
) -> None:
    """Replay weekly retraining over history: each week's decision, and what the gate, always
    promoting and never retraining would each have scored on the weeks that followed."""
    from cli.logs import setup_logging
    from features.contract import load_dataset
    from features.errors import DisputeRiskError
    from training.backtest import BacktestConfig, run_backtest, summary_lines

    setup_logging()
    import pandas as pd

    try:
        result = run_backtest(
            load_dataset(data), BacktestConfig(start=pd.Timestamp(start), end=pd.Timestamp(end), quick=quick)
        )
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from exc
    for line in summary_lines(result):
        typer.echo(line)
    if out is not None:
        result.weeks.to_csv(out, index=False, encoding="utf-8-sig")
        typer.echo(f"written: {out}")
