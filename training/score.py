"""`risk score`: batch scoring with the registered model and the same policy as the intake API.

History is what the model knew at training time, plus earlier records given with ``--history``,
plus the scored dataset's own earlier records; so scoring the weeks right after training sees
the same history the intake API would. Every case gets what the API answers: the model's level,
the hard flags, the final level, the reasons, and the model's name and version.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.contract import Dataset, load_dataset
from features.cues import CUE_COLUMNS
from features.errors import DisputeRiskError
from features.history_state import HistoryState
from risk.drift import WATCHED
from risk.flags import fired, flag_codes_and_levels, is_key_group_person, police_calls_of
from risk.model import EscalationModel, Transform, reason_text
from training.narrative_worker import NarrativeJob
from training.parallel import ParallelTransform

log = logging.getLogger(__name__)

SCORE_COLUMNS = (
    "case_id", "registered_at", "area_code", "category", "risk", "level", "model_level", "flags", "reasons",
    "model_name", "model_version",
)  # fmt: skip


@dataclass(frozen=True)
class ScoredBatch:
    scores: pd.DataFrame  # SCORE_COLUMNS, one row per scored case
    assessed: pd.DataFrame  # the model's view of the same cases: risk, reasons, feature columns
    cases: pd.DataFrame  # the scored cases (contract columns), in the same order
    rejects: int


def score_dataset(
    model: EscalationModel,
    data_dir: Path,
    *,
    model_version: str | None = None,
    history_dir: Path | None = None,
    recent_days: int = 0,
    n_reasons: int = 3,
    workers: int | None = None,
) -> ScoredBatch:
    """Score every good case of ``data_dir`` (or its last ``recent_days``) as the API would."""
    dataset = load_dataset(data_dir)
    everything = dataset.cases.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
    cases, parties = everything, dataset.parties
    if recent_days:
        start = recent_start(dataset.export_date, recent_days, data_dir)
        cases = everything[everything["registered_at"] >= start].reset_index(drop=True)
        parties = parties[parties["case_id"].isin(cases["case_id"])]
    with featurizer_run(model, cases, workers) as transform:
        state = copy.deepcopy(model.history)
        if history_dir is not None:
            earlier = load_dataset(history_dir)
            add_earlier(state, earlier.cases, earlier.parties, before=dataset.cases["registered_at"].min())
        if recent_days:
            before = everything[everything["registered_at"] < start]
            state.update(before, dataset.parties[dataset.parties["case_id"].isin(before["case_id"])])
        assessed = model.assess(cases, parties, history=state, n_reasons=n_reasons, transform=transform)
    scores = apply_policy(model, cases, parties, assessed, model_version)
    return ScoredBatch(scores, assessed, cases, len(dataset.rejects))


@contextlib.contextmanager
def featurizer_run(
    model: EscalationModel, cases: pd.DataFrame, workers: int | None = None
) -> Iterator[Transform]:
    """The featurizer of ``cases`` (in this order), entered before the history is read: their
    narratives go to a second process at once (``training.narrative_worker``). ``workers`` > 1
    instead runs the whole featurizer in that many processes after the history, for machines with
    more cores than the two this overlap uses."""
    if workers is not None and workers > 1:
        yield ParallelTransform(workers)
        return
    with NarrativeJob(cases["narrative"].tolist(), getattr(model.featurizer, "text_", None)) as job:
        yield job.transform


def recent_start(export_date: pd.Timestamp | None, recent_days: int, data_dir: Path) -> pd.Timestamp:
    """``--recent-days``: the first instant scored; the dataset's earlier rows are history only."""
    if export_date is None:
        raise DisputeRiskError(f"{data_dir}: no case was kept, there is nothing to score")
    return export_date.normalize() - pd.Timedelta(days=recent_days)


def score_for_index(
    model: EscalationModel,
    dataset: Dataset,
    *,
    since: pd.Timestamp | None = None,
    earlier: Dataset | None = None,
    model_version: str | None = None,
    workers: int | None = None,
) -> pd.DataFrame:
    """Every case registered since ``since`` (default: all), scored as of its registration, in
    the columns ``risk.area_index.weekly_area_index`` reads: the case, its risk, the final level
    and flags, and the signals (cue counts, 110 calls, repeat parties, key groups); with the
    features monitoring watches (``risk.drift.WATCHED``).

    Each case's history is the model's plus the export's records before it (the escalations known
    at export time included), counting only records before the case and escalations known by
    then, so a case sees what the intake API would have seen, and the index's as-of rule is kept.
    The scored cases are read as the batch's own records (``HistoryState.features_for``), not
    copied into the state first: the same numbers, at half the cost. ``earlier``:
    records before the export (history only, as ``risk score --history``)."""
    cases = dataset.cases if since is None else dataset.cases.loc[dataset.cases["registered_at"] >= since]
    cases = cases.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
    parties = dataset.parties.loc[dataset.parties["case_id"].isin(cases["case_id"])]
    with featurizer_run(model, cases, workers) as transform:
        state = copy.deepcopy(model.history)
        if earlier is not None:
            add_earlier(state, earlier.cases, earlier.parties, before=dataset.cases["registered_at"].min())
        hold_all_but(state, cases, dataset.cases, dataset.parties)
        return index_rows(model, cases, parties, state, model_version, transform)


def hold_all_but(
    state: HistoryState, scored: pd.DataFrame, cases: pd.DataFrame, parties: pd.DataFrame
) -> None:
    """Make ``state`` answer ``features_for(scored)`` as a state holding every record of ``cases``
    would (``scored`` among them), at half the cost: it gets the other cases, and of the scored
    ones only the escalations of those it already held. ``features_for`` reads the scored cases
    as the batch's own records, counting each only before it."""
    others = ~cases["case_id"].isin(scored["case_id"]).to_numpy()
    if others.any():
        kept = cases.loc[others]
        state.update(kept, parties.loc[parties["case_id"].isin(kept["case_id"])])
    state.learn_escalations(scored)


