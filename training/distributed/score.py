"""`risk score` and `risk index` with ``--engine dask``: the export validated on the cluster and
every partition scored there with the registered model, equal to the single-machine engine.

Each partition runs the single-machine code (``EscalationModel.assess`` and
``training.score.apply_policy`` / ``index_rows``) against one history state, so the numbers
are the same ones. That state is the model's own ``HistoryState`` (what the intake API holds
in memory) plus the narrow event columns of the export (ids, times, area, outcome; never a
narrative), gathered on the client and sent once to each worker: every case then sees the
records before it in every partition. It must fit one process, as the model's state does in
the intake API. Tokenising, the matrix, LightGBM, the reasons and the policy run on the
workers; the scores (one short row per case) are gathered on the client and written there.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import dask
import dask.dataframe as dd
import pandas as pd
from dask.delayed import delayed

from features.areas import AreaTree
from features.history_state import HistoryState
from risk.area_index import weekly_area_index
from risk.model import EscalationModel
from training.distributed.cluster import dask_settings
from training.distributed.load import DaskDataset, load_dataset
from training.distributed.prepare import EVENT_COLUMNS, HISTORY_PARTY_COLUMNS
from training.score import add_earlier, apply_policy, index_rows, recent_start

__all__ = ["ClusterScores", "index_on_cluster", "score_on_cluster"]

_ROW = "_case_row"  # a party's case's row id, to line parties up with the cases' partitions


class ClusterScores(NamedTuple):
    scores: pd.DataFrame  # SCORE_COLUMNS, in the order of the single-machine engine
    rejects: int


def score_on_cluster(
    model: EscalationModel,
    data_dir: Path,
    *,
    model_version: str | None = None,
    history_dir: Path | None = None,
    recent_days: int = 0,
    n_reasons: int = 3,
) -> ClusterScores:
    """``training.score.score_dataset`` on the current Dask cluster (same rules, same rows)."""
    data = load_dataset(data_dir)
    cases, parties = _narrow(data)
    state = copy.deepcopy(model.history)
    if history_dir is not None:
        add_earlier(state, *_narrow(load_dataset(history_dir)), before=cases["registered_at"].min())
    scored = data.cases
    if recent_days:
        start = recent_start(data.export_date, recent_days, data_dir)
        earlier = cases[cases["registered_at"] < start]
        state.update(earlier, parties[parties["case_id"].isin(earlier["case_id"])])
        scored = scored[scored["registered_at"] >= start]
    # The batch's own records, as ``features_for`` adds them to a whole batch: held cases count once.
    new = cases[~state.contains(cases["case_id"].astype(str))]
    state.update(new, parties[parties["case_id"].isin(new["case_id"])])
    found = _per_partition(_score_part, scored, data.parties, model, state, model_version, n_reasons)
    return ClusterScores(_in_order(found), len(data.rejects))


def index_on_cluster(
    model: EscalationModel,
    data_dir: Path,
    *,
    earlier_dir: Path | None = None,
    model_version: str | None = None,
    start: object = None,
    end: object = None,
) -> pd.DataFrame:
    """``risk index``'s table: ``training.score.score_for_index`` per partition on the cluster,
    then ``risk.area_index.weekly_area_index`` on the client (one row per case in, one per area
    and week out)."""
    data = load_dataset(data_dir)
    cases, parties = _narrow(data)
    state = copy.deepcopy(model.history)
    if earlier_dir is not None:
        add_earlier(state, *_narrow(load_dataset(earlier_dir)), before=cases["registered_at"].min())
    state.update(cases, parties)
    scored = _in_order(_per_partition(_index_part, data.cases, data.parties, model, state, model_version))
    return weekly_area_index(scored, AreaTree.from_frame(data.areas), start=start, end=end)


def _per_partition(
    function: Callable[..., pd.DataFrame | None],
    cases: dd.DataFrame,
    parties: dd.DataFrame,
    model: EscalationModel,
    state: HistoryState,
    *args: object,
) -> pd.DataFrame:
    """``function(cases, parties, model, state, *args)`` on each partition of ``cases`` with its
    cases' parties; the model and the state go to each worker once. The parts, concatenated."""
    with dask_settings():
        by_case = _parties_by_case(parties, cases)
        shared = delayed(model), delayed(state)
        parts = [
            delayed(function)(c, p, *shared, *args)
            for c, p in zip(cases.to_delayed(), by_case.to_delayed(), strict=True)
        ]
        found = [part for part in dask.compute(*parts) if part is not None]
    return pd.concat(found, ignore_index=True)


def _narrow(data: DaskDataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The columns of every case and party the history state reads, on the client, in the order
    the single-machine engine adds them."""
    with dask_settings():
        cases = data.cases[[c for c in EVENT_COLUMNS if c in data.cases.columns]]
        parties = data.parties[[c for c in HISTORY_PARTY_COLUMNS if c in data.parties.columns]]
        cases, parties = dask.compute(cases, parties)
    cases = cases.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
    return cases, parties.sort_index().reset_index(drop=True)


def _parties_by_case(parties: dd.DataFrame, cases: dd.DataFrame) -> dd.DataFrame:
    """The parties of ``cases``, partitioned like them (indexed by their case's row id): a hash
    join on case_id, then a sort into the cases' divisions."""
    ids = cases[["case_id"]].map_partitions(_with_row, meta=cases._meta[["case_id"]].assign(**{_ROW: 0}))
    joined = parties.merge(ids, on="case_id", how="inner")
    return joined.set_index(_ROW, divisions=cases.divisions)


def _with_row(cases: pd.DataFrame) -> pd.DataFrame:
    return cases.assign(**{_ROW: cases.index.to_numpy(dtype="int64")})


def _score_part(
    cases: pd.DataFrame,
    parties: pd.DataFrame,
    model: EscalationModel,
    state: HistoryState,
    model_version: str | None,
    n_reasons: int,
) -> pd.DataFrame | None:
    if cases.empty:
        return None
    cases, parties = cases.reset_index(drop=True), parties.reset_index(drop=True)
    assessed = model.assess(cases, parties, history=state, n_reasons=n_reasons)
    return apply_policy(model, cases, parties, assessed, model_version)


def _index_part(
    cases: pd.DataFrame,
    parties: pd.DataFrame,
    model: EscalationModel,
    state: HistoryState,
    model_version: str | None,
) -> pd.DataFrame | None:
    if cases.empty:
        return None
    return index_rows(
        model, cases.reset_index(drop=True), parties.reset_index(drop=True), state, model_version
    )


def _in_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows as the single-machine engine orders them: by registration time, then case_id."""
    return frame.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
