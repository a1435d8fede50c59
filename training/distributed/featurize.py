"""Tokenisation, cue counting and the model matrix mapped over partitions.

Every feature of ``features.build.CaseFeaturizer`` is a function of one row of the case frame
(the tabular fields, the narrative's cues and word score, the history columns): a fitted
featurizer's ``transform`` on a partition gives exactly the rows the single-machine transform
gives for those cases. The fitted object travels to each worker once (a delayed value), not
once per task. Fitting the narrative model on the train window stays with the caller here.
"""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.delayed import delayed
from sklearn.base import clone

from features.build import CaseFeaturizer
from features.cues import CueFlags
from features.history_schema import HISTORY_FEATURES
from training.distributed.cluster import dask_settings

__all__ = ["case_frame", "cue_counts", "feature_frame"]


def case_frame(cases: dd.DataFrame, history: dd.DataFrame) -> dd.DataFrame:
    """The case frame ``features.build.case_frame`` makes: the case columns, then the history
    columns. ``history`` as ``history_features`` returns it is indexed and partitioned like
    ``cases``: the join is partition by partition and moves no case row."""
    with dask_settings():
        return cases.join(history[list(HISTORY_FEATURES)], how="left")


def cue_counts(cases: dd.DataFrame, cues: CueFlags | None = None) -> dd.DataFrame:
    """Negation-aware cue counts of each narrative (``CueFlags.transform`` per partition), one
    float64 column per cue family, indexed like ``cases``."""
    flags = clone(cues or CueFlags()).fit([])  # validates the parameters; nothing to learn
    names = [str(n) for n in flags.get_feature_names_out()]
    with dask_settings():
        texts = cases["narrative"]
        return texts.map_partitions(
            _cues, delayed(flags), names, meta=_empty(names, np.float64, texts._meta.index)
        )


def feature_frame(frame: dd.DataFrame, featurizer: CaseFeaturizer) -> dd.DataFrame:
    """The model matrix of a case frame under a fitted featurizer: float32 columns named as
    ``get_feature_names_out``, indexed and partitioned like ``frame``, so that labels taken from
    the same frame line up; ``.to_dask_array(lengths=True)`` gives the matrix itself."""
    names = [str(n) for n in featurizer.get_feature_names_out()]
    with dask_settings():
        meta = _empty(names, np.float32, frame._meta.index)
        return frame.map_partitions(_matrix, delayed(featurizer), names, meta=meta)


def _cues(texts: pd.Series, flags: CueFlags, names: list[str]) -> pd.DataFrame:
    if not len(texts):
        return _empty(names, np.float64, texts.index)
    return pd.DataFrame(flags.transform(texts), columns=names, index=texts.index)


def _matrix(part: pd.DataFrame, featurizer: Any, names: list[str]) -> pd.DataFrame:
    if not len(part):
        return _empty(names, np.float32, part.index)
    return pd.DataFrame(featurizer.transform(part), columns=names, index=part.index)


def _empty(names: list[str], dtype: Any, index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame({n: pd.Series(dtype=dtype) for n in names}, index=index[:0])
