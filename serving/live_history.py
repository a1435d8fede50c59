"""The as-of history a running server scores against: the model's history as trained, plus the
history facts committed since its cut-off (serving.history_facts), read by many request threads
while one follower thread adds to it (serving.history_follower).

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
from datetime import datetime
from typing import Any

import pandas as pd

from features.errors import RecordError
from features.history_state import HistoryState
from features.schema import PARTY_COLUMNS
from serving.history_facts import FactBatch, FactCursor

log = logging.getLogger(__name__)


class LiveHistory:
    """A ``HistoryReader`` (see risk.model) that can be fed while it is read."""

    def __init__(self, trained: HistoryState) -> None:
        self._state = copy.deepcopy(trained)  # the model's own copy stays as trained
        self._spare: HistoryState | None = None
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        # Where this history stands in the facts table (set by replay); None: it is not fed.
        self.cursor: FactCursor | None = None

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

    def apply(self, batch: FactBatch, *, shared: bool = True) -> int:
        """Learn the facts of ``batch`` (serving.history_facts): later cases of the same people and
        areas see them. ``shared=False`` (replay, before any reader has the history) updates in
        place, without the spare copy. Returns how many escalations could not be applied (a case
        the history does not hold, or one already known to have escalated at another time)."""
        if not len(batch):
            return 0
        frames = _frames(batch.cases, batch.parties) if batch.cases else None
        with self._write_lock:
            spare = self._spare_copy() if shared else None
            if spare is None:
                with self._read_lock:
                    return _update(self._state, frames, batch.escalations)
            try:
                skipped = _update(spare, frames, batch.escalations)
            except Exception:
                self._spare = None  # it may hold part of the batch: made anew next time
                raise
            with self._read_lock:
                replaced, self._state = self._state, spare
            self._spare = None
            _update(replaced, frames, batch.escalations)  # cannot fail where the same update just passed
            self._spare = replaced
            return skipped

    def _spare_copy(self) -> HistoryState | None:
        if self._spare is None:
            with self._read_lock:
                try:
                    self._spare = copy.deepcopy(self._state)
                except Exception as exc:  # memory: updates then run under the read lock
                    log.warning("no spare copy of the live history", extra={"error": type(exc).__name__})
                    return None
        return self._spare


def _update(
    state: HistoryState,
    frames: tuple[pd.DataFrame, pd.DataFrame] | None,
    escalations: Sequence[tuple[str, datetime]],
) -> int:
    """One batch on one state; the same on the spare and the replaced state, so both end equal."""
    if frames is not None:
        state.update(*frames)
    skipped = 0
    for case_id, escalated_at in escalations:
        try:
            state.record_escalation(case_id, escalated_at)
        except RecordError:  # deterministic: the other copy skips it too
            skipped += 1
    return skipped


def _frames(
    cases: Sequence[Mapping[str, Any]], parties: Sequence[Sequence[Mapping[str, Any]]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [
        dict(p) | {"case_id": c["case_id"]} for c, people in zip(cases, parties, strict=True) for p in people
    ]
    party_frame = pd.DataFrame(rows, columns=list(PARTY_COLUMNS))
    party_frame["key_groups"] = party_frame["key_groups"].fillna("").astype(str)
    case_frame = pd.DataFrame([dict(c) for c in cases])
    case_frame["registered_at"] = pd.to_datetime(case_frame["registered_at"]).astype("datetime64[ns]")
    return case_frame, party_frame
