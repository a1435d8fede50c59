"""HistoryState: the as-of history kept up to date one case at a time (the intake path).

It holds only what the features need - per party, pair, village and town the sorted times of
cases and of known escalations, and per case what ``record_escalation`` needs - never the raw
tables, so that it can travel inside the registered model. ``features_one`` answers with a few
binary searches per party and area; its numbers equal ``compute_history_features``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from features import area_codes
from features.errors import RecordError
from features.history_events import CaseRegistry, EventIndex, pair_key, pair_keys, stable_hash, stable_hashes
from features.history_query import SortedEvents, batch_history
from features.history_schema import (
    AREA_KINDS,
    AREA_LEVELS_KEPT,
    AREA_WINDOWS_DAYS,
    HISTORY_FEATURES,
    KEY_GROUP_COLUMNS,
    MAX_PAIR_PARTIES,
    NATURAL_PERSON,
    NO_TIME,
    NS_PER_DAY,
    ORGANISATION,
    PARTY_WINDOW_DAYS,
    PER_RESIDENTS,
    area_feature,
    escalation_known_ns,
    key_group_mask,
    key_group_row,
    population_by_area,
    rate_feature,
    times_ns,
    timestamp_ns,
)
from features.history_tables import CaseTable, pair_rows, prepare

_INDEXES = (
    "party_cases",
    "party_escalations",
    "pair_cases",
    "village_cases",
    "village_escalations",
    "town_cases",
    "town_escalations",
)
_AREA_INDEXES = _INDEXES[3:]
# Sorting the held events costs about as much as this many per-case lookups per event held (measured
# on the demo data): below that many cases a batch is answered case by case.
_EVENTS_PER_CASE_LOOKUP = 400


def _events(
    table: CaseTable, party_hash: np.ndarray, include: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The events the included cases of ``table`` add to each index, as (keys, times)."""
    t, known, area = table.registered, table.known, table.area
    rows = include[table.row_case]
    party, row_t, row_known = (
        party_hash[table.row_party[rows]],
        t[table.row_case[rows]],
        known[table.row_case[rows]],
    )
    first, second = pair_rows(table)
    pairs = include[table.row_case[first]]
    first, second = first[pairs], second[pairs]
    village, town = area_codes.village_keys(area), area_codes.town_keys(area)
    esc = include & (known != NO_TIME)
    has_v = include & (village >= 0)
    return {
        "party_cases": (party, row_t),
        "party_escalations": (party[row_known != NO_TIME], row_known[row_known != NO_TIME]),
        "pair_cases": (
            pair_keys(party_hash[table.row_party[first]], party_hash[table.row_party[second]]),
            t[table.row_case[first]],
        ),
        "village_cases": (village[has_v], t[has_v]),
        "village_escalations": (village[has_v & esc], known[has_v & esc]),
        "town_cases": (town[include], t[include]),
        "town_escalations": (town[esc], known[esc]),
    }


