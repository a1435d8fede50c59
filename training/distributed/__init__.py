"""The scale-out engine: the data contract, the as-of history and the model matrix on a Dask
cluster, equal to the single-machine path (``features``) on the same data. See docs/dask.md.

    with connect("tcp://scheduler:8786"):            # or connect() for a LocalCluster
        data = load_dataset("/shared/export")         # rejects file as features.contract writes it
        history = history_features(data.cases, data.parties, data.population())
        X = feature_frame(case_frame(data.cases, history), fitted_featurizer)

Modules: ``cluster`` (where it runs), ``layout`` (files and row ids), ``partition`` (a folder
to month-partitioned Parquet), ``load`` with ``checks`` and ``rejects`` (the contract),
``history`` (as-of features by key groups), ``featurize`` (cues and the matrix per partition),
``prepare`` / ``boosting`` / ``rounds`` / ``train`` (training with ``lightgbm.dask``:
``train.run_training_on_cluster``), ``score`` (``risk score`` and ``risk index`` per partition).
Those last modules import LightGBM and MLflow, so they are imported by name, not from here.
Needs the ``dask`` extra: ``pip install 'dispute-risk[dask]'``.
"""

from __future__ import annotations

try:
    import dask  # noqa: F401
    import distributed  # noqa: F401
except ImportError as exc:  # the extra is optional; say which one
    raise ImportError("training.distributed needs Dask: pip install 'dispute-risk[dask]'") from exc

from training.distributed.cluster import connect
from training.distributed.featurize import case_frame, cue_counts, feature_frame
from training.distributed.history import history_features
from training.distributed.load import DaskDataset, load_dataset
from training.distributed.partition import write_partitioned

__all__ = [
    "DaskDataset",
    "case_frame",
    "connect",
    "cue_counts",
    "feature_frame",
    "history_features",
    "load_dataset",
    "write_partitioned",
]