def index_rows(
    model: EscalationModel,
    cases: pd.DataFrame,
    parties: pd.DataFrame,
    state: HistoryState,
    model_version: str | None,
    transform: Transform | None = None,
) -> pd.DataFrame:
    """``score_for_index``'s rows of some cases against a state that holds the whole export (the
    Dask path calls it per partition)."""
    assessed = model.assess(cases, parties, history=state, n_reasons=0, transform=transform)
    policy = apply_policy(model, cases, parties, assessed, model_version)
    out = cases[
        ["case_id", "area_code", "grid_code", "registered_at", "category", "source", "police_calls_before"]
    ].copy()
    out["escalated_at"] = cases.get("escalated_at", pd.NaT)
    out["risk"] = assessed["risk"].to_numpy()
    out["level"] = policy["level"].to_numpy()
    out["flags"] = policy["flags"].to_numpy()
    for column in dict.fromkeys((*INDEX_SIGNALS, *WATCHED)):
        if column in assessed and column not in out:
            out[column] = assessed[column].to_numpy(dtype=float)
    return out


def explain(
    model: EscalationModel, dataset: Dataset, case_ids: pd.Series, *, n_reasons: int = 3
) -> pd.Series:
    """The plain-Chinese reasons of some cases of the export (case_id -> text), with features as
    of each case's registration as in ``score_for_index``: for the few cases a report lists."""
    state = copy.deepcopy(model.history)
    state.update(dataset.cases, dataset.parties)
    cases = dataset.cases[dataset.cases["case_id"].isin(case_ids)].reset_index(drop=True)
    parties = dataset.parties[dataset.parties["case_id"].isin(cases["case_id"])]
    if cases.empty:
        return pd.Series(dtype=object)
    assessed = model.assess(cases, parties, history=state, n_reasons=n_reasons)
    return pd.Series([reason_text(r) for r in assessed["reasons"]], index=assessed["case_id"].to_numpy())


# What the index reads of the model's features (risk.index_input.SIGNALS, bar the case's own 110 calls).
INDEX_SIGNALS = (
    "party_prior_cases_max", "key_group_persons", "cue_threat", "cue_weapon", "cue_physical", "cue_injury",
    "cue_self_harm",
)  # fmt: skip


def add_earlier(
    state: HistoryState, cases: pd.DataFrame, parties: pd.DataFrame, *, before: pd.Timestamp
) -> None:
    """Records the model has not seen that precede the scored ones (update() skips held cases,
    and records a held case's escalation it did not know)."""
    new = cases[cases["registered_at"] < before]
    state.update(new, parties[parties["case_id"].isin(new["case_id"])])


def apply_policy(
    model: EscalationModel,
    cases: pd.DataFrame,
    parties: pd.DataFrame,
    assessed: pd.DataFrame,
    model_version: str | None,
) -> pd.DataFrame:
    """The intake API's answer for each assessed case: hard flags beside the model (risk.flags),
    the final level, the reasons as text, the model's name and version."""
    key_group_person = _key_group_persons(cases["case_id"], parties)
    cues = {
        family: assessed[column].to_numpy(dtype=np.int64)
        for column, family in CUE_COLUMNS.items()
        if column in assessed
    }
    calls = police_calls_of(
        cases["police_calls_before"] if "police_calls_before" in cases else [None] * len(cases)
    )
    model_levels = assessed["model_level"].tolist()
    codes, levels = flag_codes_and_levels(model_levels, fired(calls, key_group_person, cues))
    return pd.DataFrame(
        {
            "case_id": assessed["case_id"].to_numpy(),
            "registered_at": cases["registered_at"].to_numpy(),
            "area_code": cases["area_code"].to_numpy(),
            "category": cases["category"].to_numpy(),
            "risk": assessed["risk"].to_numpy(),
            "level": levels,
            "model_level": model_levels,
            "flags": codes,
            "reasons": [reason_text(r) for r in assessed["reasons"]],
            "model_name": model.name,
            "model_version": model_version or "",
        },
        columns=list(SCORE_COLUMNS),
    )


def _key_group_persons(case_ids: pd.Series, parties: pd.DataFrame) -> np.ndarray:
    """Per case, whether a party is a person tagged with a 重点人群 group (risk.flags' rule, on
    each distinct (party type, tags) once)."""
    if parties.empty:
        return np.zeros(len(case_ids), dtype=bool)
    tags = parties["key_groups"] if "key_groups" in parties else pd.Series("", index=parties.index)
    # each column factorised on its own, then the pairs as integers: a MultiIndex's factorize
    # hashes tuples and cost more than the rest of the policy together
    kind_codes, kinds = pd.factorize(parties["party_type"].astype(str))
    tag_codes, tag_values = pd.factorize(tags.fillna("").astype(str))
    codes, pairs = pd.factorize(kind_codes * len(tag_values) + tag_codes)
    rule = np.array(
        [is_key_group_person(kinds[p // len(tag_values)], tag_values[p % len(tag_values)]) for p in pairs],
        dtype=bool,
    )
    tagged = parties.loc[rule[codes], "case_id"].astype(str)
    return case_ids.astype(str).isin(set(tagged)).to_numpy()


def write_table(frame: pd.DataFrame, out: Path) -> None:
    """A result table as CSV (UTF-8 with BOM: Excel on Chinese Windows reads it right) or Parquet."""
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(out, index=False)
    elif suffix == ".csv":
        frame.to_csv(out, index=False, encoding="utf-8-sig")
    else:
        raise DisputeRiskError(f"--out must end in .csv or .parquet, got {out.name!r}")
