"""Compact, picklable stores behind ``HistoryState``.

Ids are kept as stable 64-bit hashes, not strings: the state travels inside the registered
model and a million party ids as Python strings would dominate it. blake2b is used because
Python's ``hash`` changes between processes; at 64 bits a collision among millions of ids has
a chance of about 1e-7.

``EventIndex`` holds the sorted event times of each key as CSR arrays (unique keys, offsets,
times), plus a small dict of sorted lists for events added since the last merge, so that adding
one case is cheap and a lookup is a few binary searches.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from features.history_schema import NO_TIME

_MASK = (1 << 64) - 1
_C1, _C2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB  # splitmix64 finaliser constants
_EMPTY = np.empty(0, dtype=np.int64)
_MERGE_AT = 1024  # recent events (or cases) kept aside before they are merged into the arrays


def stable_hash(text: str) -> int:
    """A signed 64-bit hash of ``text`` that is the same in every process and version."""
    return int.from_bytes(
        hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little", signed=True
    )


def stable_hashes(texts: Iterable[object]) -> np.ndarray:
    """``stable_hash`` of each text, as int64 (the digests are joined and read in one go)."""
    values = texts.tolist() if hasattr(texts, "tolist") else list(texts)
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(str(v).encode("utf-8"), digest_size=8).digest() for v in values])
    return np.frombuffer(digests, dtype="<i8").astype(np.int64)


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * _C1) & _MASK
    z = ((z ^ (z >> 27)) * _C2) & _MASK
    return z ^ (z >> 31)


def pair_key(a: int, b: int) -> int:
    """Order-free key of two party hashes (same value as ``pair_keys``)."""
    lo, hi = (a, b) if a <= b else (b, a)
    z = _mix(_mix(lo & _MASK) ^ (hi & _MASK))
    return z - (1 << 64) if z >> 63 else z


def pair_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    def mix(z: np.ndarray) -> np.ndarray:  # uint64 arithmetic wraps, as the & _MASK above
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_C1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_C2)
        return z ^ (z >> np.uint64(31))

    lo = np.minimum(a, b).astype(np.int64).view(np.uint64)
    hi = np.maximum(a, b).astype(np.int64).view(np.uint64)
    return mix(mix(lo) ^ hi).view(np.int64)


class EventIndex:
    """Sorted int64 event times per int64 key."""

    def __init__(self, keys: np.ndarray = _EMPTY, times: np.ndarray = _EMPTY) -> None:
        self._build(np.asarray(keys, dtype=np.int64), np.asarray(times, dtype=np.int64))

    def _build(self, keys: np.ndarray, times: np.ndarray) -> None:
        order = np.lexsort((times, keys))
        keys, self.times = keys[order], times[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else _EMPTY
        self.keys = keys[starts]
        self.offsets = np.append(starts, len(keys)).astype(np.int64)
        self._recent: dict[int, list[int]] = {}
        self._n_recent = 0

    def __len__(self) -> int:
        return len(self.times) + self._n_recent

    def add(self, key: int, time: int) -> None:
        insort(self._recent.setdefault(key, []), time)
        self._n_recent += 1
        if self._n_recent > max(_MERGE_AT, len(self.times) // 16):
            self.merge()

    def extend(self, keys: np.ndarray, times: np.ndarray) -> None:
        if len(keys) <= max(64, len(self.times) // 16):  # amortised: merged once enough pile up
            for key, time in zip(keys.tolist(), times.tolist(), strict=True):
                self.add(key, time)
            return
        base_keys, base_times = self._flat()
        self._build(np.concatenate([base_keys, keys]), np.concatenate([base_times, times]))

    def merge(self) -> None:
        """Fold the recently added events into the arrays."""
        if self._n_recent:
            self._build(*self._flat())

    def prune(self, before: int) -> None:
        """Drop events earlier than ``before``."""
        keys, times = self._flat()
        kept = times >= before
        self._build(keys[kept], times[kept])

    def events(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (key, time) event held, as two arrays (unordered where events were added lately)."""
        return self._flat()

    def _flat(self) -> tuple[np.ndarray, np.ndarray]:
        keys = np.repeat(self.keys, np.diff(self.offsets))
        times = self.times
        if self._n_recent:
            extra_k = [k for k, ts in self._recent.items() for _ in ts]
            extra_t = [t for ts in self._recent.values() for t in ts]
            keys = np.concatenate([keys, np.array(extra_k, dtype=np.int64)])
            times = np.concatenate([times, np.array(extra_t, dtype=np.int64)])
        return keys, times

    def _segment(self, key: int) -> np.ndarray:
        i = int(self.keys.searchsorted(key))
        if i == len(self.keys) or int(self.keys[i]) != key:
            return _EMPTY
        return self.times[self.offsets[i] : self.offsets[i + 1]]

    def below(self, key: int, bounds: Sequence[int]) -> list[int]:
        """For each bound, how many events of ``key`` are earlier than it."""
        segment = self._segment(key)
        counts = segment.searchsorted(bounds).tolist() if len(segment) else [0] * len(bounds)
        recent = self._recent.get(key)
        if recent:
            counts = [n + bisect_left(recent, b) for n, b in zip(counts, bounds, strict=True)]
        return counts

    def last_before(self, key: int, bound: int) -> int:
        """The latest event of ``key`` earlier than ``bound``; NO_TIME when none."""
        segment = self._segment(key)
        i = int(segment.searchsorted(bound))
        last = int(segment[i - 1]) if i else NO_TIME
        recent = self._recent.get(key)
        if recent:
            j = bisect_left(recent, bound)
            if j:
                last = max(last, recent[j - 1])
        return last

    def __getstate__(self) -> dict[str, Any]:
        self.merge()
        return {"keys": self.keys, "offsets": self.offsets, "times": self.times}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.keys, self.offsets, self.times = state["keys"], state["offsets"], state["times"]
        self._recent, self._n_recent = {}, 0


