"""``risk apikey create|list|revoke``, ``risk areas load``, ``risk db upgrade`` and ``risk serve
--demo``'s key file, as a user runs them."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from db_helpers import migration_head
from typer.testing import CliRunner

from cli.main import app
from serving.auth import authenticate
from serving.db import make_engine, make_sessionmaker
from serving.errors import Unauthorized

NOW = datetime.now(UTC)


@pytest.fixture
def risk(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The CLI on a fresh SQLite queue database (DATABASE_URL)."""
    from serving.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.stderr


def lookup(url: str, key: str) -> object:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return authenticate(session, f"Bearer {key}", datetime.now(UTC))
    finally:
        engine.dispose()


def test_apikey_create_prints_a_key_once_and_stores_only_its_hash(risk, sqlite_url) -> None:
    key = run(risk, "apikey", "create", "--role", "supervisor", "--area", "320612000000", "--name", "通州区")
    key = key.strip().splitlines()[-1]
    principal = lookup(sqlite_url, key)
    assert (principal.role, principal.area_code, principal.name) == ("supervisor", "320612000000", "通州区")
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        stored = " ".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM api_keys"))
    engine.dispose()
    assert key not in stored


@pytest.mark.parametrize(
    "args",
    [
        ("--role", "supervisor"),
        ("--role", "admin"),
        ("--role", "intake", "--area", "320612000000", "--all-areas"),
    ],
)
def test_apikey_create_needs_exactly_one_explicit_scope(risk, args) -> None:
    err = run(risk, "apikey", "create", *args, code=2)
    assert "give exactly one of an area code and all areas (--area or --all-areas)" in err


def test_apikey_list_shows_scope_and_status_and_revoke_refuses_the_key_at_once(risk, sqlite_url) -> None:
    key = run(risk, "apikey", "create", "--role", "admin", "--all-areas").strip()
    run(risk, "apikey", "create", "--role", "intake", "--area", "320612001000", "--expires", "2099-01-01")
    lines = run(risk, "apikey", "list").splitlines()
    assert lines[0] == "id\trole\tarea\tname\tprefix\tcreated\texpires\tstatus"
    rows = [line.split("\t") for line in lines[1:]]
    assert [(r[0], r[1], r[2], r[6][:10], r[7]) for r in rows] == [
        ("1", "admin", "all", "-", "active"),
        ("2", "intake", "320612001000", "2099-01-01", "active"),
    ]
    assert key not in "\n".join(lines)
    run(risk, "apikey", "revoke", "1")
    assert run(risk, "apikey", "list").splitlines()[1].endswith("\trevoked")
    with pytest.raises(Unauthorized, match="the API key was revoked"):
        lookup(sqlite_url, key)
    assert "no API key 9" in run(risk, "apikey", "revoke", "9", code=2)


def test_apikey_with_a_past_expiry_is_refused(risk) -> None:
    err = run(risk, "apikey", "create", "--role", "intake", "--all-areas", "--expires", "2001-01-01", code=2)
    assert "expires_at: must lie in the future" in err


def test_unknown_key_area_is_refused_once_the_area_table_is_loaded(risk, tmp_path: Path) -> None:
    result = risk.invoke(app, ["apikey", "create", "--role", "intake", "--area", "320612001000"])
    assert result.exit_code == 0 and "the area table is empty" in result.stderr
    areas = tmp_path / "areas.csv"
    areas.write_text(
        "area_code,name,level,parent_code\n"
        "320600000000,南通市,city,\n320612000000,通州区,county,320600000000\n"
        "320612001000,金沙街道,town,320612000000\n",
        encoding="utf-8",
    )
    assert "loaded 3 areas into the area table" in risk.invoke(app, ["areas", "load", str(areas)]).stderr
    run(risk, "apikey", "create", "--role", "intake", "--area", "320612001000")
    err = run(risk, "apikey", "create", "--role", "intake", "--area", "320612002000", code=2)
    assert "area_code: must be an area in the area table (risk areas load), got '320612002000'" in err


def test_db_upgrade_migrates_and_a_second_run_does_nothing(risk, sqlite_url) -> None:
    for _ in range(2):
        assert "newest schema" in risk.invoke(app, ["db", "upgrade"]).stderr
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == migration_head()
    engine.dispose()


def test_demo_keys_go_to_a_private_file_and_are_reused_across_restarts(risk, sqlite_url, tmp_path) -> None:
    from cli.serve_commands import demo_key_file

    path = tmp_path / "keys" / "demo-keys.json"
    first = demo_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == first and set(first) == {"admin", "intake"}
    path.chmod(0o644)
    assert demo_key_file(path) == first  # a restart: the same keys, the file private again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert lookup(sqlite_url, first["admin"]).area_code is None
    run(risk, "apikey", "revoke", "1")
    again = demo_key_file(path)
    assert again["admin"] != first["admin"] and again["intake"] == first["intake"]


def test_serve_help_names_host_port_and_the_demo_key_file() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert all(option in result.stdout for option in ("--host", "--port", "--demo-keys"))
