"""The 预警提示函's first issue, and 回访 (follow-up) notes on closed items.

A letter bears the date it was first issued: the first time anyone opens an item's notice, the
time and the issuer are stored (``notice_issues``) and audited ("notice"); every later print
shows that date, so two prints of one 文号 never disagree. A 回访 is a note on an item already
closed: it changes nothing of the item, is audited ("followup") and appears in the item's
history and its letter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from serving import audit
from serving.auth import Principal
from serving.errors import Conflict
from serving.queue import OPEN_STATUSES
from serving.tables import Item, NoticeIssue

NOTICE = "notice"


def first_issue(session: Session, item: Item, who: Principal, now: datetime) -> NoticeIssue:
    """The item's stored issue, or one made now by ``who``, committed. Two first opens at once:
    the second insert fails on the primary key and reads the first one's row instead."""
    row = session.get(NoticeIssue, item.id)
    if row is not None:
        return row
    row = NoticeIssue(item_id=item.id, issued_at=now, issued_by=who.name)
    session.add(row)
    audit.record(session, who, NOTICE, item, now, detail={"document": "预警提示函"})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        stored = session.get(NoticeIssue, item.id)
        assert stored is not None, "a notice issue that failed on its key must exist"
        return stored
    return row


def follow_up(session: Session, item: Item, who: Principal, now: datetime, text: str) -> None:
    """回访 on a closed item, by someone covering its responsible area. The caller commits."""
    who.require_area(item.area_code, f"item {item.id}")
    if item.status in OPEN_STATUSES:
        raise Conflict(
            f"a 回访 note is for closed items; item {item.id} is {item.status}: add a note instead"
        )
    before = (item.status, item.level, item.area_code)
    audit.record(session, who, audit.FOLLOW_UP, item, now, before=before, note=text)
