"""Reading the history facts by id: ids passed over while their transaction was in flight are read
once they commit (PostgreSQL hands out ids at INSERT, and commits in any order), ids never
committed expire, and a replay leaves the newest ids' gaps to the follower."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert

from serving import history_facts
from serving.db import make_engine, upgrade
from serving.history_facts import GAP_SECONDS, FactCursor, read_unread
from serving.tables import HistoryFact

NOW = datetime(2025, 6, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def fact(i: int, **values: object) -> dict[str, object]:
    row = history_facts.case_fact(
        {"case_id": f"C{i}", "registered_at": datetime(2025, 6, 10), "area_code": "320612001001"},
        [{"party_id": "P1", "party_type": "自然人", "key_groups": ""}],
        {},
        NOW,
    )
    return row | {"id": i} | values


def add(engine: Engine, *ids: int) -> None:
    with engine.begin() as conn:
        conn.execute(insert(HistoryFact), [fact(i) for i in ids])


def read(engine: Engine, cursor: FactCursor, now: float = 0.0) -> list[int]:
    with engine.connect() as conn:
        ids = [r.id for r in read_unread(conn, cursor, 100)]
    cursor.advance(ids, now)
    return ids


def test_an_id_committed_after_a_later_one_is_read_at_the_next_poll(engine) -> None:
    cursor = FactCursor(None)
    add(engine, 1, 2, 4)  # 3 still in flight
    assert read(engine, cursor) == [1, 2, 4] and (cursor.high, set(cursor.gaps)) == (4, {3})
    assert read(engine, cursor) == []
    add(engine, 3, 5)
    assert read(engine, cursor) == [3, 5] and not cursor.gaps


def test_an_id_never_committed_is_given_up_after_the_longest_transaction(engine) -> None:
    cursor = FactCursor(None)
    add(engine, 1, 3)
    read(engine, cursor, now=0.0)
    assert set(cursor.gaps) == {2}
    read(engine, cursor, now=GAP_SECONDS - 1)
    assert set(cursor.gaps) == {2}
    read(engine, cursor, now=GAP_SECONDS + 1)  # rolled back: not asked for any more
    assert not cursor.gaps


def test_a_cursor_started_by_replay_reads_the_tail_it_had_not_seen(engine) -> None:
    add(engine, 1, 2, 3, 6)
    cursor = FactCursor(None)
    cursor.start(6, [1, 2, 3, 6], now=0.0)  # 4 and 5 in flight when replay looked
    assert set(cursor.gaps) == {4, 5}
    add(engine, 5, 7)
    assert read(engine, cursor) == [5, 7] and set(cursor.gaps) == {4}


@pytest.mark.postgres
def test_concurrent_transactions_commit_out_of_id_order_and_nothing_is_missed(pg_url) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    cursor = FactCursor(None)
    rows = [{k: v for k, v in fact(0).items() if k != "id"}]
    try:
        with engine.connect() as slow:
            slow.begin()
            slow.execute(insert(HistoryFact), rows)  # takes the first id, commits last
            with engine.begin() as fast:
                fast.execute(insert(HistoryFact), rows)
            first = read(engine, cursor)
            slow.commit()
        second = read(engine, cursor)
    finally:
        engine.dispose()
    assert len(first) == 1 and len(second) == 1 and second[0] < first[0]
    assert not cursor.gaps
