"""Time-based split of the labelled cases into train / validation / calibration / test.

Windows follow registration time, so every model is judged on cases registered after
everything it learned from, the way it will be used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.errors import DisputeRiskError

WINDOWS = ("train", "validation", "calibration", "test")


@dataclass(frozen=True)
class TemporalSplit:
    """Boundaries (start inclusive) of each window and the window of every case."""

    starts: dict[str, pd.Timestamp]
    end: pd.Timestamp
    window: pd.Series  # per case: one of WINDOWS, or "" for unlabelled cases

    def mask(self, name: str) -> np.ndarray:
        return (self.window == name).to_numpy()

    def describe(self) -> dict[str, dict[str, str | int]]:
        out: dict[str, dict[str, str | int]] = {}
        names = list(WINDOWS)
        for i, name in enumerate(names):
            stop = self.starts[names[i + 1]] if i + 1 < len(names) else self.end
            out[name] = {
                "from": str(self.starts[name].date()),
                "to": str(stop.date()),
                "n": int(self.mask(name).sum()),
            }
        return out


def temporal_split(
    registered_at: pd.Series,
    labelled: pd.Series,
    fractions: tuple[float, float, float, float] = (0.6, 0.1, 0.15, 0.15),
) -> TemporalSplit:
    """Cut the labelled cases at registration-time quantiles given by ``fractions``."""
    if len(fractions) != 4 or abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) <= 0:
        raise DisputeRiskError(f"fractions must be four positive shares summing to 1, got {fractions}")
    times = registered_at[labelled.to_numpy()]
    if len(times) < 100:
        raise DisputeRiskError(
            f"need at least 100 labelled (mature) cases to split in time, got {len(times)}"
        )
    cuts = np.cumsum(fractions)[:-1]
    bounds = [times.quantile(q) for q in cuts]
    starts = dict(zip(WINDOWS, [times.min(), *bounds], strict=True))
    split = TemporalSplit(starts=starts, end=times.max(), window=window_of(registered_at, labelled, starts))
    for name in WINDOWS:
        if split.mask(name).sum() == 0:
            raise DisputeRiskError(f"the {name} window is empty; the labelled period is too short")
    return split


def window_of(registered_at: pd.Series, labelled: pd.Series, starts: dict[str, pd.Timestamp]) -> pd.Series:
    """The window of each case given the windows' starts ("" when unlabelled); a function of one
    row, so the Dask path applies it per partition with the starts found on all cases."""
    window = pd.Series("", index=registered_at.index, dtype=object)
    for name in WINDOWS:
        window[labelled.to_numpy() & (registered_at >= starts[name]).to_numpy()] = name
    return window
