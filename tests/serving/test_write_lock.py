"""The SQLite write lock hands itself to waiting writers in the order they arrived."""

from __future__ import annotations

import threading
import time

from serving.write_lock import FifoLock, write_lock_for


def test_waiting_writers_get_the_lock_in_arrival_order() -> None:
    lock, order = FifoLock(), []

    def writer(name: str) -> None:
        with lock:
            order.append(name)

    lock.__enter__()
    threads = []
    for name in ("first", "second", "third"):
        t = threading.Thread(target=writer, args=(name,))
        t.start()
        threads.append(t)
        deadline = time.monotonic() + 5
        while len(lock._waiters) < len(threads) and time.monotonic() < deadline:
            time.sleep(0.001)
    lock.__exit__(None, None, None)
    for t in threads:
        t.join(5)
    assert order == ["first", "second", "third"]


def test_only_sqlite_gets_a_process_lock() -> None:
    assert isinstance(write_lock_for("sqlite:///x.db"), FifoLock)
    assert not isinstance(write_lock_for("postgresql+psycopg://u@h/db"), FifoLock)


def test_try_enter_takes_a_free_lock_and_never_waits_for_a_held_one() -> None:
    lock = FifoLock()
    assert lock.try_enter()  # free: taken
    assert not lock.try_enter()  # held: refused at once, not queued
    assert not lock._waiters
    lock.__exit__(None, None, None)
    with lock:
        pass  # released properly: a waiting writer gets it


def test_a_sqlite_file_lock_is_held_across_processes_until_released(tmp_path) -> None:
    import subprocess
    import sys

    lock = write_lock_for(f"sqlite:///{tmp_path / 'q.db'}")
    probe = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
        "except OSError: print('held')"
    )

    def other_process_sees() -> str:
        path = str(tmp_path / "q.db.write.lock")
        return subprocess.run(
            [sys.executable, "-c", probe, path], capture_output=True, text=True
        ).stdout.strip()

    with lock:
        assert other_process_sees() == "held"  # another worker's writer waits in the kernel
    assert other_process_sees() == "free"
    assert lock.try_enter() and other_process_sees() == "held"
    lock.__exit__(None, None, None)
