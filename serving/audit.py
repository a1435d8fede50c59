"""The audit log: who read or changed which supervision item, when, under which request id.

Transitions carry their before/after status, level and area, so an item's history is its
audit trail without the reads. Rows are added to the caller's session and committed with the
change they describe: a change is never stored without its audit row, nor the reverse."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.auth import Principal
from serving.logging_config import request_id_var
from serving.tables import AuditEntry, Item

READ = "read"
TRANSITIONS = ("open", "rescore", "raise", "lower", "sign", "note", "escalate", "close")
KEY_ACTIONS = ("key_create", "key_revoke")
# The web console's own (serving/console, serving/users): logins, the 回访 on a closed item, the
# first issue of a 预警提示函, a dry-run 个案评估, a look at a page that shows no item, user changes.
FOLLOW_UP = "followup"
CONSOLE_ACTIONS = (
    "login", "login_failed", "logout", FOLLOW_UP, "notice", "assess", "view",
    "user_create", "user_disable", "user_password",
)  # fmt: skip
ACTIONS = (READ, *TRANSITIONS, *KEY_ACTIONS, *CONSOLE_ACTIONS)


def record(
    session: Session,
    who: Principal,
    action: str,
    item: Item,
    now: datetime,
    *,
    before: tuple[str, str, str] | None = None,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """One row for ``action`` on ``item``; ``before`` is (status, level, area) before the change."""
    entry = make_entry(who, action, item, now, before=before, note=note, detail=detail)
    session.add(entry)
    return entry


def make_entry(
    who: Principal,
    action: str,
    item: Item,
    now: datetime,
    *,
    before: tuple[str, str, str] | None = None,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """The row ``record`` adds, not added to any session (the caller stores it)."""
    status, level, area = before if before is not None else (None, None, None)
    return AuditEntry(
        at=now,
        key_id=who.key_id,
        actor=who.name,
        role=who.role,
        request_id=request_id_var.get(),
        action=action,
        item_id=item.id,
        case_id=item.case_id,
        from_status=status,
        to_status=item.status if action != READ else None,
        from_level=level,
        to_level=item.level if action != READ else None,
        from_area=area,
        to_area=item.area_code if action != READ else None,
        note=note,
        detail=detail,
        user_id=who.user_id,
    )


def record_event(
    session: Session,
    who: Principal,
    action: str,
    now: datetime,
    *,
    area: str | None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """One row for an action on no item (a login, a page of the index): ``area`` is the area it
    concerns, which decides who sees the row in a scoped audit view (as for keys)."""
    entry = AuditEntry(
        at=now,
        key_id=who.key_id,
        user_id=who.user_id,
        actor=who.name,
        role=who.role,
        request_id=request_id_var.get(),
        action=action,
        to_area=area,
        detail=detail,
    )
    session.add(entry)
    return entry


def history(session: Session, item_id: int) -> list[AuditEntry]:
    """The item's transitions and 回访 notes, oldest first."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.item_id == item_id, AuditEntry.action.in_((*TRANSITIONS, FOLLOW_UP)))
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return list(session.scalars(stmt))
