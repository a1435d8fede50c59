"""Stage 2 of training on a Dask cluster: what was known at the as-of date, labelled and cut
into time windows, with the train window's case frame left on the cluster.

Every rule is the single-machine one (``training.labels``, ``training.split``), applied per
partition; the history is ``history_features`` (exact). What comes to the client:

- the narrow event columns of every case and party known at the as-of date (ids, times, area,
  outcome; no narrative): the model's ``HistoryState`` holds these anyway, and the temporal
  split cuts at quantiles of the labelled cases' times exactly as one machine does;
- the case frame of the validation, calibration and test windows (the recent 40%, small beside
  the years of the train window), which the booster's rounds, the calibrator, the thresholds
  and the judge read;
- the train window whole when it has at most ``train_sample`` rows, else a seeded random sample
  of about that many rows: the narrative model and the baselines learn from it (a bounded fit
  on one machine), while the booster trains on the whole train window on the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from training.distributed.cluster import dask_settings
from training.distributed.featurize import case_frame
from training.distributed.history import history_features
from training.distributed.load import DaskDataset
from training.labels import cases_known_at, horizon_labels
from training.prepare import Prepared, truth_for
from training.split import WINDOWS, temporal_split, window_of

__all__ = ["ClusterPrepared", "prepare_on_cluster"]

LABEL: Final = "_label"
WINDOW: Final = "_window"
# The columns of a case the history state reads (the narrative stays on the cluster).
EVENT_COLUMNS: Final = ("case_id", "registered_at", "area_code", "escalated", "escalated_at")
HISTORY_PARTY_COLUMNS: Final = ("case_id", "party_id", "party_type", "key_groups")
DEFAULT_TRAIN_SAMPLE: Final = 200_000


@dataclass(frozen=True)
class ClusterPrepared:
    """``prepared``: on the client, as ``training.prepare.Prepared`` with ``rows["train"]`` the
    train rows held here (all, or a sample; ``labelled_total`` then counts every labelled case),
    ``cases``/``parties`` narrow. ``train``: the whole train window's case frame on the cluster,
    with the label in ``LABEL``."""

    prepared: Prepared
    train: dd.DataFrame
    n_train: int

    @property
    def sampled(self) -> bool:
        return len(self.prepared.rows["train"]) < self.n_train


def prepare_on_cluster(
    data: DaskDataset,
    *,
    as_of: pd.Timestamp,
    horizon_days: int,
    train_sample: int = DEFAULT_TRAIN_SAMPLE,
    seed: int = 0,
) -> ClusterPrepared:
    """The cluster's ``prepare``: see the module docstring for what stays where."""
    as_of = pd.Timestamp(as_of)
    with dask_settings():
        cases = data.cases.map_partitions(cases_known_at, as_of, meta=data.cases._meta)
        labels = cases.map_partitions(
            _labels, horizon_days, as_of, meta=pd.Series(dtype="float64", name=LABEL)
        )
        events = cases[[c for c in EVENT_COLUMNS if c in cases.columns]].assign(**{LABEL: labels})
        parties = data.parties[[c for c in HISTORY_PARTY_COLUMNS if c in data.parties.columns]]
        events, parties = dask.compute(events, parties)
        events = events.sort_values(["registered_at", "case_id"], kind="stable")
        parties = parties[parties["case_id"].isin(events["case_id"])].reset_index(drop=True)
        labelled = events[LABEL].notna()
        split = temporal_split(events["registered_at"], labelled)  # exactly the single-machine cut

        # kept on the workers: the held rows, the recent windows and the train matrix all read it
        history = history_features(cases, data.parties, data.population()).persist()
        frame = case_frame(cases, history).assign(**{LABEL: labels})
        frame = frame.map_partitions(_with_window, dict(split.starts), meta=_with_window(frame._meta, {}))
        frame = frame[frame[WINDOW] != ""]
        train = frame[frame[WINDOW] == "train"].drop(columns=WINDOW)
        n_train = int(split.mask("train").sum())
        held = (
            train if n_train <= train_sample else train.sample(frac=train_sample / n_train, random_state=seed)
        )
        recent, held = dask.compute(frame[frame[WINDOW] != "train"], held.assign(**{WINDOW: "train"}))
    client_frame = (
        pd.concat([held, recent])
        .sort_values(["registered_at", "case_id"], kind="stable")
        .reset_index(drop=True)
    )
    y = client_frame.pop(LABEL).to_numpy()
    window = client_frame.pop(WINDOW).to_numpy()
    all_y = events.loc[labelled, LABEL].to_numpy()
    windows = {
        name: {**description, "n_pos": int(all_y[split.mask(name)[labelled.to_numpy()]].sum())}
        for name, description in split.describe().items()
    }
    population = data.population()
    prepared = Prepared(
        data_dir=data.folder,
        as_of=as_of,
        horizon_days=horizon_days,
        cases=events.drop(columns=LABEL).reset_index(drop=True),
        parties=parties,
        population=MappingProxyType(population),
        frame=client_frame,
        y=y,
        rows=MappingProxyType({w: np.flatnonzero(window == w) for w in WINDOWS}),
        windows=MappingProxyType(windows),
        oracle=truth_for(data.folder, client_frame["case_id"]),
        rejects=len(data.rejects),
        labelled_total=(int(labelled.sum()), int(all_y.sum())),
    )
    return ClusterPrepared(prepared, train, n_train)


def _labels(cases: pd.DataFrame, horizon_days: int, as_of: pd.Timestamp) -> pd.Series:
    return horizon_labels(cases, horizon_days, as_of).rename(LABEL)


def _with_window(frame: pd.DataFrame, starts: dict[str, pd.Timestamp]) -> pd.DataFrame:
    if not starts:  # the meta
        return frame.assign(**{WINDOW: pd.Series(dtype=object)})
    return frame.assign(**{WINDOW: window_of(frame["registered_at"], frame[LABEL].notna(), starts)})
