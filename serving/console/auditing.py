"""The console's reads in the audit log, as the API records its own: a "read" row per item a page
shows, a "view" row for a page that shows no item (the index, a report, the model's state).
Each goes in a write transaction of its own, after the page's read transaction has ended
(SQLite cannot turn a read snapshot another writer has moved past into a write)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from serving import audit
from serving.auth import Principal
from serving.deps import Runtime
from serving.tables import Item


def reads(
    rt: Runtime, session: Session, who: Principal, items: Sequence[Item], detail: dict[str, str] | None = None
) -> None:
    session.commit()
    now = rt.clock()
    with rt.writing():
        for item in items:
            audit.record(session, who, audit.READ, item, now, detail=detail)
        session.commit()


def event(rt: Runtime, who: Principal, action: str, detail: dict[str, Any], area: str | None = None) -> None:
    """A row for an action on no item; ``area`` the area it concerns (default: the user's scope)."""
    with rt.writing(), rt.session() as session:
        audit.record_event(session, who, action, rt.clock(), area=area or who.area_code, detail=detail)
        session.commit()


def view(rt: Runtime, who: Principal, detail: dict[str, Any], area: str | None = None) -> None:
    """A "view" row: the page (and what it showed) in ``detail``."""
    event(rt, who, "view", detail, area)
