"""A real ``risk serve`` process for the tests that kill or restart one (or run several workers)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def risk_serve(env: dict[str, str], port: int, log: Path, *args: str) -> Iterator[subprocess.Popen]:
    """``risk serve --port PORT *args``, yielded once /health/ready answers 200; killed after."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port), *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,  # its own process group: the workers go with it (see below)
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
        # The whole group: a test that SIGKILLs the parent leaves `--workers N` children behind,
        # which would otherwise keep running (and holding CPU) after the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
