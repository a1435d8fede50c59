"""API keys: random tokens shown once, stored only as their SHA-256 hash, each with a role, an area
scope (one area and everything below it, or every area, said explicitly) and an optional expiry.
The keys are 256-bit random, so a fast hash is enough (nothing to guess from, no stretching).

Every request reads its key's row: no cache, so a revoked or expired key gets 401 at once, in
every worker process. The read is one lookup by a unique index (on SQLite a few microseconds on
the event loop's own connection; on PostgreSQL one round trip), which a cache checked against a
revocation counter would cost as well."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from features import area_codes
from features.errors import RecordError
from serving.errors import Forbidden, Unauthorized
from serving.tables import ApiKey

INTAKE, SUPERVISOR, ANALYST, ADMIN = "intake", "supervisor", "analyst", "admin"
ROLES = (INTAKE, SUPERVISOR, ANALYST, ADMIN)
_KEY_PREFIX = "drk_"

# The key's row, by its hash; one positional parameter (serving.db.LoopReader runs it as DBAPI SQL).
KEY_BY_HASH = select(
    ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.area_code, ApiKey.revoked_at, ApiKey.expires_at
).where(ApiKey.key_hash == bindparam("key_hash"))


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and name, its role and the area it is limited to (None: all).
    A console user (serving.users) has no key: ``key_id`` None, its ``user_id`` and username."""

    key_id: int | None
    name: str
    role: str
    area_code: str | None
    user_id: int | None = None

    def require(self, roles: Collection[str]) -> Principal:
        if self.role not in roles:
            raise Forbidden(f"role {self.role!r} may not do this; it needs one of {', '.join(sorted(roles))}")
        return self

    def covers(self, code: str) -> bool:
        return area_codes.is_within(code, self.area_code)

    def require_area(self, code: str, what: str) -> None:
        if not self.covers(code):
            raise Forbidden(f"{what} in area {code} is outside this key's area {self.area_code}")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session,
    *,
    role: str,
    name: str,
    area_code: str | None,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[str, ApiKey]:
    """A new key (returned once, in clear) and its stored row; ``area_code`` None covers every
    area. Callers facing people (CLI, API) make them say so: see ``serving.keys``."""
    if role not in ROLES:
        raise RecordError("role", role, f"must be one of {', '.join(ROLES)}")
    if area_code is not None:
        area_codes.check(area_code, "area")
    if expires_at is not None and expires_at <= now:
        raise RecordError("expires_at", expires_at.isoformat(), "must lie in the future")
    key = _KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        role=role,
        area_code=area_code,
        key_hash=hash_key(key),
        key_prefix=key[: len(_KEY_PREFIX) + 6],
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return key, row


def digest_of(authorization: str | None) -> str:
    """The hash of the bearer key in an Authorization header, or 401 saying what is wrong."""
    if not authorization:
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <key>'")
    return hash_key(key.strip())


def principal_of(row: Sequence[Any] | None, now: datetime) -> Principal:
    """The caller of a ``KEY_BY_HASH`` row, or 401 for no row, a revoked or an expired key."""
    if row is None:
        raise Unauthorized("the API key is not valid")
    key_id, name, role, area_code, revoked_at, expires_at = row
    if revoked_at is not None:
        raise Unauthorized("the API key was revoked")
    if expires_at is not None and _utc(expires_at) <= now:
        raise Unauthorized("the API key has expired")
    return Principal(key_id=key_id, name=name, role=role, area_code=area_code)


def _utc(value: datetime | str) -> datetime:
    # Through the ORM a stored time is aware UTC; read raw from SQLite it is naive UTC text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def authenticate(session: Session, authorization: str | None, now: datetime) -> Principal:
    digest = digest_of(authorization)
    row = session.execute(KEY_BY_HASH, {"key_hash": digest}).first()
    return principal_of(None if row is None else tuple(row), now)
