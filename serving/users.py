"""Console users: people who log in to the web console with a username and a password, with the
roles and area scopes of the API keys (``serving.auth``).

Passwords are stored only as argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommended setting; a hash made with weaker settings is replaced at the next login). A login
checks the password even for an unknown, disabled or locked user (against a fixed dummy hash),
so the time an answer takes does not tell which usernames exist.

Lock-out: after ``LoginPolicy.max_failures`` consecutive failures the account is locked for
``lockout``; each failure after a lock has ended doubles it (capped at ``max_lockout``), and a
success resets the count. A locked account refuses even the right password, with the same
message as a wrong one. Disabling a user or resetting a password ends the user's sessions.

Every change and login is audited under the user's name (``audit.record_event``); the CLI's
changes under ``CLI_ACTOR``. Nothing here logs a password, and a username only when it exists.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from features.errors import RecordError
from serving import areas, audit
from serving.auth import ADMIN, ROLES, Principal
from serving.errors import Conflict, NotFound
from serving.settings import Settings
from serving.tables import ConsoleSession, ConsoleUser

log = logging.getLogger(__name__)

MIN_PASSWORD_CHARS: Final = 10
MAX_PASSWORD_CHARS: Final = 256  # argon2 takes any length; a bound keeps one login's CPU bounded
USERNAME: Final = re.compile(r"[\w.@-]{2,64}")  # letters (Chinese too), digits, . @ _ -
# The CLI acts with the database's own credentials; its changes are audited under this name.
CLI_ACTOR: Final = Principal(key_id=None, name="risk-cli", role=ADMIN, area_code=None)


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Checked against when there is no real hash to check, so that every login costs the same.
    return _hasher().hash("not a password of anyone")


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    max_lockout: timedelta = timedelta(days=1)

    @classmethod
    def from_settings(cls, s: Settings) -> LoginPolicy:
        return cls(s.console_max_failed_logins, timedelta(minutes=s.console_lockout_minutes))

    def lock_for(self, failures: int) -> timedelta | None:
        """How long ``failures`` consecutive failures lock the account (None: not locked).

        >>> policy = LoginPolicy(max_failures=3, lockout=timedelta(minutes=10))
        >>> [policy.lock_for(n) for n in (2, 3, 4)]
        [None, datetime.timedelta(seconds=600), datetime.timedelta(seconds=1200)]
        """
        if failures < self.max_failures:
            return None
        return min(self.lockout * 2 ** min(failures - self.max_failures, 20), self.max_lockout)


def principal_of(user: ConsoleUser) -> Principal:
    """The user as the queue's code sees a caller: no key, its role and area scope."""
    return Principal(
        key_id=None, name=user.username, role=user.role, area_code=user.area_code, user_id=user.id
    )


def check_password(password: str, username: str) -> None:
    """Refuse a password too short, too long, or equal to the username (the reason, never the value)."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise RecordError(
            "password", None, f"must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters long"
        )
    if password.strip().casefold() == username.casefold():
        raise RecordError("password", None, "must not be the username")


def get_user(session: Session, username: str) -> ConsoleUser:
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
    if user is None:
        raise NotFound(f"no console user {username!r}")
    return user


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    area: str | None,
    now: datetime,
    by: Principal = CLI_ACTOR,
) -> tuple[ConsoleUser, list[str]]:
    """A new user limited to ``area`` (None: every area; callers make people say so, see
    ``keys.scope_from``) and the warnings to pass on. The caller commits."""
    if not USERNAME.fullmatch(username):
        raise RecordError("username", username[:64], "must be 2-64 letters, digits or . @ _ -")
    if role not in ROLES:
        raise RecordError("role", role, f"must be one of {', '.join(ROLES)}")
    warnings = [] if area is None else areas.check_key_area(session, area, "area")
    check_password(password, username)
    if session.scalar(select(ConsoleUser.id).where(ConsoleUser.username == username)) is not None:
        raise Conflict(f"console user {username!r} exists already")
    user = ConsoleUser(
        username=username,
        password_hash=_hasher().hash(password),
        role=role,
        area_code=area,
        created_at=now,
        password_changed_at=now,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    audit.record_event(session, by, "user_create", now, area=area, detail=_about(user))
    return user, warnings


def list_users(session: Session) -> list[ConsoleUser]:
    return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.id)))


def disable(session: Session, username: str, now: datetime, by: Principal = CLI_ACTOR) -> ConsoleUser:
    """Refuse the user's logins from now on and end its sessions at once."""
    user = get_user(session, username)
    if user.disabled_at is not None:
        raise Conflict(f"console user {username!r} is already disabled")
    user.disabled_at = now
    end_sessions(session, user)
    audit.record_event(session, by, "user_disable", now, area=user.area_code, detail=_about(user))
    return user


def reset_password(
    session: Session, username: str, password: str, now: datetime, by: Principal = CLI_ACTOR
) -> ConsoleUser:
    """A new password; also lifts a lock-out and ends the user's sessions."""
    user = get_user(session, username)
    check_password(password, username)
    user.password_hash = _hasher().hash(password)
    user.password_changed_at, user.failed_logins, user.locked_until = now, 0, None
    end_sessions(session, user)
    audit.record_event(session, by, "user_password", now, area=user.area_code, detail=_about(user))
    return user


def end_sessions(session: Session, user: ConsoleUser) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))


def verify_password(session: Session, username: str, password: str) -> tuple[int | None, bool]:
    """(the user's id, whether ``password`` is its password): the slow part of a login (argon2,
    ~0.1-0.4 s), read-only, so the caller runs it outside any write lock. An unknown or disabled
    user is checked against the dummy hash (same time) and answers (None, False)."""
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
    usable = user is not None and user.disabled_at is None
    hashed = user.password_hash if user is not None and usable else _dummy_hash()
    right = _verify(hashed, password[:MAX_PASSWORD_CHARS])
    if user is None or not usable:
        log.info("console login refused: no such user, or disabled")
        return None, False
    return user.id, right


def settle_login(
    session: Session, user_id: int, right: bool, password: str, now: datetime, policy: LoginPolicy
) -> ConsoleUser | None:
    """Record the outcome of a checked login on the user's row, read again and locked for the
    update (parallel guesses on several workers cannot lose a failure): the user when the
    password was right and the account is neither locked nor disabled by now, else None. The
    audit row is added either way; the caller commits (in its write transaction)."""
    user = session.scalars(select(ConsoleUser).where(ConsoleUser.id == user_id).with_for_update()).one()
    if user.disabled_at is not None:
        return None
    locked = user.locked_until is not None and now < user.locked_until
    if locked or not right:
        if not locked:  # guesses during a lock do not extend it: the owner can log in when it ends
            user.failed_logins += 1
            lock = policy.lock_for(user.failed_logins)
            user.locked_until = now + lock if lock is not None else None
        detail = _about(user) | {"locked": locked, "failed_logins": user.failed_logins}
        audit.record_event(
            session, principal_of(user), "login_failed", now, area=user.area_code, detail=detail
        )
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    audit.record_event(session, principal_of(user), "login", now, area=user.area_code, detail=_about(user))
    return user


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _about(user: ConsoleUser) -> dict[str, object]:
    return {"user_id": user.id, "username": user.username, "role": user.role}
