"""Killing the server while cases are being scored loses no acknowledged write: every case
that got a 200 has its item after a restart. A real ``risk serve`` process, SIGKILLed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from api_helpers import red_case

from serving.auth import create_key
from serving.db import make_engine, make_sessionmaker, upgrade

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def risk_serve(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"risk serve exited with {proc.returncode}: {log.read_text()[-2000:]}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"risk serve not ready in 90 s: {log.read_text()[-2000:]}"
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


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
    port, log = _free_port(), tmp_path / "serve.log"
    acked: list[str] = []
    failed: list[str] = []

    def client(worker: int, base: str) -> None:
        with httpx.Client(base_url=base, timeout=10, headers={"Authorization": f"Bearer {intake}"}) as c:
            for i in range(500):
                case_id = f"K{worker}-{i}"
                try:
                    r = c.post("/v1/cases/score", json=red_case(case_id))
                except httpx.TransportError:
                    failed.append(case_id)
                    return
                if r.status_code == 200 and r.json()["item"] is not None:
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

    with risk_serve(env, _free_port(), log) as proc:
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
