"""The console's logins, sessions, CSRF and lock-out (TestClient on the real app with its lifespan)."""

from __future__ import annotations

import re

import pytest
from api_helpers import COUNTY, TOWN, make_key, red_case
from console_helpers import PASSWORD, audit_rows, csrf_of, login, make_user, post, version_of
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from serving.tables import ConsoleSession

REFUSED = "用户名或密码不正确，或账户已被暂时锁定。请稍后再试。"


def _attempt(client: TestClient, username: str, password: str) -> int:
    form = client.get("/console/login")
    r = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 or REFUSED in r.text
    return r.status_code


def _sessions(client: TestClient) -> int:
    with client.app.state.runtime.session() as session:
        return session.scalar(select(func.count()).select_from(ConsoleSession)) or 0


def test_login_opens_a_strict_http_only_session_and_logout_ends_it(client: TestClient) -> None:
    make_user(client, "wang.wei", "supervisor", COUNTY)
    assert client.get("/console/queue", follow_redirects=False).headers["location"] == (
        "/console/login?next=%2Fconsole%2Fqueue"
    )
    form = client.get("/console/login")
    assert "csrf_token" in form.text and 'for="username"' in form.text and 'for="password"' in form.text
    r = client.post(
        "/console/login",
        data={"username": "wang.wei", "password": PASSWORD, "csrf_token": csrf_of(form.text),
              "next": "/console/queue?level=红"},
        follow_redirects=False,
    )  # fmt: skip
    assert (r.status_code, r.headers["location"]) == (303, "/console/queue?level=%E7%BA%A2")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("risk_console="))
    token = cookie.split(";")[0].split("=", 1)[1]
    assert {"HttpOnly", "SameSite=strict", "Path=/console", "Max-Age=36000"} <= {
        p.strip() for p in cookie.split(";")
    }
    assert "secure" not in cookie.lower()
    with client.app.state.runtime.engine.connect() as conn:  # only the token's hash is stored
        assert token not in " ".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM console_sessions"))
    page = client.get("/console/queue")
    assert page.status_code == 200 and "wang.wei" in page.text
    r = post(client, "/console/logout", csrf_of(page.text))
    assert (r.status_code, r.headers["location"]) == (303, "/console/login")
    assert _sessions(client) == 0
    assert client.get("/console/queue", follow_redirects=False).status_code == 303
    assert [(e.action, e.actor) for e in audit_rows(client) if e.action in ("login", "logout")] == [
        ("login", "wang.wei"),
        ("logout", "wang.wei"),
    ]


def test_a_redirect_after_login_stays_inside_the_console(client: TestClient) -> None:
    make_user(client, "li.na", "analyst", None)
    for target in ("https://evil.example/", "//evil.example/console/", "/console/\\evil", "/v1/items"):
        form = client.get("/console/login")
        r = client.post(
            "/console/login",
            data={
                "username": "li.na",
                "password": PASSWORD,
                "csrf_token": csrf_of(form.text),
                "next": target,
            },
            follow_redirects=False,
        )
        assert r.headers["location"] == "/console/index", target
        client.cookies.clear()


def test_repeated_failures_lock_the_account_and_each_later_failure_doubles_the_lock(
    start, sqlite_url: str, clock
) -> None:
    with start(sqlite_url, console_max_failed_logins=3, console_lockout_minutes=10) as client:
        make_user(client, "zhao.lei", "supervisor", COUNTY)
        assert [_attempt(client, "zhao.lei", "wrong password") for _ in range(3)] == [401] * 3
        assert _attempt(client, "zhao.lei", PASSWORD) == 401  # locked: the right password too
        assert _attempt(client, "nobody", PASSWORD) == 401  # an unknown user: the same answer
        clock.advance(minutes=11)
        assert _attempt(client, "zhao.lei", "wrong again") == 401  # the lock has ended: 4th failure
        clock.advance(minutes=11)
        assert _attempt(client, "zhao.lei", PASSWORD) == 401  # ... which locked it for 20 minutes
        clock.advance(minutes=10)
        assert _attempt(client, "zhao.lei", PASSWORD) == 303
        client.cookies.clear()
        assert _attempt(client, "zhao.lei", "wrong") == 401  # a success reset the count: no lock
        assert _attempt(client, "zhao.lei", PASSWORD) == 303
        failed = [e.detail for e in audit_rows(client, action="login_failed")]
        assert [(d["failed_logins"], d["locked"]) for d in failed] == [
            (1, False), (2, False), (3, False), (3, True), (4, False), (4, True), (1, False),
        ]  # fmt: skip
        assert all(e.actor == "zhao.lei" for e in audit_rows(client, action="login_failed"))


