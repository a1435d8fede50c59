"""Operations: docs served from the app's own files, /metrics behind a key when set, migrations run
once however many processes start together, database timeouts and SQLite durability."""

from __future__ import annotations

import re
import threading

import pytest
from api_helpers import make_key
from db_helpers import migration_head
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from serving.db import make_engine, upgrade

URL = re.compile(r"https?://", re.IGNORECASE)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_name_no_outside_url_and_their_assets_load_from_the_app(client: TestClient, page) -> None:
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert not URL.search(r.text), URL.search(r.text)
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert assets and all(a.startswith("/") for a in assets)
    for asset in assets:
        loaded = client.get(asset)
        assert loaded.status_code == 200 and len(loaded.content) > 1000, asset
    assert "/openapi.json" in r.text


def test_swagger_ui_knows_the_bearer_scheme(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "an API key from `risk apikey create`",
    }
    assert schema["paths"]["/v1/cases/score"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "validatorUrl" in client.get("/docs").text  # no badge fetched from validator.swagger.io


def test_metrics_can_require_a_key(start, sqlite_url) -> None:
    with start(sqlite_url, metrics_require_key=True) as client:
        assert client.get("/metrics").status_code == 401
        r = client.get("/metrics", headers=make_key(client, "analyst").headers)
        assert r.status_code == 200 and "risk_http_request_duration_seconds" in r.text
    with start(sqlite_url) as client:
        assert client.get("/metrics").status_code == 200  # the default: open, as scrapers expect


def test_ready_reports_states_never_the_database_uri_or_its_message(start, sqlite_url) -> None:
    from sqlalchemy import create_engine

    with start(sqlite_url) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        runtime.engine = create_engine("postgresql+psycopg://reader:s3cret@127.0.0.1:1/nowhere")
        r = client.get("/health/ready")
        assert r.status_code == 503
        assert r.json()["detail"] == [
            {"field": "database", "value": None, "message": "database: not reachable; see the server log"}
        ]
        assert "s3cret" not in r.text and "127.0.0.1" not in r.text and "nowhere" not in r.text


def test_migrations_started_together_run_once(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(3)]
    errors: list[BaseException] = []

    def migrate(engine) -> None:
        try:
            upgrade(engine)
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with engines[0].connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            migration_head()
        ]
    for e in engines:
        e.dispose()


@pytest.mark.parametrize(("setting", "pragma"), [("FULL", 2), ("NORMAL", 1)])
def test_sqlite_synchronous_is_full_unless_set_to_normal(start, sqlite_url, setting, pragma) -> None:
    overrides = {} if setting == "FULL" else {"sqlite_synchronous": setting}
    with start(sqlite_url, **overrides) as client, client.app.state.runtime.engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == pragma


@pytest.mark.postgres
def test_postgres_connections_carry_the_statement_timeout(start, pg_url) -> None:
    with start(pg_url, pg_statement_timeout_ms=1500) as client:
        engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "1500ms"
            with pytest.raises(Exception, match="statement timeout"):
                conn.execute(text("SELECT pg_sleep(3)"))
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/none", connect_timeout=1)
    with pytest.raises(OperationalError):  # nothing listens on port 9: fails fast, does not hang
        engine.connect()
    engine.dispose()
