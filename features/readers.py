"""Reading one contract table (CSV or Parquet) as raw strings, with the line each row came from.

Every value comes back as a ``str`` ("" is the only empty), so that one set of rules in
``features.fields`` sees CSV and Parquet alike. The ``csv`` module's reading is the definition of a
CSV file's records: a narrative may hold newlines inside quotes, and the reader's ``line_num``
gives the physical line where each record starts, which is what a person fixing the file needs.
Arrow's CSV parser reads most files much faster; it is used where its reading provably agrees
(``features/csv_arrow.py``), the line numbers then counted from the file's bytes.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from features.csv_arrow import read_utf8_csv
from features.errors import ContractError
from features.schema import (
    AREA_COLUMNS,
    AREA_REQUIRED,
    CASE_COLUMNS,
    CASE_REQUIRED,
    OUTCOME_COLUMNS,
    PARTY_COLUMNS,
    PARTY_REQUIRED,
)

TABLES: dict[str, frozenset[str]] = {
    "cases": CASE_REQUIRED,
    "parties": PARTY_REQUIRED,
    "areas": AREA_REQUIRED,
}
SUFFIXES = (".csv", ".parquet")
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass
class RawTable:
    """One table as read: ``frame`` holds str values only (object dtype); ``lines[i]`` is the line of
    ``frame`` row i (CSV: physical line of the record's start, header = line 1; Parquet: row number
    + 1). ``malformed`` holds (line, field count, record) of CSV records whose field count differs
    from the header's (fields beyond the header's are kept under ``_extra_fields``)."""

    file: str
    path: Path
    frame: pd.DataFrame
    lines: np.ndarray
    malformed: list[tuple[int, int, dict[str, object]]] = field(default_factory=list)
    encoding: str | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)


def find_table(folder: Path, name: str) -> Path:
    """``<folder>/<name>.csv`` or ``<name>.parquet``; having neither or both is a ContractError."""
    found = [folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").is_file()]
    if not found:
        raise ContractError(f"{folder}: no {name}.csv or {name}.parquet found", file=f"{name}.csv")
    if len(found) > 1:
        raise ContractError(
            f"{folder}: both {name}.csv and {name}.parquet found; keep exactly one", file=found[0].name
        )
    return found[0]


def read_table(folder: str | Path, name: str, *, required: Iterable[str] | None = None) -> RawTable:
    """Read table ``name`` of the dataset in ``folder``; ``required`` defaults to the contract's."""
    path = find_table(Path(folder), name)
    return read_file(path, required=TABLES.get(name, ()) if required is None else required)


def read_file(path: str | Path, *, required: Iterable[str] = (), arrow: bool = True) -> RawTable:
    """Read one CSV or Parquet file (by suffix) and check that the ``required`` columns exist.
    ``arrow=False`` reads a CSV with the csv module alone: slower, and must agree exactly."""
    path = Path(path)
    table = _read_parquet(path) if path.suffix.lower() == ".parquet" else _read_csv(path, arrow=arrow)
    missing = [
        column for column in sorted(required, key=_contract_order) if column not in table.frame.columns
    ]
    if missing:
        names = ", ".join(repr(column) for column in missing)
        plural = "s" if len(missing) > 1 else ""
        raise ContractError(
            f"{path.name}: missing required column{plural} {names}", file=path.name, column=missing[0]
        )
    return table


