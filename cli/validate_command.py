"""``risk validate DIR``: hold a dataset folder to the data contract and say what was rejected.

Exit code 0 when every row was kept, 1 when rows were rejected (they are in the rejects file),
2 when the dataset cannot be used at all (the message goes to stderr).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from features.contract import Dataset

SHOWN_REJECTS = 20


def register(app: typer.Typer) -> None:
    """Attach this module's commands to ``app``."""
    app.command("validate")(validate)


def validate(
    directory: Annotated[
        Path, typer.Argument(help="Dataset folder holding cases, parties and areas (.csv or .parquet).")
    ],
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Rejects file to write (default: DIR/rejects.csv).")
    ] = None,
) -> None:
    """Check a dataset folder against the data contract and write its rejects file."""
    from features.contract import load_dataset
    from features.errors import ContractError

    target = rejects if rejects is not None else directory / "rejects.csv"
    try:
        dataset = load_dataset(directory, rejects_path=target)
    except ContractError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except OSError as exc:  # unreadable input, or a rejects file that cannot be written
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for line in summary_lines(dataset, target):
        typer.echo(line)
    raise typer.Exit(1 if len(dataset.rejects) else 0)


def summary_lines(dataset: Dataset, rejects_path: Path) -> list[str]:
    """What a person checking an export needs to see, without narratives."""
    rejects = dataset.rejects
    lines = [
        f"dataset {dataset.folder}",
        f"  {'table':<8} {'file':<16} {'read':>9} {'kept':>9} {'rejected':>9}",
    ]
    for table, file in dataset.files.items():
        kept = len(getattr(dataset, table))
        rejected = rejects.loc[rejects["file"] == file, "line"].nunique()
        lines.append(f"  {table:<8} {file:<16} {kept + rejected:>9} {kept:>9} {rejected:>9}")
    cases = dataset.cases
    if len(cases):
        first, last = cases["registered_at"].min(), cases["registered_at"].max()
        lines.append(
            f"registered_at {first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} (export date {last:%Y-%m-%d})"
        )
        for column in ("category", "source"):
            lines.append(f"{column}: {_counts(cases[column])}")
            unseen = cases.loc[cases[column] != cases[f"{column}_raw"], f"{column}_raw"]
            if len(unseen):
                lines.append(
                    f"  {len(unseen)} rows with unseen {column} counted as 其他: {_counts(unseen, 5)}"
                )
        if "escalated" in cases.columns:
            lines.append(f"outcome: {int(cases['escalated'].sum())} of {len(cases)} escalated (民转刑)")
    if dataset.areas.empty:
        lines.append("areas table is empty: area codes were not checked against it")
    else:
        problems = dataset.area_tree.problems()
        lines.append(f"area hierarchy: {len(dataset.areas)} areas, {len(problems)} consistency problems")
        lines.extend(f"  {problem}" for problem in problems[:5])
    if rejects.empty:
        lines.append(f"no rows rejected (empty rejects file written to {rejects_path})")
        return lines
    lines.append(
        f"{len(rejects)} problems in {len(rejects.groupby(['file', 'line']))} rows, written to {rejects_path}"
    )
    rules = (
        rejects["file"]
        + " "
        + rejects["column"]
        + ": "
        + rejects["reason"].map(lambda r: re.sub(r"line \d+", "line N", r))
    )
    for rule, count in rules.value_counts().items():
        lines.append(f"  {count:>7}  {rule}")
    lines.append(f"first {min(SHOWN_REJECTS, len(rejects))}:")
    for row in rejects.head(SHOWN_REJECTS).itertuples():
        lines.append(
            f"  {row.file}:{row.line} {row.column or '(row)'} {row.reason} {_shown(row.column, row.value)}"
        )
    return lines


def _counts(values: object, limit: int = 12) -> str:
    counts = values.value_counts()  # type: ignore[attr-defined]
    shown = ", ".join(f"{value} {count}" for value, count in counts.head(limit).items())
    return shown + (f", … ({len(counts) - limit} more)" if len(counts) > limit else "")


def _shown(column: str, value: str) -> str:
    """Narratives are never printed (they name people); other values are cut short."""
    if column == "narrative":
        return f"<narrative, {len(value)} chars>"
    return repr(value if len(value) <= 40 else value[:40] + "…")
