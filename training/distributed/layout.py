"""Where a table's rows live: one file (``cases.csv``, ``cases.parquet``) or a folder of files
(``cases/month=2024-01/part-00000.parquet``, ...), one Dask partition per file.

A row is named everywhere by its *row id*: ``part << ROW_BITS | position`` (``part`` = the file's
place in the sorted list, ``position`` = the row's place in the file). Sorting by row id is
sorting by (file, line), the order the single-machine loader reports and keeps rows in.
Folder names such as ``month=2024-01`` only organise files: the month is not read as a column
(every file holds registered_at itself).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow.parquet as pq

from features.errors import ContractError
from features.readers import SUFFIXES, TABLES

ROW_BITS: Final = 32
_UTF8_BOM: Final = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class TableFiles:
    """The files of one table: ``paths`` relative to ``folder`` (the names rejects give), sorted;
    ``file_columns[i]``: the columns of ``paths[i]``; ``columns``: their union, in the order first
    seen (a file without an optional column reads as if it had it, empty)."""

    name: str
    folder: Path
    paths: tuple[str, ...]
    file_columns: tuple[tuple[str, ...], ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for names in self.file_columns for c in names))

    def required(self) -> frozenset[str]:
        """The contract's required columns, plus the outcome's when any file has ``escalated``:
        every file of a historical export must carry the outcome (else ContractError)."""
        required = TABLES[self.name]
        if self.name == "cases" and "escalated" in self.columns:
            return required | {"escalated", "escalated_at"}
        return required


def table_files(folder: str | Path, name: str) -> TableFiles:
    """The files of table ``name`` in the dataset ``folder``: ``<name>.csv``, ``<name>.parquet``
    or a folder ``<name>/`` of CSV and Parquet files (searched recursively; names starting with
    ``.`` or ``_``, such as ``_SUCCESS`` or a partial write, are skipped). Having none, or more
    than one of the three, is a ContractError, as is an empty folder."""
    folder = Path(folder)
    found = [folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").is_file()]
    if (folder / name).is_dir():
        found.append(folder / name)
    if not found:
        raise ContractError(
            f"{folder}: no {name}.csv, {name}.parquet or {name}/ folder found", file=f"{name}.csv"
        )
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise ContractError(f"{folder}: {names} all found for {name}; keep exactly one", file=found[0].name)
    if found[0].is_dir():
        paths = sorted(
            p.relative_to(folder).as_posix()
            for p in found[0].rglob("*")
            if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith((".", "_"))
        )
        if not paths:
            raise ContractError(f"{found[0]}: folder holds no .csv or .parquet file", file=f"{name}/")
    else:
        paths = [found[0].name]
    return TableFiles(name, folder, tuple(paths), tuple(tuple(file_columns(folder / p)) for p in paths))


def file_columns(path: Path) -> list[str]:
    """A file's column names as ``features.readers`` reads them, from its header or schema only."""
    if path.suffix.lower() == ".parquet":
        try:
            names = pq.read_schema(path).names
        except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
            raise ContractError(f"{path.name}: cannot be read as Parquet: {exc}", file=path.name) from exc
        return [n.strip() for n in names if not n.strip().startswith("__index_level_")]
    with path.open("rb") as fh:
        head = fh.read(65536).split(b"\n", 1)[0]
    if head.startswith(_UTF8_BOM):
        text = head[len(_UTF8_BOM) :].decode("utf-8", errors="replace")
    else:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            text = head.decode("gb18030", errors="replace")
    columns = [name.strip() for name in next(csv.reader(io.StringIO(text)), [])]
    if columns:
        columns[0] = columns[0].lstrip("\ufeff").strip()
    return [name or f"unnamed_{i + 1}" for i, name in enumerate(columns)]


def row_ids(part: int, positions: np.ndarray) -> np.ndarray:
    """Row ids of ``positions`` in file number ``part``.

    >>> row_ids(2, np.array([0, 5])).tolist(), part_of(row_ids(2, np.array([5]))).tolist()
    ([8589934592, 8589934597], [2])
    """
    return (np.int64(part) << np.int64(ROW_BITS)) | np.asarray(positions, dtype=np.int64)


def divisions(n_files: int) -> tuple[int, ...]:
    """Dask divisions of a table read one partition per file: partition i holds file i's rows.

    >>> divisions(2)
    (0, 4294967296, 8589934591)
    """
    return (*(i << ROW_BITS for i in range(n_files)), (n_files << ROW_BITS) - 1)


def part_of(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows, dtype=np.int64) >> np.int64(ROW_BITS)


def position_of(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows, dtype=np.int64) & np.int64((1 << ROW_BITS) - 1)
