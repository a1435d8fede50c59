"""Acceptance: a real ``risk serve`` scores cases of a repeat party and is killed with SIGKILL (or
swaps its model and is killed); restarted, it answers that party's next case exactly as a
server that never died (risk, levels, reasons to the last digit), and its replayed history has
the same features. With ``--workers 2`` every worker answers alike. SQLite and PostgreSQL."""

from __future__ import annotations

import math
import os
import shutil
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import case, make_key, party
from ports import free_port
from serve_process import risk_serve

from serving import scoring
from serving.auth import create_key
from serving.db import make_engine, make_sessionmaker, upgrade
from serving.history_follower import HistoryFollower
from serving.metrics import Metrics
from serving.model_store import ModelStore
from serving.schemas import CaseIn
from serving.settings import Settings

NAME = "dispute-escalation"
PEOPLE = [party(1, party_id="RX-a"), party(2, party_id="RX-b", key_groups="刑满释放人员")]
EARLIER = [case(f"RX{i}", registered_at=f"2025-06-1{i}T09:00:00", parties=PEOPLE) for i in range(4)]
NEXT = case("RX9", registered_at="2025-06-19T09:00:00", parties=PEOPLE, police_calls_before=1)
ANSWER = ("risk", "level", "model_level", "flags", "reasons")  # the model version aside
NOW = datetime(2025, 6, 20, 1, 0, tzinfo=UTC)  # the in-process apps' clock (the servers run on the real one)


def intake_key(url: str) -> str:
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        key, _ = create_key(session, role="intake", name="intake", area_code=None, now=datetime.now(UTC))
        session.commit()
    engine.dispose()
    return key


def post(port: int, key: str, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(
        f"http://127.0.0.1:{port}/v1/cases/score", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.text
    return r.json()


def never_died(
    start: Callable[..., Any], url: str, **settings: Any
) -> tuple[dict[str, Any], dict[str, float]]:
    """The answer to NEXT, and its history features, of an app that scored EARLIER and lived on."""
    with start(url, **settings) as client:
        headers = make_key(client, "intake").headers
        for body in EARLIER:
            assert client.post("/v1/cases/score", json=body, headers=headers).status_code == 200
        client.app.state.runtime.follower.catch_up()
        answer = client.post("/v1/cases/score", json=NEXT, headers=headers).json()
        checked = scoring.check_one(CaseIn(**NEXT))
        features = client.app.state.runtime.models.current.history.features_one(checked.case, checked.parties)
    assert features["party_prior_cases_max"] >= len(EARLIER)  # the earlier cases count: the test has teeth
    return answer, features


def replayed_features(url: str, tracking_uri: str) -> dict[str, float]:
    """NEXT's history features from the facts in ``url`` replayed over the champion (no server)."""
    engine = make_engine(url)
    settings = Settings(mlflow_tracking_uri=tracking_uri, database_url=url)
    follower = HistoryFollower(lambda: engine, lambda: None, Metrics(), enabled=True, poll_seconds=1)
    try:
        loaded = ModelStore(settings, prepare_history=follower.prepare).load()
        checked = scoring.check_one(CaseIn(**NEXT))
        return loaded.history.features_one(checked.case, checked.parties)
    finally:
        engine.dispose()


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def server_env(url: str, tracking_uri: str, **extra: str) -> dict[str, str]:
    return (
        os.environ
        | {
            "DATABASE_URL": url,
            "MLFLOW_TRACKING_URI": tracking_uri,
            "RISK_MODEL_RELOAD_SECONDS": "0",
            "RISK_LOG_LEVEL": "WARNING",
        }
        | extra
    )


@pytest.mark.slow
def test_a_server_killed_after_scoring_a_repeat_party_answers_its_next_case_as_before(
    tmp_path: Path, db_url: str, registry, start, clock
) -> None:
    clock.now = NOW
    reference, features = never_died(start, f"sqlite:///{tmp_path / 'reference.db'}")
    key, env, log = intake_key(db_url), server_env(db_url, registry.tracking_uri), tmp_path / "serve.log"
    with risk_serve(env, port := free_port(), log) as proc:
        for body in EARLIER:
            post(port, key, body)
        proc.send_signal(signal.SIGKILL)  # at once: nothing waits for the follower
        proc.wait(10)
    with risk_serve(env, port := free_port(), log):
        answer = post(port, key, NEXT)
    assert {k: answer[k] for k in ANSWER} == {k: reference[k] for k in ANSWER}
    assert same(replayed_features(db_url, registry.tracking_uri), features)


@pytest.mark.slow
def test_a_swapped_model_scores_against_the_facts_and_so_does_its_restart(
    tmp_path: Path, db_url: str, registry, start, clock
) -> None:
    clock.now = NOW
    from mlflow import MlflowClient

    # A copy of the session's MLflow store: the new version and the moved alias stay in it.
    shutil.copy(registry.root / "mlflow.db", tmp_path / "mlflow.db")
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking, registry_uri=tracking)  # not the process-wide registry
    new = str(client.copy_model_version(f"models:/{NAME}/{registry.version}", NAME).version)
    reference, features = never_died(
        start,
        f"sqlite:///{tmp_path / 'reference.db'}",
        mlflow_tracking_uri=tracking,
        model_uri=f"models:/{NAME}/{new}",
    )
    key, log = intake_key(db_url), tmp_path / "serve.log"
    env = server_env(db_url, tracking, RISK_MODEL_RELOAD_SECONDS="0.2")
    with risk_serve(env, port := free_port(), log) as proc:
        for body in EARLIER:
            assert post(port, key, body)["model"]["version"] == registry.version
        client.set_registered_model_alias(NAME, "champion", new)
        deadline = time.monotonic() + 60
        while httpx.get(f"http://127.0.0.1:{port}/health/ready").json()["model"]["version"] != new:
            assert time.monotonic() < deadline, "the server did not swap to the new champion"
            time.sleep(0.1)
        swapped = post(port, key, NEXT)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    with risk_serve(env, port := free_port(), log):
        restarted = post(port, key, NEXT)  # a re-score: its own first fact is not earlier than itself
    assert swapped["model"]["version"] == restarted["model"]["version"] == new
    for answer in (swapped, restarted):
        assert {k: answer[k] for k in ANSWER} == {k: reference[k] for k in ANSWER}
    assert same(replayed_features(db_url, tracking), features)


@pytest.mark.slow
def test_every_worker_sees_the_intake_of_another_server_process(
    tmp_path: Path, sqlite_url: str, registry, start, clock
) -> None:
    """Two ``risk serve`` on one database: the earlier cases go to one, the next case to the
    other's two workers, whichever answers; none of those workers saw the earlier requests."""
    clock.now = NOW
    reference, _ = never_died(start, f"sqlite:///{tmp_path / 'reference.db'}")
    key, env, log = (
        intake_key(sqlite_url),
        server_env(sqlite_url, registry.tracking_uri),
        tmp_path / "serve.log",
    )
    with risk_serve(env, one := free_port(), log), risk_serve(env, two := free_port(), log, "--workers", "2"):
        for body in EARLIER:
            post(one, key, body)
        time.sleep(1.0)  # the documented bound: history_poll_seconds (0.1 s) + applying, generously
        answers = [post(two, key, NEXT) for _ in range(12)]  # a new connection each: both workers
    for answer in answers:
        assert {k: answer[k] for k in ANSWER} == {k: reference[k] for k in ANSWER}
