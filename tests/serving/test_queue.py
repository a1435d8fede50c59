"""The queue's rules on a real database (SQLite and PostgreSQL): opening, re-scoring,
deadlines and their light, transitions, escalation by the area code structure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from api_helpers import COUNTY, OTHER_COUNTY, START, TOWN, VILLAGE
from sqlalchemy import select
from sqlalchemy.orm import Session

from features.errors import RecordError
from serving import queue, transitions
from serving.auth import Principal
from serving.db import make_engine, make_sessionmaker, upgrade
from serving.errors import Conflict, Forbidden
from serving.settings import DEFAULT_DEADLINES
from serving.tables import ApiKey, AuditEntry, Item

POLICY = queue.Policy(
    open_level="黄", deadlines_hours=DEFAULT_DEADLINES, warn_fraction=0.25, top_level="city"
)
INTAKE = Principal(1, "intake", "intake", None)
TOWN_SUP = Principal(2, "town", "supervisor", TOWN)
COUNTY_SUP = Principal(3, "county", "supervisor", COUNTY)
OTHER_SUP = Principal(4, "other", "supervisor", OTHER_COUNTY)
CITY_ADMIN = Principal(5, "city", "admin", None)
H = timedelta(hours=1)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    upgrade(engine)
    with make_sessionmaker(engine)() as s:
        for p in (INTAKE, TOWN_SUP, COUNTY_SUP, OTHER_SUP, CITY_ADMIN):  # audit rows point at real keys
            s.add(
                ApiKey(
                    id=p.key_id,
                    name=p.name,
                    role=p.role,
                    area_code=p.area_code,
                    key_hash=f"h{p.key_id}",
                    key_prefix="drk_",
                    created_at=START,
                )
            )
        s.commit()
        yield s
    engine.dispose()


def assessment(level: str, case_id: str = "C1", **kw: Any) -> queue.Assessment:
    values: dict[str, Any] = dict(
        case_id=case_id,
        area_code=VILLAGE,
        category="邻里纠纷",
        source="群众来访",
        registered_at=datetime(2025, 3, 3, 8, 30),
        risk=0.4,
        model_level=level,
        level=level,
        flags=[],
        reasons=[
            {"code": "cue_threat", "text": "事件简述提到言语威胁", "direction": "升高", "contribution": 0.8}
        ],
        model_name="dispute-escalation",
        model_version="1",
    )
    return queue.Assessment(**(values | kw))


def score(
    session: Session, level: str, now: datetime = START, policy: queue.Policy = POLICY, **kw: Any
) -> queue.ScoreResult:
    result = queue.record_score(session, policy, assessment(level, **kw), INTAKE, now)
    session.commit()
    return result


def close_resolved(session: Session, item: Any) -> Any:
    """Close ``item`` as 化解 by the town supervisor, with nothing else recorded."""
    return transitions.close(
        session,
        POLICY,
        item,
        TOWN_SUP,
        START,
        outcome="化解",
        note=None,
        escalated_at=None,
        criminal_charge=None,
    )


def test_warning_at_queue_level_opens_item_for_the_town(session: Session) -> None:
    result = score(session, "黄")
    assert result.created and result.item is not None
    item = result.item
    assert (item.area_code, item.status, item.level) == (TOWN, "待签收", "黄")
    assert (item.respond_by, item.feedback_by) == (START + 24 * H, START + 7 * 24 * H)


def test_warning_below_queue_level_opens_nothing_and_stores_nothing(session: Session) -> None:
    assert score(session, "蓝").item is None
    assert session.scalars(select(Item)).all() == []


def test_red_deadlines_are_two_and_twenty_four_hours(session: Session) -> None:
    item = score(session, "红").item
    assert item is not None
    assert (item.respond_by - START, item.feedback_by - START) == (2 * H, 24 * H)


def test_rescore_updates_the_one_item_never_a_second(session: Session) -> None:
    first = score(session, "橙").item
    second = score(session, "橙", now=START + H, risk=0.5)
    assert second.item is not None and not second.created and second.item.id == first.id
    assert len(session.scalars(select(Item)).all()) == 1
    assert (second.item.case.n_scores, second.item.case.risk) == (2, 0.5)


def test_rescore_raises_level_and_brings_its_shorter_deadlines(session: Session) -> None:
    score(session, "黄")
    item = score(session, "红", now=START + 3 * H).item
    assert item is not None and item.level == "红"
    assert (item.respond_by, item.feedback_by) == (START + 5 * H, START + 27 * H)
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["open", "raise"]


@pytest.mark.parametrize("level", ["红", "橙"])
def test_rescore_never_lowers_an_open_red_or_orange_item(session: Session, level: str) -> None:
    score(session, level)
    result = score(session, "无", now=START + H)
    assert result.item is not None and result.item.level == level
    assert result.warnings == [
        f"item {result.item.id} stays at {level}: a re-score (无) does not lower an open "
        "红/橙 item; a supervisor closes or keeps it"
    ]


def test_rescore_may_lower_a_yellow_item_but_not_below_the_opening_level(session: Session) -> None:
    policy = queue.Policy("蓝", DEFAULT_DEADLINES | {"蓝": (48, 14 * 24)}, 0.25, "city")
    score(session, "黄", policy=policy)
    item = score(session, "无", now=START + H, policy=policy).item
    assert item is not None and item.level == "蓝"
    assert item.respond_by == START + 24 * H  # the running deadline is kept, not relaxed


def test_rescore_of_a_closed_item_neither_reopens_nor_rewrites_it(session: Session) -> None:
    item = score(session, "橙").item
    transitions.sign(session, POLICY, item, TOWN_SUP, START)
    close_resolved(session, item)
    session.commit()
    case_row = {c.key: getattr(item.case, c.key) for c in item.case.__table__.columns}
    result = score(session, "红", now=START + H, risk=0.9, area_code="320612001002")
    assert (result.item.status, result.item.level, result.item.area_code) == ("已化解", "橙", TOWN)
    assert {c.key: getattr(item.case, c.key) for c in item.case.__table__.columns} == case_row
    assert result.warnings == [
        f"item {item.id} is already closed (已化解); the re-score did not reopen or change it"
    ]
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.detail["stored"]) == ("rescore", False)


def test_light_turns_yellow_in_the_last_quarter_and_red_after_the_deadline(session: Session) -> None:
    item = score(session, "红").item  # respond within 2 h: 黄 from 1.5 h on, 红 after 2 h
    assert queue.light_of(item, START) == "绿"
    assert queue.light_of(item, START + timedelta(minutes=89)) == "绿"
    assert queue.light_of(item, START + timedelta(minutes=90)) == "黄"
    assert queue.light_of(item, START + 2 * H) == "黄"
    assert queue.light_of(item, START + 2 * H + timedelta(seconds=1)) == "红"


def test_signing_switches_the_light_to_the_feedback_deadline(session: Session) -> None:
    item = score(session, "红").item
    transitions.sign(session, POLICY, item, TOWN_SUP, START + 3 * H)  # signed late
    session.commit()
    assert item.due_at == START + 24 * H
    assert queue.light_of(item, START + 3 * H) == "绿"
    assert queue.light_of(item, START + 19 * H) == "黄"
    transitions.add_note(session, POLICY, item, TOWN_SUP, START + 20 * H, "已约谈双方，落实稳控")
    session.commit()
    assert (item.feedback_at, item.due_at, queue.light_of(item, START + 30 * H)) == (
        START + 20 * H,
        None,
        "绿",
    )


def test_closed_item_has_no_light(session: Session) -> None:
    item = score(session, "黄").item
    transitions.sign(session, POLICY, item, TOWN_SUP, START)
    transitions.close(
        session,
        POLICY,
        item,
        TOWN_SUP,
        START,
        outcome="转诉讼",
        note=None,
        escalated_at=None,
        criminal_charge=None,
    )
    assert (item.status, queue.light_of(item, START + 1000 * H)) == ("已关闭", None)


def test_escalation_climbs_town_county_city_then_stops(session: Session) -> None:
    item = score(session, "橙").item
    transitions.escalate(session, POLICY, item, TOWN_SUP, START + H, "镇级无法化解")
    assert (item.area_code, item.status, item.escalations) == (COUNTY, "已升级", 1)
    assert item.respond_by == START + 13 * H  # the county's clock starts at the escalation
    with pytest.raises(Forbidden):  # the town no longer holds it
        transitions.sign(session, POLICY, item, TOWN_SUP, START + H)
    transitions.sign(session, POLICY, item, COUNTY_SUP, START + 2 * H)
    transitions.escalate(session, POLICY, item, COUNTY_SUP, START + 3 * H, None)
    assert item.area_code == "320600000000"
    with pytest.raises(Conflict, match="cannot be escalated above city level"):
        transitions.escalate(session, POLICY, item, CITY_ADMIN, START + 4 * H, None)


def test_supervisor_of_another_county_cannot_act(session: Session) -> None:
    item = score(session, "红").item
    with pytest.raises(Forbidden, match="outside this key's area 320623000000"):
        transitions.sign(session, POLICY, item, OTHER_SUP, START)


def test_close_needs_the_item_signed_for(session: Session) -> None:
    item = score(session, "红").item
    with pytest.raises(Conflict, match="close needs the item to be 处置中, item .* is 待签收"):
        close_resolved(session, item)


def test_close_rejects_unknown_outcome_and_future_criminal_case(session: Session) -> None:
    item = score(session, "红").item
    transitions.sign(session, POLICY, item, TOWN_SUP, START)
    with pytest.raises(RecordError, match="outcome: must be one of 化解"):
        transitions.close(
            session,
            POLICY,
            item,
            TOWN_SUP,
            START,
            outcome="解决了",
            note=None,
            escalated_at=None,
            criminal_charge=None,
        )
    with pytest.raises(RecordError, match="must not lie in the future"):
        transitions.close(
            session,
            POLICY,
            item,
            TOWN_SUP,
            START,
            outcome="民转刑",
            note=None,
            escalated_at="2025-03-04T08:00:00",
            criminal_charge="故意伤害",
        )


def test_every_transition_is_audited_with_before_and_after(session: Session) -> None:
    item = score(session, "橙").item
    transitions.sign(session, POLICY, item, TOWN_SUP, START + H)
    transitions.add_note(session, POLICY, item, TOWN_SUP, START + 2 * H, "已调解")
    transitions.escalate(session, POLICY, item, TOWN_SUP, START + 3 * H, "需县级协调")
    transitions.sign(session, POLICY, item, COUNTY_SUP, START + 4 * H)
    transitions.close(
        session,
        POLICY,
        item,
        COUNTY_SUP,
        START + 5 * H,
        outcome="民转刑",
        note="已立案",
        escalated_at="2025-03-03T12:30:00",
        criminal_charge="故意伤害",
    )
    session.commit()
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.item_id == item.id).order_by(AuditEntry.id)
    ).all()
    assert [(r.action, r.actor, r.from_status, r.to_status, r.to_area) for r in rows] == [
        ("open", "intake", None, "待签收", TOWN),
        ("sign", "town", "待签收", "处置中", TOWN),
        ("note", "town", "处置中", "处置中", TOWN),
        ("escalate", "town", "处置中", "已升级", COUNTY),
        ("sign", "county", "已升级", "处置中", COUNTY),
        ("close", "county", "处置中", "已关闭", COUNTY),
    ]
    assert item.escalated_at == START + 3.5 * H  # 12:30 Shanghai = 04:30 UTC


def test_migrations_build_exactly_the_tables_the_code_maps(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from serving.tables import Base

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_an_opened_item_is_stored_whole_and_stays_in_the_session(session: Session, db_url: str) -> None:
    """Opening writes its three rows with plain INSERTs: what another session reads back is what
    the answer showed, and the caller's item is a stored row it can go on changing."""
    result = score(
        session, "红", case_id="C-OPEN", flags=[{"code": "threat_with_weapon", "level": "红", "text": "t"}]
    )
    item = result.item
    assert item is not None and item in session and item.id is not None
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as other:
            stored = other.get(Item, item.id)
            assert stored is not None
            columns = [c.key for c in Item.__table__.columns]
            assert {k: getattr(stored, k) for k in columns} == {k: getattr(item, k) for k in columns}
            case_columns = [c.key for c in stored.case.__table__.columns]
            assert {k: getattr(stored.case, k) for k in case_columns} == {
                k: getattr(item.case, k) for k in case_columns
            }
            (entry,) = other.scalars(select(AuditEntry).where(AuditEntry.item_id == item.id)).all()
            assert (entry.action, entry.to_status, entry.to_level, entry.case_id) == (
                "open",
                "待签收",
                "红",
                "C-OPEN",
            )
            assert entry.detail == {
                "risk": 0.4,
                "model_level": "红",
                "level": "红",
                "flags": ["threat_with_weapon"],
                "model_version": "1",
            }
    finally:
        engine.dispose()
    transitions.sign(session, POLICY, item, TOWN_SUP, START + H)  # optimistic version 1 -> 2
    session.commit()
    assert session.get(Item, item.id).status == "处置中"
