"""Turn a dataset folder into month-partitioned Parquet, the layout the Dask path reads best:

    out/cases/month=2024-01/part-00000.parquet     cases registered in that month
    out/parties/month=2024-01/part-00000.parquet   the parties of those cases
    out/areas.parquet

Every value is written as the text the source holds (each column a Parquet string), so the copy
validates to the same rows, values and rejects as the source; only the file and line a reject
names differ. A case whose registered_at cannot be read goes to ``month=unknown``, and so do the
parties of a case_id that no case row has. For the bench and the tests; a platform export would
write this layout itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.errors import ContractError, DisputeRiskError
from features.fields import DateTime, as_text, parse_column
from features.readers import RawTable, read_table

__all__ = ["UNKNOWN_MONTH", "write_partitioned"]
UNKNOWN_MONTH: Final = "unknown"


def write_partitioned(
    source: str | Path, target: str | Path, *, rows_per_file: int = 1_000_000
) -> list[Path]:
    """Write the dataset in ``source`` to ``target`` partitioned by month (files of at most
    ``rows_per_file`` rows); returns the files written. A CSV row with the wrong number of fields
    has no place in a table and is a ContractError (validate the source first)."""
    if rows_per_file < 1:
        raise DisputeRiskError(f"rows_per_file must be >= 1, got {rows_per_file}")
    source, target = Path(source), Path(target)
    cases, parties, areas = (read_table(source, name) for name in ("cases", "parties", "areas"))
    for table in (cases, parties, areas):
        if table.malformed:
            line = table.malformed[0][0]
            raise ContractError(f"{table.file}: line {line} has the wrong number of fields", file=table.file)
    months = case_months(cases)
    first = pd.Series(months, index=[as_text(v) for v in cases.frame["case_id"]])
    first = first[~first.index.duplicated()]
    party_months = (
        pd.Series([as_text(v) for v in parties.frame["case_id"]], dtype=object)
        .map(first)
        .fillna(UNKNOWN_MONTH)
    )
    written = _write_months(cases, months, target / "cases", rows_per_file)
    written += _write_months(parties, party_months.to_numpy(dtype=object), target / "parties", rows_per_file)
    target.mkdir(parents=True, exist_ok=True)
    written.append(_write(areas.frame, target / "areas.parquet"))
    return written


def case_months(cases: RawTable) -> np.ndarray:
    """``YYYY-MM`` of each case's registration (Shanghai time, as the contract reads it), or
    UNKNOWN_MONTH when registered_at breaks the rule."""
    values, broken = parse_column(DateTime(), cases.frame["registered_at"])
    months = pd.Series(values).dt.strftime("%Y-%m").to_numpy(dtype=object)
    months[broken | pd.isna(values)] = UNKNOWN_MONTH
    return months


def _write_months(raw: RawTable, months: np.ndarray, folder: Path, rows_per_file: int) -> list[Path]:
    written = []
    for month in sorted(set(months.tolist())):
        rows = raw.frame.iloc[np.flatnonzero(months == month)]
        for i, start in enumerate(range(0, len(rows), rows_per_file)):
            path = folder / f"month={month}" / f"part-{i:05d}.parquet"
            written.append(_write(rows.iloc[start : start + rows_per_file], path))
    return written


def _write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({c: pa.array(frame[c].tolist(), pa.string()) for c in frame.columns})
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial)
    partial.replace(path)
    return path
