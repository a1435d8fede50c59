"""MLflow registry (real local store) and batch scoring through the `risk` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli.main import app
from features.contract import load_dataset
from training import registry
from training.score import SCORE_COLUMNS, score_dataset


def test_first_registered_version_becomes_champion(trained) -> None:
    registry.configure(trained.tracking_uri)
    assert registry.champion_version() == trained.version
    assert trained.result.card_path is not None and trained.result.card_path.exists()
    card = trained.result.card_path.read_text(encoding="utf-8")
    assert f"dispute-escalation {trained.version}" in card and "Intended use" in card


def test_champion_loads_in_a_fresh_process_and_scores_contract_input(trained, demo_dir: Path) -> None:
    script = textwrap.dedent(f"""
        import json, mlflow, pandas as pd
        from features.contract import load_dataset
        ds = load_dataset({str(demo_dir)!r}, write_rejects=False)
        cases = ds.cases.tail(5).copy()
        nested = ds.parties.groupby("case_id")
        cases["parties"] = [json.dumps(nested.get_group(c).drop(columns=["case_id"]).where(lambda d: d.notna(), None)
                                       .to_dict("records"), ensure_ascii=False, default=str) for c in cases["case_id"]]
        cases["registered_at"] = cases["registered_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
        keep = ["case_id", "registered_at", "area_code", "source", "category", "narrative", "amount_yuan",
                "n_parties", "n_people", "police_calls_before", "mediation_attempts", "parties"]
        cases = cases[keep]
        for c in ("amount_yuan", "police_calls_before", "mediation_attempts", "n_parties", "n_people"):
            cases[c] = cases[c].astype(float)
        model = mlflow.pyfunc.load_model("models:/dispute-escalation@champion")
        out = model.predict(cases)
        assert list(out["case_id"]) == list(cases["case_id"]), out
        assert out["risk"].between(0, 1).all() and out["level"].isin(["红", "橙", "黄", "蓝", "无"]).all()
        print("OK", len(out))
    """)
    env = {**os.environ, "MLFLOW_TRACKING_URI": trained.tracking_uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "OK 5" in done.stdout


def test_risk_score_writes_levels_and_reasons_for_the_recent_weeks(
    trained, demo_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(
        app,
        [
            "score",
            "--data",
            str(demo_dir),
            "--out",
            str(out),
            "--recent-days",
            "28",
            "--model",
            f"models:/dispute-escalation/{trained.version}",
            "--tracking-uri",
            trained.tracking_uri,
        ],
    )
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out, dtype={"case_id": str})
    ds = load_dataset(demo_dir, write_rejects=False)
    recent = ds.cases[ds.cases["registered_at"] >= ds.export_date.normalize() - pd.Timedelta(days=28)]
    assert set(scores["case_id"]) == set(recent["case_id"])
    assert tuple(scores.columns) == SCORE_COLUMNS  # what the API answers, per case
    assert scores["reasons"].str.contains("升高|降低").all()
    assert (scores["model_version"].astype(str) == trained.version).all()
    assert (scores["level"] != scores["model_level"]).any()  # the hard flags apply in batch too


def test_history_folder_gives_the_same_scores_as_the_dataset_own_earlier_rows(
    trained, demo_dir: Path, tmp_path: Path
) -> None:
    """Earlier records passed with --history count exactly like earlier rows of the scored dataset."""
    ds = load_dataset(demo_dir, write_rejects=False)
    start = ds.export_date.normalize() - pd.Timedelta(days=28)
    late = ds.cases["registered_at"] >= start
    for name, mask in (("history", ~late), ("recent", late)):
        folder = tmp_path / name
        folder.mkdir()
        cases = ds.cases[mask]
        cases.to_csv(
            folder / "cases.csv", index=False, columns=[c for c in cases.columns if not c.endswith("_raw")]
        )
        ds.parties[ds.parties["case_id"].isin(cases["case_id"])].to_csv(folder / "parties.csv", index=False)
        ds.areas.to_csv(folder / "areas.csv", index=False)
    via_history = score_dataset(trained.model, tmp_path / "recent", history_dir=tmp_path / "history").scores
    via_recent_days = score_dataset(trained.model, demo_dir, recent_days=28).scores
    merged = via_history.merge(via_recent_days, on="case_id", suffixes=("_h", "_r"))
    assert len(merged) == late.sum()
    assert (merged["risk_h"] - merged["risk_r"]).abs().max() < 1e-9
