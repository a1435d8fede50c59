"""``risk serve``: the intake scoring API and 督办 queue.

Heavy imports (uvicorn, FastAPI, SQLAlchemy, MLflow) happen inside the commands."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.admin_commands import queue_session, settings

DEMO_ROLES = ("admin", "intake")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to ``app``."""
    app.command("serve")(serve)


def serve(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="port to listen on")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="worker processes; each follows the others' intake through the history facts",
        ),
    ] = 1,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="demo keys (admin, intake; all areas) in --demo-keys, made once and reused"
        ),
    ] = False,
    demo_keys: Annotated[
        Path | None,
        typer.Option(
            "--demo-keys", help="file for the demo keys, readable by its owner only [models/demo-keys.json]"
        ),
    ] = None,
) -> None:
    """Serve the intake scoring API and the 督办 queue.

    The model comes from MLFLOW_TRACKING_URI (alias champion of dispute-escalation, or
    RISK_MODEL_URI), the queue from DATABASE_URL (SQLite under models/ by default); the
    database is migrated to the newest schema (alembic upgrade head) at start. With --workers N,
    N processes share the port and the database, and each sees the others' intake in its history
    within RISK_HISTORY_POLL_SECONDS (0.1 s) plus the time to apply it."""
    # Each request scores one case: LightGBM's OpenMP threads would only spin between requests
    # (measured 13.7 -> 5.8 ms of CPU per request). Concurrency comes from the requests.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import uvicorn

    from serving.logging_config import configure_logging

    s = settings()
    if demo:
        path = demo_keys or Path(_project_root()) / "models" / "demo-keys.json"
        demo_key_file(path)
        typer.echo(_demo_help(host, port, path), err=True)
    configure_logging(s.log_level, s.log_json)
    # The factory as a string: uvicorn builds the app itself, in each worker process. Workers
    # share the queue database; each scores against the history facts all of them commit
    # (serving.history_follower), and migrations run once, under a lock.
    uvicorn.run(
        "cli.serve_commands:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


def worker_app() -> Any:
    """The app of one server process. A worker process is spawned afresh, without the parent's
    logging configuration: the entry point configures it here, then builds the app."""
    from serving.app import create_app
    from serving.logging_config import configure_logging

    s = settings()
    configure_logging(s.log_level, s.log_json)
    return create_app(s)


def demo_key_file(path: Path) -> dict[str, str]:
    """The demo keys in ``path`` (0600), made once: a restart reuses the keys still valid in the
    queue database and makes only the missing ones. A key is never printed."""
    from datetime import UTC, datetime

    from serving import keys as key_store
    from serving.auth import authenticate
    from serving.errors import Unauthorized

    try:
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:  # damaged: make new keys
        stored = {}
    with queue_session() as session:
        now = datetime.now(UTC)
        for role in DEMO_ROLES:
            try:
                if role in stored and authenticate(session, f"Bearer {stored[role]}", now).role == role:
                    continue
            except Unauthorized:
                pass
            made = key_store.new_key(session, role=role, area=None, name=f"demo-{role}", now=now)
            stored[role] = made.key
        session.commit()
    _write_private(path, json.dumps(stored, indent=1) + "\n")
    return stored


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by its owner only, whatever was there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its old mode through O_CREAT
        handle.write(text)


def _project_root() -> str:
    from serving.settings import PROJECT_ROOT

    return str(PROJECT_ROOT)


def _demo_help(host: str, port: int, keys_file: Path) -> str:
    base = f"http://{host}:{port}"
    case = (
        '{"case_id": "DEMO-0001", "registered_at": "2025-06-30T21:40:00+08:00", "area_code": "329002001001", '
        '"source": "110警情转办", "category": "婚恋家庭", "narrative": "张某酒后与妻子李某发生争吵，'
        '扬言要砍死她，手持菜刀追赶，邻居报警。", "amount_yuan": null, "n_parties": 2, "n_people": 2, '
        '"police_calls_before": 2, "mediation_attempts": 1, "parties": ['
        '{"party_id": "demo-a", "role": "申请方", "party_type": "自然人", "gender": "女", "age": 34}, '
        '{"party_id": "demo-b", "role": "被申请方", "party_type": "自然人", "gender": "男", "age": 37}]}'
    )
    read_key = f"python3 -c \"import json; print(json.load(open('{keys_file}'))['intake'])\""
    return (
        f"\ndemo keys (admin, intake) in {keys_file} (readable by you only)\n"
        f"interactive docs: {base}/docs   (OpenAPI: {base}/openapi.json)\n"
        f"web console: {base}/console/   (demo users: `risk user demo`, passwords in models/demo-users.json)\n"
        f'example:\n  curl -s -X POST {base}/v1/cases/score -H "Authorization: Bearer $({read_key})" '
        f"-H 'Content-Type: application/json' -d '{case}'\n"
    )
