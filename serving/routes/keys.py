"""API keys for admins: create (scope said explicitly), list, revoke. An admin limited to an area
manages only keys within it; every change is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from features.fields import parse_datetime
from serving import keys
from serving.deps import Admin, RuntimeDep, SessionDep
from serving.inputs import KeyIn
from serving.queue import SHANGHAI
from serving.routes.items import MAX_ID
from serving.schemas import KeyCreated, KeyOut, error_responses

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=error_responses(401, 403, 422))
KeyId = Annotated[int, Path(ge=1, le=MAX_ID, description="the key's id")]


@router.get("", response_model=list[KeyOut])
def list_keys(user: Admin, session: SessionDep, rt: RuntimeDep) -> list[KeyOut]:
    """The keys this admin manages (never the keys themselves: only their prefixes)."""
    now = rt.clock()
    return [KeyOut.of(row, now) for row in keys.list_keys(session, user)]


@router.post("", response_model=KeyCreated, status_code=201, responses=error_responses(400, 413, 415))
def create_key(body: KeyIn, user: Admin, session: SessionDep, rt: RuntimeDep) -> KeyCreated:
    """A new key, shown in this answer only. Its area must be in the area table once one is loaded."""
    now = rt.clock()
    expires = None
    if body.expires_at is not None:
        expires = parse_datetime(body.expires_at, "expires_at").replace(tzinfo=SHANGHAI)
    area = getattr(body, "area_code", None)
    with rt.writing():
        made = keys.new_key(
            session, role=body.role, area=area, name=body.name, now=now, expires_at=expires, by=user
        )
        session.commit()
    return KeyCreated(**KeyOut.of(made.row, now).model_dump(), key=made.key, warnings=made.warnings)


@router.post("/{key_id}/revoke", response_model=KeyOut, responses=error_responses(404, 409))
def revoke_key(key_id: KeyId, user: Admin, session: SessionDep, rt: RuntimeDep) -> KeyOut:
    """Revoke a key: from the next request on it gets 401, in every worker."""
    now = rt.clock()
    with rt.writing():
        row = keys.revoke(session, key_id, now, by=user)
        session.commit()
    return KeyOut.of(row, now)
