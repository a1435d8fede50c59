"""Load a dataset folder (cases, parties, areas) and hold it to the data contract.

``load_dataset`` keeps the good rows with the design's dtypes and reports every bad one (file,
line, column, reason, and the original row) in ``Dataset.rejects`` and a rejects file, so that
nothing is silently dropped or "fixed". The field rules live in ``features.fields``, the record
and table rules (and the normalisation of unseen categories) in ``features.records``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from features.areas import AreaTree
from features.errors import ContractError
from features.fields import as_text, as_texts
from features.readers import RawTable, read_table
from features.records import table_warnings, validate_frame
from features.schema import CASE_AREA_LEVELS

__all__ = ["Dataset", "load_dataset"]

TABLE_ORDER = ("cases", "parties", "areas")
REJECT_COLUMNS = ("file", "line", "column", "value", "reason", "record")
_MOST_ROWS_COMPARED = 64  # rows of one case compared pairwise for duplicate parties; more are hashed


@dataclass
class Dataset:
    """A loaded dataset: the good rows of each table, and one row per broken rule in ``rejects``.
    ``files`` maps each table to the file it came from (``{"cases": "cases.csv", ...}``)."""

    cases: pd.DataFrame
    parties: pd.DataFrame
    areas: pd.DataFrame
    rejects: pd.DataFrame
    folder: Path
    files: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. an unseen category kept as 其他

    @property
    def export_date(self) -> pd.Timestamp | None:
        """The latest registered_at: the export's "now" for labels and right-censoring."""
        return None if self.cases.empty else self.cases["registered_at"].max()

    @cached_property
    def area_tree(self) -> AreaTree:
        return AreaTree.from_frame(self.areas)


