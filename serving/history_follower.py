"""Keeping every process's live history in step with the history facts table.

One mechanism for a process's own intake and for everyone else's: scoring commits a case's
facts before it answers (serving.history_facts); a follower thread in each process reads the
facts committed since its last read, by id, and applies them to the current model's
``LiveHistory`` in one batch. A new model's history (at start-up and after every swap) is built
by ``prepare`` before the model becomes current: the model's history as trained, plus a replay
of every fact after its cut-off, plus what was committed while replaying.

**The delay is bounded.** A fact committed at time t is in every process's current history by
t + ``history_poll_seconds`` (the poll interval, 0.1 s by default) + the time to read and apply
one poll's facts (milliseconds; now and then longer, when the history re-sorts an index; see
live_history). So the next case of the same people, in any worker, sees the earlier one once
that much time has passed: the same for a process's own intake and for the others', and as
before with one process (the in-process feeder it replaces waited 0.1 s to batch). A process
that cannot read the table stays with what it has and says so (readiness, below).

**Ids commit out of order on PostgreSQL** (one transaction takes its id at INSERT and commits
after another that took a later one). The follower re-reads, at every poll, each id below the
newest it has read that it has not seen (``FactCursor.gaps``), until it shows or is older than
any of our transactions can last (``history_facts.GAP_SECONDS``: then it was rolled back).
Re-applying a fact is harmless: the history skips a case it holds and an escalation it knows.

Readiness reports the state: facts applied to the current history and the lag (seconds since
the follower last read everything committed); "stalled" when the lag exceeds a few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from risk.model import EscalationModel
from serving.history_facts import (
    COLUMNS,
    TAIL_IDS,
    FactCursor,
    after_cut_sql,
    batch_of,
    cut_off,
    read_unread,
)
from serving.live_history import LiveHistory
from serving.logging_config import exception_summary
from serving.metrics import Metrics
from serving.tables import HistoryFact

log = logging.getLogger(__name__)

CHUNK = 5000  # facts per read and per history update (replay and catching up)


@dataclass(frozen=True)
class HistoryStatus:
    state: str  # following | stalled | as_trained (feed_history off) | starting
    facts_applied: int
    lag_seconds: float | None


class HistoryFollower:
    """Replays the facts into a new model's history and follows the table for the current one.

    ``engine`` and ``current`` are read at each use: the engine exists once the lifespan has
    run, and the current history changes with every model swap."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        current: Callable[[], LiveHistory | None],
        metrics: Metrics,
        *,
        enabled: bool,
        poll_seconds: float,
    ) -> None:
        self.engine = engine
        self.current = current
        self.metrics = metrics
        self.enabled = enabled
        self.poll_seconds = poll_seconds
        # Readiness calls a history stalled past this lag (a few missed polls, never a GC pause).
        self.stall_seconds = max(5.0, 50 * poll_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- a new model's history ----------------------------------------------------------------
    def prepare(self, model: EscalationModel) -> LiveHistory:
        """The history a newly loaded model will score against, complete before it is current."""
        history = LiveHistory(model.history)
        if self.enabled:
            self.replay(history, cut_off(model.metadata))
        history.warm()
        if self.enabled:
            self.catch_up(history)  # what was committed while replaying
        return history

    def replay(self, history: LiveHistory, cut: datetime | None) -> None:
        """Apply every fact after ``cut`` to a history no reader has yet, and leave its cursor
        after the newest fact (the ids of the tail not seen yet are gaps, possibly in flight)."""
        started = time.monotonic()
        cursor = FactCursor(cut)
        engine = self.engine()
        with engine.connect() as conn:  # the tail first: whatever commits later is a gap, read again
            top = conn.scalar(select(func.max(HistoryFact.id))) or 0
            present = conn.scalars(select(HistoryFact.id).where(HistoryFact.id > top - TAIL_IDS)).all()
        cursor.start(top, present, time.monotonic())
        query = (
            select(*COLUMNS).where(HistoryFact.id <= top, after_cut_sql(cursor.cut)).order_by(HistoryFact.id)
        )
        with engine.connect() as conn:
            for rows in conn.execution_options(yield_per=CHUNK).execute(query).partitions():
                self._apply(history, cursor, rows, shared=False)
        history.cursor = cursor
        cursor.caught_up_at = time.monotonic()
        log.info(
            "history facts replayed",
            extra={
                "facts": cursor.applied,
                "skipped": cursor.skipped,
                "seconds": round(time.monotonic() - started, 3),
            },
        )

    # ---- following ----------------------------------------------------------------------------
    def catch_up(self, history: LiveHistory | None = None) -> None:
        """Read and apply everything committed so far to ``history`` (default: the current one).
        The follower thread calls it every poll; tests call it to skip the wait."""
        history = history if history is not None else self.current()
        if history is None or history.cursor is None:
            return
        cursor = history.cursor
        with cursor.lock:
            while True:
                with self.engine().connect() as conn:
                    rows = read_unread(conn, cursor, CHUNK)
                self._apply(history, cursor, rows, shared=True)
                if len(rows) < CHUNK:
                    break
            cursor.caught_up_at = time.monotonic()

    def _apply(self, history: LiveHistory, cursor: FactCursor, rows: Sequence[Any], *, shared: bool) -> None:
        batch = batch_of(rows, cursor.cut)
        try:
            skipped = history.apply(batch, shared=shared)
        finally:
            # Read, even if applying failed: a fact the history cannot take must not stop it
            # from taking the later ones (the failure is logged by the caller).
            cursor.advance([r.id for r in rows], time.monotonic())
        cursor.applied += len(batch) - skipped
        cursor.skipped += skipped
        if shared:
            self.metrics.history_facts_applied.inc(len(batch) - skipped)

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="history-follower", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.catch_up()
            except Exception as exc:  # the database may be back at the next poll; readiness shows the lag
                self.metrics.history_follow_errors.inc()
                log.error("could not follow the history facts", extra={"error": exception_summary(exc)})

    # ---- readiness ----------------------------------------------------------------------------
    def status(self, history: LiveHistory | None) -> HistoryStatus:
        if not self.enabled:
            return HistoryStatus("as_trained", 0, None)
        cursor = history.cursor if history is not None else None
        if cursor is None or cursor.caught_up_at is None:
            return HistoryStatus("starting", 0, None)
        lag = round(time.monotonic() - cursor.caught_up_at, 3)
        return HistoryStatus("stalled" if lag > self.stall_seconds else "following", cursor.applied, lag)
