"""``risk backtest``: weekly retraining replayed, each policy's champion scored on the weeks after."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app

pytestmark = pytest.mark.slow


def test_backtest_replays_the_gate_beside_always_and_never(trained, tmp_path: Path) -> None:
    export_end = pd.Timestamp("2025-06-30")
    start = export_end - pd.Timedelta(days=90 + 28 + 21)
    end = start + pd.Timedelta(days=14)
    out = tmp_path / "backtest.csv"
    result = CliRunner().invoke(
        app,
        ["backtest", "--data", str(trained.data), "--start", str(start.date()), "--end", str(end.date()),
         "--quick", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    weeks = pd.read_csv(out)
    assert len(weeks) == 3 and weeks["decision"].iloc[0] == "promote"
    assert weeks["always_model"].tolist() == [0, 1, 2] and weeks["never_model"].tolist() == [0, 0, 0]
    for policy in ("gate", "always", "never"):
        assert (weeks[f"{policy}_regret"].dropna() >= -1e-12).all()  # nobody beats the best in hindsight
    assert weeks["gate_estimated_auc"].between(0.5, 1).all()
    assert "mean regret" in result.output and "estimated vs realised AUC" in result.output


def test_backtest_refuses_weeks_whose_outcomes_are_not_mature(trained) -> None:
    result = CliRunner().invoke(
        app,
        ["backtest", "--data", str(trained.data), "--start", "2025-05-01", "--end", "2025-06-01", "--quick"],
    )
    assert result.exit_code == 2 and "horizon before the export's end" in result.output
