"""A free local port for a test server, away from the ports the kernel hands out by itself.

``bind(0)`` returns a port from the ephemeral range, which the kernel may give to the next
outgoing connection (an HTTP client, a PostgreSQL session) before the server binds it: a
flaky "address already in use". Ports below that range are only ever taken on purpose; each
xdist worker draws from its own block so two workers never pick the same one.
"""

from __future__ import annotations

import os
import random
import socket

BLOCK = 4000
FIRST = 20000  # below Linux's default ephemeral range (32768-60999)


def free_port() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = FIRST + (int(worker) % 3 if worker.isdigit() else 0) * BLOCK
    for port in random.sample(range(start, start + BLOCK), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}-{start + BLOCK - 1}")
