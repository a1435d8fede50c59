"""``risk index``: the weekly 社会矛盾风险指数 of every area, from an export and the champion model.

Every case is scored as ``risk score`` scores it (features as of its registration, the hard flags),
then ``risk.area_index.weekly_area_index`` gives one row per area and ISO week. Exit code 0, or 2
when the data or the model cannot be used (the message says why).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.engine import Engine, EngineOption, SchedulerOption, cluster

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_MODEL = "models:/dispute-escalation@champion"


def register(app: typer.Typer) -> None:
    app.command("index")(index)


def index(
    data: Annotated[Path, typer.Option("--data", help="dataset folder that follows the data contract")],
    out: Annotated[Path, typer.Option("--out", help="output file, .csv or .parquet")],
    model: Annotated[str, typer.Option("--model", help="MLflow model URI")] = DEFAULT_MODEL,
    history: Annotated[
        Path | None, typer.Option("--history", help="dataset folder of earlier records (history only)")
    ] = None,
    from_date: Annotated[
        str | None, typer.Option("--from", help="first week: the ISO week of this date")
    ] = None,
    to_date: Annotated[str | None, typer.Option("--to", help="last week: the ISO week of this date")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", help="processes for the featurizer (default: this one; more only pays on many cores)"
        ),
    ] = None,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", envvar="MLFLOW_TRACKING_URI")] = None,
    store: Annotated[
        bool, typer.Option("--store", help="also upsert the rows into the queue database (for the API)")
    ] = False,
    database_url: Annotated[
        str | None, typer.Option("--database-url", envvar="DATABASE_URL", help="the queue database (--store)")
    ] = None,
    engine: EngineOption = Engine.LOCAL,
    scheduler: SchedulerOption = None,
) -> None:
    """Write the weekly risk index of every area (网格/村/镇/县/市) to a CSV or Parquet file; with
    --store, upsert it into the queue database too (GET /v1/areas/...)."""
    from cli.logs import setup_logging
    from features.errors import DisputeRiskError

    setup_logging()
    try:
        with cluster(engine, scheduler) as client:
            frame, seconds = _compute(
                data, model, history, from_date, to_date, workers, tracking_uri, on_cluster=client is not None
            )
        _write(frame, out)
        stored = _store(frame, model, database_url) if store else None
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"index: {len(frame):,} rows, {frame['area_code'].nunique():,} areas x {frame['week'].nunique()} weeks "
        f"({frame['week'].min()} .. {frame['week'].max()}); scoring {seconds[0]:.1f} s, index {seconds[1]:.1f} s"
    )
    last = frame[frame["week"] == frame["week"].max()]
    for level in ("town", "village"):
        top = last[last["level"] == level].nlargest(3, "index")
        shown = ", ".join(f"{r.name} {r.index:.0f}({r.band})" for r in top.itertuples())
        typer.echo(f"  top {level}s in {frame['week'].max()}: {shown}")
    typer.echo(f"written: {out}")
    if stored is not None:
        typer.echo(f"stored: {len(frame):,} rows in the queue database in {stored:.1f} s")


def _compute(
    data: Path,
    model_uri: str,
    history: Path | None,
    from_date: str | None,
    to_date: str | None,
    workers: int | None,
    tracking_uri: str | None,
    *,
    on_cluster: bool,
) -> tuple[pd.DataFrame, tuple[float, float]]:
    import time

    from features.areas import AreaTree
    from features.contract import load_dataset
    from risk.area_index import weekly_area_index
    from training import registry
    from training.score import score_for_index

    start, end = _day(from_date, "--from"), _day(to_date, "--to")
    registry.configure(tracking_uri)
    escalation_model = registry.load_escalation_model(model_uri)
    if on_cluster:  # scoring and the index together: the split of the seconds is not kept
        from training.distributed.score import index_on_cluster

        t = time.perf_counter()
        frame = index_on_cluster(
            escalation_model,
            data,
            earlier_dir=history,
            start=start,
            end=end,
        )
        return frame, (time.perf_counter() - t, 0.0)
    dataset = load_dataset(data)
    earlier = load_dataset(history) if history is not None else None
    t = time.perf_counter()
    scored = score_for_index(escalation_model, dataset, earlier=earlier, workers=workers)
    scoring = time.perf_counter() - t
    t = time.perf_counter()
    frame = weekly_area_index(scored, AreaTree.from_frame(dataset.areas), start=start, end=end)
    return frame, (scoring, time.perf_counter() - t)


def _write(frame: pd.DataFrame, out: Path) -> None:
    from training.score import write_table

    write_table(frame, out)


def _store(frame: pd.DataFrame, model_uri: str, database_url: str | None) -> float:
    """Upsert the rows into the queue database (migrated first); the seconds it took."""
    import time

    from serving.db import make_engine, upgrade
    from serving.index_archive import store_index
    from serving.settings import Settings
    from training import registry

    engine = make_engine(database_url or Settings().database_url)
    try:
        upgrade(engine)
        t = time.perf_counter()
        store_index(engine, frame, registry.registered_version(model_uri))
        return time.perf_counter() - t
    finally:
        engine.dispose()


def _day(value: str | None, option: str) -> object:
    """A --from/--to value: a date (its midnight) or a date-time, by the contract's rule."""
    from features.fields import parse_datetime

    if value is None:
        return None
    return parse_datetime(value if ("T" in value or " " in value) else f"{value}T00:00", option)
