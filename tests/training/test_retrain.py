"""Weekly retraining against a real MLflow registry: the gate promotes a better challenger and
refuses a degraded one, a repeat run decides nothing new, one run at a time, a crash leaves the
champion, and the contract's tables can come from a real PostgreSQL database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import training.retrain as retrain_module
from features.contract import load_dataset
from risk.model import MODEL_NAME
from training import aliases, registry
from training.fit import fit
from training.gate import GatePolicy
from training.retrain import RetrainConfig, retrain
from training.run_lock import RunLocked, run_lock

pytestmark = pytest.mark.slow
POLICY = GatePolicy(min_positives=5, n_boot=300, slice_min_cases=10**9)  # small data: slices not checked


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    from training.demo.generate import DemoConfig, generate_demo_data

    folder = tmp_path_factory.mktemp("retrain") / "data"
    generate_demo_data(folder, DemoConfig(n_cases=9000, seed=3))
    return load_dataset(folder, write_rejects=False)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    registry.configure(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path)
    return tmp_path


def _config(dataset, days_before_end: int) -> RetrainConfig:
    as_of = dataset.export_date.normalize() - pd.Timedelta(days=days_before_end)
    return RetrainConfig(as_of=as_of, quick=True, n_boot=100, policy=POLICY)


def _run(dataset, store: Path, days_before_end: int, **kwargs):
    return retrain(
        dataset,
        config=_config(dataset, days_before_end),
        tracking_uri=f"sqlite:///{store / 'mlflow.db'}",
        models_dir=store,
        **kwargs,
    )


def _degraded_fit(prepared, **kwargs):
    """A challenger that learnt from shuffled labels (the real labels judge it)."""
    y = prepared.y.copy()
    train = prepared.rows["train"]
    y[train] = np.random.default_rng(0).permutation(y[train])
    return fit(replace(prepared, y=y), **kwargs)


def test_a_better_challenger_replaces_a_degraded_champion(dataset, store) -> None:
    first = _run(dataset, store, 120, fit_stage=_degraded_fit)
    assert first.promoted and first.champion_version is None  # the first valid model
    better = _run(dataset, store, 0)
    assert better.promoted, better.decision["reasons"]
    assert better.decision["auc_difference"]["lo"] > 0  # clearly better, not merely not worse
    assert aliases.alias_version(MODEL_NAME, "champion") == better.challenger_version
    assert aliases.alias_version(MODEL_NAME, "previous") == first.challenger_version
    periods = aliases.champion_periods(MODEL_NAME, first.challenger_version)
    assert len(periods) == 1 and periods[0]["to"] is not None  # who held champion when


def test_a_degraded_challenger_is_refused_and_the_champion_stays(dataset, store) -> None:
    good = _run(dataset, store, 120)
    bad = _run(dataset, store, 0, fit_stage=_degraded_fit)
    assert not bad.promoted and bad.status == "kept"
    assert any("beyond the margin" in reason for reason in bad.decision["reasons"])
    assert aliases.alias_version(MODEL_NAME, "champion") == good.challenger_version
    from mlflow import MlflowClient

    tags = MlflowClient().get_model_version(MODEL_NAME, bad.challenger_version).tags
    assert tags["gate"] == "kept" and "beyond the margin" in tags["gate_reasons"]


def test_a_second_run_for_the_same_date_and_data_decides_nothing_new(dataset, store) -> None:
    first = _run(dataset, store, 60)
    again = _run(dataset, store, 60)
    assert again.repeated and (again.status, again.challenger_version) == (
        first.status,
        first.challenger_version,
    )
    # the repeat reads decision.json: it holds every stage's time, register included
    stages = {"fingerprint", "history", "features", "train", "evaluate", "gate", "register"}
    assert set(first.seconds) == stages and again.seconds == first.seconds
    from mlflow import MlflowClient

    assert len(MlflowClient().search_model_versions(f"name='{MODEL_NAME}'")) == 1


def test_a_crash_mid_run_leaves_the_champion_and_the_next_run_goes_ahead(dataset, store, monkeypatch) -> None:
    good = _run(dataset, store, 120)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    with monkeypatch.context() as patch:
        patch.setattr(retrain_module, "decide", crash)
        with pytest.raises(RuntimeError, match="power cut"):
            _run(dataset, store, 0)
    assert aliases.alias_version(MODEL_NAME, "champion") == good.challenger_version
    assert not _run(dataset, store, 0).repeated  # the crashed run recorded no decision


def test_one_run_at_a_time_and_a_killed_run_leaves_no_lock(dataset, store) -> None:
    lock = store / "retrain.lock"
    with run_lock(lock), pytest.raises(RunLocked, match="already in progress"):
        _run(dataset, store, 0)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from pathlib import Path
            from training.run_lock import run_lock
            with run_lock(Path({str(lock)!r})):
                print("locked", flush=True)
                time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(RunLocked), run_lock(lock):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    time.sleep(0.1)
    with run_lock(lock):  # the kernel dropped the dead run's lock
        pass


@pytest.mark.postgres
def test_the_contract_tables_can_come_from_postgresql(dataset, pg_url: str) -> None:
    from sqlalchemy import create_engine

    from training.database import load_from_database

    folder = Path(dataset.folder)
    engine = create_engine(pg_url)
    for name in ("cases", "parties", "areas"):
        table = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        if name == "cases":
            table = pd.concat([table, table.iloc[[0]].assign(case_id="BAD-1", amount_yuan="-5")])
        table.to_sql(name, engine, index=False)
    engine.dispose()
    loaded = load_from_database(pg_url)
    assert len(loaded.cases) == len(dataset.cases) and len(loaded.parties) == len(dataset.parties)

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:  # a table has no row order of its own
        return frame.sort_values("case_id").reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(loaded.cases), ordered(dataset.cases), check_dtype=False)
    rejected = loaded.rejects.iloc[0]
    assert (rejected["file"], rejected["column"]) == ("cases (database table)", "amount_yuan")
