"""The state path for a whole batch at once: HISTORY_FEATURES of many new cases against a
``HistoryState`` plus the batch's own earlier records, with no loop over cases.

Each index's events (the state's and the batch's own) are sorted once by (key, time); a time is
replaced by its rank among the index's distinct times so that (key segment, rank) packs into one
sorted int64, and "events of key k before bound b" is one ``searchsorted`` for every query at
once. The numbers are those of ``HistoryState.features_one`` fed case by case (a test compares
them), at batch-scoring speed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import area_codes
from features.history_events import pair_keys
from features.history_schema import (
    AREA_KINDS,
    AREA_LEVELS_KEPT,
    AREA_WINDOWS_DAYS,
    HISTORY_FEATURES,
    KEY_GROUP_COLUMNS,
    MAX_PAIR_PARTIES,
    NO_TIME,
    NS_PER_DAY,
    PARTY_WINDOW_DAYS,
    PER_RESIDENTS,
    area_feature,
    rate_feature,
)
from features.history_tables import CaseTable, pair_rows, per_case


class SortedEvents:
    """The (key, time) events of one index, sorted for vectorised counting."""

    def __init__(self, keys: np.ndarray, times: np.ndarray) -> None:
        order = np.lexsort((times, keys))
        keys, self.times = keys[order], times[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)
        self.keys = keys[starts]  # sorted: a key's first event starts its segment
        self.starts = np.append(starts, len(keys)).astype(np.int64)
        self.distinct_times = np.unique(self.times)
        self.width = len(self.distinct_times) + 1  # a rank, or a bound past the last time
        segment = np.repeat(np.arange(len(self.keys), dtype=np.int64), np.diff(self.starts))
        self.packed = segment * self.width + search(self.distinct_times, self.times)

    def of(self, keys: np.ndarray) -> KeyedEvents:
        """The events of each of ``keys``, for several bounds (the keys are looked up once)."""
        segment = search(self.keys, keys)
        found = segment < len(self.keys)
        found[found] = self.keys[segment[found]] == keys[found]
        return KeyedEvents(self, segment, found)

    def below(self, keys: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        return self.of(keys).below(bounds)


class KeyedEvents:
    """The events of a key per query row (``SortedEvents.of``)."""

    def __init__(self, events: SortedEvents, segment: np.ndarray, found: np.ndarray) -> None:
        self.events, self.segment, self.found = events, segment, found
        self.first = events.starts[np.minimum(segment, len(events.keys))]  # the segment's first event

    def _position(self, bounds: np.ndarray) -> np.ndarray:
        """Position in ``packed`` of each row's bound: its key's events before it end there."""
        e = self.events
        rank = search(e.distinct_times, bounds)  # distinct times earlier than the bound
        return search(e.packed, self.segment * e.width + rank)

    def below(self, bounds: np.ndarray) -> np.ndarray:
        """For each row, how many events of its key are earlier than its bound."""
        return np.where(self.found, self._position(bounds) - self.first, 0)

    def last_before(self, bounds: np.ndarray) -> np.ndarray:
        """For each row, the latest event time of its key earlier than its bound."""
        position = self._position(bounds)
        has = self.found & (position > self.first)
        out = np.full(len(self.segment), NO_TIME, dtype=np.int64)
        out[has] = self.events.times[position[has] - 1]
        return out


def search(sorted_values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``np.searchsorted(sorted_values, queries)``, the queries visited in ascending order: on
    arrays larger than the CPU caches that is several times faster (each search starts near
    the last), for the same result."""
    if len(queries) < 1024 or not len(sorted_values) or (queries[1:] >= queries[:-1]).all():
        return np.searchsorted(sorted_values, queries)
    order = np.argsort(queries)
    out = np.empty(len(queries), dtype=np.intp)
    out[order] = np.searchsorted(sorted_values, queries[order])
    return out


def batch_history(
    table: CaseTable,
    party_hash: np.ndarray,
    events: dict[str, SortedEvents],
    residents: dict[int, float],
    index: pd.Index,
) -> pd.DataFrame:
    """HISTORY_FEATURES of every case of ``table`` from ``events`` (the state's and the batch's own)."""
    columns = _party_columns(table, party_hash, events)
    columns |= zip(KEY_GROUP_COLUMNS, table.key_groups.T, strict=True)
    columns |= _area_columns(table, events, residents)
    return pd.DataFrame(
        {name: np.asarray(columns[name], dtype=np.float64) for name in HISTORY_FEATURES}, index=index
    )


def _party_columns(
    table: CaseTable, party_hash: np.ndarray, events: dict[str, SortedEvents]
) -> dict[str, np.ndarray]:
    n, rows = len(table), table.row_case
    keys, t = party_hash[table.row_party], table.registered[table.row_case]
    cases = events["party_cases"].of(keys)
    prior = cases.below(t)
    recent = prior - cases.below(t - PARTY_WINDOW_DAYS * NS_PER_DAY)
    known = events["party_escalations"].below(keys, t + 1)  # escalations known at t count
    last_each = np.where(table.row_person, cases.last_before(t), NO_TIME)
    last = per_case(np.maximum, last_each, rows, n, NO_TIME)
    seen = last != NO_TIME
    days_since = np.full(n, np.nan)
    days_since[seen] = (table.registered[seen] - last[seen]).astype(np.float64) / NS_PER_DAY
    return {
        "party_prior_cases_max": per_case(np.maximum, prior, rows, n, 0),
        "party_prior_cases_sum": np.bincount(rows, weights=prior, minlength=n),
        "party_prior_cases_person_max": per_case(
            np.maximum, np.where(table.row_person, prior, 0), rows, n, 0
        ),
        "party_prior_escalations_max": per_case(np.maximum, known, rows, n, 0),
        "party_prior_escalations_sum": np.bincount(rows, weights=known, minlength=n),
        "party_days_since_last_case": days_since,
        "pair_prior_cases_max": _pair_max(table, party_hash, events["pair_cases"]),
        "party_cases_365d_max": per_case(np.maximum, recent, rows, n, 0),
    }


def _pair_max(table: CaseTable, party_hash: np.ndarray, pairs: SortedEvents) -> np.ndarray:
    first, second = pair_rows(table)
    case = table.row_case[first]
    keys = pair_keys(party_hash[table.row_party[first]], party_hash[table.row_party[second]])
    together = pairs.below(keys, table.registered[case])
    out = per_case(np.maximum, together, case, len(table), 0).astype(np.float64)
    out[np.diff(table.case_starts()) > MAX_PAIR_PARTIES] = np.nan
    return out


def _area_columns(
    table: CaseTable, events: dict[str, SortedEvents], residents: dict[int, float]
) -> dict[str, np.ndarray]:
    t = table.registered
    out: dict[str, np.ndarray] = {}
    keys_of = {"village": area_codes.village_keys(table.area), "town": area_codes.town_keys(table.area)}
    for level in AREA_LEVELS_KEPT:
        keys = keys_of[level]
        has = keys >= 0
        residents_of = pd.Series(keys).map(residents).to_numpy(dtype=np.float64)
        for kind, hi in zip(AREA_KINDS, (t, t + 1), strict=True):  # escalations known at t count
            index = events[f"{level}_{kind}"].of(keys)
            before_hi = index.below(hi)
            for days in AREA_WINDOWS_DAYS:
                name = area_feature(level, kind, days)
                counts = (before_hi - index.below(t - days * NS_PER_DAY)).astype(np.float64)
                out[name] = np.where(has, counts, np.nan)
                out[rate_feature(name)] = out[name] * PER_RESIDENTS / residents_of
    return out
