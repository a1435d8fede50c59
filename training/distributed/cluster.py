"""Where the Dask work runs: an existing cluster (a scheduler address) or a LocalCluster.

Every function of this package builds its task graphs inside ``dask_settings()``: pandas 3 and
Dask would otherwise turn the contract's text columns (object dtype, ``None`` for missing) into
Arrow strings, and the tables would no longer equal the single-machine ones.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import dask
from distributed import Client, LocalCluster

log = logging.getLogger(__name__)

# Graph-building settings: keep object columns as they are.
SETTINGS: dict[str, Any] = {"dataframe.convert-string": False}


def dask_settings() -> contextlib.AbstractContextManager[Any]:
    """The Dask configuration this package builds its graphs under."""
    return dask.config.set(SETTINGS)


@contextlib.contextmanager
def connect(
    scheduler: str | None = None,
    *,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    memory_limit: str | float | None = "auto",
    processes: bool = True,
) -> Iterator[Client]:
    """A client of the cluster at ``scheduler`` (``tcp://host:8786``), or of a LocalCluster with
    ``n_workers`` workers of ``threads_per_worker`` threads when ``scheduler`` is None. The local
    cluster (not an existing one) is closed on exit. Workers of an existing cluster need this
    package installed and the data on storage every one of them can read (docs/dask.md)."""
    if scheduler is not None:
        with Client(scheduler) as client:
            log.info("connected to the Dask scheduler at %s", scheduler)
            yield client
        return
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            memory_limit=memory_limit,
            processes=processes,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        log.info("local Dask cluster: %d workers x %d threads", n_workers, threads_per_worker)
        yield client
