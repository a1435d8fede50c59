"""``--engine {local,dask}`` and ``--scheduler ADDRESS``, shared by ``risk train``, ``score``,
``index`` and ``retrain``: where the batch work runs (docs/dask.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from distributed import Client


class Engine(StrEnum):
    LOCAL = "local"
    DASK = "dask"


EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine", help="local: this process; dask: a Dask cluster (--scheduler, or a LocalCluster here)"
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786) for --engine dask; default: a LocalCluster",
    ),
]


@contextlib.contextmanager
def cluster(engine: Engine, scheduler: str | None) -> Iterator[Client | None]:
    """The Dask client for ``--engine dask`` (closed on exit), None for the local engine."""
    from features.errors import DisputeRiskError

    if engine is Engine.LOCAL:
        if scheduler is not None:
            raise DisputeRiskError("--scheduler is for --engine dask; the local engine runs in this process")
        yield None
        return
    import logging

    from training.distributed.cluster import connect

    # distributed logs every worker's start and stop at INFO and a WARNING at the start and end of
    # every P2P shuffle: noise on a terminal (RISK_LOG_LEVEL=INFO still shows the rest)
    logging.getLogger("distributed").setLevel(max(logging.getLogger().level, logging.WARNING))
    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
    with connect(scheduler) as client:
        yield client
