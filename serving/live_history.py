"""The as-of history a running server scores against: the model's history as trained, plus every
case scored since, read by many request threads while one feeder thread adds to it.

``HistoryState`` is not thread-safe, and an update takes milliseconds (now and then ~0.1 s, when
an index is re-sorted). So updates go to a spare copy first; the copy then replaces the state
that readers use (a reference swap under the read lock), and the replaced state gets the same
batch and becomes the spare. A reader waits for a swap, never for an update. One writer at a
time. Without a spare (the state could not be copied) the update runs under the read lock.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from features.history import HistoryState
from features.schema import PARTY_COLUMNS

log = logging.getLogger(__name__)


class LiveHistory:
    """A ``HistoryReader`` (see risk.model) that can be fed while it is read."""

    def __init__(self, trained: HistoryState) -> None:
        self._state = copy.deepcopy(trained)  # the model's own copy stays as trained
        self._spare: HistoryState | None = None
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def features_one(self, case: Mapping[str, Any], parties: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        with self._read_lock:  # a read takes a few binary searches: shorter than any update
            return self._state.features_one(case, parties)

    def __len__(self) -> int:
        return len(self._state)

    def warm(self) -> LiveHistory:
        """Make the spare copy now, so the first update after a (re)load does not pay for it."""
        with self._write_lock:
            self._spare_copy()
        return self

    def observe_many(
        self, cases: Sequence[Mapping[str, Any]], parties: Sequence[Sequence[Mapping[str, Any]]]
    ) -> None:
        """Remember scored cases so that later cases of the same people and areas see them."""
        case_frame, party_frame = _frames(cases, parties)
        with self._write_lock:
            spare = self._spare_copy()
            if spare is None:
                with self._read_lock:
                    self._state.update(case_frame, party_frame)
                return
            try:
                spare.update(case_frame, party_frame)
            except Exception:
                self._spare = None  # it may hold part of the batch: made anew next time
                raise
            with self._read_lock:
                replaced, self._state = self._state, spare
            self._spare = None
            replaced.update(case_frame, party_frame)  # cannot fail where the same update just passed
            self._spare = replaced

    def _spare_copy(self) -> HistoryState | None:
        if self._spare is None:
            with self._read_lock:
                try:
                    self._spare = copy.deepcopy(self._state)
                except Exception as exc:  # memory: updates then run under the read lock
                    log.warning("no spare copy of the live history", extra={"error": type(exc).__name__})
                    return None
        return self._spare


def _frames(
    cases: Sequence[Mapping[str, Any]], parties: Sequence[Sequence[Mapping[str, Any]]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [dict(p) | {"case_id": c["case_id"]} for c, people in zip(cases, parties, strict=True) for p in people]
    party_frame = pd.DataFrame(rows, columns=list(PARTY_COLUMNS))
    party_frame["key_groups"] = party_frame["key_groups"].fillna("").astype(str)
    case_frame = pd.DataFrame([dict(c) for c in cases])
    case_frame["registered_at"] = pd.to_datetime(case_frame["registered_at"]).astype("datetime64[ns]")
    return case_frame, party_frame