def read_frame(frame: pd.DataFrame, name: str, *, label: str) -> RawTable:
    """A table that was read elsewhere (e.g. a database's table, typed) as the text a CSV would
    hold, so the same field rules apply; rows are numbered from 1. ``label`` names it in errors
    and rejects (e.g. ``cases (database table)``)."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise ContractError(f"{label}: cannot be read as a table: {exc}", file=label) from exc
    data = {str(n).strip(): _as_strings(c) for n, c in zip(table.column_names, table.columns, strict=True)}
    raw = RawTable(
        label,
        Path(label),
        pd.DataFrame(data, dtype=object, index=pd.RangeIndex(len(frame))),
        np.arange(1, len(frame) + 1, dtype=np.int64),
    )
    missing = [c for c in sorted(TABLES[name], key=_contract_order) if c not in raw.frame.columns]
    if missing:
        raise ContractError(f"{label}: missing required column {missing[0]!r}", file=label, column=missing[0])
    return raw


def _contract_order(column: str) -> tuple[int, str]:
    order = CASE_COLUMNS + OUTCOME_COLUMNS + PARTY_COLUMNS + AREA_COLUMNS
    return (order.index(column) if column in order else len(order), column)


def _read_csv(path: Path, *, arrow: bool = True) -> RawTable:
    with path.open("rb") as fh:
        head = fh.read(65536)
    if head.startswith(_UTF16_BOMS):
        raise ContractError(f"{path.name}: file is UTF-16 encoded; save it as UTF-8 CSV", file=path.name)
    if b"\x00" in head:
        raise ContractError(f"{path.name}: file holds NUL bytes; it is not a text CSV", file=path.name)
    bom = head.startswith(_UTF8_BOM)
    fast = read_utf8_csv(path, skip=len(_UTF8_BOM) if bom else 0) if arrow else None
    if fast is not None:
        columns = _clean_header(fast.header, path.name)
        values = dict(zip(columns, fast.columns, strict=True))
        frame = pd.DataFrame(values, index=pd.RangeIndex(len(fast.lines)), dtype=object, copy=False)
        return RawTable(path.name, path, frame, fast.lines, [], "utf-8-sig" if bom else "utf-8")
    # Excel on Chinese Windows writes GB18030/GBK; a UTF-8 BOM settles the question outright.
    encodings = ("utf-8-sig",) if head.startswith(_UTF8_BOM) else ("utf-8", "gb18030")
    failed_at: list[int] = []
    for encoding in encodings:
        try:
            with path.open(encoding=encoding, newline="") as fh:
                return _parse_csv(fh, path, encoding)
        except _Undecodable as exc:
            failed_at.append(exc.line)
    names = " or ".join("UTF-8" if e.startswith("utf-8") else e.upper() for e in encodings)
    raise ContractError(
        f"{path.name}: cannot be decoded as {names} (UTF-8 fails near line {failed_at[0]})", file=path.name
    )


class _Undecodable(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _parse_csv(fh: Iterable[str], path: Path, encoding: str) -> RawTable:
    # Millions of row lists would set off the cyclic GC again and again (each pass slower as the
    # heap grows); rows hold no cycles, so it is paused for the parse and restored after.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _parse_rows(csv.reader(fh, strict=True), path, encoding)
    finally:
        if paused:
            gc.enable()


def _parse_rows(reader: Any, path: Path, encoding: str) -> RawTable:
    previous = 0  # lines read before the current record
    try:
        header = next(reader, None)
        if header is None or not any(name.strip() for name in header):
            raise ContractError(f"{path.name}: empty file (no header row)", file=path.name)
        columns = _clean_header(header, path.name)
        width = len(columns)
        rows: list[list[str]] = []
        lines: list[int] = []
        malformed: list[tuple[int, int, dict[str, object]]] = []
        previous = reader.line_num
        for row in reader:
            start, previous = previous + 1, reader.line_num
            if len(row) == width:
                rows.append(row)
                lines.append(start)
            elif row:  # a blank line holds no record; anything else of the wrong width is reported
                record: dict[str, object] = dict(zip(columns, row, strict=False))
                if len(row) > width:
                    record["_extra_fields"] = row[width:]
                malformed.append((start, len(row), record))
    except UnicodeDecodeError:
        raise _Undecodable(reader.line_num + 1) from None
    except csv.Error as exc:
        raise ContractError(
            # strict=True: a quote left open runs to the end of the file, so say where it began
            f"{path.name}: not a readable CSV in the record starting on line {previous + 1}: {exc}",
            file=path.name,
        ) from exc
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    return RawTable(path.name, path, frame, np.asarray(lines, dtype=np.int64), malformed, encoding)


def _clean_header(header: list[str], file: str) -> list[str]:
    columns = [name.strip() for name in header]
    columns[0] = columns[0].lstrip("\ufeff").strip()
    columns = [name or f"unnamed_{i + 1}" for i, name in enumerate(columns)]
    duplicates = sorted({name for name in columns if columns.count(name) > 1})
    if duplicates:
        raise ContractError(
            f"{file}: duplicate column {duplicates[0]!r} in the header", file=file, column=duplicates[0]
        )
    return columns


def _read_parquet(path: Path) -> RawTable:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ContractError(f"{path.name}: cannot be read as Parquet: {exc}", file=path.name) from exc
    data: dict[str, object] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        clean = str(name).strip()
        if clean.startswith("__index_level_"):  # a pandas index written alongside the data
            continue
        if clean in data:
            raise ContractError(f"{path.name}: duplicate column {clean!r}", file=path.name, column=clean)
        data[clean] = _as_strings(column)
    frame = pd.DataFrame(data, dtype=object, index=pd.RangeIndex(table.num_rows))
    return RawTable(path.name, path, frame, np.arange(1, table.num_rows + 1, dtype=np.int64))


def _as_strings(column: pa.ChunkedArray) -> np.ndarray:
    """Typed Parquet values -> the text a CSV would hold (null and float NaN -> "")."""
    if pa.types.is_floating(column.type):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    try:
        text = pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = column.to_pylist()
        return np.array(["" if v is None else str(v) for v in values], dtype=object)
    return np.asarray(pc.fill_null(text, "").to_numpy(zero_copy_only=False), dtype=object)
