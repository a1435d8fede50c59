"""The life of API keys, for the CLI and the admin endpoints alike: create (scope said explicitly),
list, revoke. An admin limited to an area manages only keys within that area; key changes made
through the API are audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from features import area_codes
from features.errors import RecordError
from serving import areas
from serving.auth import Principal, create_key
from serving.errors import Conflict, Forbidden, NotFound
from serving.logging_config import request_id_var
from serving.tables import ApiKey, AuditEntry


@dataclass(frozen=True)
class NewKey:
    key: str  # in clear, this once
    row: ApiKey
    warnings: list[str]


def scope_from(area: str | None, all_areas: bool) -> str | None:
    """The area a new key is limited to; exactly one of the two must be given."""
    if (area is None) == (not all_areas):
        raise RecordError(
            "area", area, "give exactly one of an area code and all areas (--area or --all-areas)"
        )
    return area


def new_key(
    session: Session,
    *,
    role: str,
    area: str | None,
    name: str | None,
    now: datetime,
    expires_at: datetime | None = None,
    by: Principal | None = None,
) -> NewKey:
    """Create a key limited to ``area`` (None: every area), refusing an area unknown to the area
    table and, for a scoped admin ``by``, any scope beyond its own. The caller commits."""
    warnings = [] if area is None else areas.check_key_area(session, area)
    if by is not None and by.area_code is not None and (area is None or not by.covers(area)):
        raise Forbidden(f"a new key must lie within this key's area {by.area_code}")
    label = name or f"{role}-{area or 'all'}"
    key, row = create_key(session, role=role, name=label, area_code=area, now=now, expires_at=expires_at)
    if by is not None:
        _audit(session, by, "key_create", row, now)
    return NewKey(key, row, warnings)


def visible(who: Principal | None, row: ApiKey) -> bool:
    """A scoped admin sees keys within its area only (a key for every area is not)."""
    if who is None or who.area_code is None:
        return True
    return row.area_code is not None and area_codes.is_within(row.area_code, who.area_code)


def list_keys(session: Session, who: Principal | None = None) -> list[ApiKey]:
    rows = session.scalars(select(ApiKey).order_by(ApiKey.id))
    return [r for r in rows if visible(who, r)]


def revoke(session: Session, key_id: int, now: datetime, by: Principal | None = None) -> ApiKey:
    """Revoke at once (401 from the next request on); a key outside ``by``'s scope is missing."""
    row = session.get(ApiKey, key_id)
    if row is None or not visible(by, row):
        raise NotFound(f"no API key {key_id}")
    if row.revoked_at is not None:
        raise Conflict(f"API key {key_id} is already revoked")
    row.revoked_at = now
    if by is not None:
        _audit(session, by, "key_revoke", row, now)
    return row


def _audit(session: Session, by: Principal, action: str, row: ApiKey, now: datetime) -> None:
    # to_area is the key's scope, so a scoped admin's audit view includes its own keys' changes.
    session.add(
        AuditEntry(
            at=now,
            key_id=by.key_id,
            actor=by.name,
            role=by.role,
            request_id=request_id_var.get(),
            action=action,
            to_area=row.area_code,
            detail={"key_id": row.id, "role": row.role, "name": row.name},
        )
    )
