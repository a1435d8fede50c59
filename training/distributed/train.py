"""`risk train --engine dask`: the training stages with the large train window on the cluster.

    load (``load``)  ->  prepare (``prepare_on_cluster``)  ->  fit (``fit_on_cluster``)
                     ->  judge + register + model card (``training.train.conclude``, unchanged)

``fit_on_cluster`` is ``training.fit.fit`` with one stage moved: the featurizer is fitted on the
train rows the client holds (``training.fit.fit_features``: the whole train window, or its
sample), the boosters with and without the text score train on the whole train window with
``lightgbm.dask`` (``boosting``), their rounds are cut on the validation window (``rounds``),
and ``training.fit.finish_fit`` does the rest exactly as on one machine (the validation window
picks text or not; calibrator and thresholds on the calibration window; the model with its
``HistoryState``). The registered object is the same ``EscalationModel`` with a plain
``lightgbm.Booster``, so it serves in the same API.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
from distributed import Client

from features.contract import Dataset
from features.schema import DEFAULT_HORIZON_DAYS
from training.boost import default_params, round_cap
from training.distributed.boosting import CHUNKS_PER_WORKER, cluster_booster, train_matrix
from training.distributed.cluster import dask_settings
from training.distributed.load import DaskDataset, load_dataset
from training.distributed.prepare import DEFAULT_TRAIN_SAMPLE, LABEL, prepare_on_cluster
from training.distributed.rounds import best_rounds
from training.fit import COLUMNS, Fitted, finish_fit, fit_features
from training.prepare import Prepared, resolve_as_of
from training.train import TrainResult, conclude

__all__ = ["ClusterFit", "fit_on_cluster", "run_training_on_cluster"]


def run_training_on_cluster(
    data_dir: Path,
    client: Client,
    *,
    tracking_uri: str | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    as_of: pd.Timestamp | str | None = None,
    holdout_days: int = 0,
    register: bool = True,
    quick: bool = False,
    seed: int = 0,
    n_boot: int | None = None,
    models_dir: Path | None = None,
    aliases: tuple[str, ...] = (),
    set_champion_if_missing: bool = True,
    train_sample: int = DEFAULT_TRAIN_SAMPLE,
) -> TrainResult:
    """``training.train.run_training`` on the cluster of ``client`` (same arguments and result)."""
    started = time.perf_counter()
    data = load_dataset(data_dir)
    loaded = time.perf_counter()
    on_cluster = prepare_on_cluster(
        data,
        as_of=resolve_as_of(data, as_of, holdout_days),
        horizon_days=horizon_days,
        train_sample=train_sample,
        seed=seed,
    )
    prepared_at = time.perf_counter()
    fitted = fit_on_cluster(on_cluster.prepared, on_cluster.train, client, quick=quick, seed=seed)
    seconds = {"load": loaded - started, "history": prepared_at - loaded, **fitted.seconds}
    return conclude(
        _example(data),
        on_cluster.prepared,
        fitted,
        seconds,
        tracking_uri=tracking_uri,
        register=register,
        quick=quick,
        seed=seed,
        n_boot=n_boot,
        models_dir=models_dir,
        aliases=aliases,
        set_champion_if_missing=set_champion_if_missing,
    )


def fit_on_cluster(
    prepared: Prepared, train: dd.DataFrame, client: Client, *, quick: bool = False, seed: int = 0
) -> Fitted:
    """``training.fit.fit`` with the boosters trained on ``train`` (the whole train window's case
    frame on the cluster, labels in ``LABEL``) by ``lightgbm.dask``; ``prepared.rows["train"]``:
    the train rows the featurizer learns from (see the module docstring)."""
    clock: dict[str, float] = {}
    t = time.perf_counter()
    featurizer, X = fit_features(prepared, quick)
    train_rows = prepared.rows["train"]
    crossfit = pd.Series(X[train_rows, -1], index=prepared.frame["case_id"].iloc[train_rows].to_numpy())
    X_train, y_train = train_matrix(train, LABEL, featurizer, crossfit, client)
    clock["features"] = time.perf_counter() - t

    t = time.perf_counter()
    names = list(featurizer.get_feature_names_out())
    valid = prepared.rows["validation"]
    boosters = {}
    for choice, cols in COLUMNS.items():
        booster = cluster_booster(
            X_train[:, cols],
            y_train,
            feature_names=names[cols],
            params=default_params(seed, quick=quick),
            rounds=round_cap(quick),
            client=client,
        )
        boosters[choice] = best_rounds(booster, X[valid][:, cols], prepared.y[valid])
    return finish_fit(prepared, featurizer, X, boosters, clock, train_started=t)


@dataclass(frozen=True)
class ClusterFit:
    """``fit_on_cluster`` for a Prepared held on the client, as ``training.retrain`` calls its fit
    stage (``risk retrain --engine dask``: the weekly run keeps its tables on the client for the
    feedback merge and the gate; the train window is sent to the workers and the boosters train
    there)."""

    client: Client

    def __call__(self, prepared: Prepared, *, quick: bool, seed: int) -> Fitted:
        train, y = prepared.window("train")
        workers = max(len(self.client.scheduler_info()["workers"]), 1)
        with dask_settings():
            frame = dd.from_pandas(train.assign(**{LABEL: y}), npartitions=workers * CHUNKS_PER_WORKER)
        return fit_on_cluster(prepared, frame, self.client, quick=quick, seed=seed)


def _example(data: DaskDataset) -> Dataset:
    """The first cases, as a Dataset: what the registered model's input example reads."""
    with dask_settings():
        cases = data.cases.head(2, npartitions=-1)
        parties = data.parties[data.parties["case_id"].isin(list(cases["case_id"]))]
        (parties,) = dask.compute(parties)
    return Dataset(cases, parties, data.areas, data.rejects, data.folder, {}, list(data.warnings))
