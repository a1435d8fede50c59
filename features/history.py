"""As-of party and area history features (HISTORY_FEATURES), computed without leakage.

A case registered at ``t`` sees only records registered strictly before ``t`` (a record at the
same instant does not count) and an escalation only if ``escalated_at <= t`` - never anything
learnt later. Definitions, per case:

party history (over the case's distinct parties)
    party_prior_cases_max/_sum      earlier cases of each party; max and sum over parties
    party_prior_cases_person_max    the max over natural persons (自然人) only; 0 when none
    party_prior_escalations_max/_sum  earlier cases of each party that had escalated by ``t``
                                    (escalated without an escalated_at: never counted)
    party_days_since_last_case      days since the latest earlier case of any natural person (NaN: none)
    pair_prior_cases_max            earlier cases holding two of this case's parties together,
                                    for the pair seen most; NaN for a case of > 50 parties
    party_cases_365d_max            earlier cases of each party in [t - 365 days, t); max
key groups (this case's own parties, no history)
    key_group_present, key_group_persons (distinct parties with any tag, other tags included),
    kg_<tag> for each KEY_GROUPS tag (names in KEY_GROUP_FEATURES), org_party_present (单位)
area history
    {village,town}_cases_{30,90,365}d        cases registered in [t - W, t)
    {village,town}_escalations_{30,90,365}d  escalations known at a time in [t - W, t], counted
                                             at ``escalated_at`` (or the registration, if later)
    ..._per10k                               the same per 10 000 residents (NaN: not known)
    The village of a town-level code (…000) is unknown: its village features are NaN. The
    town of a village code is ``code[:9] + "000"``.

Two paths give identical numbers: ``compute_history_features`` (vectorised, training) and
``HistoryState`` (incremental; ``features_one`` is the intake fast path).
"""

from __future__ import annotations

from features.history_batch import compute_history_features
from features.history_schema import (
    AREA_COUNT_FEATURES,
    AREA_RATE_FEATURES,
    HISTORY_FEATURES,
    KEY_GROUP_COLUMNS,
    KEY_GROUP_FEATURES,
    PARTY_FEATURES,
)
from features.history_state import HistoryState

__all__ = [
    "AREA_COUNT_FEATURES",
    "AREA_RATE_FEATURES",
    "HISTORY_FEATURES",
    "KEY_GROUP_COLUMNS",
    "KEY_GROUP_FEATURES",
    "PARTY_FEATURES",
    "HistoryState",
    "compute_history_features",
]