def load_dataset(
    folder: str | Path, *, rejects_path: str | Path | None = None, write_rejects: bool = True
) -> Dataset:
    """Read and validate the dataset in ``folder``. An unreadable table or a missing required
    column raises ContractError; a bad row is rejected and the rest kept. The rejects file
    (default ``<folder>/rejects.csv``) is written every time, header only when all is clean,
    so a stale one never misleads. Rejects' ``line``: CSV physical line (header = 1) where the
    record starts; Parquet row number + 1."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ContractError(f"{folder}: not a dataset folder")
    raw = {name: read_table(folder, name) for name in TABLE_ORDER}
    target = Path(rejects_path) if rejects_path is not None else folder / "rejects.csv"
    if any(target.resolve() == table.path.resolve() for table in raw.values()):
        raise ContractError(f"{target}: the rejects file would overwrite an input table", file=target.name)
    return validate_tables(raw, source=folder, rejects_path=target if write_rejects else None)


def validate_tables(raw: Mapping[str, RawTable], *, source: Path, rejects_path: Path | None) -> Dataset:
    """The contract's rules on three tables as read (files, or a database's tables): rows checked,
    duplicates and unknown areas and orphan parties rejected, the rejects written to
    ``rejects_path`` (None: kept in the Dataset only)."""
    _check_outcome_columns(raw["cases"])
    rejects: list[dict[str, object]] = []
    areas = _keep(raw["areas"], "areas", rejects, key=("area_code",))
    cases = _keep(raw["cases"], "cases", rejects, key=("case_id",))
    if not areas.empty:  # a header-only areas table gives nothing to check the codes against
        level = cases["area_code"].map(areas.set_index("area_code")["level"])
        unknown = level.isna()
        _drop(cases, raw["cases"], unknown, "area_code", "is not in the areas table", rejects)
        wrong = ~unknown & ~level.isin(CASE_AREA_LEVELS)
        _drop(
            cases, raw["cases"], wrong, "area_code", "must be a town or village of the areas table", rejects
        )
        cases = cases[~unknown & ~wrong]
    parties = _keep(raw["parties"], "parties", rejects, key=("case_id", "party_id"))
    orphan = ~parties["case_id"].isin(cases["case_id"])
    _drop(
        parties,
        raw["parties"],
        orphan,
        "case_id",
        "is not among the kept cases (missing or rejected)",
        rejects,
    )
    parties = parties[~orphan]

    order = {raw[name].file: i for i, name in enumerate(TABLE_ORDER)}
    table = pd.DataFrame(rejects, columns=list(REJECT_COLUMNS))
    table["line"] = table["line"].astype("int64")
    table = table.sort_values(
        ["file", "line"], key=lambda c: c.map(order) if c.name == "file" else c, kind="stable"
    ).reset_index(drop=True)
    if rejects_path is not None:
        _write(table, rejects_path)
    return Dataset(
        cases.reset_index(drop=True),
        parties.reset_index(drop=True),
        areas.reset_index(drop=True),
        table,
        source,
        {name: raw[name].file for name in TABLE_ORDER},
        table_warnings(cases),
    )


def _check_outcome_columns(cases: RawTable) -> None:
    outcome = [c for c in ("escalated_at", "criminal_charge") if c in cases.columns]
    if outcome and "escalated" not in cases.columns:
        raise ContractError(
            f"{cases.file}: outcome column {outcome[0]!r} without 'escalated'",
            file=cases.file,
            column="escalated",
        )
    if "escalated" in cases.columns and "escalated_at" not in cases.columns:
        raise ContractError(
            f"{cases.file}: missing required column 'escalated_at' (needed with 'escalated')",
            file=cases.file,
            column="escalated_at",
        )


def _keep(raw: RawTable, kind: str, rejects: list[dict[str, object]], key: tuple[str, ...]) -> pd.DataFrame:
    """Rows of ``raw`` that pass the per-record rules and are the first in the file with their
    ``key`` (a later row with the same key is rejected, naming the first one's line)."""
    width = len(raw.columns)
    for line, got, record in raw.malformed:
        rejects.append(
            _reject(raw.file, line, "", "", f"row has {got} fields, the header has {width}", record)
        )
    typed, errors = validate_frame(kind, raw.frame)
    for position, error in errors:
        _add(rejects, raw, position, error.field, error.value, error.reason)
    repeated, first = _repeats(raw.frame, key)
    if repeated.any():
        label = key[0] if len(key) == 1 else f"({', '.join(key)})"
        for later in np.flatnonzero(repeated):
            _add(
                rejects,
                raw,
                int(later),
                key[-1],
                raw.frame[key[-1]].iat[later],
                f"duplicate {label}, first on line {raw.lines[first[later]]}",
            )
        typed = typed[~typed.index.isin(np.flatnonzero(repeated))]
    return typed


def _repeats(frame: pd.DataFrame, key: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose ``key`` (its values stripped, none empty) repeats an earlier row's, and for
    every row the position of the first row with its key. A two-part key is its parts joined by
    \\x1f; while no part holds that character, that is the parts compared one by one: the first
    part's codes, then the second part among the rows that share one."""
    parts = [as_texts(frame[c]) for c in key]
    complete = np.logical_and.reduce([part != "" for part in parts])
    codes, uniques = pd.factorize(parts[0])
    if len(parts) == 1:
        first = _first_positions(codes)
    elif "\x1f" in "".join(uniques) + "".join(parts[1]):
        first = _first_positions(pd.factorize(parts[0] + "\x1f" + parts[1])[0])
    else:
        first = _first_positions(codes, parts[1])
    return (first != np.arange(len(codes))) & complete, first


def _first_positions(codes: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
    """For each position, the first position holding the same code (and, given ``values``, an
    equal value). Values are compared within each code's rows, nearer rows first: a code holds a
    handful of rows (a case's parties), else they are hashed.

    >>> _first_positions(np.array([7, 3, 7, 3, 5])).tolist()
    [0, 1, 0, 1, 4]
    >>> _first_positions(np.array([7, 3, 7, 7, 3]), np.array(["a", "b", "c", "a", "b"])).tolist()
    [0, 1, 2, 0, 1]
    """
    order = np.argsort(codes, kind="stable")  # equal codes stay in position order
    ordered = codes[order]
    starts = np.ones(len(codes), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    heads = np.flatnonzero(starts)[np.cumsum(starts) - 1]  # each row's code's first, in order
    rank = np.arange(len(codes)) - heads
    if values is None:
        earliest = heads
    elif len(codes) and rank.max() > _MOST_ROWS_COMPARED:
        return _first_positions(codes * len(codes) + pd.factorize(values)[0])
    else:
        earliest = np.arange(len(codes))
        ranked = values[order]
        for back in range(1, rank.max() + 1 if len(codes) else 1):
            later = np.flatnonzero(rank >= back)
            same = later[ranked[later] == ranked[later - back]]
            earliest[same] = same - back  # the furthest back that is equal wins
    first = np.empty_like(order)
    first[order] = order[earliest]
    return first


def _drop(
    typed: pd.DataFrame,
    raw: RawTable,
    mask: pd.Series,
    column: str,
    reason: str,
    rejects: list[dict[str, object]],
) -> None:
    for position in typed.index[mask]:
        _add(rejects, raw, position, column, raw.frame.at[position, column], reason)


def _add(
    rejects: list[dict[str, object]], raw: RawTable, position: int, column: str, value: object, reason: str
) -> None:
    record = dict(zip(raw.columns, raw.frame.iloc[position], strict=True))
    rejects.append(_reject(raw.file, int(raw.lines[position]), column, value, reason, record))


def _reject(
    file: str, line: int, column: str, value: object, reason: str, record: Mapping[str, object]
) -> dict[str, object]:
    text = value if isinstance(value, str) else as_text(value)
    return {
        "file": file,
        "line": line,
        "column": column,
        "value": text,
        "reason": reason,
        "record": json.dumps(dict(record), ensure_ascii=False, default=str),
    }


def _write(rejects: pd.DataFrame, target: Path) -> None:
    """Atomically; with a BOM so that Excel on Chinese Windows shows it right."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    rejects.to_csv(partial, index=False, encoding="utf-8-sig")
    os.replace(partial, target)
