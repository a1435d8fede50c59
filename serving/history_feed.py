"""Feeding scored cases into the model's as-of history, off the request path and in batches.

``LiveHistory.observe_many`` has a fixed cost per call (a history update, then the swap) and a
small one per case: one case at a time it would cost more CPU than scoring the case did. So the scoring route only enqueues, and one
thread applies what has accumulated, waiting up to ``linger`` seconds after the first case so
that a busy server applies tens of cases per call. The next case of the same people sees the
earlier one once it is applied, normally within ``linger`` (0.1 s).

The queue is bounded: an observation that does not fit is dropped and counted
(risk_history_dropped_total), which costs the history one case, never a request."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from serving.live_history import LiveHistory
from serving.logging_config import exception_summary
from serving.metrics import Metrics

log = logging.getLogger(__name__)

Observation = tuple[LiveHistory, Mapping[str, Any], Sequence[Mapping[str, Any]]]  # (history, case, parties)


class HistoryFeeder:
    def __init__(
        self, metrics: Metrics, *, max_pending: int = 20_000, max_batch: int = 1000, linger: float = 0.1
    ) -> None:
        self.metrics = metrics
        self.max_batch = max_batch
        self.linger = linger
        self._queue: queue.Queue[Observation | None] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="history-feeder", daemon=True)
        self._thread.start()

    def submit(self, history: LiveHistory, case: Mapping[str, Any], parties: Sequence[Mapping[str, Any]]) -> None:
        try:
            self._queue.put_nowait((history, case, parties))
        except queue.Full:
            self.metrics.history_dropped.inc()

    def wait_idle(self) -> None:
        """Block until everything submitted so far is in the history (for tests and shutdown)."""
        self._queue.join()

    def stop(self) -> None:
        """Apply what is pending, then end the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _collect(self) -> list[Observation | None]:
        """The first observation, then whatever arrives within ``linger`` (up to ``max_batch``);
        a stop (None) ends the wait at once."""
        batch: list[Observation | None] = [self._queue.get()]
        deadline = time.monotonic() + self.linger
        while len(batch) < self.max_batch and batch[-1] is not None:
            left = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._collect()
            observations = [o for o in batch if o is not None]
            try:
                self._apply(observations)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if len(observations) < len(batch):
                return

    def _apply(self, observations: list[Observation]) -> None:
        # A reload may leave observations for the old model's history in the queue: each goes to its own.
        by_history: dict[int, list[Observation]] = {}
        for o in observations:
            by_history.setdefault(id(o[0]), []).append(o)
        for group in by_history.values():
            try:
                group[0][0].observe_many([c for _, c, _ in group], [p for _, _, p in group])
            except Exception as exc:  # the history misses these cases; scoring goes on
                log.error("could not add scored cases to the live history", extra={"error": exception_summary(exc)})
                continue
            self.metrics.history_observed.inc(len(group))
