"""Schemathesis against the app's own OpenAPI schema, in process, with the real trained model and
real keys: every operation, every check (no server error, statuses, content types, response
schemas and headers, negative data rejected, positive data accepted, auth not ignored), a fixed
seed and a bounded number of examples, so the run is repeatable and takes well under a minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from api_helpers import red_case
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi

from serving.auth import create_key
from serving.db import make_engine, make_sessionmaker, upgrade

SEED = 20250301
MAX_EXAMPLES = 15

# Operations with rules JSON Schema cannot state (documented with them: a date that exists, a
# time not in the future, n_parties equal to the party list, an area in the area table) may
# refuse schema-valid data with 422; every other operation must accept all of it.
BEYOND_SCHEMA = [
    "/v1/cases/score",
    "/v1/cases/score-batch",
    "/v1/items/{item_id}/close",
    "/v1/keys",
    "/v1/feedback",
]
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES},
    # Each operation is tested alone; the stateful phase would chain hundreds of calls.
    "phases": {"stateful": {"enabled": False}},
    "operations": [
        {
            "include-path": BEYOND_SCHEMA,
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
        }
    ],
}


def admin_key(url: str) -> str:
    """An admin key for every area, made in the queue database before the app starts."""
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        key, _ = create_key(session, role="admin", name="fuzz", area_code=None, now=datetime.now(UTC))
        session.commit()
    engine.dispose()
    return key


def store_archive_examples(url: str) -> None:
    """A stored area index and weekly report, so the area index and report operations answer
    with rows, not only 404s."""
    from index_factory import index_frame
    from weekly_report_factory import WEEK, weekly_inputs

    from risk.weekly_report import build_weekly_report
    from serving.index_archive import store_index
    from serving.report_archive import store_report

    engine = make_engine(url)
    store_index(engine, index_frame(), "1")
    with make_sessionmaker(engine)() as session:
        store_report(
            session, build_weekly_report(WEEK, **weekly_inputs()), "<p>周研判</p>", b"%PDF-1.7\n", "1"
        )
    engine.dispose()


@pytest.fixture
def api_schema(make_settings, clock, db_url: str) -> Iterator[Any]:
    """The app on SQLite and on PostgreSQL, started by schemathesis' own ASGI client (its lifespan runs once), with
    the key given as the bearer scheme's credentials, and one red item to act on."""
    from serving.app import create_app

    key = admin_key(db_url)
    store_archive_examples(db_url)
    app = create_app(make_settings(db_url), clock=clock)
    config = CONFIG | {"auth": {"openapi": {"HTTPBearer": {"bearer": key}}}}
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=schemathesis.Config.from_dict(config)
    )
    with asgi.get_client(app) as http:
        r = http.post("/v1/cases/score", json=red_case("FUZZ-1"), headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
    yield schema
    asgi.shutdown_lifespans()


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_the_api_keeps_its_documented_schema(case: Any) -> None:
    case.call_and_validate()
