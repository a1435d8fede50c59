"""Tiny contract datasets, written into a test's tmp_path: good rows by default, and each test
overrides the one value it is about."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

CITY, COUNTY, TOWN, VILLAGE, VILLAGE_2 = (
    "320600000000",
    "320612000000",
    "320612001000",
    "320612001001",
    "320612001002",
)
AREA_ROWS: tuple[dict[str, str], ...] = (
    {"area_code": CITY, "name": "南通市", "level": "city", "parent_code": "320000000000", "population": ""},
    {"area_code": COUNTY, "name": "通州区", "level": "county", "parent_code": CITY, "population": "1258739"},
    {"area_code": TOWN, "name": "金沙街道", "level": "town", "parent_code": COUNTY, "population": ""},
    {
        "area_code": VILLAGE,
        "name": "东市社区居委会",
        "level": "village",
        "parent_code": TOWN,
        "population": "",
    },
    {
        "area_code": VILLAGE_2,
        "name": "南山社区居委会",
        "level": "village",
        "parent_code": TOWN,
        "population": "",
    },
)
NARRATIVE = "两家因宅基地边界争吵，对方扬言要砸房子，已调解一次未果。"


def case_row(i: int = 1, **overrides: object) -> dict[str, object]:
    """A valid case with the outcome columns; ``i`` makes the id and the day distinct."""
    row: dict[str, object] = {
        "case_id": f"C{i:04d}",
        "registered_at": f"2024-01-{(i - 1) % 28 + 1:02d}T08:30:00",
        "area_code": VILLAGE if i % 2 else VILLAGE_2,
        "grid_code": "G01",
        "source": "群众来访",
        "category": "邻里纠纷",
        "narrative": NARRATIVE,
        "amount_yuan": "1200",
        "n_parties": "2",
        "n_people": "3",
        "police_calls_before": "1",
        "mediation_attempts": "0",
        "escalated": "false",
        "escalated_at": "",
        "criminal_charge": "",
    }
    row.update(overrides)
    return row


def party_rows(case_id: str = "C0001", **overrides: object) -> list[dict[str, object]]:
    """The two parties of a case (申请方 and 被申请方); ``overrides`` apply to the first."""
    first: dict[str, object] = {
        "case_id": case_id,
        "party_id": f"P-{case_id}-a",
        "role": "申请方",
        "party_type": "自然人",
        "gender": "男",
        "age": "45",
        "key_groups": "",
    }
    second = dict(
        first, party_id=f"P-{case_id}-b", role="被申请方", gender="女", age="", key_groups="刑满释放人员"
    )
    first.update(overrides)
    return [first, second]


def write_table(
    folder: Path,
    name: str,
    rows: Iterable[Mapping[str, object]],
    *,
    fmt: str = "csv",
    encoding: str = "utf-8",
    columns: list[str] | None = None,
    drop: Iterable[str] = (),
) -> Path:
    """Write ``rows`` as ``<folder>/<name>.csv`` (in ``encoding``) or ``.parquet`` (as strings)."""
    rows = list(rows)
    columns = columns or (list(rows[0]) if rows else [])
    columns = [c for c in columns if c not in set(drop)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt}"
    if fmt == "parquet":
        frame = pd.DataFrame(
            [{c: row.get(c, "") for c in columns} for row in rows], columns=columns, dtype=object
        )
        frame.to_parquet(path, index=False)
        return path
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows([[row.get(c, "") for c in columns] for row in rows])
    return path


def write_dataset(
    folder: Path,
    cases: Iterable[Mapping[str, object]] | None = None,
    parties: Iterable[Mapping[str, object]] | None = None,
    areas: Iterable[Mapping[str, object]] | None = None,
    **options: object,
) -> Path:
    """A dataset folder; by default three good cases with two parties each and the five areas."""
    cases = list(cases) if cases is not None else [case_row(i) for i in (1, 2, 3)]
    if parties is None:
        parties = [p for case in cases for p in party_rows(str(case["case_id"]))]
    for name, rows in (("cases", cases), ("parties", parties), ("areas", areas or AREA_ROWS)):
        write_table(folder, name, rows, **options)  # type: ignore[arg-type]
    return folder
