"""Killing the server while cases are being scored loses no acknowledged write: every case
that got a 200 has its item (if it opened one) and its history facts after a restart. A real
``risk serve`` process, SIGKILLed."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from api_helpers import case, red_case
from ports import free_port
from serve_process import risk_serve
from sqlalchemy import select

from serving.auth import create_key
from serving.db import make_engine, make_sessionmaker, upgrade
from serving.tables import HistoryFact


@pytest.mark.slow
def test_sigkill_during_scoring_loses_no_acknowledged_item(tmp_path: Path, registry) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        intake, _ = create_key(session, role="intake", name="intake", area_code=None, now=datetime.now(UTC))
        admin, _ = create_key(session, role="admin", name="admin", area_code=None, now=datetime.now(UTC))
        session.commit()
    engine.dispose()
    env = os.environ | {
        "DATABASE_URL": url,
        "MLFLOW_TRACKING_URI": registry.tracking_uri,
        "RISK_MODEL_RELOAD_SECONDS": "0",
        "RISK_LOG_LEVEL": "WARNING",
    }
    port, log = free_port(), tmp_path / "serve.log"
    acked: list[str] = []  # answered with an item
    answered: list[str] = []  # answered at all: items, and facts alone (group commit)
    failed: list[str] = []

    def client(worker: int, base: str) -> None:
        make = red_case if worker % 2 else case  # a benign case opens no item: its facts alone
        with httpx.Client(base_url=base, timeout=10, headers={"Authorization": f"Bearer {intake}"}) as c:
            for i in range(500):
                case_id = f"K{worker}-{i}"
                try:
                    r = c.post("/v1/cases/score", json=make(case_id))
                except httpx.TransportError:
                    failed.append(case_id)
                    return
                if r.status_code == 200:
                    answered.append(case_id)
                    if r.json()["item"] is not None:
                        acked.append(case_id)

    with risk_serve(env, port, log) as proc:
        workers = [threading.Thread(target=client, args=(w, f"http://127.0.0.1:{port}")) for w in range(4)]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 30
        while len(acked) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # mid-flight: the workers are still sending
        for w in workers:
            w.join(30)
    assert len(acked) >= 40 and failed, "the kill should land while requests are in flight"
    assert len(answered) > len(acked), "benign cases were answered too"

    with risk_serve(env, free_port(), log) as proc:
        base = f"http://127.0.0.1:{proc.args[-1]}"
        found: set[str] = set()
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}) as c:
            offset = 0
            while True:
                page = c.get("/v1/items", params={"limit": 200, "offset": offset}).json()
                found |= {i["case_id"] for i in page["items"]}
                offset += 200
                if offset >= page["total"]:
                    break
    missing = sorted(set(acked) - found)
    assert not missing, f"{len(missing)} acknowledged cases lost their item: {missing[:10]}"
    engine = make_engine(url)
    with engine.connect() as conn:
        with_facts = set(conn.scalars(select(HistoryFact.case_id)))
    engine.dispose()
    missing = sorted(set(answered) - with_facts)
    assert not missing, f"{len(missing)} answered cases lost their history facts: {missing[:10]}"
