"""The 督办 supervision queue: its vocabulary, when a score opens an item, how a re-score
changes it, the deadlines and their light. The transitions people make are in transitions.py.

Every function takes ``now`` from the app's injectable clock and adds to the caller's
session; the route commits, so a change and its audit row land together or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from features import area_codes
from features.areas import AreaTree
from features.schema import DEFAULT_TIMEZONE
from risk.levels import ORANGE, RED, higher, rank
from serving import audit
from serving.auth import Principal
from serving.errors import Conflict, NotFound
from serving.settings import Settings
from serving.tables import Item, ScoredCase

PENDING, IN_HAND, RESOLVED, ESCALATED, CLOSED = "待签收", "处置中", "已化解", "已升级", "已关闭"
STATUSES = (PENDING, IN_HAND, RESOLVED, ESCALATED, CLOSED)
OPEN_STATUSES = (PENDING, IN_HAND, ESCALATED)
GREEN, AMBER, OVERDUE = "绿", "黄", "红"
LIGHTS = (GREEN, AMBER, OVERDUE)
RESOLVED_OUTCOME, CRIMINAL_OUTCOME = "化解", "民转刑"
OUTCOMES = (RESOLVED_OUTCOME, "转诉讼", "转仲裁", "转行政处理", "信访", CRIMINAL_OUTCOME, "撤回", "其他")
SHANGHAI = ZoneInfo(DEFAULT_TIMEZONE)
# Levels a re-score may not lower on its own: a person has to decide that.
STICKY_LEVELS = (RED, ORANGE)


@dataclass(frozen=True)
class Assessment:
    """What the queue keeps of one scored case: no narrative, no names, no party ids."""

    case_id: str
    area_code: str
    category: str
    source: str
    registered_at: datetime  # naive Shanghai wall time
    risk: float
    model_level: str
    level: str
    flags: list[dict[str, str]]
    reasons: list[dict[str, Any]]
    model_name: str
    model_version: str | None


@dataclass(frozen=True)
class Policy:
    open_level: str | None
    deadlines_hours: Mapping[str, tuple[float, float]]
    warn_fraction: float
    top_level: str
    areas: AreaTree | None = None  # the area table, when loaded: routes items by it

    @classmethod
    def from_settings(cls, s: Settings) -> Policy:
        return cls(s.queue_level, dict(s.deadlines_hours), s.light_warn_fraction, s.escalation_top_level)

    def desk(self, code: str) -> str:
        """The 镇/街道 综治中心 that handles a case registered at ``code``."""
        return area_codes.responsible_town(code, self.areas)

    def opens(self, level: str) -> bool:
        return self.open_level is not None and rank(level) >= rank(self.open_level)

    def hours(self, level: str) -> tuple[float, float]:
        # An item can outlive a change of settings; a level no longer configured gets the most
        # lenient deadlines configured rather than an error.
        return self.deadlines_hours.get(level) or max(self.deadlines_hours.values())


@dataclass
class ScoreResult:
    item: Item | None
    created: bool = False
    warnings: list[str] = field(default_factory=list)


def _case_row(a: Assessment, now: datetime, row: ScoredCase | None) -> ScoredCase:
    values = dict(
        area_code=a.area_code,
        category=a.category,
        source=a.source,
        registered_at=a.registered_at,
        risk=a.risk,
        model_level=a.model_level,
        level=a.level,
        flags=a.flags,
        reasons=a.reasons,
        model_name=a.model_name,
        model_version=a.model_version,
        scored_at=now,
    )
    if row is None:
        return ScoredCase(case_id=a.case_id, n_scores=1, **values)
    for key, value in values.items():
        setattr(row, key, value)
    row.n_scores += 1
    return row


def refresh_due(item: Item, policy: Policy) -> None:
    """Which deadline is running now, and when its light turns 黄."""
    respond_h, feedback_h = policy.hours(item.level)
    due, span = None, 0.0
    if item.status in (PENDING, ESCALATED):
        due, span = item.respond_by, respond_h
    elif item.status == IN_HAND and item.feedback_at is None:
        due, span = item.feedback_by, feedback_h
    item.due_at = due
    item.warn_at = None if due is None else due - timedelta(hours=span * policy.warn_fraction)


def start_clock(item: Item, policy: Policy, now: datetime) -> None:
    respond_h, feedback_h = policy.hours(item.level)
    item.respond_by = now + timedelta(hours=respond_h)
    item.feedback_by = now + timedelta(hours=feedback_h)


def record_score(
    session: Session, policy: Policy, a: Assessment, who: Principal, now: datetime
) -> ScoreResult:
    """Open an item for a new warning, or update the case's one item on a re-score."""
    item_id = item_id_for(session.connection(), a.case_id)
    if item_id is None:
        if not policy.opens(a.level):
            return ScoreResult(None)
        # A case row exists only with its item, so a case without an item has no row yet.
        case = _case_row(a, now, None)
        item = Item(
            case=case,
            case_id=a.case_id,
            area_code=policy.desk(a.area_code),
            level=a.level,
            status=PENDING,
            opened_at=now,
            escalations=0,
            updated_at=now,
            version=1,  # what the ORM's version counter starts at
        )
        start_clock(item, policy, now)
        refresh_due(item, policy)
        # Three plain INSERTs in the session's transaction: the rows the ORM's unit of work
        # would write for these new objects, at a third of its CPU (this is the hot write:
        # every new warning). The item and its case then join the session as rows already
        # stored, so a caller can go on changing the item as if the ORM had written it.
        conn = session.connection()
        _insert(conn, case)
        item.id = _insert(conn, item)
        _insert(conn, audit.make_entry(who, "open", item, now, detail=_score_detail(a)))
        make_transient_to_detached(case)
        make_transient_to_detached(item)
        session.add(item)
        return ScoreResult(item, created=True)

    item = get_item(session, item_id)
    before = (item.status, item.level, item.area_code)
    corrected = _check_rescore(item, a, who)
    result = ScoreResult(item)
    if item.status not in OPEN_STATUSES:
        # A closed item is a record of what was decided: neither it nor its case row changes.
        result.warnings.append(
            f"item {item.id} is already closed ({item.status}); the re-score did not reopen or change it"
        )
        audit.record(session, who, "rescore", item, now, before=before, detail=_score_detail(a, stored=False))
        return result
    _case_row(a, now, item.case)
    if corrected and item.escalations == 0:
        item.area_code = policy.desk(a.area_code)  # not yet escalated: the new area's desk takes it
    action = _apply_level(item, a, policy, now, result)
    refresh_due(item, policy)
    item.updated_at = now
    detail = _score_detail(a) | ({"case_area": [corrected, a.area_code]} if corrected else {})
    audit.record(session, who, action, item, now, before=before, detail=detail)
    return result


