"""The featurizer over a large batch in several processes, when asked for (``--workers N``).

Batch scoring runs the featurizer in its own process by default: with the cue counts vectorised,
spawning workers and shipping them the case frame costs more than the second core saves
(bench/bench_score.py --workers 2 measures it). The option stays for machines with many cores.

Worker processes are *spawned*, not forked: the parent has LightGBM's OpenMP and BLAS threads
running, and a forked child of a threaded process can deadlock in them. A spawned worker
imports the packages once and receives the fitted featurizer once (its initializer); chunks of
the case frame then go out and model-matrix rows come back, in order.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from features.build import CaseFeaturizer

MIN_ROWS = 50_000  # below this, starting workers costs more than it saves
_featurizer: CaseFeaturizer | None = None  # the worker's copy (set by its initializer)


def _init(featurizer: CaseFeaturizer) -> None:
    global _featurizer
    _featurizer = featurizer


def _transform_chunk(frame: pd.DataFrame) -> np.ndarray:
    assert _featurizer is not None, "the worker was not initialised"
    return _featurizer.transform(frame)


class ParallelTransform:
    """A ``risk.model.Transform`` that runs the featurizer in ``workers`` processes."""

    def __init__(self, workers: int | None = None, min_rows: int = MIN_ROWS) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.min_rows = min_rows

    def __call__(self, featurizer: CaseFeaturizer, frame: pd.DataFrame) -> np.ndarray:
        if self.workers < 2 or len(frame) < self.min_rows:
            return featurizer.transform(frame)
        chunks = np.array_split(np.arange(len(frame)), self.workers * 4)  # small enough to balance
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init, initargs=(featurizer,)
        ) as pool:
            parts: list[Any] = list(pool.map(_transform_chunk, (frame.iloc[rows] for rows in chunks)))
        return np.vstack(parts).astype(np.float32, copy=False)
