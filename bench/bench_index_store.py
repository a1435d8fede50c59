"""How long ``serving.index_archive.store_index`` takes to store (and re-store, the upsert path) an
index of the size a full history gives, on SQLite and PostgreSQL, and how long the API's reads
take on it.

    .venv/bin/python bench/bench_index_store.py [--rows 1000000] [--pg URL] [--batch 5000]

The frame is synthetic but shaped like ``risk.area_index.weekly_area_index``'s (OUTPUT_COLUMNS, a
city of counties, towns and villages over consecutive weeks): storage cost does not depend on the
values. The baseline printed beside it is a plain INSERT of the same driver-ready rows into an empty
table in one transaction (no conversion, no upsert, no batching): the least any storing can cost.

Measured on the shared 2-core machine (load average 4-5 from other processes), 999,745 rows:
SQLite 67 s new, 61 s all-update (baseline 31 s); PostgreSQL 80 s new, 91 s all-update (baseline
54 s); every read the API makes on that table under 0.5 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

from risk.area_index import OUTPUT_COLUMNS
from serving import index_archive
from serving.db import make_engine, make_sessionmaker, upgrade
from serving.tables import AreaIndex

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def synthetic_index(rows: int, seed: int = 1) -> pd.DataFrame:
    """About ``rows`` rows: 1 city, 10 counties, 12 towns each, villages under them, N weeks."""
    rng = np.random.default_rng(seed)
    codes, levels, parents = ["320600000000"], ["city"], [None]
    for c in range(1, 11):
        county = f"3206{c:02d}000000"
        codes, levels, parents = codes + [county], levels + ["county"], parents + ["320600000000"]
        for t in range(1, 13):
            town = f"3206{c:02d}{t:03d}000"
            codes, levels, parents = codes + [town], levels + ["town"], parents + [county]
            for v in range(1, 21):
                codes, levels, parents = (
                    codes + [f"{town[:9]}{v:03d}"],
                    levels + ["village"],
                    parents + [town],
                )
    n_weeks = max(1, rows // len(codes))
    mondays = pd.date_range("2023-01-02", periods=n_weeks, freq="7D")
    area = np.repeat(np.arange(len(codes)), n_weeks)
    week = np.tile(np.arange(n_weeks), len(codes))
    n = len(area)
    frame = pd.DataFrame({c: rng.random(n) for c in OUTPUT_COLUMNS})
    labels = np.array([f"{m.isocalendar()[0]}-W{m.isocalendar()[1]:02d}" for m in mondays], dtype=object)
    frame["area_code"] = np.asarray(codes, dtype=object)[area]
    frame["level"] = np.asarray(levels, dtype=object)[area]
    frame["parent_code"] = np.asarray(parents, dtype=object)[area]
    frame["name"] = frame["area_code"]
    frame["week"], frame["week_start"] = labels[week], mondays[week]
    frame["index"] = rng.random(n) * 100
    frame["band"] = np.array(["红", "橙", "黄", "蓝", "无"], dtype=object)[rng.integers(0, 5, n)]
    frame["trend"], frame["top_drivers"] = "none", "纠纷数量 40%、暴力情节 20%；邻里纠纷"
    frame["red_3_weeks"] = rng.random(n) < 0.01
    for c in ("cases", "escalations", "open_cases", "warnings", "overdue_items"):
        frame[c] = rng.integers(0, 30, n).astype(float)
    return frame


def timed(label: str, fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t
    print(f"  {label:<44} {seconds:7.1f} s")
    return seconds


def bench(url: str, frame: pd.DataFrame, batch: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    print(f"{engine.dialect.name}: {len(frame):,} rows")
    fixed = {"model_version": "1", "computed_at": pd.Timestamp.now(tz="UTC").to_pydatetime()}
    rows = index_archive._rows(frame, fixed, engine.dialect)
    insert = index_archive._upsert_sql(engine.dialect).split(" ON CONFLICT")[0]

    def plain_insert() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(insert, rows)
        with engine.begin() as conn:
            conn.execute(AreaIndex.__table__.delete())

    base = timed("baseline: plain INSERT, one transaction", plain_insert)
    first = timed(
        "store_index into an empty table",
        lambda: index_archive.store_index(engine, frame, "1", batch_rows=batch),
    )
    again = timed(
        "store_index again (every row an update)",
        lambda: index_archive.store_index(engine, frame, "2", batch_rows=batch),
    )
    print(
        f"  -> {len(frame) / first:,.0f} rows/s new, {len(frame) / again:,.0f} rows/s upsert; baseline {len(frame) / base:,.0f} rows/s"
    )
    with make_sessionmaker(engine)() as session:
        timed("ranking: towns, newest week", lambda: index_archive.ranking(session, "town", None, None, 50))
        timed(
            "ranking: villages of a county, newest week",
            lambda: index_archive.ranking(session, "village", None, "320601000000", 50),
        )
        timed(
            "index_of: one village, 12 weeks",
            lambda: index_archive.index_of(session, "320601001001", 12, None),
        )
        week = index_archive.latest_week(session, "town")
        timed(
            "children_of: a town's villages",
            lambda: index_archive.children_of(session, "320601001000", week or "", None),
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=index_archive.BATCH_ROWS)
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    t = time.perf_counter()
    frame = synthetic_index(args.rows)
    print(f"synthetic index: {len(frame):,} rows in {time.perf_counter() - t:.1f} s")
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            bench(f"sqlite:///{Path(tmp) / 'queue.db'}", frame, args.batch)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        bench(f"{args.pg}?options=-csearch_path%3D{schema}", frame, args.batch)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
