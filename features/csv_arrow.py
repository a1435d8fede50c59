"""Reading a well-formed UTF-8 CSV file with Arrow's parser, exactly as the csv module reads it.

``features/readers.py`` defines a file's records by the csv module; Arrow's parser is several
times faster, so it reads a file whenever that provably gives the same records and the same
line numbers (``read_utf8_csv``). The check is made on the file's bytes: where every quote
opens a field, closes one or is doubled inside one, a line break is inside a quoted field
exactly when an odd number of quotes precede it, which gives each record's first line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

_FIELD_ENDS = np.array([ord(","), ord("\n"), ord("\r")], dtype=np.uint8)


@dataclass(frozen=True)
class ArrowRead:
    header: list[str]  # as the csv module reads the header record
    columns: list[np.ndarray]  # object arrays of str, one per header field, the header row left out
    lines: np.ndarray  # int64: the physical line each record starts on (header = 1)


def read_utf8_csv(path: Path, *, skip: int = 0) -> ArrowRead | None:
    """The csv module's reading of a UTF-8 file (after ``skip`` bytes: a BOM), done by Arrow's
    CSV parser: several times faster, and each column's strings come out side by side in memory,
    which speeds every later pass over them. The two parsers split a file alike when its quotes
    all open a field and close it (or are doubled inside one), its rows all have the header's
    width, no field is over the csv module's size limit and it is valid UTF-8 (Arrow checks that
    as strictly as Python). Any other file gives None, for the csv module to read and report
    what is wrong and where."""
    with pa.memory_map(str(path)) as source:
        data = source.read_buffer().slice(skip)
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
        return ArrowRead(header, [_objects(column.slice(1)) for column in table.columns], lines)


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
