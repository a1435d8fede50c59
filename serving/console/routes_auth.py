"""Logging in and out, and the console's front door (each role's first page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from serving import audit, users
from serving.auth import ANALYST, INTAKE
from serving.console import sessions
from serving.console.deps import AnyUser, LoginRequired, current_login
from serving.console.pages import base_path, render
from serving.deps import Runtime

router = APIRouter()
HOME = {INTAKE: "/assess", ANALYST: "/index"}  # everyone else starts at the queue


def _home(request: Request, role: str) -> str:
    return base_path(request) + HOME.get(role, "/queue")


def _safe_next(request: Request, target: str | None) -> str | None:
    """A page of this console to return to after login; anything else (another site, a
    scheme-relative //host, a backslash trick) is dropped."""
    base = base_path(request)
    if not target or not target.startswith(f"{base}/") or "//" in target or "\\" in target:
        return None
    return target


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int, path: str) -> None:
    """HTTP-only (no script reads it), SameSite=Strict (no other site's page sends it), limited
    to ``path``, Secure when the setting says the console is served over HTTPS."""
    rt: Runtime = request.app.state.runtime
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=True, samesite="strict",
        secure=rt.settings.console_cookie_secure,
    )  # fmt: skip


@router.get("/", name="home")
def home(request: Request, login: AnyUser) -> RedirectResponse:
    return RedirectResponse(_home(request, login.who.role), status_code=303)


@router.get("/login", name="login")
def login_page(
    request: Request,
    next_: Annotated[str | None, Query(alias="next", max_length=500)] = None,
    expired: Annotated[bool, Query()] = False,
) -> Response:
    """The login form; an already logged-in user goes on to its first page."""
    rt: Runtime = request.app.state.runtime
    if sessions.resume(rt, request.cookies.get(sessions.COOKIE)) is not None:
        return RedirectResponse(_safe_next(request, next_) or base_path(request) + "/", status_code=303)
    return _form(request, next_, "会话已过期，请重新登录。" if expired else None, 200)


def _form(request: Request, next_: str | None, error: str | None, status: int) -> Response:
    base = request.cookies.get(sessions.LOGIN_COOKIE) or sessions.new_token()
    page = render(
        request, "login.html", None, sessions.csrf_for(base),
        status=status, next=_safe_next(request, next_) or "", error=error,
    )  # fmt: skip
    login_path = f"{base_path(request)}/login"
    _set_cookie(page, request, sessions.LOGIN_COOKIE, base, sessions.LOGIN_COOKIE_SECONDS, login_path)
    return page


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=users.MAX_PASSWORD_CHARS)],
    next_: Annotated[str, Form(alias="next", max_length=500)] = "",
) -> Response:
    """Check the password (slow, outside the write lock), then record the outcome and open a
    session in one write. Every refusal says the same, whatever the reason."""
    rt: Runtime = request.app.state.runtime
    policy = users.LoginPolicy.from_settings(rt.settings)
    with rt.session() as session:
        user_id, right = users.verify_password(session, username.strip(), password)
        session.commit()
        user, token = None, None
        if user_id is not None:
            with rt.writing():
                now = rt.clock()
                user = users.settle_login(session, user_id, right, password, now, policy)
                if user is not None:
                    token = sessions.start(session, user, now, rt.settings.console_session_hours)
                session.commit()
        role = user.role if user is not None else ""
    if token is None:
        return _form(request, next_, "用户名或密码不正确，或账户已被暂时锁定。请稍后再试。", 401)
    target = _safe_next(request, next_) or _home(request, role)
    response = RedirectResponse(target, status_code=303)
    max_age = int(rt.settings.console_session_hours * 3600)
    _set_cookie(response, request, sessions.COOKIE, token, max_age, base_path(request) or "/")
    response.delete_cookie(sessions.LOGIN_COOKIE, path=f"{base_path(request)}/login")
    return response


@router.post("/logout", name="logout")
def logout(request: Request) -> Response:
    """End the session (whatever state it is in) and go back to the login page."""
    rt: Runtime = request.app.state.runtime
    token = request.cookies.get(sessions.COOKIE)
    try:
        who = current_login(request).who
    except LoginRequired:  # an ended session: nothing to record, only the cookie to clear
        who = None
    with rt.writing(), rt.session() as session:
        sessions.end(session, token)
        if who is not None:
            audit.record_event(session, who, "logout", rt.clock(), area=who.area_code)
        session.commit()
    response = RedirectResponse(f"{base_path(request)}/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path=base_path(request) or "/")
    return response
