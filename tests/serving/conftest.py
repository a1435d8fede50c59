"""Fixtures for the serving tests: a real model trained once per session on demo data and
registered in a throw-away MLflow store, a SQLite or PostgreSQL queue per test, a settable
clock, and an app started with its lifespan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from api_helpers import Clock
from fastapi.testclient import TestClient


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
