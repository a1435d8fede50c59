"""模型状态: the champion read from the registry (the session model's real store), and the gate's
and monitoring's records read as ``training`` writes them (a registry stand-in for those)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from console_helpers import login, make_user
from fastapi.testclient import TestClient

from serving.console import model_status
from serving.settings import Settings


def test_the_tag_names_are_the_ones_training_writes() -> None:
    from training import aliases, retrain

    assert model_status.PERIODS_TAG == aliases.PERIODS_TAG
    written = inspect.getsource(retrain._record)
    assert all(f'"{tag}"' in written for tag in ("gate", "gate_as_of", "gate_champion", "gate_reasons"))
    assert '"decision.json"' in written and '"metrics.json"' in written


def test_the_page_shows_the_champion_with_its_test_window_figures(client: TestClient, registry) -> None:
    make_user(client, "gao.yan", "analyst", None)
    login(client, "gao.yan")
    page = client.get("/console/model").text
    assert f"注册表冠军版本</dt><dd>v{registry.version}" in page
    assert f"本服务已加载</dt><dd>v{registry.version}" in page
    assert all(
        name in page for name in ("ROC-AUC", "PR-AUC", "ECE", "LightGBM (calibrated)", "red-flag checklist")
    )
    assert "测试" in page and "尚无再训练记录" in page


class _Registry:
    """Two versions: v1 champion (promoted by a rollback once), v2 a challenger the gate kept out."""

    def __init__(self, root: Path) -> None:
        self.root = root
        periods = json.dumps([{"from": "2025-03-01T00:00:00+00:00", "to": None, "by": "rollback"}])
        self.versions = [
            SimpleNamespace(version="1", run_id="r1", creation_timestamp=1_700_000_000_000,
                            tags={"champion_periods": periods}),
            SimpleNamespace(version="2", run_id="r2", creation_timestamp=1_700_100_000_000,
                            tags={"gate": "kept", "gate_as_of": "2025-03-01", "gate_reasons": "PR-AUC 未显著提升"}),
        ]  # fmt: skip
        self.files = {
            ("r1", "metrics.json"): {"metrics": {"LightGBM (calibrated)": {"roc_auc": [0.9, 0.85, 0.95]}},
                                     "acceptance": {"test_auc": 0.9, "beats_logistic": False}},
            ("r2", "decision.json"): {"monitoring_warnings": ["score drift PSI 0.31 (major)"]},
        }  # fmt: skip

    def __call__(self, **_: str) -> _Registry:
        return self

    def get_model_version_by_alias(self, name: str, alias: str) -> SimpleNamespace:
        return self.versions[0]

    def search_model_versions(self, query: str) -> list[SimpleNamespace]:
        return self.versions

    def download_artifacts(self, run_id: str, name: str, dst: str) -> str:
        if (run_id, name) not in self.files:
            raise OSError(name)
        path = Path(dst) / name
        path.write_text(json.dumps(self.files[run_id, name]), encoding="utf-8")
        return str(path)


def test_gate_periods_and_monitoring_warnings_are_read_as_training_records_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import mlflow

    monkeypatch.setattr(mlflow, "MlflowClient", _Registry(tmp_path))
    status = model_status.read_status(Settings(mlflow_tracking_uri="sqlite:///unused.db"))
    assert status.champion is not None and status.champion.version == "1"
    assert status.champion.periods[0]["by"] == "rollback" and status.champion.gate == {}
    assert status.newest is not None and status.newest.gate["gate"] == "kept"
    assert (status.monitoring, status.monitoring_from) == (["score drift PSI 0.31 (major)"], "2")
    assert status.metric_rows()[0]["cells"][0] == (0.9, 0.85, 0.95)
    assert status.acceptance_rows() == [("test_auc", "0.9000"), ("beats_logistic", "否")]


def test_an_unreadable_registry_is_said_without_its_address(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    class Down:
        def __init__(self, **_: str) -> None:
            pass

        def get_model_version_by_alias(self, name: str, alias: str) -> None:
            raise ConnectionError("http://user:secret@mlflow.internal unreachable")

    monkeypatch.setattr(mlflow, "MlflowClient", Down)
    status = model_status.read_status(Settings(mlflow_tracking_uri="http://user:secret@mlflow.internal"))
    assert status.error == "无法读取模型注册表（详见服务器日志）。" and status.champion is None
