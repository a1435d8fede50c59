"""Stage 2 of training: what was known at the as-of date, labelled and cut into time windows.

``prepare`` turns a loaded dataset into the frame every later stage reads: cases registered by
the as-of date with their as-of history features, the label of each mature case, and the rows of
each window (train / validation / calibration / test). Nothing is fitted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import pandas as pd

from features.areas import population_of
from features.build import case_frame
from features.contract import Dataset
from features.errors import DisputeRiskError
from features.history_batch import compute_history_features
from training.labels import as_of_view, horizon_labels
from training.split import WINDOWS, temporal_split


@dataclass(frozen=True)
class Prepared:
    """The labelled cases of one training run, as known at ``as_of``."""

    data_dir: Path
    as_of: pd.Timestamp
    horizon_days: int
    cases: pd.DataFrame  # every case registered by as_of (sorted by time), labelled or not
    parties: pd.DataFrame
    population: Mapping[str, float]
    frame: pd.DataFrame  # the labelled cases with their history columns, in time order
    y: np.ndarray  # 0/1 label of each row of ``frame``
    rows: Mapping[str, np.ndarray]  # window -> row positions in ``frame``
    windows: Mapping[str, Mapping[str, Any]]  # window -> from, to, n, n_pos
    oracle: np.ndarray | None  # the demo generator's true probability of each frame row, if known
    rejects: int
    # (rows, escalations) of every labelled case when ``frame`` holds only a sample of the train
    # window (the Dask path, training.distributed.prepare); None: ``frame`` is all of them
    labelled_total: tuple[int, int] | None = None

    @property
    def n_labelled(self) -> int:
        return len(self.frame) if self.labelled_total is None else self.labelled_total[0]

    @property
    def base_rate(self) -> float:
        if self.labelled_total is None:
            return float(self.y.mean())
        return self.labelled_total[1] / max(self.labelled_total[0], 1)

    def window(self, name: str) -> tuple[pd.DataFrame, np.ndarray]:
        """The frame rows and labels of one window."""
        rows = self.rows[name]
        return self.frame.iloc[rows].reset_index(drop=True), self.y[rows]


class Export(Protocol):
    """What the as-of rule reads of a loaded dataset (``features.contract.Dataset`` or the Dask
    path's ``DaskDataset``)."""

    @property
    def folder(self) -> Path: ...

    @property
    def export_date(self) -> pd.Timestamp | None: ...


def resolve_as_of(dataset: Export, as_of: pd.Timestamp | str | None, holdout_days: int = 0) -> pd.Timestamp:
    """The as-of date: given, or the export's last day minus ``holdout_days``, or the export date."""
    if as_of is not None and holdout_days:
        raise DisputeRiskError("give either as_of or holdout_days, not both")
    if dataset.export_date is None:
        raise DisputeRiskError(f"{dataset.folder}: no case was kept, there is nothing to train on")
    if as_of is not None:
        return pd.Timestamp(as_of)
    if holdout_days:
        return dataset.export_date.normalize() - pd.Timedelta(days=holdout_days)
    return dataset.export_date


def prepare(dataset: Dataset, *, as_of: pd.Timestamp, horizon_days: int) -> Prepared:
    """Cases known at ``as_of`` with their history, labels (right-censored ones left out) and windows."""
    cases, parties = as_of_view(dataset.cases, dataset.parties, as_of)
    cases = cases.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
    population = population_of(dataset.areas)
    history = compute_history_features(cases, parties, population=population)
    labels = horizon_labels(cases, horizon_days, as_of)
    labelled = labels.notna().to_numpy()
    split = temporal_split(cases["registered_at"], labels.notna())
    frame = case_frame(cases, history).loc[labelled].reset_index(drop=True)
    y = labels[labelled].to_numpy()
    rows = {w: np.flatnonzero(split.mask(w)[labelled]) for w in WINDOWS}
    windows = {
        name: {**window, "n_pos": int(y[rows[name]].sum())} for name, window in split.describe().items()
    }
    return Prepared(
        data_dir=Path(dataset.folder),
        as_of=pd.Timestamp(as_of),
        horizon_days=horizon_days,
        cases=cases,
        parties=parties,
        population=MappingProxyType(population),
        frame=frame,
        y=y,
        rows=MappingProxyType(rows),
        windows=MappingProxyType(windows),
        oracle=truth_for(Path(dataset.folder), frame["case_id"]),
        rejects=len(dataset.rejects),
    )


def truth_for(data_dir: Path, case_ids: pd.Series) -> np.ndarray | None:
    """The demo generator's true probabilities (truth.csv, not part of the contract), when present."""
    path = data_dir / "truth.csv"
    if not path.exists():
        return None
    truth = pd.read_csv(path, usecols=["case_id", "p_true"], dtype={"case_id": str})
    joined = pd.DataFrame({"case_id": case_ids.astype(str)}).merge(truth, on="case_id", how="left")
    if joined["p_true"].isna().any():
        return None
    return joined["p_true"].to_numpy(dtype=float)
