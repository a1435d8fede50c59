"""``risk user create|list|disable|reset-password|demo`` as an operator runs them: passwords from a
prompt or standard input only, stored as argon2 hashes; scopes said explicitly; the demo users'
file readable by its owner only and reused."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from serving import users
from serving.db import make_engine, make_sessionmaker

PW = "一个足够长的密码 2025"


@pytest.fixture
def risk(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    from serving.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str, stdin: str | None = None, code: int = 0) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.stderr


def check(url: str, username: str, password: str) -> bool:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return users.verify_password(session, username, password)[1]
    finally:
        engine.dispose()


def test_create_reads_the_password_from_stdin_and_stores_only_its_argon2_hash(risk, sqlite_url) -> None:
    run(risk, "user", "create", "--username", "zhang.min", "--role", "supervisor", "--area", "320612000000",
        stdin=PW + "\n")  # fmt: skip
    assert check(sqlite_url, "zhang.min", PW) and not check(sqlite_url, "zhang.min", PW + "x")
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        (stored,) = conn.exec_driver_sql("SELECT password_hash FROM console_users").one()
    engine.dispose()
    assert stored.startswith("$argon2id$") and PW not in stored
    listing = run(risk, "user", "list")
    assert "zhang.min\tsupervisor\t320612000000\tactive\t0\t-" in listing and PW not in listing


@pytest.mark.parametrize(
    ("args", "stdin", "said"),
    [
        (["--role", "admin"], PW, "give exactly one of an area code and all areas"),
        (["--role", "admin", "--area", "320612000000", "--all-areas"], PW, "give exactly one"),
        (["--role", "admin", "--all-areas"], "short", "must be 10 to 256 characters long"),
        (["--role", "root", "--all-areas"], PW, "role: must be one of intake, supervisor, analyst, admin"),
    ],
)
def test_create_refuses_an_unsaid_scope_a_weak_password_or_an_unknown_role(risk, args, stdin, said) -> None:
    assert said in run(risk, "user", "create", "--username", "li.na", *args, stdin=stdin + "\n", code=2)


def test_a_password_is_never_an_argument(risk) -> None:
    result = risk.invoke(
        app, ["user", "create", "--username", "x1", "--role", "admin", "--all-areas", "--password", PW]
    )
    assert result.exit_code == 2 and "No such option" in result.output


def test_disable_and_reset_password(risk, sqlite_url) -> None:
    run(risk, "user", "create", "--username", "wu.gang", "--role", "analyst", "--all-areas", stdin=PW + "\n")
    engine = make_engine(sqlite_url)
    with make_sessionmaker(engine)() as session:  # a lock-out, to be lifted by the reset
        user = users.get_user(session, "wu.gang")
        user.failed_logins, user.locked_until = 9, datetime(2100, 1, 1, tzinfo=UTC)
        session.commit()
    run(risk, "user", "reset-password", "wu.gang", stdin="另一个足够长的密码 2026\n")
    assert check(sqlite_url, "wu.gang", "另一个足够长的密码 2026") and not check(sqlite_url, "wu.gang", PW)
    with make_sessionmaker(engine)() as session:
        user = users.get_user(session, "wu.gang")
        assert (user.failed_logins, user.locked_until) == (0, None)
    run(risk, "user", "disable", "wu.gang")
    assert not check(sqlite_url, "wu.gang", "另一个足够长的密码 2026")
    assert "wu.gang\tanalyst\tall\tdisabled" in run(risk, "user", "list")
    assert "already disabled" in run(risk, "user", "disable", "wu.gang", code=2)
    assert "no console user 'nobody'" in run(risk, "user", "disable", "nobody", code=2)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT action, actor FROM audit_log ORDER BY id").all()
    engine.dispose()
    assert rows == [("user_create", "risk-cli"), ("user_password", "risk-cli"), ("user_disable", "risk-cli")]


def test_demo_users_go_to_an_owner_only_file_and_are_reused(risk, sqlite_url, tmp_path: Path) -> None:
    areas = tmp_path / "areas.csv"
    areas.write_text(
        "area_code,name,level,parent_code\n320600000000,南通市,city,\n320612000000,通州区,county,320600000000\n",
        encoding="utf-8",
    )
    run(risk, "areas", "load", str(areas))
    path = tmp_path / "demo-users.json"
    result = risk.invoke(app, ["user", "demo", "--file", str(path), "--url", "http://127.0.0.1:8000"])
    assert result.exit_code == 0, result.output
    assert "web console: http://127.0.0.1:8000/console/" in result.stderr
    first = json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(first) == {"intake", "supervisor", "analyst", "admin"}
    assert all(p["password"] not in result.output for p in first.values())
    assert all(check(sqlite_url, p["username"], p["password"]) for p in first.values())
    run(risk, "user", "demo", "--file", str(path))
    assert json.loads(path.read_text()) == first
    assert "demo-supervisor\tsupervisor\t320612000000\tactive" in run(risk, "user", "list")
