"""The contract's rules across rows and tables, on Dask dataframes of typed rows indexed by
row id: duplicate keys (a shuffle on the key), a case's area (the areas table broadcast), orphan
parties (a hash join on case_id), and the warnings for unseen categories and sources.

Each rule yields reject *stubs* (row id, column, reason, stage; see ``rejects``) with the
reasons ``features.contract`` gives, and the rows that pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.delayed import delayed

from features.contract import TABLE_ORDER
from features.fields import as_text
from features.readers import RawTable
from features.records import VOCABULARIES, unseen_warning
from features.schema import CASE_AREA_LEVELS
from training.distributed.layout import TableFiles, part_of, row_ids
from training.distributed.rejects import STAGES, empty_stubs

KEYS: Final[dict[str, tuple[str, ...]]] = {
    "cases": ("case_id",),
    "parties": ("case_id", "party_id"),
    "areas": ("area_code",),
}
UNKNOWN_AREA: Final = "is not in the areas table"
NOT_A_CASE_AREA: Final = "must be a town or village of the areas table"
ORPHAN: Final = "is not among the kept cases (missing or rejected)"


# ---- duplicate keys -----------------------------------------------------------------------------
def keys_meta() -> pd.DataFrame:
    return file_keys(
        RawTable("", Path(), pd.DataFrame(columns=["case_id", "party_id"]), np.zeros(0)), "parties", 0
    )


def file_keys(raw: RawTable, kind: str, part: int) -> pd.DataFrame:
    """The key of every row of one file as the single-machine loader compares them (the raw
    text; two-column keys joined by U+001F); ``complete``: no part of the key is empty."""
    parts = [np.array([as_text(v) for v in raw.frame[c]], dtype=object) for c in KEYS[kind]]
    joined = parts[0] if len(parts) == 1 else parts[0] + "\x1f" + parts[1]
    return pd.DataFrame(
        {
            "table": np.full(len(raw.frame), TABLE_ORDER.index(kind), dtype=np.int64),
            "key": pd.Series(joined, dtype=object),
            "row": row_ids(part, np.arange(len(raw.frame))),
            "line": np.asarray(raw.lines, dtype=np.int64),
            "complete": np.logical_and.reduce([p != "" for p in parts]).astype(bool),
        }
    )


def later_duplicates(keys: dd.DataFrame) -> dd.DataFrame:
    """Rows whose complete key an earlier row of the same table (in file order) already has, with
    that first row's id and line. One shuffle on (table, key) for all tables brings every row of
    one key into one partition."""
    meta = pd.DataFrame({c: pd.Series(dtype="int64") for c in ("table", "row", "first_row", "first_line")})
    return keys.shuffle(on=["table", "key"]).map_partitions(_later, meta=meta)


def _later(keys: pd.DataFrame) -> pd.DataFrame:
    keys = keys.sort_values(["table", "row"], kind="stable")
    first = keys.drop_duplicates(["table", "key"]).set_index(["table", "key"])
    later = keys[keys.duplicated(["table", "key"]).to_numpy() & keys["complete"].to_numpy()]
    found = first.loc[pd.MultiIndex.from_frame(later[["table", "key"]])] if len(later) else first.iloc[:0]
    return pd.DataFrame(
        {
            "table": later["table"].to_numpy(dtype=np.int64),
            "row": later["row"].to_numpy(dtype=np.int64),
            "first_row": found["row"].to_numpy(dtype=np.int64),
            "first_line": found["line"].to_numpy(dtype=np.int64),
        }
    )


def duplicate_stubs(table: TableFiles, later: pd.DataFrame) -> pd.DataFrame:
    """Reject stubs of the later duplicates, worded as ``features.contract`` words them (the
    first row's file is named too when it is another file)."""
    key = KEYS[table.name]
    label = key[0] if len(key) == 1 else f"({', '.join(key)})"
    later = later[later["table"] == TABLE_ORDER.index(table.name)].sort_values("row")
    same = part_of(later["row"].to_numpy()) == part_of(later["first_row"].to_numpy())
    where = [
        f"{line}" if alike else f"{line} of {table.paths[int(p)]}"
        for line, alike, p in zip(
            later["first_line"], same, part_of(later["first_row"].to_numpy()), strict=True
        )
    ]
    return _stubs(
        later["row"].to_numpy(),
        key[-1],
        [f"duplicate {label}, first on line {w}" for w in where],
        "duplicate",
    )


def without(frame: dd.DataFrame, rows: np.ndarray) -> dd.DataFrame:
    """``frame`` less the rows with these ids (a short list, broadcast to every partition)."""
    if len(rows) == 0:
        return frame
    return frame.map_partitions(_drop_rows, delayed(np.sort(rows)), meta=frame._meta)


def _drop_rows(part: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return part[~part.index.isin(rows)]


# ---- a case's area --------------------------------------------------------------------------------
def known_areas(cases: dd.DataFrame, areas: pd.DataFrame) -> tuple[dd.DataFrame, dd.DataFrame | pd.DataFrame]:
    """(cases whose area_code is a town or village of ``areas``, stubs of the others). A
    header-only areas table checks nothing, as in ``features.contract``."""
    if areas.empty:
        return cases, empty_stubs()
    levels = delayed(areas.set_index("area_code")["level"])
    stubs = cases.map_partitions(_area_stubs, levels, meta=empty_stubs())
    return cases.map_partitions(_with_case_area, levels, meta=cases._meta), stubs


def _area_flags(cases: pd.DataFrame, levels: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    level = cases["area_code"].map(levels)
    unknown = level.isna().to_numpy()
    return unknown, ~unknown & ~level.isin(CASE_AREA_LEVELS).to_numpy()


def _area_stubs(cases: pd.DataFrame, levels: pd.Series) -> pd.DataFrame:
    unknown, wrong = _area_flags(cases, levels)
    rows = cases.index.to_numpy()
    return pd.concat(
        [
            _stubs(rows[unknown], "area_code", [UNKNOWN_AREA] * int(unknown.sum()), "across tables"),
            _stubs(rows[wrong], "area_code", [NOT_A_CASE_AREA] * int(wrong.sum()), "across tables"),
        ],
        ignore_index=True,
    )


def _with_case_area(cases: pd.DataFrame, levels: pd.Series) -> pd.DataFrame:
    unknown, wrong = _area_flags(cases, levels)
    return cases[~unknown & ~wrong]


# ---- orphan parties ---------------------------------------------------------------------------------
def orphan_parties(parties: dd.DataFrame, cases: dd.DataFrame) -> dd.DataFrame:
    """Stubs of the party rows whose case_id is not among ``cases``: a left join of two narrow
    frames (row id, case_id), hashed on case_id."""
    probe = parties[["case_id"]].reset_index()
    kept = cases[["case_id"]].assign(kept=1)
    joined = probe.merge(kept, on="case_id", how="left")
    return joined[joined["kept"].isna()].map_partitions(_orphan_stubs, meta=empty_stubs())


def _orphan_stubs(orphans: pd.DataFrame) -> pd.DataFrame:
    return _stubs(orphans["row"].to_numpy(), "case_id", [ORPHAN] * len(orphans), "across tables")


# ---- warnings ----------------------------------------------------------------------------------------
def unseen_counts(cases: dd.DataFrame) -> dd.DataFrame:
    """Rows per unseen category or source value kept as 其他, counted per partition."""
    meta = pd.DataFrame(
        {"name": pd.Series(dtype=object), "value": pd.Series(dtype=object), "n": pd.Series(dtype="int64")}
    )
    return cases.map_partitions(_unseen_counts, meta=meta)


def _unseen_counts(cases: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for name in VOCABULARIES:
        raw = cases[f"{name}_raw"]
        counts = raw[raw.ne(cases[name]) & raw.notna()].value_counts()
        values = pd.Series(counts.index.to_numpy(dtype=object), dtype=object)
        frames.append(pd.DataFrame({"name": name, "value": values, "n": counts.to_numpy(dtype=np.int64)}))
    return pd.concat(frames, ignore_index=True).astype({"name": object, "value": object})


def unseen_warnings(counts: pd.DataFrame) -> list[str]:
    """``features.records.table_warnings`` of the whole table, from ``unseen_counts``."""
    out = []
    for name in VOCABULARIES:
        totals = counts[counts["name"] == name].groupby("value")["n"].sum()
        out += [unseen_warning(name, str(value), int(n)) for value, n in sorted(totals.items())]
    return out


def _stubs(rows: np.ndarray, column: str, reasons: list[str], stage: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": np.asarray(rows, dtype=np.int64),
            "column": pd.Series([column] * len(reasons), dtype=object),
            "reason": pd.Series(reasons, dtype=object),
            "stage": np.full(len(reasons), STAGES[stage], dtype=np.int64),
        }
    )
