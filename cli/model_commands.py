"""`risk train` and `risk score`. Heavy imports stay inside the functions."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.engine import Engine, EngineOption, SchedulerOption, cluster

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("score")(score)


def train(
    data: Annotated[Path, typer.Option("--data", help="dataset folder that follows the data contract")],
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", help="label: 民转刑 within this many days")
    ] = 90,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="train as of this date (default: the export's last date)")
    ] = None,
    holdout_days: Annotated[
        int,
        typer.Option("--holdout-days", help="leave the export's last N days out (as-of = export date - N)"),
    ] = 0,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri", envvar="MLFLOW_TRACKING_URI", help="MLflow store (default sqlite under models/)"
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="small text vocabulary and fewer rounds (tests, smoke runs)")
    ] = False,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    no_register: Annotated[
        bool, typer.Option("--no-register", help="log the run but do not register the model")
    ] = False,
    engine: EngineOption = Engine.LOCAL,
    scheduler: SchedulerOption = None,
) -> None:
    """Train the escalation model on a contract dataset, evaluate it on a later test window against
    two baselines, write its model card and register it in MLflow (alias champion if none yet)."""
    from cli.logs import setup_logging
    from features.errors import DisputeRiskError

    setup_logging()
    from functools import partial

    from training.report import summary_text
    from training.train import run_training

    try:
        with cluster(engine, scheduler) as client:
            train_on = run_training
            if client is not None:
                from training.distributed.train import run_training_on_cluster

                train_on = partial(run_training_on_cluster, client=client)
            result = train_on(
                data,
                tracking_uri=tracking_uri,
                horizon_days=horizon_days,
                as_of=as_of,
                holdout_days=holdout_days,
                register=not no_register,
                quick=quick,
                seed=seed,
            )
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(summary_text(result.prepared, result.fitted, result.judgement, result.seconds))
    typer.echo(f"model: {result.registration.model_uri}  run: {result.registration.run_id}")
    typer.echo(f"model card: {result.card_path}")


def score(
    data: Annotated[Path, typer.Option("--data", help="dataset folder of cases to score (contract)")],
    out: Annotated[Path, typer.Option("--out", help="output file, .csv or .parquet")],
    model: Annotated[
        str, typer.Option("--model", help="MLflow model URI")
    ] = "models:/dispute-escalation@champion",
    history: Annotated[
        Path | None, typer.Option("--history", help="dataset folder of earlier records (history only)")
    ] = None,
    recent_days: Annotated[
        int,
        typer.Option("--recent-days", help="score only the last N days of --data; earlier rows are history"),
    ] = 0,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", envvar="MLFLOW_TRACKING_URI")] = None,
    engine: EngineOption = Engine.LOCAL,
    scheduler: SchedulerOption = None,
) -> None:
    """Score a dataset with a registered model: risk, warning level and reasons per case."""
    from cli.logs import setup_logging
    from features.errors import DisputeRiskError

    setup_logging()
    import time

    from training import registry
    from training.score import score_dataset, write_table

    try:
        registry.configure(tracking_uri)
        escalation_model = registry.load_escalation_model(model)
        started = time.perf_counter()
        with cluster(engine, scheduler) as client:
            score_on = score_dataset
            if client is not None:
                from training.distributed.score import score_on_cluster

                score_on = score_on_cluster  # type: ignore[assignment]  # the same .scores and .rejects
            scored = score_on(
                escalation_model,
                data,
                model_version=registry.registered_version(model),
                history_dir=history,
                recent_days=recent_days,
            )
        seconds = time.perf_counter() - started
        write_table(scored.scores, out)
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    scores, rejects = scored.scores, scored.rejects
    counts = scores["level"].value_counts()
    typer.echo(
        f"scored {len(scores):,} cases in {seconds:.1f} s ({len(scores) / max(seconds, 1e-9):,.0f} cases/s); rejected rows: {rejects}"
    )
    typer.echo(
        "levels: " + ", ".join(f"{lvl} {int(counts.get(lvl, 0))}" for lvl in ("红", "橙", "黄", "蓝", "无"))
    )
    typer.echo(f"written: {out}")
    if rejects:
        sys.exit(0)