class CaseRegistry:
    """What ``record_escalation`` needs of each known case: time, area, known time, parties.

    Arrays in insertion order (parties as CSR) with a sort order for lookup by id hash; cases
    added one at a time wait in a dict until there are enough to append.
    """

    def __init__(self) -> None:
        self.ids = self.registered = self.area = self.known = self.party_keys = _EMPTY
        self.party_offsets = np.zeros(1, dtype=np.int64)
        self._reindex()
        self._recent: dict[int, list[Any]] = {}  # id -> [registered, area, known, party keys]

    def __len__(self) -> int:
        return len(self.ids) + len(self._recent)

    def _reindex(self) -> None:
        self._order = np.argsort(self.ids, kind="stable")
        self._sorted_ids = self.ids[self._order]

    def _row(self, case: int) -> int | None:
        i = int(self._sorted_ids.searchsorted(case))
        return int(self._order[i]) if i < len(self._sorted_ids) and int(self._sorted_ids[i]) == case else None

    def contains(self, cases: np.ndarray) -> np.ndarray:
        at = np.minimum(self._sorted_ids.searchsorted(cases), max(len(self.ids) - 1, 0))
        found = self._sorted_ids[at] == cases if len(self.ids) else np.zeros(len(cases), dtype=bool)
        if self._recent:
            found |= np.fromiter((c in self._recent for c in cases.tolist()), dtype=bool, count=len(cases))
        return found

    def get(self, case: int) -> tuple[int, int, int, list[int]] | None:
        if case in self._recent:
            registered, area, known, parties = self._recent[case]
            return registered, area, known, list(parties)
        row = self._row(case)
        if row is None:
            return None
        parties = self.party_keys[self.party_offsets[row] : self.party_offsets[row + 1]].tolist()
        return int(self.registered[row]), int(self.area[row]), int(self.known[row]), parties

    def set_known(self, case: int, known: int) -> None:
        if case in self._recent:
            self._recent[case][2] = known
        else:
            row = self._row(case)
            assert row is not None, "set_known on an unknown case"
            self.known[row] = known

    def add(self, case: int, registered: int, area: int, known: int, parties: list[int]) -> None:
        self._recent[case] = [registered, area, known, tuple(parties)]
        if len(self._recent) > max(_MERGE_AT, len(self.ids) // 16):
            self.merge()

    def extend(
        self,
        ids: np.ndarray,
        registered: np.ndarray,
        area: np.ndarray,
        known: np.ndarray,
        party_counts: np.ndarray,
        party_keys: np.ndarray,
    ) -> None:
        self.ids = np.concatenate([self.ids, ids])
        self.registered = np.concatenate([self.registered, registered])
        self.area = np.concatenate([self.area, area])
        self.known = np.concatenate([self.known, known])
        ends = self.party_offsets[-1] + np.cumsum(party_counts, dtype=np.int64)
        self.party_offsets = np.concatenate([self.party_offsets, ends])
        self.party_keys = np.concatenate([self.party_keys, party_keys])
        self._reindex()

    def merge(self) -> None:
        if not self._recent:
            return
        recent, self._recent = self._recent, {}
        values = list(recent.values())

        def column(i: int) -> np.ndarray:
            return np.array([v[i] for v in values], dtype=np.int64)

        parties = [p for v in values for p in v[3]]
        self.extend(
            np.array(list(recent), dtype=np.int64),
            column(0),
            column(1),
            column(2),
            np.array([len(v[3]) for v in values], dtype=np.int64),
            np.array(parties, dtype=np.int64),
        )

    def __getstate__(self) -> dict[str, Any]:
        self.merge()
        return {
            k: getattr(self, k) for k in ("ids", "registered", "area", "known", "party_offsets", "party_keys")
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reindex()
        self._recent = {}
