"""API keys: random tokens shown once, stored only as their SHA-256 hash, each with a role and
an optional area scope. The keys are 256-bit random, so a fast hash is enough (no password
stretching needed: there is nothing to guess from)."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from features import area_codes
from features.errors import RecordError
from serving.errors import Forbidden, Unauthorized
from serving.tables import ApiKey

INTAKE, SUPERVISOR, ANALYST, ADMIN = "intake", "supervisor", "analyst", "admin"
ROLES = (INTAKE, SUPERVISOR, ANALYST, ADMIN)
_KEY_PREFIX = "drk_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and name, its role and the area it is limited to."""

    key_id: int
    name: str
    role: str
    area_code: str | None

    def require(self, roles: Collection[str]) -> Principal:
        if self.role not in roles:
            raise Forbidden(f"role {self.role!r} may not do this; it needs one of {', '.join(sorted(roles))}")
        return self

    def require_area(self, code: str, what: str) -> None:
        if not area_codes.is_within(code, self.area_code):
            raise Forbidden(f"{what} in area {code} is outside this key's area {self.area_code}")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session, *, role: str, name: str, area_code: str | None, now: datetime
) -> tuple[str, ApiKey]:
    """A new key (returned once, in clear) and its stored row."""
    if role not in ROLES:
        raise RecordError("role", role, f"must be one of {', '.join(ROLES)}")
    if area_code is not None:
        area_codes.check(area_code, "area")
    elif role == SUPERVISOR:
        raise RecordError("area", None, "a supervisor key needs an area (the 综治中心 it supervises)")
    key = _KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        role=role,
        area_code=area_code,
        key_hash=hash_key(key),
        key_prefix=key[: len(_KEY_PREFIX) + 6],
        created_at=now,
    )
    session.add(row)
    session.flush()
    return key, row


class KeyCache:
    """Resolved keys for a few seconds, so a scoring request does not pay a lookup each time.
    Revoking a key therefore takes effect within ``ttl`` seconds."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) > 10_000:  # bound memory against a flood of distinct bad keys
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + self.ttl, principal)


def authenticate(session: Session, authorization: str | None, cache: KeyCache) -> Principal:
    if not authorization:
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <key>'")
    digest = hash_key(key.strip())
    principal = cache.get(digest)
    if principal is not None:
        return principal
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)))
    if row is None:
        raise Unauthorized("the API key is not valid")
    principal = Principal(key_id=row.id, name=row.name, role=row.role, area_code=row.area_code)
    cache.put(digest, principal)
    return principal
