"""Fair write locks around the queue database's write transactions (SQLite has one writer)."""

from __future__ import annotations

import os
import threading
from collections import deque
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy.engine import make_url

try:
    import fcntl
except ImportError:  # not POSIX: one process's writers still queue on the FifoLock
    fcntl = None  # type: ignore[assignment]


class FifoLock:
    """A lock handed to waiters in arrival order. threading.Lock is unfair: under load one
    request can lose the race again and again, which shows as seconds in the latency tail."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def __enter__(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the holder when it is our turn; the lock stays held

    def try_enter(self) -> bool:
        """Take the lock if nobody holds it (True), else leave it (False); never waits."""
        with self._mutex:
            if self._held:
                return False
            self._held = True
            return True

    def __exit__(self, *exc: object) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


class FileWriteLock(FifoLock):
    """A FifoLock within the process, plus an exclusive ``flock`` on a file beside the database
    across processes (``risk serve --workers N``): the kernel hands it over at once, where
    SQLite's busy handler makes a writer of the other process sleep and poll. The file is opened
    on first use; threads share its descriptor, which only the FifoLock's holder locks."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path
        self._fd: int | None = None

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def __enter__(self) -> None:
        super().__enter__()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            super().__exit__(None, None, None)
            raise

    def try_enter(self) -> bool:
        if not super().try_enter():
            return False
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another process writes: the caller waits elsewhere
            super().__exit__(None, None, None)
            return False
        return True

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            super().__exit__(*exc)


def write_lock_for(url: str) -> AbstractContextManager[Any]:
    """The lock to hold around a write transaction. SQLite has one writer at a time and its busy
    handler sleeps and polls, which puts 100 ms steps into the latency tail; queueing the
    writers on a fair lock in the process (and a file lock across processes) is fast.
    PostgreSQL locks rows itself: no lock."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return nullcontext()
    if not parsed.database or parsed.database == ":memory:" or fcntl is None:
        return FifoLock()
    return FileWriteLock(f"{parsed.database}.write.lock")
