"""The transitions people make on a supervision item: sign for it (签收), add a note (处置记录),
escalate it (提级) and close it (办结). Each checks the caller's area and the item's status,
then records itself in the audit log in the caller's transaction. A 民转刑 close also appends
an escalation history fact there, so later cases of the same people count it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from features import area_codes
from features.errors import RecordError
from features.fields import parse_datetime
from serving import audit, history_facts
from serving.auth import Principal
from serving.errors import Conflict
from serving.queue import (
    CLOSED,
    CRIMINAL_OUTCOME,
    ESCALATED,
    IN_HAND,
    OPEN_STATUSES,
    OUTCOMES,
    PENDING,
    RESOLVED,
    RESOLVED_OUTCOME,
    SHANGHAI,
    Policy,
    refresh_due,
    start_clock,
)
from serving.tables import Item


def _transition(item: Item, who: Principal, action: str, allowed: tuple[str, ...]) -> tuple[str, str, str]:
    who.require_area(item.area_code, f"item {item.id}")
    if item.status not in allowed:
        raise Conflict(f"{action} needs the item to be {'/'.join(allowed)}, item {item.id} is {item.status}")
    return (item.status, item.level, item.area_code)


def _done(
    session: Session,
    policy: Policy,
    item: Item,
    who: Principal,
    now: datetime,
    action: str,
    before: tuple[str, str, str],
    **kwargs: Any,
) -> Item:
    refresh_due(item, policy)
    item.updated_at = now
    audit.record(session, who, action, item, now, before=before, **kwargs)
    return item


def sign(session: Session, policy: Policy, item: Item, who: Principal, now: datetime) -> Item:
    """签收: the responsible 综治中心 takes the item in hand."""
    before = _transition(item, who, "sign", (PENDING, ESCALATED))
    item.status, item.signed_at, item.signed_by = IN_HAND, now, who.name
    return _done(session, policy, item, who, now, "sign", before)


def add_note(session: Session, policy: Policy, item: Item, who: Principal, now: datetime, text: str) -> Item:
    """处置记录. The first note after signing is the feedback the deadline asks for."""
    before = _transition(item, who, "note", OPEN_STATUSES)
    if item.status == IN_HAND and item.feedback_at is None:
        item.feedback_at = now
    return _done(session, policy, item, who, now, "note", before, note=text)


def escalate(
    session: Session, policy: Policy, item: Item, who: Principal, now: datetime, reason: str | None
) -> Item:
    """提级: hand the item one level up (town -> county -> city); the clock starts again there."""
    before = _transition(item, who, "escalate", OPEN_STATUSES)
    parent = area_codes.parent_of(item.area_code)
    if parent is None or area_codes.is_above(area_codes.level_of(parent), policy.top_level):
        raise Conflict(
            f"item {item.id} is at {area_codes.level_of(item.area_code)} level {item.area_code}; "
            f"it cannot be escalated above {policy.top_level} level"
        )
    item.area_code, item.status = parent, ESCALATED
    item.signed_at = item.signed_by = item.feedback_at = None
    item.escalations += 1
    start_clock(item, policy, now)
    return _done(session, policy, item, who, now, "escalate", before, note=reason)


def close(
    session: Session,
    policy: Policy,
    item: Item,
    who: Principal,
    now: datetime,
    *,
    outcome: str,
    note: str | None,
    escalated_at: str | None,
    criminal_charge: str | None,
) -> Item:
    """办结 with an outcome; the outcome is kept as a feedback label for retraining."""
    before = _transition(item, who, "close", (IN_HAND,))
    if outcome not in OUTCOMES:
        raise RecordError("outcome", outcome, f"must be one of {', '.join(OUTCOMES)}")
    if outcome != CRIMINAL_OUTCOME:
        for field, value in (("escalated_at", escalated_at), ("criminal_charge", criminal_charge)):
            if value:
                raise RecordError(field, value, f"is only given with the outcome {CRIMINAL_OUTCOME}")
    if outcome == CRIMINAL_OUTCOME:
        item.escalated_at = _criminal_case_time(escalated_at, item, now)
        item.criminal_charge = criminal_charge or None
        fact = history_facts.escalation_fact(item.case_id, item.escalated_at, now)
        history_facts.append(session.connection(), [fact])
    item.status = RESOLVED if outcome == RESOLVED_OUTCOME else CLOSED
    item.outcome, item.closed_at = outcome, now
    return _done(session, policy, item, who, now, "close", before, note=note, detail={"outcome": outcome})


def _criminal_case_time(text: str | None, item: Item, now: datetime) -> datetime:
    """When the criminal case arose: read by the contract's own date-time rule (no offset means
    Shanghai time), not in the future, not before the case was registered. Not given: now, but
    never before the registration (a registration a little ahead of our clock is accepted)."""
    if text is None:
        return max(now, item.case.registered_at.replace(tzinfo=SHANGHAI))
    local = parse_datetime(text, "escalated_at")
    if local < item.case.registered_at:
        raise RecordError(
            "escalated_at",
            text,
            f"must not be before the case was registered ({item.case.registered_at.isoformat()})",
        )
    at = local.replace(tzinfo=SHANGHAI)
    if at > now:
        raise RecordError("escalated_at", text, "must not lie in the future")
    return at
