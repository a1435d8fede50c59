"""``risk serve`` (the intake scoring API and 督办 queue) and ``risk apikey create``.

Heavy imports (uvicorn, FastAPI, SQLAlchemy, MLflow) happen inside the commands."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

apikey_app = typer.Typer(
    help="API keys for the scoring API (shown once, stored hashed).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to ``app``."""
    app.command("serve")(serve)
    app.add_typer(apikey_app, name="apikey")


def serve(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="port to listen on")] = 8000,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="create an admin and an intake key and print them first (demo data)"),
    ] = False,
) -> None:
    """Serve the intake scoring API and the 督办 queue.

    The model comes from MLFLOW_TRACKING_URI (alias champion of dispute-escalation, or
    RISK_MODEL_URI), the queue from DATABASE_URL (SQLite under models/ by default); the
    database is migrated to the newest schema (alembic upgrade head) at start."""
    # Each request scores one case: LightGBM's OpenMP threads would only spin between requests
    # (measured 13.7 -> 5.8 ms of CPU per request). Concurrency comes from the requests.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import uvicorn

    from serving.logging_config import configure_logging

    settings = _settings()
    if demo:
        keys = {role: _new_key(settings.database_url, role, None, f"demo-{role}") for role in ("admin", "intake")}
        for role, key in keys.items():
            typer.echo(f"{role} key: {key}", err=True)
        typer.echo(_demo_help(host, port, keys["intake"]), err=True)
    configure_logging(settings.log_level, settings.log_json)
    # The factory as a string: uvicorn builds the app itself (and could in each worker).
    uvicorn.run(
        "serving.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


@apikey_app.command("create")
def apikey_create(
    role: Annotated[str, typer.Option("--role", help="intake, supervisor, analyst or admin")],
    area: Annotated[
        str | None, typer.Option("--area", help="12-digit area code the key is limited to")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="who holds the key (shown in the audit log)")
    ] = None,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    from features.errors import DisputeRiskError

    try:
        key = _new_key(_settings().database_url, role, area, name or f"{role}-{area or 'all'}")
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"created a {role} key for area {area or 'all'}; it is shown only now:", err=True)
    typer.echo(key)


def _demo_help(host: str, port: int, intake_key: str) -> str:
    base = f"http://{host}:{port}"
    case = (
        '{"case_id": "DEMO-0001", "registered_at": "2025-06-30T21:40:00+08:00", "area_code": "329002001001", '
        '"source": "110警情转办", "category": "婚恋家庭", "narrative": "张某酒后与妻子李某发生争吵，'
        '扬言要砍死她，手持菜刀追赶，邻居报警。", "amount_yuan": null, "n_parties": 2, "n_people": 2, '
        '"police_calls_before": 2, "mediation_attempts": 1, "parties": ['
        '{"party_id": "demo-a", "role": "申请方", "party_type": "自然人", "gender": "女", "age": 34}, '
        '{"party_id": "demo-b", "role": "被申请方", "party_type": "自然人", "gender": "男", "age": 37}]}'
    )
    return (
        f"\ninteractive docs: {base}/docs   (OpenAPI: {base}/openapi.json)\n"
        f"example:\n  curl -s -X POST {base}/v1/cases/score -H 'Authorization: Bearer {intake_key}' "
        f"-H 'Content-Type: application/json' -d '{case}'\n"
    )


def _settings() -> Any:
    """The settings, or a clear message naming the bad setting (before anything starts)."""
    from pydantic import ValidationError

    from serving.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        for err in exc.errors():
            typer.echo(f"error: setting {'.'.join(map(str, err['loc']))}: {err['msg']}", err=True)
        raise typer.Exit(2) from None


def _new_key(database_url: str, role: str, area: str | None, name: str) -> str:
    """A new key in the queue database (migrated first), returned in clear this once."""
    from datetime import UTC, datetime

    from serving.auth import create_key
    from serving.db import make_engine, make_sessionmaker, upgrade

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with make_sessionmaker(engine)() as session:
            key, _ = create_key(session, role=role, name=name, area_code=area, now=datetime.now(UTC))
            session.commit()
    finally:
        engine.dispose()
    return key
