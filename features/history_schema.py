"""What the as-of history features are, and the input rules both computing paths share.

Two paths compute the same numbers: ``history_batch`` (vectorised, a whole dataset for
training) and ``history_state`` (incremental, one case at intake). Everything that decides a
value - names, windows, the time encoding, area keys, key-group tags - lives here once, so the
two cannot drift apart.

Time rules (no leakage): a case at time ``t`` sees only records registered strictly before
``t``; an escalation counts only once it was known, i.e. ``escalated_at <= t``. Times are int64
nanoseconds of naive Asia/Shanghai wall time. An escalation is stored at its *known time*
``max(escalated_at, registered_at + 1 ns)``: the extra nanosecond turns "its case was
registered strictly before t" into the same single test ``known <= t``.

The features, per case:

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

Three paths give identical numbers: ``history_batch.compute_history_features`` (a whole
dataset, training), ``history_state.HistoryState.features_one`` (one case, the intake API) and
``HistoryState.features_for`` (a batch against the state, ``history_query``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from features import area_codes
from features.catalogue import RISES, Describe, Family, Feature, count_of, fixed
from features.errors import ContractError, RecordError
from features.schema import DEFAULT_TIMEZONE, KEY_GROUPS, PARTY_TYPES, split_key_groups

NS_PER_DAY: Final = 86_400 * 10**9
NO_TIME: Final = int(np.iinfo(np.int64).min)  # "no such event" (also what NaT views as)
AREA_WINDOWS_DAYS: Final[tuple[int, ...]] = (30, 90, 365)
PARTY_WINDOW_DAYS: Final = 365
PER_RESIDENTS: Final = 10_000.0
# Pair history is about the same people meeting again; a mass dispute with more parties than
# this would add n^2/2 pairs per case, so it gets no pair feature (NaN) and adds no pairs.
MAX_PAIR_PARTIES: Final = 50
NATURAL_PERSON, ORGANISATION = PARTY_TYPES

# ASCII names, so that every model library accepts them; reasons.py maps them back to Chinese.
KEY_GROUP_FEATURES: Final[dict[str, str]] = dict(
    zip(
        KEY_GROUPS,
        (
            "kg_severe_mental_illness",
            "kg_released_prisoner",
            "kg_community_correction",
            "kg_drug_user",
            "kg_sanshi_yipian",
            "kg_dibao_hardship",
        ),
        strict=True,
    )
)
_OTHER_TAG_BIT: Final = 1 << len(KEY_GROUPS)  # a tag outside KEY_GROUPS (the contract allows them)

PARTY_FEATURES: Final[tuple[str, ...]] = (
    "party_prior_cases_max",  # earlier cases of the most-seen party of this case
    "party_prior_cases_sum",
    "party_prior_cases_person_max",  # the same, over natural persons (自然人) only
    "party_prior_escalations_max",  # earlier cases of a party that had escalated, known by t
    "party_prior_escalations_sum",
    # Over natural persons only: a property company's last dispute says nothing about whether
    # this conflict between people is still hot. NaN when no person has an earlier case.
    "party_days_since_last_case",
    "pair_prior_cases_max",  # earlier cases holding the most-seen pair of this case's parties
    "party_cases_365d_max",
)
KEY_GROUP_COLUMNS: Final[tuple[str, ...]] = (
    "key_group_present",
    "key_group_persons",
    *KEY_GROUP_FEATURES.values(),
    "org_party_present",
)
AREA_LEVELS_KEPT: Final = ("village", "town")  # the area windows: the case's village and town
AREA_KINDS: Final = ("cases", "escalations")


def area_feature(level: str, kind: str, days: int) -> str:
    """The name of an area count; both history paths name their columns with it."""
    return f"{level}_{kind}_{days}d"


def rate_feature(count: str) -> str:
    return f"{count}_per10k"


AREA_COUNT_FEATURES: Final[tuple[str, ...]] = tuple(
    area_feature(level, kind, days)
    for level in AREA_LEVELS_KEPT
    for kind in AREA_KINDS
    for days in AREA_WINDOWS_DAYS
)
AREA_RATE_FEATURES: Final[tuple[str, ...]] = tuple(rate_feature(name) for name in AREA_COUNT_FEATURES)
HISTORY_FEATURES: Final[tuple[str, ...]] = (
    PARTY_FEATURES + KEY_GROUP_COLUMNS + AREA_COUNT_FEATURES + AREA_RATE_FEATURES
)
_FAMILY_OF: Final[dict[str, str]] = {
    "party_prior_escalations_max": "party_escalations",
    "party_prior_escalations_sum": "party_escalations",
    "pair_prior_cases_max": "pair_history",
    "org_party_present": "organisation",
}
# An earlier escalation of the same people, or one more 重点人群 person, never lowers the risk.
_RISING: Final = ("party_prior_escalations_max", "party_prior_escalations_sum", "key_group_persons")


def _family(name: str) -> str:
    if name in _FAMILY_OF:
        return _FAMILY_OF[name]
    if name in PARTY_FEATURES:
        return "party_history"
    if name in KEY_GROUP_COLUMNS:
        return "key_groups"
    return "village_history" if name.startswith("village_") else "town_history"


HISTORY_CATALOGUE: Final[tuple[Feature, ...]] = tuple(
    Feature(name, _family(name), RISES if name in _RISING else 0) for name in HISTORY_FEATURES
)


def _counted(name: str, some: str, none: str) -> Describe:
    def describe(case: Mapping[str, Any], history: Mapping[str, Any], terms: Any) -> str:
        n = count_of(history, name)
        return some.format(n=n) if n > 0 else none

    return describe


HISTORY_REASON_FAMILIES: Final[tuple[Family, ...]] = (
    Family(
        "party_escalations",
        "当事人此前民转刑",
        "party history",
        _counted(
            "party_prior_escalations_sum",
            "当事人此前有{n}起纠纷已转为刑事案件",
            "当事人此前没有纠纷转为刑事案件",
        ),
    ),
    Family(
        "party_history",
        "当事人纠纷史",
        "party history",
        _counted("party_prior_cases_sum", "当事人此前已有{n}起纠纷登记", "当事人此前无纠纷登记"),
    ),
    Family(
        "pair_history",
        "同一双方纠纷史",
        "party history",
        _counted("pair_prior_cases_max", "同一双方此前已发生过{n}起纠纷", "双方此前没有登记过纠纷"),
    ),
    Family(
        "key_groups",
        "重点人群",
        "key groups",
        _counted("key_group_persons", "当事人中有{n}名重点人群人员", "当事人中没有重点人群人员"),
    ),
    Family(
        "organisation",
        "单位当事方",
        "key groups",
        _counted("org_party_present", "当事方中有单位", "当事方均为个人"),
    ),
    Family(
        "village_history", "所在村近期情况", "area history", fixed("所在村（社区）近期的纠纷与民转刑情况")
    ),
    Family("town_history", "所在镇近期情况", "area history", fixed("所在镇（街道）近期的纠纷与民转刑情况")),
)


# ---- time -----------------------------------------------------------------------------------
def times_ns(values: pd.Series, field: str, *, required: bool) -> np.ndarray:
    """A column of date-times as int64 ns of Shanghai wall time; NaT -> NO_TIME."""
    try:
        stamps = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:
        raise RecordError(
            field, values.iloc[0] if len(values) else None, f"must be a date-time ({exc})"
        ) from None
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert(DEFAULT_TIMEZONE).dt.tz_localize(None)
    out = stamps.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
    if required and (out == NO_TIME).any():
        raise RecordError(field, None, "is required")
    return out


def timestamp_ns(value: object, field: str) -> int:
    """One date-time (datetime, Timestamp or ISO string) as int64 ns of Shanghai wall time."""
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise RecordError(field, value, "must be a date-time") from None
    if stamp is pd.NaT:
        raise RecordError(field, value, "is required")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(DEFAULT_TIMEZONE).tz_localize(None)
    return int(stamp.as_unit("ns").value)


def escalation_known_ns(cases: pd.DataFrame, registered: np.ndarray) -> np.ndarray:
    """Known time of each case's escalation (see module doc); NO_TIME when none is known.

    An ``escalated`` case without ``escalated_at`` counts nowhere: when it became known cannot
    be told, and counting it could leak the future.
    """
    if "escalated_at" not in cases:
        return np.full(len(cases), NO_TIME, dtype=np.int64)
    at = times_ns(cases["escalated_at"], "escalated_at", required=False)
    known = at != NO_TIME
    if "escalated" in cases:
        known &= cases["escalated"].eq(True).fillna(False).to_numpy(dtype=bool)
    return np.where(known, np.maximum(at, registered + 1), NO_TIME)


# ---- areas ----------------------------------------------------------------------------------
def population_by_area(population: Mapping[str, float] | None) -> dict[int, float]:
    """area key -> residents, keeping only known positive counts (others give NaN rates)."""
    out: dict[int, float] = {}
    for code, residents in (population or {}).items():
        value = float(residents) if residents is not None else math.nan
        if math.isfinite(value) and value > 0:
            out[int(area_codes.check(code))] = value
    return out


# ---- key groups -----------------------------------------------------------------------------
def key_group_mask(value: object) -> int:
    """Bit i for KEY_GROUPS[i], one more bit for any other tag."""
    mask = 0
    for tag in split_key_groups(value if isinstance(value, str) else None):
        mask |= 1 << KEY_GROUPS.index(tag) if tag in KEY_GROUPS else _OTHER_TAG_BIT
    return mask


def key_group_row(party_masks: list[int], any_org: bool) -> list[float]:
    """KEY_GROUP_COLUMNS of one case from its distinct parties' tag masks."""
    union = 0
    for mask in party_masks:
        union |= mask
    persons = sum(1 for mask in party_masks if mask)
    flags = [float(bool(union >> i & 1)) for i in range(len(KEY_GROUPS))]
    return [float(union != 0), float(persons), *flags, float(any_org)]


def require_columns(table: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ContractError(
            f"{name} must have columns {list(columns)}, missing {missing}", file=name, column=missing[0]
        )
