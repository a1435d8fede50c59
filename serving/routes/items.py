"""The 督办 queue: list, read, sign for, note, escalate (提级), close, and the 预警提示函.

Every read and change is written to the audit log in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from features import area_codes
from features.errors import RecordError
from risk.levels import LEVELS
from serving import audit, queries, queue, transitions
from serving.auth import Principal
from serving.deps import Reader, Runtime, RuntimeDep, SessionDep, Supervisor
from serving.errors import Conflict, InvalidInput
from serving.notice import NOTICE_LEVELS, render_notice
from serving.schemas import CloseIn, EscalateIn, EventOut, ItemDetail, ItemOut, ItemPage, NoteIn

router = APIRouter(prefix="/v1/items", tags=["queue"])


def _check_choices(field: str, values: list[str], allowed: tuple[str, ...]) -> list[RecordError]:
    return [RecordError(field, v, f"must be one of {', '.join(allowed)}") for v in values if v not in allowed]


@router.get("", response_model=ItemPage)
def list_items(
    user: Reader,
    session: SessionDep,
    rt: RuntimeDep,
    area: Annotated[str | None, Query(description="the responsible area's subtree (12-digit code)")] = None,
    level: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies query defaults)
    status: Annotated[list[str], Query()] = [],  # noqa: B006
    light: Annotated[list[str], Query()] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ItemPage:
    """Items visible to the caller's area, most pressing deadline first."""
    errors = (
        _check_choices("level", level, LEVELS)
        + _check_choices("status", status, queue.STATUSES)
        + _check_choices("light", light, queue.LIGHTS)
    )
    if limit > rt.settings.page_max:
        errors.append(RecordError("limit", limit, f"must be at most {rt.settings.page_max}"))
    if area is not None:
        try:
            area_codes.check(area, "area")
        except RecordError as exc:
            errors.append(exc)
    if errors:
        raise InvalidInput(errors)
    if area is not None:
        user.require_area(area, "the area filter")
    now = rt.clock()
    flt = queries.ItemFilter(area=area, levels=level, statuses=status, lights=light)
    total, items = queries.list_items(
        session, scope=user.area_code, flt=flt, now=now, limit=limit, offset=offset
    )
    page = ItemPage(total=total, limit=limit, offset=offset, items=[ItemOut.of(i, now) for i in items])
    _audit_reads(session, rt, user, items, now)
    return page


@router.get("/{item_id}", response_model=ItemDetail)
def get_item(item_id: int, user: Reader, session: SessionDep, rt: RuntimeDep) -> ItemDetail:
    """One item with its history of transitions and notes."""
    now = rt.clock()
    item = queue.get_item(session, item_id)
    queue.check_can_read(user, item)
    detail = ItemDetail(
        **ItemOut.of(item, now).model_dump(),
        history=[EventOut.of(e) for e in audit.history(session, item.id)],
    )
    _audit_reads(session, rt, user, [item], now)
    return detail


@router.get("/{item_id}/notice", response_class=HTMLResponse)
def get_notice(item_id: int, user: Reader, session: SessionDep, rt: RuntimeDep) -> HTMLResponse:
    """The printable 预警提示函 of a 红 or 橙 item."""
    now = rt.clock()
    item = queue.get_item(session, item_id)
    queue.check_can_read(user, item)
    if item.level not in NOTICE_LEVELS:
        raise Conflict(
            f"a 预警提示函 is issued for {'/'.join(NOTICE_LEVELS)} items only; item {item.id} is {item.level}"
        )
    loaded = rt.models.current
    page = render_notice(
        item, audit.history(session, item.id), now, loaded.model.horizon_days if loaded else None
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


def _act(session: Session, rt: Runtime, item_id: int, change: Callable[..., queue.Item]) -> ItemOut:
    now = rt.clock()
    with rt.writing():
        item = queue.get_item(session, item_id)
        change(session, rt.policy, item, now)
        try:
            session.commit()
        except StaleDataError:
            session.rollback()
            raise Conflict(
                f"item {item_id} was changed by someone else meanwhile; read it again and retry"
            ) from None
    return ItemOut.of(item, now)


@router.post("/{item_id}/sign", response_model=ItemOut)
def sign(item_id: int, user: Supervisor, session: SessionDep, rt: RuntimeDep) -> ItemOut:
    """签收: the responsible 综治中心 takes the item in hand (待签收/已升级 -> 处置中)."""
    return _act(session, rt, item_id, lambda s, p, item, now: transitions.sign(s, p, item, user, now))


@router.post("/{item_id}/notes", response_model=ItemOut)
def add_note(item_id: int, note: NoteIn, user: Supervisor, session: SessionDep, rt: RuntimeDep) -> ItemOut:
    """处置记录; the first note after signing is the feedback the deadline asks for."""
    return _act(
        session, rt, item_id, lambda s, p, item, now: transitions.add_note(s, p, item, user, now, note.text)
    )


@router.post("/{item_id}/escalate", response_model=ItemOut)
def escalate(
    item_id: int, user: Supervisor, session: SessionDep, rt: RuntimeDep, body: EscalateIn | None = None
) -> ItemOut:
    """提级: hand the item to the next area level up (town -> county -> city)."""
    reason = body.reason if body is not None else None
    return _act(
        session, rt, item_id, lambda s, p, item, now: transitions.escalate(s, p, item, user, now, reason)
    )


@router.post("/{item_id}/close", response_model=ItemOut)
def close(item_id: int, body: CloseIn, user: Supervisor, session: SessionDep, rt: RuntimeDep) -> ItemOut:
    """办结 with an outcome (化解, 转诉讼, 信访, 民转刑 ...), kept as a feedback label."""
    return _act(
        session,
        rt,
        item_id,
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
