"""``risk rollback`` moves the champion alias back, and a running API follows it without a restart."""

from __future__ import annotations

import shutil
import time

from typer.testing import CliRunner

from cli.main import app as risk
from risk.model import MODEL_NAME


def test_rollback_is_picked_up_by_a_running_api(trained, tmp_path, start, sqlite_url) -> None:
    import mlflow

    from training import aliases, registry

    shutil.copy(
        trained.root / "mlflow.db", tmp_path / "mlflow.db"
    )  # artifacts stay where they are: read only
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry.configure(tracking)
    second = mlflow.register_model(f"models:/{MODEL_NAME}/{trained.version}", MODEL_NAME).version
    aliases.promote(MODEL_NAME, str(second), how="test")
    with start(sqlite_url, mlflow_tracking_uri=tracking, model_reload_seconds=0.2) as client:
        assert client.get("/health/ready").json()["model"]["version"] == str(second)
        result = CliRunner().invoke(risk, ["rollback", "--tracking-uri", tracking])
        assert result.exit_code == 0, result.output
        assert f"champion: v{second} -> v{trained.version}" in result.output
        deadline = time.monotonic() + 20
        while client.get("/health/ready").json()["model"]["version"] != trained.version:
            assert time.monotonic() < deadline, "the API did not follow the rollback"
            time.sleep(0.1)
    assert aliases.alias_version(MODEL_NAME, "previous") == str(second)  # a second rollback undoes it
    assert [p["by"] for p in aliases.champion_periods(MODEL_NAME, trained.version)][-1] == "rollback"


def test_rollback_without_a_previous_version_fails_clearly(trained, tmp_path) -> None:
    shutil.copy(trained.root / "mlflow.db", tmp_path / "mlflow.db")
    result = CliRunner().invoke(risk, ["rollback", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"])
    assert result.exit_code == 2 and "needs both a champion and a previous version" in result.output