class HistoryState:
    """As-of party, pair and area history; see ``features.history_schema`` for the definitions."""

    def __init__(self, population: Mapping[str, float] | None = None) -> None:
        self._residents = population_by_area(population)
        self._index = {name: EventIndex() for name in _INDEXES}
        self._cases = CaseRegistry()

    @classmethod
    def from_records(
        cls, cases: pd.DataFrame, parties: pd.DataFrame, population: Mapping[str, float] | None = None
    ) -> HistoryState:
        state = cls(population)
        state.update(cases, parties)
        return state

    def __len__(self) -> int:
        return len(self._cases)

    def contains(self, case_ids: Iterable[str]) -> np.ndarray:
        """Which of these case ids the state already holds."""
        return self._cases.contains(stable_hashes(case_ids))

    # ---- adding what became known -------------------------------------------------------------
    def update(self, cases: pd.DataFrame, parties: pd.DataFrame) -> None:
        """Add records. A case already held is not added twice; an escalation it now shows
        that the state did not know is recorded as with ``record_escalation``."""
        table = prepare(cases, parties)
        ids = stable_hashes(table.case_ids)
        held = self._cases.contains(ids)
        self._learn_held(cases, ids, held, table.known)
        new = ~held
        party_hash = stable_hashes(table.party_ids)
        for name, (keys, times) in _events(table, party_hash, new).items():
            self._index[name].extend(keys, times)
        starts = table.case_starts()
        rows = new[table.row_case]
        counts = np.diff(starts)[new]
        if new.sum() <= max(64, len(self._cases) // 16):  # amortised, as EventIndex.extend
            for i in np.flatnonzero(new):
                self._cases.add(
                    int(ids[i]),
                    int(table.registered[i]),
                    int(table.area[i]),
                    int(table.known[i]),
                    party_hash[table.row_party[starts[i] : starts[i + 1]]].tolist(),
                )
        else:
            self._cases.extend(
                ids[new],
                table.registered[new],
                table.area[new],
                table.known[new],
                counts,
                party_hash[table.row_party[rows]],
            )

    def learn_escalations(self, cases: pd.DataFrame) -> None:
        """What ``update`` learns of the cases the state already holds (escalations it did not
        know), and nothing else: for a batch whose new cases ``features_for`` reads as the
        batch's own records, without adding them."""
        if "escalated_at" not in cases:
            return
        ids = stable_hashes(cases["case_id"])
        held = self._cases.contains(ids)
        if held.any():
            registered = times_ns(cases["registered_at"], "registered_at", required=True)
            self._learn_held(cases, ids, held, escalation_known_ns(cases, registered))

    def _learn_held(self, cases: pd.DataFrame, ids: np.ndarray, held: np.ndarray, known: np.ndarray) -> None:
        if "escalated_at" not in cases:
            return
        at = times_ns(cases["escalated_at"], "escalated_at", required=False)
        for i in np.flatnonzero(held & (known != NO_TIME)):
            self._learn(int(ids[i]), int(at[i]), cases["case_id"].iloc[i])

    def record_escalation(self, case_id: str, escalated_at: object) -> None:
        """A held case turned criminal at ``escalated_at``: later cases will count it."""
        self._learn(stable_hash(str(case_id)), timestamp_ns(escalated_at, "escalated_at"), case_id)

    def _learn(self, case: int, escalated_at: int, case_id: object) -> None:
        record = self._cases.get(case)
        if record is None:
            raise RecordError(
                "case_id", case_id, "must be a case the history state holds (update() it first)"
            )
        registered, area, known, parties = record
        new_known = max(escalated_at, registered + 1)
        if known == new_known:
            return
        if known != NO_TIME:
            raise RecordError(
                "escalated_at",
                pd.Timestamp(escalated_at),
                f"case {case_id} already has escalated_at {pd.Timestamp(known)}",
            )
        self._cases.set_known(case, new_known)
        for party in parties:
            self._index["party_escalations"].add(party, new_known)
        village = area_codes.village_key(area)
        if village >= 0:
            self._index["village_escalations"].add(village, new_known)
        self._index["town_escalations"].add(area_codes.town_key(area), new_known)

    def prune(self, before: object) -> None:
        """Drop area events earlier than ``before`` (party and pair history is kept). Area
        features stay exact for cases registered at least 365 days after ``before``."""
        bound = timestamp_ns(before, "before")
        for name in _AREA_INDEXES:
            self._index[name].prune(bound)

    # ---- features -----------------------------------------------------------------------------
    def features_one(self, case: Mapping[str, Any], parties: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        """HISTORY_FEATURES of one new case (``registered_at``, ``area_code``) and its parties."""
        t = timestamp_ns(case.get("registered_at"), "registered_at")
        area = int(area_codes.check(case.get("area_code")))
        merged: dict[str, list[Any]] = {}  # party_id -> [is person, tag mask]
        any_org = False
        for party in parties:
            party_id = party.get("party_id")
            if party_id is None or party_id == "":
                raise RecordError("party_id", party_id, "is required")
            ptype = str(party.get("party_type"))
            entry = merged.setdefault(str(party_id), [False, 0])
            entry[0] |= ptype == NATURAL_PERSON
            entry[1] |= key_group_mask(party.get("key_groups"))
            any_org |= ptype == ORGANISATION
        keyed = [(stable_hash(pid), person) for pid, (person, _) in merged.items()]
        row = self._history_row(t, area, keyed, (self._index,))
        row |= zip(
            KEY_GROUP_COLUMNS, key_group_row([mask for _, mask in merged.values()], any_org), strict=True
        )
        return {name: row[name] for name in HISTORY_FEATURES}

    def features_for(
        self, cases: pd.DataFrame, parties: pd.DataFrame, *, method: str = "auto"
    ) -> pd.DataFrame:
        """HISTORY_FEATURES of new cases against the state plus the batch's own earlier records
        (index aligned with ``cases``). Batch cases the state already holds count once.

        Two ways to the same numbers: case by case (a few binary searches each; a small batch,
        such as one MLflow pyfunc call) or vectorised (``features.history_query``: sorts every
        event the state holds once, so it pays off only for a batch large beside the state).
        ``method``: "auto", "per_case" or "vectorised"."""
        table = prepare(cases, parties)
        party_hash = stable_hashes(table.party_ids)
        own = _events(table, party_hash, ~self._cases.contains(stable_hashes(table.case_ids)))
        if method == "auto":
            held = sum(len(index) for index in self._index.values())
            method = "per_case" if len(table) * _EVENTS_PER_CASE_LOOKUP < held else "vectorised"
        if method == "per_case":
            return self._per_case(table, party_hash, own, cases.index)
        if method != "vectorised":
            raise RecordError("method", method, "must be auto, per_case or vectorised")
        events = {}
        for name, index in self._index.items():
            held_keys, held_times = index.events()
            keys, times = own[name]
            events[name] = SortedEvents(
                np.concatenate([held_keys, keys]), np.concatenate([held_times, times])
            )
        return batch_history(table, party_hash, events, self._residents, cases.index)

    def _per_case(
        self,
        table: CaseTable,
        party_hash: np.ndarray,
        own: dict[str, tuple[np.ndarray, np.ndarray]],
        index: pd.Index,
    ) -> pd.DataFrame:
        overlay = {name: EventIndex(keys, times) for name, (keys, times) in own.items()}
        starts = table.case_starts()
        keys, persons = party_hash[table.row_party].tolist(), table.row_person.tolist()
        rows = [
            self._history_row(
                int(table.registered[i]),
                int(table.area[i]),
                list(zip(keys[starts[i] : starts[i + 1]], persons[starts[i] : starts[i + 1]], strict=True)),
                (self._index, overlay),
            )
            for i in range(len(table))
        ]
        out = pd.DataFrame.from_records(rows, index=index, columns=list(HISTORY_FEATURES))
        out[list(KEY_GROUP_COLUMNS)] = table.key_groups
        return out.astype("float64")

    def _history_row(
        self, t: int, area: int, parties: list[tuple[int, bool]], sources: tuple[dict[str, EventIndex], ...]
    ) -> dict[str, float]:
        """PARTY_FEATURES and the area features of one case, by name."""

        def below(index: str, key: int, bounds: Sequence[int]) -> list[int]:
            total = [0] * len(bounds)
            for source in sources:
                total = [a + b for a, b in zip(total, source[index].below(key, bounds), strict=True)]
            return total

        return self._party_row(t, parties, sources, below) | self._area_row(t, area, below)

    def _party_row(
        self, t: int, parties: list[tuple[int, bool]], sources: Any, below: Any
    ) -> dict[str, float]:
        prior, recent, escalations, person_max, last = [], [], [], 0, NO_TIME
        for party, person in parties:
            before_window, before_t = below("party_cases", party, (t - PARTY_WINDOW_DAYS * NS_PER_DAY, t))
            prior.append(before_t)
            recent.append(before_t - before_window)
            person_max = max(person_max, before_t) if person else person_max
            escalations.append(below("party_escalations", party, (t + 1,))[0])
            if person:
                last = max([last] + [source["party_cases"].last_before(party, t) for source in sources])
        if len(parties) > MAX_PAIR_PARTIES:
            pair_max = math.nan
        else:
            keys = [p for p, _ in parties]
            together = (
                below("pair_cases", pair_key(a, b), (t,))[0]
                for i, a in enumerate(keys)
                for b in keys[i + 1 :]
            )
            pair_max = float(max(together, default=0))
        return {
            "party_prior_cases_max": float(max(prior, default=0)),
            "party_prior_cases_sum": float(sum(prior)),
            "party_prior_cases_person_max": float(person_max),
            "party_prior_escalations_max": float(max(escalations, default=0)),
            "party_prior_escalations_sum": float(sum(escalations)),
            "party_days_since_last_case": float(t - last) / NS_PER_DAY if last != NO_TIME else math.nan,
            "pair_prior_cases_max": pair_max,
            "party_cases_365d_max": float(max(recent, default=0)),
        }

    def _area_row(self, t: int, area: int, below: Any) -> dict[str, float]:
        lows = tuple(t - days * NS_PER_DAY for days in AREA_WINDOWS_DAYS)
        out: dict[str, float] = {}
        keys = {"village": area_codes.village_key(area), "town": area_codes.town_key(area)}
        for level in AREA_LEVELS_KEPT:
            key = keys[level]
            residents = self._residents.get(key, math.nan)
            for kind, hi in zip(AREA_KINDS, (t, t + 1), strict=True):  # escalations known at t count
                if key < 0:
                    values = [math.nan] * len(lows)
                else:
                    *before_lows, before_hi = below(f"{level}_{kind}", key, (*lows, hi))
                    values = [float(before_hi - n) for n in before_lows]
                for days, value in zip(AREA_WINDOWS_DAYS, values, strict=True):
                    name = area_feature(level, kind, days)
                    out[name] = value
                    out[rate_feature(name)] = value * PER_RESIDENTS / residents
        return out

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(index)}" for name, index in self._index.items())
        return f"HistoryState(cases={len(self._cases)}, {sizes})"
