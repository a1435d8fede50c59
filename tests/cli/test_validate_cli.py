"""``risk validate DIR``: summary, exit codes 0/1/2, and no narratives on screen."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from contract_factory import NARRATIVE, case_row, write_dataset
from typer.testing import CliRunner

from cli import validate_command


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)  # keep "validate" a subcommand, as under ``risk``
    validate_command.register(app)
    return app


def test_clean_dataset_exits_0_with_a_summary(app: typer.Typer, tmp_path: Path) -> None:
    write_dataset(tmp_path, cases=[case_row(1, source="村民微信群"), case_row(2), case_row(3)])
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2].split() == ["cases", "cases.csv", "3", "3", "0"]
    assert lines[3].split() == ["parties", "parties.csv", "6", "6", "0"]
    assert "registered_at 2024-01-01 08:30 .. 2024-01-03 08:30 (export date 2024-01-03)" in lines
    assert "  1 rows with unseen source counted as 其他: 村民微信群 1" in lines
    assert "no rows rejected" in result.output
    assert (tmp_path / "rejects.csv").is_file()


def test_rejected_rows_exit_1_listed_by_reason_without_narratives(app: typer.Typer, tmp_path: Path) -> None:
    long_narrative = "张三说" * 2000
    cases = [
        case_row(1),
        case_row(2, amount_yuan="-3"),
        case_row(3, amount_yuan="-4", narrative=long_narrative),
    ]
    write_dataset(tmp_path, cases=cases)
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[2].split() == ["cases", "cases.csv", "3", "1", "2"]
    assert "        2  cases.csv amount_yuan: must be a number >= 0 or empty" in lines
    assert "  cases.csv:3 amount_yuan must be a number >= 0 or empty '-3'" in lines
    assert "  cases.csv:4 narrative must be at most 5000 characters <narrative, 6000 chars>" in lines
    assert "张三说" not in result.output and NARRATIVE not in result.output


def test_rejects_option_chooses_the_rejects_file(app: typer.Typer, tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "data", cases=[case_row(1), case_row(2, n_parties="0")])
    target = tmp_path / "review" / "rejects.csv"
    result = CliRunner().invoke(app, ["validate", str(folder), "--rejects", str(target)])
    assert result.exit_code == 1
    assert target.is_file() and not (folder / "rejects.csv").exists()
    assert str(target) in result.output


def test_unusable_dataset_exits_2_with_the_message_on_stderr(app: typer.Typer, tmp_path: Path) -> None:
    write_dataset(tmp_path)
    (tmp_path / "cases.csv").write_text("case_id,registered_at\nC1,2024-01-01T00:00\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cases.csv: missing required columns 'area_code'")
    assert result.stdout == ""
