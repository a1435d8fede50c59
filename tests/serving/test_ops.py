"""Operations: health, metrics, request ids, logs without narratives, and the hot reload of
the champion without a failed request."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time

import pytest
from api_helpers import RED_FLAG, case, make_key, red_case
from fastapi.testclient import TestClient

from serving.logging_config import JsonFormatter, RequestIdFilter


def test_live_and_ready_report_the_model_version(client: TestClient, registry) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["database"]) == ("ok", "ok")
    assert (body["model"]["name"], body["model"]["version"]) == ("dispute-escalation", registry.version)


def test_ready_fails_when_the_database_is_gone(client: TestClient) -> None:
    client.app.state.runtime.engine.dispose()  # type: ignore[attr-defined]
    from sqlalchemy import create_engine

    client.app.state.runtime.engine = create_engine("sqlite:////nonexistent/dir/queue.db")  # type: ignore[attr-defined]
    r = client.get("/health/ready")
    assert r.status_code == 503 and r.json()["detail"][0]["field"] == "database"


def test_metrics_expose_latency_and_scores_by_level(client: TestClient) -> None:
    headers = make_key(client, "intake").headers
    client.post("/v1/cases/score", json=red_case("M1"), headers=headers)
    text = client.get("/metrics").text
    assert (
        'risk_http_request_duration_seconds_bucket{le="0.05",method="POST",route="/v1/cases/score",status="200"}'
        in text
    )
    assert 'risk_scores_total{level="红"} 1.0' in text
    assert 'risk_hard_flags_total{flag="threat_with_weapon"} 1.0' in text
    assert re.search(r'risk_model_info\{name="dispute-escalation",version="\d+"\} 1\.0', text)


def test_request_id_is_echoed_or_made_and_reaches_the_audit_log(client: TestClient) -> None:
    headers = make_key(client, "intake").headers
    r = client.post("/v1/cases/score", json=red_case("M2"), headers=headers | {"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    made = client.get("/health/live", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    admin = make_key(client, "admin").headers
    entries = client.get("/v1/audit", headers=admin).json()["entries"]
    assert [e["request_id"] for e in entries if e["case_id"] == "M2"] == ["abc-123"]


def test_logs_carry_the_request_id_and_never_the_narrative(client: TestClient) -> None:
    headers = make_key(client, "intake").headers
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)  # what configure_logging installs, into a buffer
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        client.post("/v1/cases/score", json=red_case("M3"), headers=headers | {"X-Request-ID": "req-m3"})
        client.post("/v1/cases/score", json=case("M4", "", amount_yuan=-1), headers=headers)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = buffer.getvalue().splitlines()
    access = [json.loads(line) for line in lines if '"msg": "request"' in line]
    assert [(a["route"], a["status"], a["request_id"]) for a in access[:1]] == [
        ("/v1/cases/score", 200, "req-m3")
    ]
    assert access[1]["status"] == 422 and re.fullmatch(r"[0-9a-f]{32}", access[1]["request_id"])
    assert not [line for line in lines if RED_FLAG[:6] in line or "13812345678" in line]


@pytest.mark.slow
def test_moving_the_champion_alias_swaps_the_model_without_a_failed_request(
    start, sqlite_url, registry
) -> None:
    import mlflow
    from mlflow import MlflowClient

    with start(sqlite_url, model_reload_seconds=0.2) as client:
        headers = make_key(client, "intake").headers
        old = client.get("/health/ready").json()["model"]["version"]
        statuses: list[int] = []
        stop = threading.Event()

        def keep_scoring() -> None:
            i = 0
            while not stop.is_set() and i < 2000:
                i += 1
                statuses.append(
                    client.post("/v1/cases/score", json=case(f"H{i}"), headers=headers).status_code
                )

        worker = threading.Thread(target=keep_scoring)
        worker.start()
        try:
            # A new version of the same model, registered and made champion while requests run.
            mlflow.set_tracking_uri(registry.tracking_uri)
            mv = mlflow.register_model(f"models:/dispute-escalation/{old}", "dispute-escalation")
            MlflowClient(registry.tracking_uri).set_registered_model_alias(
                "dispute-escalation", "champion", mv.version
            )
            deadline = time.monotonic() + 30
            while client.get("/health/ready").json()["model"]["version"] != str(mv.version):
                assert time.monotonic() < deadline, "the new champion was not loaded within 30 s"
                time.sleep(0.1)
            seen = len(statuses)
            while len(statuses) < seen + 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            worker.join()
            MlflowClient(registry.tracking_uri).set_registered_model_alias(
                "dispute-escalation", "champion", old
            )
        assert statuses and set(statuses) == {200}
        after = client.post("/v1/cases/score", json=case("H-after"), headers=headers).json()
        assert after["model"]["version"] == str(mv.version)