def test_csrf_missing_wrong_or_from_another_session_or_site_is_refused(client: TestClient) -> None:
    intake = make_key(client, "intake", TOWN)
    item_id = client.post("/v1/cases/score", json=red_case("CS1"), headers=intake.headers).json()["item"][
        "id"
    ]
    make_user(client, "sun.li", "supervisor", COUNTY)
    make_user(client, "zhou.qi", "supervisor", COUNTY)
    other = TestClient(client.app)
    other_csrf = login(other, "zhou.qi")
    csrf = login(client, "sun.li")
    version = version_of(client, item_id)
    path = f"/console/items/{item_id}/sign"
    for data in ({}, {"csrf_token": "0" * 64}, {"csrf_token": other_csrf}):
        r = client.post(path, data={"version": version, **data}, follow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text
    r = client.post(
        path, data={"version": version, "csrf_token": csrf}, headers={"origin": "http://evil.example"}
    )
    assert r.status_code == 403
    assert client.post("/console/login", data={"username": "sun.li", "password": PASSWORD}).status_code == 403
    assert version_of(client, item_id) == version  # nothing happened
    r = post(client, path, csrf, version=version)
    assert (r.status_code, r.headers["location"]) == (303, f"/console/items/{item_id}?done=sign")


def test_an_idle_or_too_old_session_goes_back_to_login(client: TestClient, clock) -> None:
    make_user(client, "qian.yu", "supervisor", COUNTY)
    csrf = login(client, "qian.yu")
    clock.advance(minutes=29)
    assert client.get("/console/queue").status_code == 200  # a request keeps it alive
    clock.advance(minutes=29)
    assert client.get("/console/queue").status_code == 200
    clock.advance(minutes=31)
    r = post(client, "/console/items/1/sign", csrf, version=1)  # a form sent after it ended
    assert (r.status_code, r.headers["location"]) == (303, "/console/login?expired=1")
    assert "会话已过期" in client.get(r.headers["location"]).text
    assert _sessions(client) == 0  # the ended session is gone, and its cookie
    assert "risk_console" not in client.cookies
    login(client, "qian.yu")
    clock.advance(minutes=31)
    r = client.get("/console/queue?level=红", follow_redirects=False)
    # the page to return to, as sent (percent-encoded), encoded once more as a query value
    assert (r.status_code, r.headers["location"]) == (
        303,
        "/console/login?next=%2Fconsole%2Fqueue%3Flevel%3D%25E7%25BA%25A2&expired=1",
    )
    login(client, "qian.yu")
    for _ in range(21):  # active all day: the absolute limit (10 hours) still ends it
        clock.advance(minutes=29)
        client.get("/console/queue")
    assert client.get("/console/queue", follow_redirects=False).status_code == 303


def test_the_cookie_is_secure_when_the_setting_says_so(start, sqlite_url: str) -> None:
    with start(sqlite_url, console_cookie_secure=True) as app_client:
        make_user(app_client, "he.jun", "admin", None)
        client = TestClient(app_client.app, base_url="https://testserver")  # a Secure cookie needs TLS
        form = client.get("/console/login")
        assert "Secure" in form.headers["set-cookie"]
        r = client.post(
            "/console/login",
            data={"username": "he.jun", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


@pytest.mark.parametrize("role", ["intake", "supervisor", "analyst", "admin"])
def test_each_role_sees_its_menu_and_is_refused_the_others_pages(client: TestClient, role: str) -> None:
    make_user(client, f"u-{role}", role, COUNTY if role == "supervisor" else None)
    login(client, f"u-{role}")
    allowed = {
        "intake": {"/console/assess"},
        "supervisor": {"/console/queue", "/console/index", "/console/reports"},
        "analyst": {"/console/queue", "/console/index", "/console/reports", "/console/model"},
        "admin": {
            "/console/queue",
            "/console/index",
            "/console/reports",
            "/console/model",
            "/console/assess",
        },
    }[role]
    home = client.get("/console/")
    menu = set(re.findall(r'<li><a href="(/console/[a-z]+)"', home.text))
    assert menu == allowed
    for path in ("/console/queue", "/console/index", "/console/reports", "/console/model", "/console/assess"):
        status = client.get(path).status_code
        assert status == (200 if path in allowed else 403), (path, status)
