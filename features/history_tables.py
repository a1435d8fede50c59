"""Cases and parties reduced to the arrays the history features need.

Both paths start here: one row per case (time, area, escalation known time) and one row per
distinct party of a case (a party listed twice in one case is one party: natural person if
any row says so, its key-group tags united), sorted by case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features import area_codes
from features.errors import RecordError
from features.history_schema import (
    KEY_GROUP_COLUMNS,
    MAX_PAIR_PARTIES,
    NATURAL_PERSON,
    ORGANISATION,
    escalation_known_ns,
    key_group_mask,
    require_columns,
    times_ns,
)
from features.schema import KEY_GROUPS


@dataclass(frozen=True)
class CaseTable:
    case_ids: pd.Series  # str, position i = i-th row of the input cases
    registered: np.ndarray  # int64 ns
    area: np.ndarray  # int64 area code as given (village, or town-level)
    known: np.ndarray  # int64 escalation known time, NO_TIME when none
    row_case: np.ndarray  # int64 case position of each distinct (case, party), sorted by case
    row_party: np.ndarray  # int64 index into party_ids
    row_person: np.ndarray  # bool
    party_ids: pd.Series  # str, distinct party ids
    key_groups: np.ndarray  # float64 (n_cases, len(KEY_GROUP_COLUMNS))

    def __len__(self) -> int:
        return len(self.case_ids)

    def case_starts(self) -> np.ndarray:
        """row_case[case_starts()[i]:case_starts()[i + 1]] are the parties of case i."""
        return np.searchsorted(self.row_case, np.arange(len(self) + 1))


def _as_str(column: pd.Series) -> pd.Series:
    """``column.astype(str)``, but an object column of str only (as the loader gives) stays as it
    is: copying it into pandas' string array was the dearest step of a history update."""
    return column if _all_str(column) else column.astype(str)


def _all_str(column: pd.Series) -> bool:
    """An object column of str only (none missing): a quick scan, unlike ``isna`` of objects."""
    return column.dtype == object and pd.api.types.infer_dtype(column, skipna=False) == "string"


def prepare(cases: pd.DataFrame, parties: pd.DataFrame) -> CaseTable:
    require_columns(cases, "cases", ("case_id", "registered_at", "area_code"))
    require_columns(parties, "parties", ("case_id", "party_id", "party_type"))
    n = len(cases)
    case_ids = _as_str(cases["case_id"]).reset_index(drop=True)
    # One hash pass over both id columns gives duplicates and each party row's case.
    codes, _ = pd.factorize(pd.concat([case_ids, _as_str(parties["case_id"])], ignore_index=True))
    own = codes[:n]
    position = np.full(int(codes.max(initial=-1)) + 1, -1, dtype=np.int64)
    position[own] = np.arange(n)
    if (position[own] != np.arange(n)).any():
        raise RecordError(
            "case_id",
            case_ids.iloc[int(np.flatnonzero(position[own] != np.arange(n))[0])],
            "must be unique in cases",
        )
    registered = times_ns(cases["registered_at"], "registered_at", required=True)
    area = area_codes.as_keys(cases["area_code"])
    known = escalation_known_ns(cases, registered)

    # Parties of cases not in this table cannot change these cases' features: left out.
    case_pos = position[codes[n:]]
    kept = case_pos >= 0
    party_id = parties["party_id"]
    if not _all_str(party_id):  # scanned once: a column of str only has none missing
        if party_id.isna().to_numpy()[kept].any():
            raise RecordError("party_id", None, "is required")
        party_id = party_id.astype(str)
    party_codes, party_ids = pd.factorize(party_id, use_na_sentinel=False)
    ptype = parties["party_type"]
    is_person = ptype.eq(NATURAL_PERSON).fillna(False).to_numpy(dtype=bool)
    is_org = ptype.eq(ORGANISATION).fillna(False).to_numpy(dtype=bool)
    tags = parties["key_groups"] if "key_groups" in parties else pd.Series("", index=parties.index)
    tag_codes, tag_values = pd.factorize(tags)  # missing -> -1, which picks the trailing 0
    masks = np.array([*(key_group_mask(v) for v in tag_values), 0], dtype=np.int64)[tag_codes]

    c, p = case_pos[kept], party_codes[kept].astype(np.int64)
    order = np.argsort(c * max(len(party_ids), 1) + p)  # by (case, party)
    c, p = c[order], p[order]
    person, org, mask = is_person[kept][order], is_org[kept][order], masks[kept][order]
    first = np.ones(len(c), dtype=bool)
    first[1:] = (c[1:] != c[:-1]) | (p[1:] != p[:-1])
    starts = np.flatnonzero(first)
    if len(c):
        person = np.logical_or.reduceat(person, starts)
        org = np.logical_or.reduceat(org, starts)
        mask = np.bitwise_or.reduceat(mask, starts)
    row_case, row_party = c[starts], p[starts]
    return CaseTable(
        case_ids=case_ids,
        registered=registered,
        area=area,
        known=known,
        row_case=row_case,
        row_party=row_party,
        row_person=person.astype(bool),
        party_ids=pd.Series(party_ids),
        key_groups=_key_group_block(n, row_case, mask, org),
    )


def pair_rows(table: CaseTable) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (first, second) of every pair of distinct parties within a case, for cases
    with at most MAX_PAIR_PARTIES parties; pairs come grouped by case."""
    starts = table.case_starts()
    rows = np.flatnonzero(np.diff(starts)[table.row_case] <= MAX_PAIR_PARTIES)
    after = starts[table.row_case[rows] + 1] - rows - 1  # later rows of the same case
    first = np.repeat(rows, after)
    second = first + 1 + np.arange(len(first)) - np.repeat(np.cumsum(after) - after, after)
    return first, second


def per_case(
    ufunc: np.ufunc, values: np.ndarray, row_case: np.ndarray, n_cases: int, empty: float | int
) -> np.ndarray:
    """``ufunc`` reduced over each case's rows (rows sorted by case); ``empty`` for none."""
    out = np.full(n_cases, empty, dtype=np.result_type(values.dtype, np.min_scalar_type(empty)))
    if len(values):
        starts = np.flatnonzero(np.r_[True, row_case[1:] != row_case[:-1]])
        out[row_case[starts]] = ufunc.reduceat(values, starts)
    return out


def _key_group_block(n_cases: int, row_case: np.ndarray, mask: np.ndarray, org: np.ndarray) -> np.ndarray:
    union = per_case(np.bitwise_or, mask, row_case, n_cases, 0)
    persons = np.bincount(row_case[mask != 0], minlength=n_cases)
    any_org = np.bincount(row_case[org], minlength=n_cases) > 0
    flags = [(union >> i & 1).astype(bool) for i in range(len(KEY_GROUPS))]
    block = np.column_stack([union != 0, persons, *flags, any_org]).astype(np.float64)
    assert block.shape[1] == len(KEY_GROUP_COLUMNS)
    return block
