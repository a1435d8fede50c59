"""A demo export in a few partitions per table: ``write_partitioned``'s month files merged by
year (4 files per table for the 3.5-year demo). The Dask tests then cross partitions (history,
parties, scoring) without paying Dask's per-task cost for 42 months."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from training.distributed.partition import write_partitioned


def yearly_partitions(source: Path, target: Path) -> Path:
    months = target.with_name(target.name + "-months")
    write_partitioned(source, months)
    for table in ("cases", "parties"):
        years: dict[str, list[Path]] = defaultdict(list)
        for path in sorted((months / table).rglob("*.parquet")):
            years[path.parent.name.removeprefix("month=")[:4]].append(path)
        for year, paths in years.items():
            out = target / table / f"year={year}" / "part-00000.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.concat_tables([pq.read_table(p) for p in paths]), out)
    (target / "areas.parquet").write_bytes((months / "areas.parquet").read_bytes())
    return target
