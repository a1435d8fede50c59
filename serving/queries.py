"""Read-side queries over the queue, each limited to the caller's area scope: the filtered,
paginated item list, the export of closing outcomes as feedback labels in data-contract terms,
and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from features import area_codes
from serving.queue import AMBER, CRIMINAL_OUTCOME, GREEN, OPEN_STATUSES, OVERDUE
from serving.schemas import local
from serving.tables import AuditEntry, Item, ScoredCase


@dataclass(frozen=True)
class ItemFilter:
    area: str | None = None  # the responsible area's subtree
    levels: Sequence[str] = ()
    statuses: Sequence[str] = ()
    lights: Sequence[str] = ()


def scope_clause(scope: str | None) -> ColumnElement[bool]:
    """Items a key limited to ``scope`` may see: responsible there, or the case arose there."""
    if scope is None:
        return true()
    p = area_codes.prefix(scope)
    return or_(Item.area_code.startswith(p), ScoredCase.area_code.startswith(p))


def light_clause(light: str, now: datetime) -> ColumnElement[bool]:
    """The SQL twin of ``queue.light_of``: same thresholds, so filter and display agree."""
    is_open = Item.status.in_(OPEN_STATUSES)
    if light == OVERDUE:
        return and_(is_open, Item.due_at.is_not(None), Item.due_at < now)
    if light == AMBER:
        return and_(is_open, Item.due_at >= now, Item.warn_at <= now)
    if light == GREEN:
        return and_(is_open, or_(Item.due_at.is_(None), Item.warn_at > now))
    return false()


def list_items(
    session: Session, *, scope: str | None, flt: ItemFilter, now: datetime, limit: int, offset: int
) -> tuple[int, list[Item]]:
    stmt = select(Item).join(Item.case).where(scope_clause(scope))
    if flt.area is not None:
        stmt = stmt.where(Item.area_code.startswith(area_codes.prefix(flt.area)))
    if flt.levels:
        stmt = stmt.where(Item.level.in_(flt.levels))
    if flt.statuses:
        stmt = stmt.where(Item.status.in_(flt.statuses))
    if flt.lights:
        stmt = stmt.where(or_(*(light_clause(x, now) for x in flt.lights)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    # Most pressing first: the deadline running soonest, then the oldest item.
    page = stmt.order_by(Item.due_at.asc().nulls_last(), Item.id).limit(limit).offset(offset)
    return total, list(session.scalars(page).unique())


def _local(value: datetime | None) -> str | None:
    return None if value is None else local(value).isoformat(timespec="seconds")


def feedback_labels(session: Session, *, scope: str | None, since: datetime | None) -> list[dict[str, Any]]:
    """Closed items as outcome labels: case_id, outcome, closed_at, and for 民转刑 the
    contract's escalated / escalated_at / criminal_charge, ready to join onto a cases table; with
    the risk, level and model version that were served."""
    stmt = (
        select(Item)
        .join(Item.case)
        .where(scope_clause(scope), Item.closed_at.is_not(None))
        .order_by(Item.closed_at, Item.id)
    )
    if since is not None:
        stmt = stmt.where(Item.closed_at >= since)
    out = []
    for item in session.scalars(stmt).unique():
        criminal = item.outcome == CRIMINAL_OUTCOME
        out.append(
            {
                "case_id": item.case_id,
                "outcome": item.outcome,
                "closed_at": _local(item.closed_at),
                "escalated": criminal,
                "escalated_at": _local(item.escalated_at) if criminal else None,
                "criminal_charge": item.criminal_charge if criminal else None,
                # what was served: retraining reads the label beside the warning it answered
                "risk": item.case.risk,
                "level": item.case.level,
                "model_version": item.case.model_version,
            }
        )
    return out


FEEDBACK_COLUMNS = (
    "case_id", "outcome", "closed_at", "escalated", "escalated_at", "criminal_charge", "risk", "level",
    "model_version",
)  # fmt: skip


def audit_entries(
    session: Session,
    *,
    scope: str | None,
    item_id: int | None,
    key_id: int | None,
    action: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[AuditEntry]]:
    """Audit rows, newest first. A key limited to an area sees the rows of the items it may see
    and of the keys within its area (``to_area`` of a key's creation or revocation)."""
    stmt = select(AuditEntry)
    if scope is not None:
        visible_items = select(Item.id).join(Item.case).where(scope_clause(scope))
        stmt = stmt.where(
            or_(
                AuditEntry.item_id.in_(visible_items),
                and_(AuditEntry.item_id.is_(None), AuditEntry.to_area.startswith(area_codes.prefix(scope))),
            )
        )
    if item_id is not None:
        stmt = stmt.where(AuditEntry.item_id == item_id)
    if key_id is not None:
        stmt = stmt.where(AuditEntry.key_id == key_id)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return total, list(rows)
