"""Reading one contract table (CSV or Parquet) as raw strings, with the line each row came from.

Every value comes back as a ``str`` ("" is the only empty), so that one set of rules in
``features.fields`` sees CSV and Parquet alike. The ``csv`` module's reading is the definition of a
CSV file's records: a narrative may hold newlines inside quotes, and the reader's ``line_num``
gives the physical line where each record starts, which is what a person fixing the file needs.
Arrow's CSV parser reads most files much faster; it is used where its reading provably agrees
(see ``_read_csv_arrow``), the line numbers then counted from the file's bytes.
"""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

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
_FIELD_ENDS = np.array([ord(","), ord("\n"), ord("\r")], dtype=np.uint8)


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
    fast = _read_csv_arrow(path, bom=head.startswith(_UTF8_BOM)) if arrow else None
    if fast is not None:
        return fast
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


def _read_csv_arrow(path: Path, *, bom: bool) -> RawTable | None:
    """``_parse_csv``'s reading of a UTF-8 file, done by Arrow's CSV parser: several times faster,
    and each column's strings come out side by side in memory, which speeds every later pass over
    them. The two parsers split a file alike when its quotes all open a field and close it (or are
    doubled inside one), its rows all have the header's width, no field is over the csv module's
    size limit and it is valid UTF-8 (Arrow checks that as strictly as Python). Any other file
    gives None, and the csv module reads it, reporting what is wrong and where."""
    with pa.memory_map(str(path)) as source:
        data = source.read_buffer()
        if bom:
            data = data.slice(len(_UTF8_BOM))
        layout = _csv_layout(np.frombuffer(data, dtype=np.uint8))
        if layout is None:
            return None
        header_end, lines = layout
        try:
            text = data.slice(0, header_end).to_pybytes().decode()
            header = next(csv.reader(io.StringIO(text, newline=""), strict=True))
        except (UnicodeDecodeError, csv.Error):
            return None
        if not any(name.strip() for name in header):
            return None
        table = _arrow_strings(data, len(header))
        if table is None or table.num_rows != len(lines) + 1 or _first_row(table) != header:
            return None  # e.g. Arrow took a leading BOM for one
        if _longest_field(table) > csv.field_size_limit():
            return None
        columns = _clean_header(header, path.name)
        values = {
            name: _objects(column.slice(1)) for name, column in zip(columns, table.columns, strict=True)
        }
    frame = pd.DataFrame(values, index=pd.RangeIndex(len(lines)), dtype=object, copy=False)
    return RawTable(path.name, path, frame, lines, [], "utf-8-sig" if bom else "utf-8")


def _arrow_strings(data: pa.Buffer, width: int) -> pa.Table | None:
    """Every record of ``data`` as ``width`` strings (columns f0, f1, ...; the header is row 0),
    blank lines skipped; None if a record has another width or a value is not UTF-8."""
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=pa_csv.ReadOptions(use_threads=False, autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        return None
    return table if table.num_columns == width else None


def _objects(column: pa.ChunkedArray) -> np.ndarray:
    """The column as an object array of str. A column of few distinct values (judged on a few
    slices) is built from them, so that equal values are one object: fewer made, and hashing and
    comparing them later is cheaper."""
    size = len(column)
    sample = pa.chunked_array([column.slice(size * k // 4, 1024) for k in range(4)], type=column.type)
    if pc.count_distinct(sample).as_py() * 10 > len(sample):
        return column.to_numpy(zero_copy_only=False)
    distinct = pc.unique(column)
    return distinct.to_numpy(zero_copy_only=False)[pc.index_in(column, value_set=distinct).to_numpy()]


def _longest_field(table: pa.Table) -> int:
    """In characters, as the csv module counts them; a field has no more characters than bytes,
    so they are counted only when the bytes could be over the limit."""
    longest = max(pc.max(pc.binary_length(column)).as_py() for column in table.columns)
    if longest <= csv.field_size_limit():
        return longest
    return max(pc.max(pc.utf8_length(column)).as_py() for column in table.columns)


def _first_row(table: pa.Table) -> list[str]:
    return [column[0].as_py() for column in table.columns]


def _csv_layout(data: np.ndarray) -> tuple[int, np.ndarray] | None:
    """From the bytes of a CSV file: where its header record ends, and the line each later record
    starts on as the csv reader counts them (\\n, \\r and \\r\\n each end a line; a blank line
    holds no record). None unless every quote opens a field (at its start) or closes one (at its
    end) or is doubled inside one: then a line break is inside a quoted field exactly when an odd
    number of quotes come before it, and the others end records."""
    size = len(data)
    quotes = _positions(data, '"')
    if len(quotes) % 2:
        return None
    opening, closing = quotes[0::2], quotes[1::2]
    doubled = opening[1:] == closing[:-1] + 1
    opens = (opening == 0) | np.isin(data[np.maximum(opening - 1, 0)], _FIELD_ENDS)
    opens[1:] |= doubled
    closes = (closing == size - 1) | np.isin(data[np.minimum(closing + 1, size - 1)], _FIELD_ENDS)
    closes[:-1] |= doubled
    if not (opens.all() and closes.all()):
        return None
    breaks = _positions(data, "\n")  # the last byte of each line break
    stops = breaks.copy()  # where the record before it stops
    returns = _positions(data, "\r")
    if len(returns):
        paired = (returns + 1 < size) & (data[np.minimum(returns + 1, size - 1)] == ord("\n"))
        breaks = np.sort(np.concatenate([breaks, returns[~paired]]))
        stops = breaks - np.isin(breaks, returns[paired] + 1).astype(np.intp)
    outside = np.searchsorted(quotes, breaks) % 2 == 0  # those outside quotes end a record
    starts = np.concatenate([[0], breaks[outside] + 1])
    stops = np.concatenate([stops[outside], [size]])
    if starts[-1] == size:  # the file ends with a line break
        starts, stops = starts[:-1], stops[:-1]
    if not len(starts) or stops[0] == starts[0]:
        return None  # no header record
    lines = 1 + np.searchsorted(breaks, starts).astype(np.int64)
    return int(stops[0]), lines[stops > starts][1:]


def _positions(data: np.ndarray, byte: str, chunk: int = 1 << 22) -> np.ndarray:
    """Where ``byte`` occurs in ``data``, a few MiB at a time (one mask of the whole file would be
    as large as the file, and several times slower to fill and scan).

    >>> _positions(np.frombuffer(b'a"b""c"', dtype=np.uint8), '"', chunk=3).tolist()
    [1, 3, 4, 6]
    """
    found = [np.flatnonzero(data[i : i + chunk] == ord(byte)) + i for i in range(0, len(data), chunk)]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.intp)


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
