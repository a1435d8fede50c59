"""Load a dataset folder as Dask dataframes, held to the data contract exactly as
``features.contract.load_dataset`` holds it: the same good rows with the same dtypes, the same
rejects (file, line, column, value, reason, record) and the same warnings.

Each file is one partition. Per partition: read as text (``features.readers``) and apply the
per-record rules (``features.records.validate_frame``). Across partitions: duplicate keys by a
shuffle on the key (the first row in file order is kept, as in one file), a case's area by a
broadcast of the areas table (small), orphan parties by a hash join on case_id. The validated
tables stay in the cluster's memory (``persist``; workers spill to disk under pressure), each row
indexed by its row id (``layout``): ``to_local()`` gives back the single-machine Dataset.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.delayed import Delayed, delayed

from features.areas import population_of
from features.contract import TABLE_ORDER, Dataset
from features.errors import ContractError
from features.readers import TABLES, read_file
from features.records import validate_frame
from features.schema import AREA_COLUMNS, CASE_COLUMNS, OUTCOME_COLUMNS, PARTY_COLUMNS
from training.distributed import checks, rejects
from training.distributed.cluster import dask_settings
from training.distributed.layout import TableFiles, divisions, row_ids, table_files

__all__ = ["DaskDataset", "load_dataset"]
log = logging.getLogger(__name__)
_CONTRACT_ORDER = CASE_COLUMNS + OUTCOME_COLUMNS + PARTY_COLUMNS + AREA_COLUMNS


@dataclass(frozen=True)
class DaskDataset:
    """The good rows of cases and parties as Dask dataframes (index: row id, see ``layout``), the
    areas table in memory, and every broken rule in ``rejects``. ``files``: the files of each
    table, relative to ``folder``."""

    cases: dd.DataFrame
    parties: dd.DataFrame
    areas: pd.DataFrame
    rejects: pd.DataFrame
    folder: Path
    files: dict[str, tuple[str, ...]]
    warnings: list[str] = field(default_factory=list)
    export_date: pd.Timestamp | None = None

    def population(self) -> dict[str, float]:
        """area_code -> residents where known."""
        return population_of(self.areas)

    def to_local(self) -> Dataset:
        """Everything in this process, rows in file order: what ``load_dataset`` of
        ``features.contract`` returns for a one-file-per-table folder."""
        cases, parties = dask.compute(self.cases, self.parties)
        names = {t: paths[0] if len(paths) == 1 else f"{t}/" for t, paths in self.files.items()}
        return Dataset(
            cases.sort_index().reset_index(drop=True),
            parties.sort_index().reset_index(drop=True),
            self.areas,
            self.rejects,
            self.folder,
            names,
            list(self.warnings),
        )


def load_dataset(
    folder: str | Path, *, rejects_path: str | Path | None = None, write_rejects: bool = True
) -> DaskDataset:
    """Read and validate the dataset in ``folder`` on the current Dask scheduler (a distributed
    Client when one is active). Rules, errors and the rejects file are those of
    ``features.contract.load_dataset``; a table may also be a folder of files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ContractError(f"{folder}: not a dataset folder")
    files = {name: table_files(folder, name) for name in TABLE_ORDER}
    for table in files.values():
        _require_columns(table)
    _check_outcome_columns(files["cases"])
    target = Path(rejects_path) if rejects_path is not None else folder / "rejects.csv"
    if any(target.resolve() == (folder / p).resolve() for t in files.values() for p in t.paths):
        raise ContractError(f"{target}: the rejects file would overwrite an input table", file=target.name)

    with dask_settings():
        checked = {name: _checked(table) for name, table in files.items()}
        first = checked_results(files, checked)
        areas = _areas(first, files["areas"])
        cases = checks.without(first.typed["cases"], first.duplicate_rows("cases"))
        parties = checks.without(first.typed["parties"], first.duplicate_rows("parties"))
        cases, area_stubs = checks.known_areas(cases, areas)
        orphans = checks.orphan_parties(parties, cases)
        area_stubs, orphans = dask.compute(area_stubs, orphans)
        parties = checks.without(parties, orphans["row"].to_numpy())
        stubs = {
            "areas": first.stubs["areas"],
            "cases": pd.concat([first.stubs["cases"], area_stubs], ignore_index=True),
            "parties": pd.concat([first.stubs["parties"], orphans], ignore_index=True),
        }
        found = [
            delayed(rejects.materialise)(files[name], part, part_stubs)
            for name in TABLE_ORDER
            for part, part_stubs in rejects.stubs_by_part(stubs[name]).items()
        ]
        later = dask.compute(*found)
        table = rejects.finish([first.rejects, *later])
        cases, parties = dask.persist(cases, parties)
        counts, export_date = dask.compute(checks.unseen_counts(cases), cases["registered_at"].max())
        warnings = checks.unseen_warnings(counts)
    if write_rejects:
        rejects.write(table, target)
    log.info("loaded %s: %d rejects", folder, len(table))
    return DaskDataset(
        cases,
        parties,
        areas,
        table,
        folder,
        {name: t.paths for name, t in files.items()},
        warnings,
        None if pd.isna(export_date) else pd.Timestamp(export_date),
    )


