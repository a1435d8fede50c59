"""Fixtures for the serving tests: a real model trained once per session on demo data and
registered in a throw-away MLflow store, a SQLite or PostgreSQL queue per test, a settable
clock, and an app started with its lifespan."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from api_helpers import Clock
from fastapi.testclient import TestClient

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Registry:
    tracking_uri: str
    version: str
    root: Path


@pytest.fixture(scope="session")
def registry(trained) -> Registry:
    """The session model's MLflow store, as the serving tests read it."""
    return Registry(trained.tracking_uri, trained.version, trained.root)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'queue.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the PostgreSQL server for this test, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    env = os.environ.get("DATABASE_URL", "")
    base = env if env.startswith("postgresql") else PG_DEFAULT
    engine = create_engine(base)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        message = f"PostgreSQL is not reachable at {base}: {str(exc).splitlines()[0]}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the PostgreSQL suite must run)")
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The queue database: each test using it runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_settings(registry: Registry) -> Callable[..., Any]:
    from serving.settings import Settings

    def make(database_url: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "mlflow_tracking_uri": registry.tracking_uri,
            "database_url": database_url,
            "model_reload_seconds": 0,
            "log_json": False,
        }
        return Settings(**(values | overrides))

    return make


@pytest.fixture
def start(make_settings: Callable[..., Any], clock: Clock) -> Callable[..., Any]:
    """``with start(db_url, **settings) as client:`` runs the app with its lifespan."""
    from serving.app import create_app

    @contextmanager
    def run(database_url: str, **overrides: Any) -> Iterator[TestClient]:
        app = create_app(make_settings(database_url, **overrides), clock=clock)
        with TestClient(app) as client:
            yield client

    return run


@pytest.fixture
def client(start: Callable[..., Any], sqlite_url: str) -> Iterator[TestClient]:
    with start(sqlite_url) as c:
        yield c
