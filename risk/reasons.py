"""Plain-Chinese reasons from per-feature contributions.

Features are grouped into families an intake officer recognises (叙述中的威胁, 当事人的
纠纷史, 所在村的近期情况 ...); the contribution of a family is the sum over its features,
so a reason speaks for everything the model saw of that kind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from features.cues import CUE_LABELS

RAISES = "升高"
LOWERS = "降低"

# (prefix of the feature name, family code). First match wins, so specific prefixes come first.
_FAMILY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("category=", "category"),
    ("source=", "source"),
    ("amount_", "amount"),
    ("n_parties", "people"),
    ("n_people", "people"),
    ("police_calls", "police_calls"),
    ("mediation", "mediation"),
    ("reg_", "time"),
    ("text_score", "text"),
    ("cue_", "cue"),  # refined per cue family below
    ("party_prior_esc", "party_escalations"),
    ("party_esc", "party_escalations"),
    ("pair_", "pair_history"),
    ("party_", "party_history"),
    ("days_since", "party_history"),
    ("key_group", "key_groups"),
    ("kg_", "key_groups"),
    ("org", "organisation"),
    ("village_", "village_history"),
    ("town_", "town_history"),
)


def feature_family(name: str) -> str:
    for prefix, family in _FAMILY_PREFIXES:
        if name.startswith(prefix):
            return name if family == "cue" else family
    return "other"


class ReasonIndex:
    """Maps the model's feature columns (plus LightGBM's bias column) onto families."""

    def __init__(self, feature_names: Sequence[str]) -> None:
        families = [feature_family(str(n)) for n in feature_names]
        self.families: list[str] = sorted(set(families))
        index = {f: i for i, f in enumerate(self.families)}
        rows = np.arange(len(feature_names))
        cols = np.array([index[f] for f in families])
        # The extra last row is the bias term of pred_contrib: it belongs to no family.
        self.matrix = sp.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(feature_names) + 1, len(self.families))
        )

    def family_contributions(self, contrib: np.ndarray | sp.spmatrix) -> np.ndarray:
        """(n, n_features + 1) contributions -> (n, n_families)."""
        out = contrib @ self.matrix
        return np.asarray(out.toarray() if sp.issparse(out) else out)

    def family_contributions_one(self, contrib_row: np.ndarray) -> list[float]:
        """One row of contributions (n_features + 1,) -> its families' sums, as floats: the
        single-case path (a sparse product costs ~25 us of scipy overhead for one row)."""
        column_family = self.__dict__.get("_column_family")
        if column_family is None:  # made on first use: indexes pickled before it existed lack it
            column_family = self._column_family = self._family_of_columns()
        sums = np.bincount(column_family, weights=contrib_row, minlength=len(self.families) + 1)
        return sums[: len(self.families)].tolist()

    def _family_of_columns(self) -> np.ndarray:
        """The family number of each column of ``matrix``'s rows; the bias row (no family)
        gets one past the last family."""
        m = sp.csr_matrix(self.matrix)
        out = np.full(m.shape[0], len(self.families), dtype=np.intp)
        rows = np.flatnonzero(np.diff(m.indptr))
        out[rows] = m.indices[m.indptr[rows]]
        return out


def describe(
    family: str, case: Mapping[str, Any], history: Mapping[str, float], terms: Sequence[str] = ()
) -> str:
    """One sentence for a family, with the case's own values where they help."""
    if family.startswith("cue_"):
        label = CUE_LABELS.get(family[4:], family[4:])
        return f"事件简述提到{label}"
    if family == "category":
        return f"纠纷类别：{case.get('category', '其他')}"
    if family == "source":
        return f"来源渠道：{case.get('source', '其他')}"
    if family == "amount":
        amount = _num(case.get("amount_yuan"))
        return "涉及金额不详" if math.isnan(amount) else f"涉及金额约{amount:,.0f}元"
    if family == "people":
        return f"涉及{_int(case.get('n_parties'))}方当事人、{_int(case.get('n_people'))}人"
    if family == "police_calls":
        calls = _num(case.get("police_calls_before"))
        return "登记前110报警次数不详" if math.isnan(calls) else f"登记前已有{int(calls)}次110报警"
    if family == "mediation":
        tries = _num(case.get("mediation_attempts"))
        return "此前调解情况不详" if math.isnan(tries) else f"登记前已调解{int(tries)}次未能化解"
    if family == "time":
        return "登记的时段与季节"
    if family == "text":
        return f"事件简述中的用词（如“{'”“'.join(terms)}”）" if terms else "事件简述的整体内容"
    if family in _COUNTED:
        prefix, some, none = _COUNTED[family]
        n = _max_of(history, prefix)
        return some.format(n=n) if n > 0 else none
    if family == "organisation":
        return "当事方中有单位" if _max_of(history, "org_party_present") > 0 else "当事方均为个人"
    if family == "village_history":
        return "所在村（社区）近期的纠纷与民转刑情况"
    if family == "town_history":
        return "所在镇（街道）近期的纠纷与民转刑情况"
    return "其他因素"


# family -> (history feature prefix, text when the count is positive, text when it is zero)
_COUNTED: dict[str, tuple[str, str, str]] = {
    "party_escalations": (
        "party_prior_escalations",
        "当事人此前有{n}起纠纷已转为刑事案件",
        "当事人此前没有纠纷转为刑事案件",
    ),
    "party_history": ("party_prior_cases", "当事人此前已有{n}起纠纷登记", "当事人此前无纠纷登记"),
    "pair_history": ("pair_prior_cases", "同一双方此前已发生过{n}起纠纷", "双方此前没有登记过纠纷"),
    "key_groups": ("key_group_persons", "当事人中有{n}名重点人群人员", "当事人中没有重点人群人员"),
}


def _num(value: Any) -> float:
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _int(value: Any) -> int | str:
    v = _num(value)
    return "若干" if math.isnan(v) else int(v)


def _max_of(history: Mapping[str, float], prefix: str) -> int:
    values = [v for k, v in history.items() if k.startswith(prefix) and v is not None and not math.isnan(v)]
    return int(max(values)) if values else 0
