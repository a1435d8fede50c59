"""Server-side console sessions and their CSRF tokens.

A session is a random 256-bit token in an HTTP-only, SameSite=Strict cookie scoped to the
console's path (``Secure`` when ``console_cookie_secure``); the database keeps only its SHA-256,
so a copy of the database logs nobody in. A session ends at logout, after
``console_idle_minutes`` without a request, ``console_session_hours`` after login, or at once when
its user is disabled or its password reset. The user's row is read with the session on every
request, so a changed role or area applies from the next request.

CSRF: every form carries a token derived from the session's own token (HMAC-SHA256 of it), and
every POST must send it back. A page of another site can neither read the cookie nor the page,
so it cannot compute or copy the token; the database need not store it. The login form, before
any session exists, works the same way from a short-lived random cookie of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from serving.auth import Principal
from serving.deps import Runtime
from serving.tables import ConsoleSession, ConsoleUser
from serving.users import principal_of

COOKIE: Final = "risk_console"
LOGIN_COOKIE: Final = "risk_console_login"  # the login form's CSRF base, before a session exists
LOGIN_COOKIE_SECONDS: Final = 3600
CSRF_FIELD: Final = "csrf_token"
# last_seen_at is written at most this often: the idle expiry needs no write per request.
TOUCH_EVERY: Final = timedelta(seconds=60)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(base: str) -> str:
    """The CSRF token of the forms of a session (or of the login form) whose cookie is ``base``."""
    return hmac.new(base.encode(), b"dispute-risk console csrf", hashlib.sha256).hexdigest()


def csrf_ok(base: str | None, sent: object) -> bool:
    return bool(base) and isinstance(sent, str) and hmac.compare_digest(sent, csrf_for(str(base)))


@dataclass(frozen=True)
class Login:
    """A live session: who, and the CSRF token its forms carry."""

    who: Principal
    csrf: str


def start(session: Session, user: ConsoleUser, now: datetime, hours: float) -> str:
    """A new session for ``user`` (the caller commits); its token, for the cookie. The user's
    sessions that have ended are removed on the way."""
    session.execute(
        delete(ConsoleSession).where(ConsoleSession.user_id == user.id, ConsoleSession.expires_at <= now)
    )
    token = new_token()
    session.add(
        ConsoleSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return token


def resume(rt: Runtime, token: str | None) -> Login | None:
    """The session of a cookie's token, or None when there is none, it has ended (then it is
    removed) or its user is disabled."""
    if not token:
        return None
    now, idle = rt.clock(), timedelta(minutes=rt.settings.console_idle_minutes)
    with rt.session() as session:
        row = session.execute(
            select(ConsoleSession, ConsoleUser)
            .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
            .where(ConsoleSession.token_hash == token_hash(token))
        ).first()
        if row is None:
            return None
        stored, user = row
        ended = now >= stored.expires_at or now >= stored.last_seen_at + idle or user.disabled_at is not None
        if ended or now - stored.last_seen_at >= TOUCH_EVERY:
            session.commit()  # the read transaction ends before the write (SQLite snapshots)
            with rt.writing():
                if ended:
                    session.execute(delete(ConsoleSession).where(ConsoleSession.id == stored.id))
                else:
                    stored.last_seen_at = now
                session.commit()
        return None if ended else Login(principal_of(user), csrf_for(token))


def end(session: Session, token: str | None) -> None:
    """Remove the session of ``token`` (logout); the caller commits."""
    if token:
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token)))
