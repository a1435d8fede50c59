"""Labels per the data contract, with right-censoring.

label(H) = escalated and escalated_at - registered_at <= H days. A case registered less
than H days before the as-of date has no known label yet: it is never used as a negative
(nor as a positive, which would bias the most recent window towards escalations).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.errors import DisputeRiskError


def as_of_view(
    cases: pd.DataFrame, parties: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What was known at ``as_of``: later registrations dropped, later escalations unknown."""
    kept = cases_known_at(cases, as_of).reset_index(drop=True)
    return kept, parties.loc[parties["case_id"].isin(kept["case_id"])].reset_index(drop=True)


def cases_known_at(cases: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The cases registered by ``as_of``, escalations after it unknown; the index is kept (the
    Dask path applies this per partition of row-id-indexed cases)."""
    kept = cases.loc[cases["registered_at"] <= as_of].copy()
    if "escalated" in kept:
        late = kept["escalated"].astype(bool) & (kept["escalated_at"] > as_of)
        kept.loc[late, "escalated"] = False
        kept.loc[late, "escalated_at"] = pd.NaT
        if "criminal_charge" in kept:
            kept.loc[late, "criminal_charge"] = None
    return kept


def horizon_labels(cases: pd.DataFrame, horizon_days: int, as_of: pd.Timestamp) -> pd.Series:
    """1.0 / 0.0 for mature cases, NaN for right-censored ones."""
    if horizon_days < 1:
        raise DisputeRiskError(f"horizon_days must be >= 1, got {horizon_days}")
    if "escalated" not in cases:
        raise DisputeRiskError(
            "cases have no 'escalated' column: training needs a historical export with outcomes"
        )
    horizon = pd.Timedelta(days=horizon_days)
    escalated = cases["escalated"].astype(bool)
    within = escalated & ((cases["escalated_at"] - cases["registered_at"]) <= horizon)
    mature = cases["registered_at"] <= as_of - horizon
    return pd.Series(np.where(mature, within.astype(float), np.nan), index=cases.index, name="label")
