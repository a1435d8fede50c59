"""LightGBM on the cluster: the train window's matrix built and kept on the workers, balanced
across them, and trained with ``lightgbm.dask.DaskLGBMClassifier``; then a plain local Booster.

- **Parameters**: ``training.boost.default_params`` and the catalogue's monotone constraints
  (``booster_params``), as on one machine, but for ``num_threads``: ``lightgbm.dask`` runs
  LightGBM in each worker with that worker's thread count (``--nthreads``).
- **Balanced partitions**: every worker taking part must hold rows. The matrix is cut into
  equal chunks (``CHUNKS_PER_WORKER`` per worker), persisted, and ``rebalance``d; a worker left
  without a chunk is an error rather than a hang.
- **Ports**: ``lightgbm.dask`` opens one listening port per worker (a random free one unless
  ``local_listen_port`` is given); those ports must be reachable between hosts. Run one Dask
  worker per host (``dask worker --nworkers 1 --nthreads N``): a fixed port fails when two
  workers share a host.
- **No early stopping**: training runs to the round cap; ``rounds.best_rounds`` cuts it on the
  validation window.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any, Final

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.delayed import delayed
from distributed import Client, wait
from lightgbm.dask import DaskLGBMClassifier

from features.build import CaseFeaturizer
from features.errors import DisputeRiskError
from training.boost import booster_params, column_names
from training.distributed.cluster import dask_settings

__all__ = ["cluster_booster", "train_matrix"]
log = logging.getLogger(__name__)

CHUNKS_PER_WORKER: Final = 2


def train_matrix(
    train: dd.DataFrame, label: str, featurizer: CaseFeaturizer, crossfit: pd.Series, client: Client
) -> tuple[da.Array, da.Array]:
    """The model matrix (float32) and labels of the train window, persisted on the workers in
    equal chunks. ``crossfit``: case_id -> the cross-fitted text score of the rows the narrative
    model learned from (their plain transform would have seen their own label)."""
    names = [str(n) for n in featurizer.get_feature_names_out()]
    columns = [*names, label]
    with dask_settings():
        meta = pd.DataFrame({c: pd.Series(dtype=np.float32) for c in columns})
        rows = train.map_partitions(_rows, delayed(featurizer), delayed(crossfit), label, columns, meta=meta)
        rows = rows.persist()
        wait(rows)
        lengths = tuple(int(n) for n in rows.map_partitions(len).compute())
        n = sum(lengths)
        workers = len(client.scheduler_info()["workers"])
        chunk = max(math.ceil(n / (workers * CHUNKS_PER_WORKER)), 1)
        matrix = _placed(rows.to_dask_array(lengths=lengths).rechunk((chunk, len(columns))), client)
        del rows
        return matrix[:, :-1], matrix[:, -1]


def _placed(matrix: da.Array, client: Client) -> da.Array:
    """The chunks of ``matrix`` computed round-robin on the workers and kept there, so that each
    worker holds about as many rows (``client.rebalance`` leaves small data where it is)."""
    workers = sorted(client.scheduler_info()["workers"])
    blocks = matrix.to_delayed().ravel()
    futures = [
        client.compute(block, workers=[workers[i % len(workers)]], allow_other_workers=False)
        for i, block in enumerate(blocks)
    ]
    wait(futures)
    holding = {w for ws in client.who_has(futures).values() for w in ws}
    if len(holding) < min(len(workers), len(futures)):
        raise DisputeRiskError(
            f"the train matrix ({matrix.shape[0]:,} rows) is held by {len(holding)} of {len(workers)} "
            "workers; every worker LightGBM uses must hold rows"
        )
    parts = [
        da.from_delayed(future, shape=(rows, matrix.shape[1]), dtype=matrix.dtype)
        for future, rows in zip(futures, matrix.chunks[0], strict=True)
    ]
    return da.concatenate(parts, axis=0)


def _rows(
    part: pd.DataFrame, featurizer: CaseFeaturizer, crossfit: pd.Series, label: str, columns: list[str]
) -> pd.DataFrame:
    if not len(part):
        return pd.DataFrame({c: pd.Series(dtype=np.float32) for c in columns})
    X = featurizer.transform(part)
    if featurizer.text_ is not None:  # the text score is the last column
        own = part["case_id"].map(crossfit).to_numpy(dtype=np.float64)
        X[:, -1] = np.where(np.isnan(own), X[:, -1], own)
    out = pd.DataFrame(X, columns=columns[:-1])
    out[label] = part[label].to_numpy(dtype=np.float32)
    return out


def cluster_booster(
    X: da.Array,
    y: da.Array,
    *,
    feature_names: list[str],
    params: dict[str, Any],
    rounds: int,
    client: Client,
) -> Any:
    """``DaskLGBMClassifier`` trained to ``rounds`` on the persisted matrix; the local Booster."""
    settings = booster_params(params, feature_names)
    # lightgbm.dask gives each worker's LightGBM the worker's own thread count; no eval_set here
    for name in ("num_threads", "metric", "first_metric_only"):
        settings.pop(name, None)
    model = DaskLGBMClassifier(client=client, n_estimators=rounds, **settings)
    with warnings.catch_warnings():  # it always warns that the estimator's n_jobs is ignored
        warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
        model.fit(X, y.astype(np.int64), feature_name=column_names(len(feature_names)))
    log.info("lightgbm.dask: %d rounds on %d workers", rounds, len(client.scheduler_info()["workers"]))
    return model.to_local().booster_
