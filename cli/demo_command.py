"""``risk demo-data``: write a realistic demo dataset (the data contract + truth.csv + generator.json).

Heavy imports (numpy, pandas, the generator) happen inside the command."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Attach this module's commands to ``app``."""
    app.command("demo-data")(demo_data)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{option} must be a date YYYY-MM-DD, got {value!r}") from None


# Long only because Typer declares each option in the signature; the body is a few lines.
def demo_data(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for cases/parties/areas, truth.csv, generator.json.")
    ],
    cases: Annotated[int, typer.Option("--cases", min=1, help="Number of cases.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same arguments, same bytes.")] = 0,
    areas: Annotated[
        Path | None,
        typer.Option(
            "--areas",
            exists=True,
            dir_okay=False,
            help="Area-code file (contract-shaped or NBS code,name,level,parent_code); "
            "default: a synthetic city.",
        ),
    ] = None,
    population: Annotated[
        Path | None,
        typer.Option(
            "--population",
            exists=True,
            dir_okay=False,
            help="Population file for --areas (code or area_code, population).",
        ),
    ] = None,
    start: Annotated[str, typer.Option("--start", help="First registration day, YYYY-MM-DD.")] = "2022-01-01",
    export_date: Annotated[
        str | None,
        typer.Option(
            "--export-date", help="Export day (registrations stop the day before); default start + 3.5 years."
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet (truth.csv is always CSV).")] = "csv",
) -> None:
    """Generate a demo dataset of 矛盾纠纷 with a documented escalation mechanism (training/demo/README.md)."""
    # Long on purpose: most of it is the command's declared options (typer reads the signature).
    import time

    from features.errors import DisputeRiskError
    from training.demo.generate import DemoConfig, generate_demo_data

    config = DemoConfig(
        n_cases=cases,
        seed=seed,
        start=_day(start, "--start") or date(2022, 1, 1),
        export_date=_day(export_date, "--export-date"),
        areas_path=areas,
        population_path=population,
    )
    began = time.perf_counter()
    try:
        result = generate_demo_data(out, config, fmt)
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    seconds = time.perf_counter() - began
    meta, counts = result.meta, result.meta["counts"]
    typer.echo(f"wrote {out} ({fmt}) in {seconds:.1f} s")
    typer.echo(
        f"  cases {counts['cases']:,}  party rows {counts['party_rows']:,} ({counts['parties']:,} distinct)  "
        f"areas {counts['areas']:,}"
    )
    typer.echo(
        f"  registered {meta['registered_first']} .. {meta['registered_last']}  "
        f"export date {meta['config']['export_date']}"
    )
    typer.echo(
        f"  90-day escalation rate {meta['base_rate_90d']:.2%} over {counts['labelled_cases']:,} uncensored "
        f"cases; mean p_true {meta['mean_p_true']:.2%}; escalated in export {counts['escalated_in_export']:,} "
        f"(+{counts['escalated_after_export']} after the export date)"
    )
    shares = sorted(meta["category_shares"].items(), key=lambda kv: -kv[1])
    typer.echo("  categories " + " ".join(f"{name} {share:.1%}" for name, share in shares))
