"""As-of history features on Dask: the numbers ``features.history_batch.compute_history_features``
gives, column for column and bit for bit, computed by key groups instead of in one process.

Every feature of a case is a count (or a last time) over the events of one key - a party, a
pair of parties, a village, a town - reduced over the case's keys. The single-machine function
run on a group of keys gives exact results for those keys as long as the group holds *every*
event of them: its ranks and ``searchsorted`` bounds only compare times, and which other keys
are present never changes a count. So each family is a shuffle that brings all events of a key
into one partition, the single-machine function on each partition, and a reduction per case:

    party   party rows joined with their case (hash join on case_id), shuffled by party_id;
            per case max/sum over the partitions its parties fell in (days since: min; key
            groups: any, and persons summed - each distinct party lies in exactly one partition)
    pair    pairs of a case's distinct parties (cases of <= MAX_PAIR_PARTIES parties), each pair
            a virtual party, shuffled by pair: its ``party_prior_cases_max`` is the pair feature
    area    cases shuffled by town: a town's partition holds every case of its villages too

Every partial row carries its case's index value, and one last shuffle sends the partials to
the partitions of the cases themselves (by their divisions when known, the loader's row ids):
the result lines up with ``cases`` partition by partition, so joining it moves no case row.
The no-leakage rule is the single-machine one, applied inside each partition: a case at ``t``
counts records registered strictly before ``t`` and escalations known by ``t``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final

import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.delayed import delayed

from features import area_codes
from features.errors import DisputeRiskError, RecordError
from features.history_batch import compute_history_features
from features.history_schema import (
    AREA_COUNT_FEATURES,
    AREA_RATE_FEATURES,
    HISTORY_FEATURES,
    KEY_GROUP_COLUMNS,
    MAX_PAIR_PARTIES,
    ORGANISATION,
    PARTY_FEATURES,
)
from training.distributed.cluster import dask_settings

__all__ = ["history_features"]

EVENT_COLUMNS: Final = ("case_id", "registered_at", "area_code", "escalated", "escalated_at")
PARTY_COLUMNS: Final = ("case_id", "party_id", "party_type", "key_groups")
INDEX: Final = "_index"  # the case's index value in ``cases``
PAIR: Final = "pair_prior_cases_max"
_PARTIES: Final = "_distinct_parties"  # distinct parties of the case in the partition
# How the partial value of each partition combines into the case's value.
COMBINE: Final[dict[str, str]] = {
    **{name: "sum" if name.endswith("_sum") else "max" for name in PARTY_FEATURES},
    "party_days_since_last_case": "min",
    **{name: "sum" if name == "key_group_persons" else "max" for name in KEY_GROUP_COLUMNS},
    **dict.fromkeys(AREA_COUNT_FEATURES + AREA_RATE_FEATURES, "max"),  # one partial per case
    _PARTIES: "sum",
}
_PARTY_FAMILY: Final = tuple(n for n in PARTY_FEATURES if n != PAIR) + KEY_GROUP_COLUMNS
_AREA_FAMILY: Final = AREA_COUNT_FEATURES + AREA_RATE_FEATURES


def history_features(
    cases: dd.DataFrame,
    parties: dd.DataFrame,
    population: Mapping[str, float] | None = None,
    *,
    npartitions: int | None = None,
) -> dd.DataFrame:
    """HISTORY_FEATURES (float64) of every case as of its own registration time, indexed like
    ``cases`` (which must have an int64 index: the loader's row ids, or a RangeIndex) and, when
    its divisions are known, partitioned like it. Cases must be unique by case_id, as the loader
    leaves them; parties of other cases are left out. ``npartitions``: output partitions of the
    shuffles by key (default: those of ``cases``)."""
    if cases.index.dtype != np.int64:
        raise DisputeRiskError(f"cases must have an int64 index (row ids), got {cases.index.dtype}")
    with dask_settings():
        n = npartitions or cases.npartitions
        columns = [c for c in EVENT_COLUMNS if c in cases.columns]
        events = cases[columns].map_partitions(_with_index, meta=_with_index(cases._meta[columns]))
        rows = parties[list(PARTY_COLUMNS)].merge(
            events, on="case_id", how="inner", npartitions=n, broadcast=False
        )
        party = rows.shuffle(on="party_id", npartitions=n).map_partitions(
            _party_partials, meta=_partials_meta()
        )
        # the hash join left every party row of a case in one partition: pairs are made there
        pairs = rows.map_partitions(_pair_rows, meta=rows._meta)
        pair = pairs.shuffle(on="party_id", npartitions=n).map_partitions(
            _pair_partials, meta=_partials_meta()
        )
        towns = events.map_partitions(_with_town, meta=events._meta.assign(_town=np.int64(0)))
        residents = delayed(dict(population or {}), traverse=False)  # sent once, not per task
        area = towns.shuffle(on="_town", npartitions=n).map_partitions(
            _area_partials, residents, meta=_partials_meta()
        )
        partials = dd.concat([area, party, pair])
        meta = _combine(_partials_meta().set_index(INDEX), cases.index.name)
        if cases.known_divisions:
            placed = partials.set_index(INDEX, divisions=cases.divisions)
            return placed.map_partitions(_combine, cases.index.name, meta=meta)
        shuffled = partials.shuffle(on=INDEX, npartitions=cases.npartitions)
        return shuffled.map_partitions(_combine_unsorted, cases.index.name, meta=meta)


# ---- per partition -----------------------------------------------------------------------------
def _portable(function: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """A RecordError raised on a worker cannot be unpickled by the client (its __init__ takes
    three arguments): raise the same message as a DisputeRiskError."""

    @functools.wraps(function)
    def run(*args: Any) -> pd.DataFrame:
        try:
            return function(*args)
        except RecordError as exc:
            raise DisputeRiskError(str(exc)) from None

    return run


def _with_index(events: pd.DataFrame) -> pd.DataFrame:
    return events.assign(**{INDEX: events.index.to_numpy(dtype=np.int64)})


@_portable
def _party_partials(rows: pd.DataFrame) -> pd.DataFrame:
    """The party and key-group features of each case over its parties in this partition."""
    cases = _cases_of(rows)
    found = compute_history_features(cases, rows)
    distinct = rows.drop_duplicates(["case_id", "party_id"]).groupby("case_id", sort=False).size()
    values = {name: found[name].to_numpy() for name in _PARTY_FAMILY}
    values[_PARTIES] = cases["case_id"].map(distinct).to_numpy(dtype=np.float64)
    return _partials(cases, values)


def _pair_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per pair of distinct parties of a case (cases of at most MAX_PAIR_PARTIES
    parties), the pair standing as a virtual party (an organisation: no person features)."""
    distinct = rows.drop_duplicates(["case_id", "party_id"])
    size = distinct.groupby("case_id", sort=False)["party_id"].transform("size")
    ids = distinct.loc[size.to_numpy() <= MAX_PAIR_PARTIES, ["case_id", "party_id"]]
    both = ids.merge(ids, on="case_id", suffixes=("_a", "_b"))
    both = both[(both["party_id_a"] < both["party_id_b"]).to_numpy()]
    first = both["party_id_a"].astype(object)
    # length-prefixed, so that no two pairs of ids give the same key
    key = first.str.len().astype(str).astype(object) + ":" + first + both["party_id_b"].astype(object)
    out = pd.DataFrame(
        {
            "case_id": both["case_id"].to_numpy(dtype=object),
            "party_id": key.to_numpy(dtype=object),
            "party_type": ORGANISATION,
            "key_groups": "",
        }
    ).astype(object)
    return out.merge(_cases_of(rows), on="case_id", how="left")[list(rows.columns)]


@_portable
def _pair_partials(pairs: pd.DataFrame) -> pd.DataFrame:
    cases = _cases_of(pairs)
    found = compute_history_features(cases, pairs)
    return _partials(cases, {PAIR: found["party_prior_cases_max"].to_numpy()})


def _with_town(events: pd.DataFrame) -> pd.DataFrame:
    return events.assign(_town=area_codes.town_keys(area_codes.as_keys(events["area_code"])))


@_portable
def _area_partials(events: pd.DataFrame, population: Mapping[str, float]) -> pd.DataFrame:
    """The village and town features of the cases of whole towns."""
    cases = events.drop(columns="_town").reset_index(drop=True)
    codes = {*cases["area_code"], *(area_codes.code_of_key(k) for k in np.unique(events["_town"]))}
    residents = {code: population[code] for code in codes if code in population}
    found = compute_history_features(cases, _NO_PARTIES, residents)
    return _partials(cases, {name: found[name].to_numpy() for name in _AREA_FAMILY})


def _combine(partials: pd.DataFrame, name: str | None) -> pd.DataFrame:
    """Each case's partials (indexed by the case's index) -> its features, with the defaults
    the single-machine path gives a case without parties or pairs: counts 0, days since NaN,
    and the pair feature NaN above MAX_PAIR_PARTIES."""
    out = partials.groupby(level=0, sort=True).agg(COMBINE)
    counts = [n for n in (*PARTY_FEATURES, *KEY_GROUP_COLUMNS) if n != "party_days_since_last_case"]
    out[counts] = out[counts].fillna(0.0)
    out.loc[out[_PARTIES].to_numpy() > MAX_PAIR_PARTIES, PAIR] = np.nan
    out = out.loc[:, list(HISTORY_FEATURES)].astype("float64")
    out.index = pd.Index(out.index.to_numpy(dtype=np.int64), name=name)
    return out


def _combine_unsorted(partials: pd.DataFrame, name: str | None) -> pd.DataFrame:
    return _combine(partials.set_index(INDEX), name)


# ---- helpers ---------------------------------------------------------------------------------------
_NO_PARTIES: Final = pd.DataFrame({c: pd.Series(dtype=object) for c in PARTY_COLUMNS})
_PARTIAL_COLUMNS: Final = tuple(COMBINE)


def _cases_of(rows: pd.DataFrame) -> pd.DataFrame:
    """The distinct cases of these party (or pair) rows, with their event columns."""
    cases = rows.drop_duplicates(INDEX)[[c for c in (*EVENT_COLUMNS, INDEX) if c in rows.columns]]
    repeated = cases["case_id"].duplicated()
    if repeated.any():
        raise DisputeRiskError(
            f"case_id: must be unique in cases, got {cases['case_id'][repeated].iloc[0]!r}"
        )
    return cases.reset_index(drop=True)


def _partials(cases: pd.DataFrame, values: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One row per case: its index value, the given partials, NaN in every other partial."""
    n = len(cases)
    return pd.DataFrame(
        {
            INDEX: cases[INDEX].to_numpy(dtype=np.int64),
            **{
                c: np.asarray(values[c], dtype=np.float64) if c in values else np.full(n, np.nan)
                for c in _PARTIAL_COLUMNS
            },
        }
    )


def _partials_meta() -> pd.DataFrame:
    return _partials(pd.DataFrame({INDEX: pd.Series(dtype="int64")}), {})
