"""The console's dependencies: the logged-in user by role, and the CSRF check every POST passes.

They raise the exceptions below; ``serving.console.create_console`` turns them into a redirect
to the login page, or a page saying what was refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from serving.console import sessions
from serving.console.pages import ACT_ROLES, ASSESS_ROLES, MODEL_ROLES, QUEUE_ROLES
from serving.console.sessions import Login
from serving.deps import Runtime


class LoginRequired(Exception):
    """No session, or it has ended: log in (again)."""


class CsrfRefused(Exception):
    """A POST without this session's CSRF token, or from another site's page."""


class RoleRefused(Exception):
    """The user's role does not open this page."""


def current_login(request: Request) -> Login:
    """The session of the request's cookie (read with its user on every request)."""
    rt: Runtime = request.app.state.runtime
    login = sessions.resume(rt, request.cookies.get(sessions.COOKIE))
    if login is None:
        raise LoginRequired
    return login


def role_in(*roles: str) -> Callable[..., Login]:
    def check(login: Annotated[Login, Depends(current_login)]) -> Login:
        if login.who.role not in roles:
            raise RoleRefused
        return login

    return check


AnyUser = Annotated[Login, Depends(current_login)]
Reader = Annotated[Login, Depends(role_in(*QUEUE_ROLES))]
Actor = Annotated[Login, Depends(role_in(*ACT_ROLES))]
ModelReader = Annotated[Login, Depends(role_in(*MODEL_ROLES))]
Assessor = Annotated[Login, Depends(role_in(*ASSESS_ROLES))]


async def csrf_guard(request: Request) -> None:
    """Every POST to the console: the form's token must be the one derived from the session
    cookie (the login form: from its own cookie), and a browser's Origin, when sent, must be
    this host. Installed on the whole console app, so no form can be added without it."""
    if request.method != "POST":
        return
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise CsrfRefused
    form = await request.form()  # cached on the request: the route reads the same form
    is_login = request.url.path == f"{request.scope.get('root_path', '')}/login"
    base = request.cookies.get(sessions.LOGIN_COOKIE if is_login else sessions.COOKIE)
    if not sessions.csrf_ok(base, form.get(sessions.CSRF_FIELD)):
        raise CsrfRefused
