"""`risk train` and `risk score`. Heavy imports stay inside the functions."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("score")(score)


def train(
    data: Path = typer.Option(..., "--data", help="dataset folder that follows the data contract"),
    horizon_days: int = typer.Option(90, "--horizon-days", help="label: 民转刑 within this many days"),
    as_of: str = typer.Option(None, "--as-of", help="train as of this date (default: the export's last date)"),
    holdout_days: int = typer.Option(0, "--holdout-days", help="leave the export's last N days out (as-of = export date - N)"),
    tracking_uri: str = typer.Option(None, "--tracking-uri", envvar="MLFLOW_TRACKING_URI", help="MLflow store (default sqlite under models/)"),
    quick: bool = typer.Option(False, "--quick", help="small text vocabulary and fewer rounds (tests, smoke runs)"),
    seed: int = typer.Option(0, "--seed"),
    no_register: bool = typer.Option(False, "--no-register", help="log the run but do not register the model"),
) -> None:
    """Train the escalation model on a contract dataset, evaluate it on a later test window against
    two baselines, write its model card and register it in MLflow (alias champion if none yet)."""
    from cli.logs import setup_logging
    from features.errors import DisputeRiskError

    setup_logging()
    import pandas as pd

    from training.report import summary_text
    from training.train import run_training

    try:
        when = pd.Timestamp(as_of) if as_of else None
        if holdout_days:
            if when is not None:
                raise DisputeRiskError("give either --as-of or --holdout-days, not both")
            from features.contract import load_dataset

            when = load_dataset(data, write_rejects=False).export_date.normalize() - pd.Timedelta(days=holdout_days)
        report = run_training(data, tracking_uri=tracking_uri, horizon_days=horizon_days, as_of=when,
                              register=not no_register, quick=quick, seed=seed)
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(summary_text(report))
    typer.echo(f"model: {report.model_uri}  run: {report.run_id}")
    typer.echo(f"model card: {report.card_path}")


def score(
    data: Path = typer.Option(..., "--data", help="dataset folder of cases to score (contract)"),
    out: Path = typer.Option(..., "--out", help="output file, .csv or .parquet"),
    model: str = typer.Option("models:/dispute-escalation@champion", "--model", help="MLflow model URI"),
    history: Path = typer.Option(None, "--history", help="dataset folder of earlier records (history only)"),
    recent_days: int = typer.Option(0, "--recent-days", help="score only the last N days of --data; earlier rows are history"),
    tracking_uri: str = typer.Option(None, "--tracking-uri", envvar="MLFLOW_TRACKING_URI"),
) -> None:
    """Score a dataset with a registered model: risk, warning level and reasons per case."""
    from cli.logs import setup_logging
    from features.errors import DisputeRiskError

    setup_logging()
    import time

    from training import registry
    from training.score import score_dataset, write_scores

    try:
        registry.configure(tracking_uri)
        escalation_model = registry.load_escalation_model(model)
        started = time.perf_counter()
        scores, rejects = score_dataset(escalation_model, data, history_dir=history, recent_days=recent_days)
        seconds = time.perf_counter() - started
        write_scores(scores, out)
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    counts = scores["level"].value_counts()
    typer.echo(f"scored {len(scores):,} cases in {seconds:.1f} s ({len(scores) / max(seconds, 1e-9):,.0f} cases/s); rejected rows: {rejects}")
    typer.echo("levels: " + ", ".join(f"{lvl} {int(counts.get(lvl, 0))}" for lvl in ("红", "橙", "黄", "蓝", "无")))
    typer.echo(f"written: {out}")
    if rejects:
        sys.exit(0)