def _check_rescore(item: Item, a: Assessment, who: Principal) -> str | None:
    """A case belongs to the area it was first registered in: a key that does not cover that area
    cannot re-score it, whatever it sends (409, naming the case only). A key covering both the
    stored and the new area may correct the area; the old area is returned for the audit."""
    stored = item.case.area_code
    who.require_area(a.area_code, f"case {a.case_id}")
    if not who.covers(stored):
        raise Conflict(
            f"case_id {a.case_id} is already registered to an area outside this key's scope; "
            "a case_id names one case on the whole platform: send this case under its own id"
        )
    return stored if stored != a.area_code else None


def _apply_level(item: Item, a: Assessment, policy: Policy, now: datetime, result: ScoreResult) -> str:
    """Raise the open item's level (with the shorter deadlines), or lower it where allowed."""
    if rank(a.level) > rank(item.level):
        item.level = a.level
        # A raised level brings its shorter deadlines, counted from now; never longer ones.
        respond_h, feedback_h = policy.hours(a.level)
        item.respond_by = min(item.respond_by, now + timedelta(hours=respond_h))
        item.feedback_by = min(item.feedback_by, now + timedelta(hours=feedback_h))
        return "raise"
    if rank(a.level) < rank(item.level):
        if item.level in STICKY_LEVELS:
            result.warnings.append(
                f"item {item.id} stays at {item.level}: a re-score ({a.level}) does not lower an open "
                f"{'/'.join(STICKY_LEVELS)} item; a supervisor closes or keeps it"
            )
            return "rescore"
        floor = policy.open_level or a.level  # an open item stays at least at the opening level
        lowered = higher(a.level, floor)
        if lowered != item.level:
            item.level = lowered  # deadlines already running are kept, never relaxed
            return "lower"
    return "rescore"


def _insert(conn: Connection, row: Any) -> Any:
    """INSERT a new, unsaved ORM object's column values; its new primary key, if generated.
    Columns never set are stored as NULL and set to None on the object too, so that once it
    joins a session as a stored row, reading them does not go back to the database."""
    table = row.__table__
    values = {c.key: getattr(row, c.key) for c in table.columns}
    for key, value in values.items():
        if key not in row.__dict__:
            setattr(row, key, value)
    generated = [c.key for c in table.primary_key.columns if values.get(c.key) is None]
    for key in generated:
        del values[key]
    key = conn.execute(insert(table), values).inserted_primary_key
    return key[0] if generated and key is not None else None


def item_id_for(conn: Connection, case_id: str) -> int | None:
    """The id of the case's item, if it has one: one indexed lookup as plain SQL (the ORM layer
    would double its cost). Most cases have no item and open none; this is all they pay."""
    return conn.scalar(ITEM_ID_BY_CASE, {"case_id": case_id})


# One positional parameter, the case_id (serving.db.LoopReader runs it as DBAPI SQL too).
ITEM_ID_BY_CASE = select(Item.id).where(Item.case_id == bindparam("case_id"))


def _score_detail(a: Assessment, *, stored: bool = True) -> dict[str, Any]:
    detail = {
        "risk": round(a.risk, 6),
        "model_level": a.model_level,
        "level": a.level,
        "flags": [f["code"] for f in a.flags],
        "model_version": a.model_version,
    }
    return detail if stored else detail | {"stored": False}


# ---- reading ------------------------------------------------------------------------------------


def get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"no supervision item {item_id}")
    return item


def can_read(who: Principal, item: Item) -> bool:
    # The town that registered a case keeps sight of it after it is escalated above it.
    return who.covers(item.case.area_code) or who.covers(item.area_code)


def get_visible_item(session: Session, item_id: int, who: Principal) -> Item:
    """The item, if the caller may see it; one outside its scope is answered exactly as a
    missing one (404, same body), so ids cannot be probed across areas."""
    item = session.get(Item, item_id)
    if item is None or not can_read(who, item):
        raise NotFound(f"no supervision item {item_id}")
    return item


def light_of(item: Item, now: datetime) -> str | None:
    """绿 on time, 黄 when little time is left, 红 overdue; None once the item is closed."""
    if item.status not in OPEN_STATUSES:
        return None
    if item.due_at is None or (item.warn_at is not None and now < item.warn_at):
        return GREEN
    return OVERDUE if now > item.due_at else AMBER