# ---- the first pass: each file on its own --------------------------------------------------------
def check_file(
    folder: Path, path: str, kind: str, columns: tuple[str, ...], required: frozenset[str], part: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One file: (its good rows, typed, indexed by row id; reject rows of the per-record rules;
    its keys, for the duplicate check across files)."""
    raw = read_file(folder / path, required=required)
    unknown = [c for c in raw.columns if c not in columns]
    if unknown:
        raise ContractError(
            f"{path}: column {unknown[0]!r} was not in its header", file=path, column=unknown[0]
        )
    typed, errors = validate_frame(kind, raw.frame.reindex(columns=list(columns), fill_value=""))
    typed.index = pd.Index(row_ids(part, typed.index.to_numpy()), name="row")
    return typed, rejects.record_rejects(raw, kind, part, path, errors), checks.file_keys(raw, kind, part)


def _checked(table: TableFiles) -> list[Delayed]:
    return [
        delayed(check_file)(table.folder, path, table.name, table.columns, table.required(), part)
        for part, path in enumerate(table.paths)
    ]


def typed_meta(table: TableFiles) -> pd.DataFrame:
    """The typed frame of an empty file with the table's columns: dtypes and column order."""
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in table.columns})
    typed, _ = validate_frame(table.name, empty)
    typed.index = pd.Index([], dtype="int64", name="row")
    return typed


@dataclass
class _FirstPass:
    typed: dict[str, dd.DataFrame]
    rejects: pd.DataFrame
    duplicates: pd.DataFrame  # table, row, first_row, first_line
    stubs: dict[str, pd.DataFrame]
    areas: pd.DataFrame

    def duplicate_rows(self, name: str) -> np.ndarray:
        return self.duplicates.loc[self.duplicates["table"] == TABLE_ORDER.index(name), "row"].to_numpy()


def checked_results(files: dict[str, TableFiles], checked: dict[str, list[Delayed]]) -> _FirstPass:
    """Run the first pass once (persisted), then find the later duplicates of every table."""
    done = dict(zip(TABLE_ORDER, dask.persist(*[checked[name] for name in TABLE_ORDER]), strict=True))
    typed = {
        name: dd.from_delayed(
            [d[0] for d in done[name]],
            meta=typed_meta(files[name]),
            divisions=divisions(len(done[name])),
            verify_meta=False,
        )
        for name in TABLE_ORDER
    }
    every = [d for name in TABLE_ORDER for d in done[name]]
    record_rejects = dd.from_delayed([d[1] for d in every], meta=rejects.empty(), verify_meta=False)
    keys = dd.from_delayed([d[2] for d in every], meta=checks.keys_meta(), verify_meta=False)
    areas, duplicates, found = dask.compute(typed["areas"], checks.later_duplicates(keys), record_rejects)
    stubs = {name: checks.duplicate_stubs(files[name], duplicates) for name in TABLE_ORDER}
    return _FirstPass(typed, found, duplicates, stubs, areas)


def _areas(first: _FirstPass, table: TableFiles) -> pd.DataFrame:
    areas = first.areas[~first.areas.index.isin(first.duplicate_rows("areas"))]
    return areas.sort_index().reset_index(drop=True)


# ---- whole-file rules, checked on the client before any task runs ------------------------------
def _require_columns(table: TableFiles) -> None:
    """``features.readers.read_file``'s rule, naming the file by its path in the dataset."""
    for path, columns in zip(table.paths, table.file_columns, strict=True):
        missing = sorted((c for c in TABLES[table.name] if c not in columns), key=_contract_order)
        if missing:
            names = ", ".join(repr(c) for c in missing)
            plural = "s" if len(missing) > 1 else ""
            raise ContractError(
                f"{path}: missing required column{plural} {names}", file=path, column=missing[0]
            )


def _contract_order(column: str) -> tuple[int, str]:
    return (_CONTRACT_ORDER.index(column) if column in _CONTRACT_ORDER else len(_CONTRACT_ORDER), column)


def _check_outcome_columns(table: TableFiles) -> None:
    """``features.contract.load_dataset``'s rules on the outcome columns, for every file; a
    historical export has them in every file or in none."""
    anywhere = "escalated" in table.columns
    for path, columns in zip(table.paths, table.file_columns, strict=True):
        outcome = [c for c in ("escalated_at", "criminal_charge") if c in columns]
        if outcome and "escalated" not in columns:
            raise ContractError(
                f"{path}: outcome column {outcome[0]!r} without 'escalated'", file=path, column="escalated"
            )
        if "escalated" in columns and "escalated_at" not in columns:
            raise ContractError(
                f"{path}: missing required column 'escalated_at' (needed with 'escalated')",
                file=path,
                column="escalated_at",
            )
        if anywhere and "escalated" not in columns:
            raise ContractError(
                f"{path}: missing required column 'escalated' (other files of cases have it)",
                file=path,
                column="escalated",
            )
