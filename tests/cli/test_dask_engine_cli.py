"""``--engine dask`` on ``risk score``, ``risk index``, ``risk train`` and ``risk retrain``: the
same files as the local engine (score, index), on the demo export in yearly partitions, through
``--scheduler`` (the address of this module's cluster: two worker processes of one thread)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from dask_layout import yearly_partitions
from typer.testing import CliRunner

from cli.main import app
from training.distributed.cluster import connect

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scheduler():
    with connect(n_workers=2, threads_per_worker=1, processes=True, memory_limit="2GiB") as client:
        yield client.scheduler.address


@pytest.fixture(scope="module")
def years(trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return yearly_partitions(trained.data, tmp_path_factory.mktemp("years") / "data")


def _run(trained, command: str, data: Path, out: Path, *args: str):
    model = [
        "--model",
        f"models:/dispute-escalation/{trained.version}",
        "--tracking-uri",
        trained.tracking_uri,
    ]
    return CliRunner().invoke(app, [command, "--data", str(data), "--out", str(out), *model, *args])


@pytest.mark.parametrize("recent", [[], ["--recent-days", "120"]], ids=["all", "recent-days"])
def test_score_on_dask_equals_the_local_engine(trained, years, scheduler, tmp_path: Path, recent) -> None:
    local = _run(trained, "score", trained.data, tmp_path / "local.csv", *recent)
    dask = _run(
        trained, "score", years, tmp_path / "dask.csv", *recent, "--engine", "dask", "--scheduler", scheduler
    )
    assert local.exit_code == 0 and dask.exit_code == 0, local.output + dask.output
    expected, got = (pd.read_csv(tmp_path / f"{n}.csv", dtype=str) for n in ("local", "dask"))
    assert len(expected) > 300
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert expected["reasons"].str.len().gt(0).mean() > 0.9  # the reasons are compared too


def test_index_on_dask_equals_the_local_engine(trained, years, scheduler, tmp_path: Path) -> None:
    window = ["--from", "2025-03-03", "--to", "2025-04-27"]
    local = _run(trained, "index", trained.data, tmp_path / "local.parquet", *window)
    dask = _run(
        trained,
        "index",
        years,
        tmp_path / "dask.parquet",
        *window,
        "--engine",
        "dask",
        "--scheduler",
        scheduler,
    )
    assert local.exit_code == 0 and dask.exit_code == 0, local.output + dask.output
    expected, got = (pd.read_parquet(tmp_path / f"{n}.parquet") for n in ("local", "dask"))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_engine_options_fail_with_a_clear_message(trained, tmp_path: Path) -> None:
    no_cluster = _run(trained, "score", trained.data, tmp_path / "x.csv", "--scheduler", "tcp://127.0.0.1:1")
    assert no_cluster.exit_code == 2 and "--scheduler is for --engine dask" in no_cluster.output
    database = CliRunner().invoke(
        app, ["retrain", "--database", "sqlite:///x.db", "--engine", "dask", "--no-queue"]
    )
    assert database.exit_code == 2 and "--database is read by the local engine only" in database.output
