"""The group commit of history facts: requests that wait together share one transaction, each
returns only once its fact is committed, and a failed transaction fails exactly its requests.
On the event loop when the write lock is free, in the threadpool when it is not."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from serving import history_facts
from serving.db import make_engine, upgrade
from serving.errors import StoreUnavailable
from serving.fact_writer import FactWriter
from serving.metrics import Metrics
from serving.tables import HistoryFact
from serving.write_lock import FifoLock

NOW = datetime(2025, 6, 20, 1, 0, tzinfo=UTC)


def run_on_own_loop(coroutine):  # noqa: ANN001, ANN201
    """``asyncio.run`` in a thread of its own: the browser tests' Playwright keeps an event loop
    running in the main thread for the whole session, where asyncio.run would refuse to start."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def fact(i: int) -> dict[str, object]:
    return history_facts.case_fact(
        {"case_id": f"C{i}", "registered_at": datetime(2025, 6, 10), "area_code": "320612001001"},
        [{"party_id": f"P{i}", "party_type": "自然人", "key_groups": None}],
        {"threat": 1, "weapon": 0},
        NOW,
    )


@pytest.fixture
def engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'facts.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(HistoryFact))


@pytest.mark.parametrize("lock_free", [True, False])
def test_facts_that_wait_together_are_one_transaction_and_committed_before_return(engine, lock_free) -> None:
    commits: list[int] = []
    event.listen(engine, "commit", lambda conn: commits.append(1))
    lock = FifoLock()
    writer = FactWriter(lambda: engine, lambda: lock, Metrics(), try_lock=lock.try_enter, interval=0.01)
    writer.start()

    async def many() -> list[int]:
        async def one(i: int) -> int:
            await writer.commit(fact(i))
            return count(engine)  # committed by the time commit() returns

        if not lock_free:  # another writer holds the lock: the batch waits for it in the threadpool
            lock.__enter__()
            asyncio.get_running_loop().call_later(0.05, lock.__exit__, None, None, None)
        results = await asyncio.gather(*(one(i) for i in range(20)))
        await writer.stop()
        return results

    seen = run_on_own_loop(many())
    assert min(seen) >= 1 and count(engine) == 20 and len(commits) == 1
    assert not lock._held
    with engine.connect() as conn:
        stored = conn.execute(select(HistoryFact.parties, HistoryFact.cues).order_by(HistoryFact.id)).first()
    assert stored == ([["P0", "自然人", ""]], {"threat": 1})  # no zero counts, no None tags


def test_a_failed_transaction_fails_its_requests_and_the_next_batch_goes_on(engine) -> None:
    metrics, down = Metrics(), [True]

    def engine_or_broken():
        if down[0]:
            raise ConnectionError("database gone")
        return engine

    writer = FactWriter(engine_or_broken, contextlib.nullcontext, metrics, interval=0.01)
    writer.start()

    async def run() -> list[object]:
        first = await asyncio.gather(*(writer.commit(fact(i)) for i in range(3)), return_exceptions=True)
        down[0] = False
        await writer.commit(fact(3))
        await writer.stop()
        return first

    first = run_on_own_loop(run())
    assert all(isinstance(e, StoreUnavailable) for e in first) and len({id(e) for e in first}) == 3
    assert str(first[0]) == "the case's history facts could not be stored; nothing was stored, send it again"
    assert count(engine) == 1
    assert metrics.registry.get_sample_value("risk_history_facts_written_total") == 1.0


def test_a_stopped_writer_refuses_at_once(engine) -> None:
    writer = FactWriter(lambda: engine, contextlib.nullcontext, Metrics())
    with pytest.raises(StoreUnavailable, match="not running"):
        run_on_own_loop(writer.commit(fact(0)))
