"""Outcomes closed in the 督办 queue (``/v1/feedback``) merged into an export's labels.

The queue knows outcomes only for warned cases, so it completes the export and never stands in
for it: a case the export shows escalated stays escalated (a case closed as 化解 that later
turned criminal is corrected by the export, not kept as a negative); a 民转刑 the export does not
show yet is added, with its time and charge. Only what was known at the as-of date counts: an
item closed later, or a criminal case that arose later, is left out, so a label never leaks
from the future into a model trained as of that date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.errors import ContractError
from features.fields import parse_datetime

FEEDBACK_REQUIRED = ("case_id", "outcome", "closed_at", "escalated", "escalated_at")


@dataclass(frozen=True)
class FeedbackMerge:
    """What the queue's outcomes did to the export's labels."""

    rows: int  # feedback rows given
    known: int  # closed (and, for 民转刑, arisen) by the as-of date
    added: int  # 民转刑 the export did not show, now labels
    corrected: int  # closed as another outcome but escalated in the export: the export's label kept
    unknown_cases: int  # feedback for cases the export does not hold (not used)


def read_feedback(path: str) -> pd.DataFrame:
    """The feedback export (CSV as ``/v1/feedback?format=csv`` writes it, or its JSON)."""
    frame = pd.read_json(path, dtype=False) if str(path).endswith(".json") else pd.read_csv(path, dtype=str)
    missing = [c for c in FEEDBACK_REQUIRED if c not in frame.columns]
    if missing:
        raise ContractError(
            f"{path}: missing required column {missing[0]!r}", file=str(path), column=missing[0]
        )
    return frame


def merge_feedback(
    cases: pd.DataFrame, feedback: pd.DataFrame, *, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, FeedbackMerge]:
    """The cases with the queue's 民转刑 outcomes known by ``as_of`` added where the export lacks them."""
    if "escalated" not in cases:
        raise ContractError(
            "cases have no outcome columns: the queue completes an export's labels, never replaces them"
        )
    closed = _times(feedback["closed_at"], "closed_at")
    escalated = feedback["escalated"].astype(str).str.lower().isin(("true", "1"))
    arisen = _times(feedback["escalated_at"].where(escalated), "escalated_at")
    known = (closed <= as_of) & (~escalated | (arisen <= as_of))
    in_export = feedback["case_id"].astype(str).isin(cases["case_id"])
    usable = feedback[known & in_export].assign(_escalated=escalated, _arisen=arisen)
    out = cases.copy()
    by_id = pd.Series(np.arange(len(out)), index=out["case_id"].astype(str))
    positions = by_id.reindex(usable["case_id"].astype(str)).to_numpy()
    export_escalated = out["escalated"].to_numpy(dtype=bool)[positions]
    add = usable["_escalated"].to_numpy(dtype=bool) & ~export_escalated
    rows = positions[add]
    out.loc[out.index[rows], "escalated"] = True
    out.loc[out.index[rows], "escalated_at"] = usable["_arisen"].to_numpy()[add]
    if "criminal_charge" in out and "criminal_charge" in usable:
        out.loc[out.index[rows], "criminal_charge"] = usable["criminal_charge"].to_numpy()[add]
    summary = FeedbackMerge(
        rows=len(feedback),
        known=int(known.sum()),
        added=int(add.sum()),
        corrected=int((~usable["_escalated"].to_numpy(dtype=bool) & export_escalated).sum()),
        unknown_cases=int((known & ~in_export).sum()),
    )
    return out, summary


def _times(values: pd.Series, field: str) -> pd.Series:
    """ISO-8601 texts (an offset converted, none meaning Shanghai time) as naive datetimes; NaT
    where empty. One rule with the contract's: ``features.fields.parse_datetime``."""
    parsed = [pd.NaT if _empty(v) else parse_datetime(v, f"feedback {field}") for v in values]
    return pd.Series(pd.to_datetime(parsed), index=values.index).astype("datetime64[ns]")


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""
