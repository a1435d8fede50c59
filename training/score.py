"""`risk score`: batch scoring with the registered model.

History is what the model knew at training time, plus earlier records given with
``--history``, plus the scored dataset's own earlier records; so scoring the weeks right
after training sees the same history the intake API would.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import pandas as pd

from features.contract import load_dataset
from features.errors import DisputeRiskError
from risk.model import EscalationModel

log = logging.getLogger(__name__)


def score_dataset(
    model: EscalationModel, data_dir: Path, *, history_dir: Path | None = None, recent_days: int = 0, n_reasons: int = 3
) -> tuple[pd.DataFrame, int]:
    """Score every good case of ``data_dir``. Returns the scores and the number of rejected rows."""
    dataset = load_dataset(data_dir)
    state = copy.deepcopy(model.history)
    if history_dir is not None:
        earlier = load_dataset(history_dir)
        # Only records the model has not seen already and that precede the scored ones.
        first = dataset.cases["registered_at"].min()
        # update() skips cases the state already holds (a held case now escalated is recorded as such).
        new = earlier.cases[earlier.cases["registered_at"] < first]
        state.update(new, earlier.parties[earlier.parties["case_id"].isin(new["case_id"])])
    cases = dataset.cases.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
    parties = dataset.parties
    if recent_days:
        # The dataset's earlier rows are history for its last `recent_days` days, never scored.
        start = dataset.export_date.normalize() - pd.Timedelta(days=recent_days)
        earlier = cases[cases["registered_at"] < start]
        state.update(earlier, parties[parties["case_id"].isin(earlier["case_id"])])
        cases = cases[cases["registered_at"] >= start].reset_index(drop=True)
        parties = parties[parties["case_id"].isin(cases["case_id"])]
    scores = model.score(cases, parties, history=state, n_reasons=n_reasons)
    return scores, len(dataset.rejects)


def write_scores(scores: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        scores.to_parquet(out, index=False)
    elif suffix == ".csv":
        scores.to_csv(out, index=False, encoding="utf-8")
    else:
        raise DisputeRiskError(f"--out must end in .csv or .parquet, got {out.name!r}")
