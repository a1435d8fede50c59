"""The data contract's three tables read from a database (PostgreSQL or SQLite) instead of files,
for platforms that share a database: tables ``cases``, ``parties`` and ``areas`` with the
contract's column names. The rows then go through the same rules as a file export
(``features.contract.validate_tables``): a bad row is rejected and reported, never fixed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from features.contract import TABLE_ORDER, Dataset, validate_tables
from features.errors import ContractError
from features.readers import read_frame


def load_from_database(url: str, *, rejects_path: Path | None = None) -> Dataset:
    """The contract's tables of the database at ``url``, validated; rejects written to ``rejects_path``."""
    engine = create_engine(url)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            missing = [name for name in TABLE_ORDER if name not in present]
            if missing:
                raise ContractError(
                    f"{shown}: no table {missing[0]!r} (the contract's cases, parties, areas)",
                    file=missing[0],
                )
            frames = {name: pd.read_sql_table(name, conn) for name in TABLE_ORDER}
    finally:
        engine.dispose()
    raw = {name: read_frame(frame, name, label=f"{name} (database table)") for name, frame in frames.items()}
    return validate_tables(
        raw, source=Path(f"database:{make_url(url).database or ''}"), rejects_path=rejects_path
    )
