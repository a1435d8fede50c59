"""Group commit of history facts: a case's facts are committed before its 200, at a fraction of
a transaction's cost per case.

Most scored cases open no 督办 item, so their facts would be a transaction of their own, and a
transaction is the expensive part (the commit: SQLite with synchronous=FULL waits for the
disk). So the route hands its facts to the ``FactWriter`` and awaits them; the writer commits
everything handed over since its last transaction in one, and then answers every waiting
request. It starts a transaction at most every ``interval`` seconds: after a quiet spell the
first fact is written at once; under load the facts of every request of the last interval go
together. A failed transaction fails every request of its batch (503: nothing of them was
stored) and the next batch goes on.

The writer is a task on the event loop, not a thread: measured, a writer thread cost as much
CPU again in waking it, handing the GIL back and forth and waking the loop as the writes
themselves. On SQLite the batch is written on the loop when the write lock is free (an INSERT
and a commit per batch, as the item writes do per request; see routes/scoring.py), else in the
threadpool, which waits for the lock; on PostgreSQL always in the threadpool (a commit waits for
the server's disk). One transaction at a time, on one connection kept for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from serving import history_facts
from serving.errors import StoreUnavailable
from serving.logging_config import exception_summary
from serving.metrics import Metrics

log = logging.getLogger(__name__)

Pending = tuple[Mapping[str, Any], asyncio.Future[None]]
NOT_STORED = "the case's history facts could not be stored; nothing was stored, send it again"


class FactWriter:
    """``write_lock`` is held around each transaction; ``try_lock`` takes it only if it is free
    (True; released with ``write_lock().__exit__``), or is None where nothing is written on the
    event loop (a server database)."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        write_lock: Callable[[], AbstractContextManager[Any]],
        metrics: Metrics,
        *,
        try_lock: Callable[[], bool] | None = None,
        interval: float = 0.005,
        max_batch: int = 1000,
    ) -> None:
        self.engine = engine
        self.write_lock = write_lock
        self.try_lock = try_lock
        self.metrics = metrics
        self.interval = interval
        self.max_batch = max_batch
        self._pending: list[Pending] = []
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._last_start = float("-inf")  # loop time of the last transaction's start
        self._conn: Connection | None = None

    async def commit(self, fact: Mapping[str, Any]) -> None:
        """Return once ``fact`` is committed; StoreUnavailable if its transaction failed or the
        writer is not running. Called on the event loop."""
        if not self._running:
            raise StoreUnavailable("the history facts writer is not running; nothing was stored")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((fact, future))
        if self._task is None:
            self._task = loop.create_task(self._flush())
        await future

    def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        """Commit what is pending, then refuse new facts."""
        self._running = False
        if self._task is not None:
            await self._task
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                wait = self._last_start + self.interval - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)  # requests keep arriving meanwhile
                self._last_start = loop.time()
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                facts = [fact for fact, _ in batch]
                error = None
                try:
                    if not self._write_inline(facts):
                        await run_in_threadpool(self._write, facts)
                    self.metrics.history_facts_written.inc(len(facts))
                except Exception as exc:
                    log.error("history facts not committed", extra={"error": exception_summary(exc)})
                    error = NOT_STORED
                _settle(batch, error)
        finally:
            self._task = None

    def _write_inline(self, facts: list[Mapping[str, Any]]) -> bool:
        """Write on the event loop if the write lock is free (SQLite); False: not written."""
        if self.try_lock is None or not self.try_lock():
            return False
        try:
            self._transaction(facts)
        finally:
            self.write_lock().__exit__(None, None, None)
        return True

    def _write(self, facts: list[Mapping[str, Any]]) -> None:
        with self.write_lock():
            self._transaction(facts)

    def _transaction(self, facts: list[Mapping[str, Any]]) -> None:
        if self._conn is None:
            self._conn = self.engine().connect()
        try:
            with self._conn.begin():
                history_facts.append(self._conn, facts)
        except Exception:
            self._conn.close()  # broken or not: the next batch starts on a fresh connection
            self._conn = None
            raise


def _settle(batch: list[Pending], error: str | None) -> None:
    for _, future in batch:
        if future.done():  # a request cancelled meanwhile (client gone)
            continue
        if error is None:
            future.set_result(None)
        else:  # one exception each: a raised exception collects its own traceback
            future.set_exception(StoreUnavailable(error))
