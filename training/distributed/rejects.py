"""Rejected rows in the single-machine format (``features.contract``): file, line, column,
value, reason, and the original record as JSON; sorted by table, file, line; one CSV file.

A rule checked where the raw row is at hand (the per-record rules, a CSV row of the wrong width)
gives its reject rows there. A rule checked later on typed rows (duplicate keys, a case's area,
an orphan party) gives a *stub* (row id, column, reason); ``materialise`` reads the raw record of
each stub again from its file, which touches only the files that hold such rows.
Within one line the order is the single-machine one: the record's own rules (in field order),
then the duplicate key, then the rules across tables (``STAGES``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from features.contract import REJECT_COLUMNS, TABLE_ORDER
from features.errors import RecordError
from features.fields import as_text
from features.readers import RawTable, read_file
from training.distributed.layout import TableFiles, part_of, position_of

STAGES: Final = {"record": 0, "duplicate": 1, "across tables": 2}
_ORDER: Final = ["_table", "_part", "line", "_stage", "_seq"]  # sort keys, dropped at the end
STUB_COLUMNS: Final = ("row", "column", "reason", "stage")


def empty() -> pd.DataFrame:
    """A reject frame with no rows (with the sort keys)."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in REJECT_COLUMNS})
    for name in _ORDER:
        frame[name] = pd.Series(dtype="int64")
    return frame


def empty_stubs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "column": pd.Series(dtype=object),
            "reason": pd.Series(dtype=object),
            "stage": pd.Series(dtype="int64"),
        }
    )


def record_rejects(
    raw: RawTable, table: str, part: int, file: str, errors: list[tuple[int, RecordError]]
) -> pd.DataFrame:
    """Rejects of one file's rows that break a per-record rule or have the wrong field count."""
    width = len(raw.columns)
    rows = [
        _row(file, line, "", "", f"row has {got} fields, the header has {width}", record)
        for line, got, record in raw.malformed
    ]
    rows += [_row(file, int(raw.lines[p]), e.field, e.value, e.reason, _record(raw, p)) for p, e in errors]
    return _framed(rows, table, part, STAGES["record"])


def materialise(files: TableFiles, part: int, stubs: pd.DataFrame) -> pd.DataFrame:
    """Reject rows of the ``stubs`` of file number ``part`` (the raw rows read again)."""
    path = files.paths[part]
    raw = read_file(files.folder / path, required=files.required())
    positions = position_of(stubs["row"].to_numpy())
    frames = []
    for stage, rows in stubs.assign(position=positions).groupby("stage", sort=True):
        found = [
            _row(path, int(raw.lines[p]), column, raw.frame.at[p, column], reason, _record(raw, p))
            for p, column, reason in zip(rows["position"], rows["column"], rows["reason"], strict=True)
        ]
        frames.append(_framed(found, files.name, part, int(stage)))  # type: ignore[call-overload]
    return pd.concat(frames, ignore_index=True) if frames else empty()


def stubs_by_part(stubs: pd.DataFrame) -> dict[int, pd.DataFrame]:
    parts = part_of(stubs["row"].to_numpy())
    return {int(p): stubs[parts == p] for p in np.unique(parts)}


def finish(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """All reject rows in the single-machine order, with its columns only."""
    table = pd.concat([empty(), *frames], ignore_index=True)
    table = table.sort_values(_ORDER, kind="stable")
    # built from records as features.contract builds it, so that pandas infers the same dtypes
    out = pd.DataFrame(table.loc[:, list(REJECT_COLUMNS)].to_dict("records"), columns=list(REJECT_COLUMNS))
    out["line"] = out["line"].astype("int64")
    return out


def write(rejects: pd.DataFrame, target: Path) -> None:
    """Atomically, with a BOM, as ``features.contract`` writes its rejects file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    rejects.to_csv(partial, index=False, encoding="utf-8-sig")
    os.replace(partial, target)


def _framed(rows: list[dict[str, object]], table: str, part: int, stage: int) -> pd.DataFrame:
    if not rows:
        return empty()
    frame = pd.DataFrame(rows, columns=list(REJECT_COLUMNS))
    frame["_table"] = TABLE_ORDER.index(table)
    frame["_part"] = part
    frame["_stage"] = stage
    frame["_seq"] = np.arange(len(frame), dtype=np.int64)
    return frame


def _record(raw: RawTable, position: int) -> dict[str, object]:
    return dict(zip(raw.columns, raw.frame.iloc[position], strict=True))


def _row(
    file: str, line: int, column: str, value: object, reason: str, record: Mapping[str, object]
) -> dict[str, object]:
    # features.contract._reject, kept in step by the tests that compare both rejects files
    return {
        "file": file,
        "line": line,
        "column": column,
        "value": value if isinstance(value, str) else as_text(value),
        "reason": reason,
        "record": json.dumps(dict(record), ensure_ascii=False, default=str),
    }
