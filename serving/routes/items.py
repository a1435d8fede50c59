"""The 督办 queue: list, read, sign for, note, escalate (提级), close, and the 预警提示函.

An item outside the caller's area answers exactly as a missing one (404). Every read and change
is written to the audit log in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from serving import audit, notices, queries, queue, transitions
from serving.auth import Principal
from serving.deps import Reader, Runtime, RuntimeDep, SessionDep, Supervisor
from serving.errors import Conflict
from serving.field_types import AreaCode, LevelName, LightName, StatusName
from serving.notice import NOTICE_LEVELS, render_notice
from serving.schemas import (
    CloseIn,
    EscalateIn,
    EventOut,
    ItemDetail,
    ItemOut,
    ItemPage,
    NoteIn,
    error_responses,
)

MAX_ID = 2**31 - 1  # the id columns' range on every backend (PostgreSQL integer)
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="the supervision item's id")]

router = APIRouter(prefix="/v1/items", tags=["queue"], responses=error_responses(401, 403, 422))
_ONE = error_responses(404)
_HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "the printable letter"}
}
_CHANGE = error_responses(400, 404, 409, 413, 415)


@router.get("", response_model=ItemPage)
def list_items(
    user: Reader,
    session: SessionDep,
    rt: RuntimeDep,
    area: Annotated[AreaCode | None, Query(description="the responsible area's subtree")] = None,
    level: Annotated[list[LevelName], Query()] = [],  # noqa: B006 (FastAPI copies query defaults)
    status: Annotated[list[StatusName], Query()] = [],  # noqa: B006
    light: Annotated[list[LightName], Query()] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=MAX_ID, description="at most page_max (200) are served")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> ItemPage:
    """Items visible to the caller's area, most pressing deadline first."""
    if area is not None:
        user.require_area(area, "the area filter")
    limit = min(limit, rt.settings.page_max)
    now = rt.clock()
    flt = queries.ItemFilter(area=area, levels=level, statuses=status, lights=light)
    total, items = queries.list_items(
        session, scope=user.area_code, flt=flt, now=now, limit=limit, offset=offset
    )
    page = ItemPage(total=total, limit=limit, offset=offset, items=[ItemOut.of(i, now) for i in items])
    _audit_reads(session, rt, user, items, now)
    return page


@router.get("/{item_id}", response_model=ItemDetail, responses=_ONE)
def get_item(item_id: ItemId, user: Reader, session: SessionDep, rt: RuntimeDep) -> ItemDetail:
    """One item with its history of transitions and notes (personal numbers masked)."""
    now = rt.clock()
    item = queue.get_visible_item(session, item_id, user)
    detail = ItemDetail(
        **ItemOut.of(item, now).model_dump(),
        history=[EventOut.of(e) for e in audit.history(session, item.id)],
    )
    _audit_reads(session, rt, user, [item], now)
    return detail


@router.get(
    "/{item_id}/notice",
    response_class=HTMLResponse,
    responses=_HTML | error_responses(404, 409),
)
def get_notice(item_id: ItemId, user: Reader, session: SessionDep, rt: RuntimeDep) -> HTMLResponse:
    """The printable 预警提示函 of a 红 or 橙 item."""
    now = rt.clock()
    item = queue.get_visible_item(session, item_id, user)
    if item.level not in NOTICE_LEVELS:
        raise Conflict(
            f"a 预警提示函 is issued for {'/'.join(NOTICE_LEVELS)} items only; item {item.id} is {item.level}"
        )
    loaded = rt.models.current
    session.commit()  # the read transaction ends before the write (see _audit_reads)
    with rt.writing():
        issued = notices.first_issue(session, item, user, now)  # the date the letter bears
    page = render_notice(
        item,
        audit.history(session, item.id),
        now,
        loaded.model.horizon_days if loaded else None,
        areas=rt.policy.areas,
        issued_at=issued.issued_at,
        issued_by=issued.issued_by,
    )
    _audit_reads(session, rt, user, [item], now, detail={"document": "预警提示函"})
    return HTMLResponse(page)


def _audit_reads(
    session: Session,
    rt: Runtime,
    who: Principal,
    items: Sequence[queue.Item],
    now: datetime,
    detail: dict[str, str] | None = None,
) -> None:
    # End the read transaction first: SQLite cannot turn a snapshot that another writer has
    # since moved past into a write, so the audit rows go in a transaction of their own.
    session.commit()
    with rt.writing():
        for item in items:
            audit.record(session, who, audit.READ, item, now, detail=detail)
        session.commit()


def _act(
    session: Session, rt: Runtime, item_id: int, who: Principal, change: Callable[..., queue.Item]
) -> ItemOut:
    now = rt.clock()
    with rt.writing():
        item = queue.get_visible_item(session, item_id, who)
        change(session, rt.policy, item, now)
        try:
            session.commit()
        except StaleDataError:
            session.rollback()
            raise Conflict(
                f"item {item_id} was changed by someone else meanwhile; read it again and retry"
            ) from None
    return ItemOut.of(item, now)


@router.post("/{item_id}/sign", response_model=ItemOut, responses=error_responses(404, 409))
def sign(item_id: ItemId, user: Supervisor, session: SessionDep, rt: RuntimeDep) -> ItemOut:
    """签收: the responsible 综治中心 takes the item in hand (待签收/已升级 -> 处置中)."""
    return _act(session, rt, item_id, user, lambda s, p, item, now: transitions.sign(s, p, item, user, now))


@router.post("/{item_id}/notes", response_model=ItemOut, responses=_CHANGE)
def add_note(item_id: ItemId, note: NoteIn, user: Supervisor, session: SessionDep, rt: RuntimeDep) -> ItemOut:
    """处置记录 (not blank); the first note after signing is the feedback the deadline asks for."""
    return _act(
        session,
        rt,
        item_id,
        user,
        lambda s, p, item, now: transitions.add_note(s, p, item, user, now, note.text),
    )


@router.post("/{item_id}/escalate", response_model=ItemOut, responses=_CHANGE)
def escalate(
    item_id: ItemId, user: Supervisor, session: SessionDep, rt: RuntimeDep, body: EscalateIn | None = None
) -> ItemOut:
    """提级: hand the item to the next area level up (town -> county -> city)."""
    reason = body.reason if body is not None else None
    return _act(
        session,
        rt,
        item_id,
        user,
        lambda s, p, item, now: transitions.escalate(s, p, item, user, now, reason),
    )


@router.post("/{item_id}/close", response_model=ItemOut, responses=_CHANGE)
def close(item_id: ItemId, body: CloseIn, user: Supervisor, session: SessionDep, rt: RuntimeDep) -> ItemOut:
    """办结 with an outcome (化解, 转诉讼, 信访, 民转刑 ...), kept as a feedback label. For 民转刑,
    escalated_at defaults to now and may lie neither in the future nor before the registration."""
    return _act(
        session,
        rt,
        item_id,
        user,
        lambda s, p, item, now: transitions.close(
            s,
            p,
            item,
            user,
            now,
            outcome=body.outcome,
            note=body.note,
            escalated_at=body.escalated_at,
            criminal_charge=body.criminal_charge,
        ),
    )
