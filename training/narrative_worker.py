"""A big batch's narrative parts (cue counts, word score) computed on the second core while this
process reads the history, and shared out so that neither side waits long for the other.

Batch scoring spends about as long on the narratives as on the history, and the two do not
depend on each other until the model matrix is assembled. ``NarrativeJob`` starts one worker
(``python -m training.narrative_worker``) and feeds it slices of the batch from the front, from a
thread; when this process needs the parts, it computes the slices not yet sent itself, from the
back, then waits for the one in flight. A worker that fails or never starts only means this
process computes more slices: the numbers are the same either way (``NarrativeParts`` of a
slice do not depend on the rest of the batch).

The worker is a plain interpreter reading pickles from its stdin, not a ``multiprocessing``
one: spawning re-imports the parent's main module (the whole CLI, seconds of a small batch's
budget), and forking a process that runs OpenMP threads can deadlock. It imports the cue
lexicon and the normaliser only (0.2 s), and scikit-learn only when the model scores words.
Narratives pass through pipes between the two processes and are never written anywhere.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Final

from features.narrative_parts import NarrativeParts, WordScore, narrative_parts

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from features.build import CaseFeaturizer

MIN_ROWS: Final = 20_000  # below this the batch is done here before a worker would be of use
SLICE_ROWS: Final = 4_096  # small enough that the last slice in flight is a short wait
_ROOT: Final = Path(__file__).resolve().parents[1]


class NarrativeJob:
    """The narrative parts of ``narratives`` (in order), started on entering the ``with`` block.

    ``transform`` is a ``risk.model.Transform``: the featurizer on a frame of the same rows,
    with the parts computed here."""

    def __init__(
        self,
        narratives: Sequence[object],
        words: WordScore | None,
        *,
        min_rows: int | None = None,
        slice_rows: int | None = None,
    ) -> None:
        self._narratives = narratives
        self._words = words
        slice_rows = slice_rows or SLICE_ROWS
        starts = range(0, len(narratives), slice_rows)
        self._slices = [(s, min(s + slice_rows, len(narratives))) for s in starts]
        self._parts: list[NarrativeParts | None] = [None] * len(self._slices)
        self._lock = threading.Lock()
        self._front, self._back = 0, len(self._slices) - 1  # unclaimed slices: front..back
        self._given_back: list[int] = []  # claimed by the feeder, then not computed
        self._use_worker = len(narratives) >= (MIN_ROWS if min_rows is None else min_rows)
        self._process: subprocess.Popen[bytes] | None = None
        self._feeder: threading.Thread | None = None

    def __enter__(self) -> NarrativeJob:
        if self._use_worker:
            try:
                self._process = _start_worker()
            except OSError:  # no worker: this process computes every slice
                return self
            self._feeder = threading.Thread(target=self._feed, name="narrative-feeder", daemon=True)
            self._feeder.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            self._back = self._front - 1  # nothing more goes out
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
        if self._feeder is not None:
            self._feeder.join()
        if process is not None:
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()

    def result(self) -> NarrativeParts:
        while (i := self._claim(from_back=True)) is not None:
            self._parts[i] = self._compute(i)
        if self._feeder is not None:
            self._feeder.join()
        for i in self._given_back:
            self._parts[i] = self._compute(i)
        self._given_back.clear()
        done = [p for p in self._parts if p is not None]
        assert len(done) == len(self._parts), "every slice is computed by one side or the other"
        if not done:
            return narrative_parts([], self._words)
        return NarrativeParts.stacked(done)

    def transform(self, featurizer: CaseFeaturizer, frame: pd.DataFrame) -> np.ndarray:
        if len(frame) != len(self._narratives):
            raise ValueError(f"the frame has {len(frame)} rows, the narratives {len(self._narratives)}")
        return featurizer.transform(frame, narrative=self.result())

    def _claim(self, *, from_back: bool) -> int | None:
        with self._lock:
            if self._front > self._back:
                return None
            if from_back:
                self._back -= 1
                return self._back + 1
            self._front += 1
            return self._front - 1

    def _compute(self, i: int) -> NarrativeParts:
        start, end = self._slices[i]
        return narrative_parts(self._narratives[start:end], self._words)

    def _feed(self) -> None:
        """The worker's side of the batch, from the front, one slice at a time."""
        i: int | None = None
        try:
            assert self._process is not None
            assert self._process.stdin is not None and self._process.stdout is not None
            _send(self._process.stdin, self._words)
            while (i := self._claim(from_back=False)) is not None:
                start, end = self._slices[i]
                _send(self._process.stdin, list(self._narratives[start:end]))
                self._parts[i] = pickle.load(self._process.stdout)
                i = None
            _send(self._process.stdin, None)
        except Exception:  # noqa: BLE001 - a worker lost costs time, never results: this process computes its slice
            if i is not None:
                self._given_back.append(i)


def _start_worker() -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "training.narrative_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )


def _send(stream: IO[bytes], message: Any) -> None:
    stream.write(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
    stream.flush()


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The worker: the word-score model (or None), then slices of narratives until None."""
    words = pickle.load(requests)
    while (narratives := pickle.load(requests)) is not None:
        _send(replies, narrative_parts(narratives, words))


if __name__ == "__main__":
    replies = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the replies
    serve(sys.stdin.buffer, replies)
