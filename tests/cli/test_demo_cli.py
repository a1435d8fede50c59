"""``risk demo-data`` writes the folder and prints a summary; bad options are clear errors."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def test_demo_data_command_writes_the_dataset_and_summarises(tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo-data", "--out", str(out), "--cases", "300", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "cases.csv",
        "parties.csv",
        "areas.csv",
        "truth.csv",
        "generator.json",
    }
    assert "cases 300" in result.output
    assert "90-day escalation rate" in result.output and "邻里纠纷" in result.output


def test_demo_data_command_rejects_a_malformed_date(tmp_path):
    result = runner.invoke(
        app, ["demo-data", "--out", str(tmp_path), "--cases", "10", "--start", "2022-13-01"]
    )
    assert result.exit_code == 2
    assert "--start must be a date YYYY-MM-DD, got '2022-13-01'" in result.output


def test_demo_data_command_rejects_an_export_before_the_start(tmp_path):
    result = runner.invoke(
        app,
        [
            "demo-data",
            "--out",
            str(tmp_path),
            "--cases",
            "10",
            "--start",
            "2023-01-01",
            "--export-date",
            "2022-06-01",
        ],
    )
    assert result.exit_code == 2
    assert "export_date must be after start 2023-01-01, got 2022-06-01" in result.output
