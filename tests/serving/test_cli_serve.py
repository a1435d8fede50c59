"""``risk apikey create`` and ``risk serve`` as a user runs them."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app
from serving.auth import KeyCache, authenticate
from serving.db import make_engine, make_sessionmaker


def test_apikey_create_prints_a_key_once_and_stores_only_its_hash(sqlite_url, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    from serving.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            [
                "apikey",
                "create",
                "--role",
                "supervisor",
                "--area",
                "320612000000",
                "--name",
                "通州区综治中心",
            ],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    engine = make_engine(sqlite_url)
    with make_sessionmaker(engine)() as session:
        principal = authenticate(session, f"Bearer {key}", KeyCache())
        stored = " ".join(str(r) for r in session.connection().exec_driver_sql("SELECT * FROM api_keys"))
    engine.dispose()
    assert (principal.role, principal.area_code, principal.name) == (
        "supervisor",
        "320612000000",
        "通州区综治中心",
    )
    assert key not in stored


def test_apikey_create_refuses_a_supervisor_without_an_area(sqlite_url, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    from serving.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["apikey", "create", "--role", "supervisor"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "a supervisor key needs an area" in result.stderr


def test_serve_help_names_host_and_port() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--host" in result.stdout and "--port" in result.stdout
