"""The app factory and its lifespan: the database (migrated to head, under a lock), the area
table and the champion model (its history with the history facts replayed) are set up once per
process; the history facts writer and follower run in threads, and a background task swaps in a
new champion when the alias moves. ``risk serve`` runs the factory under uvicorn (in each worker
process with ``--workers N``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from serving import areas, errors, openapi
from serving.console import app as console
from serving.db import Checkpointer, make_engine, make_sessionmaker, upgrade
from serving.deps import Runtime
from serving.middleware import RequestContextMiddleware
from serving.model_store import ModelLoadError
from serving.routes import area_index, docs, health, items, keys, records, reports, scoring
from serving.settings import Settings, get_settings

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The API. ``clock`` (aware datetimes) drives every deadline, so tests can set the time."""
    settings = settings or get_settings()
    app = FastAPI(
        title="dispute-risk intake scoring and 督办 queue",
        version="1",
        description=(
            "民转刑 early warning: score disputes at intake, supervise the warnings. Send an API key "
            "as `Authorization: Bearer <key>`; every error answers with the one body shape ErrorOut."
        ),
        lifespan=lifespan,
        docs_url=None,  # served from local files by routes/docs.py
        redoc_url=None,
    )
    runtime = Runtime(settings, clock or utc_now)
    app.state.runtime = runtime
    errors.install(app)
    for module in (scoring, items, records, keys, area_index, reports, health, docs):
        app.include_router(module.router)
    docs.mount_assets(app)
    app.mount(console.MOUNT, console.create_console(runtime), name="console")  # the web console
    openapi.install(app, settings)
    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=settings.max_body_bytes, metrics=runtime.metrics
    )
    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime
    settings = runtime.settings
    engine = make_engine(
        settings.database_url,
        background_checkpoints=runtime.inline_db,
        sqlite_synchronous=settings.sqlite_synchronous,
        connect_timeout=settings.pg_connect_timeout_seconds,
        statement_timeout_ms=settings.pg_statement_timeout_ms,
    )
    if settings.migrate_on_start:
        await run_in_threadpool(upgrade, engine)
    runtime.engine, runtime.sessions = engine, make_sessionmaker(engine)
    await run_in_threadpool(_load_areas, runtime)
    checkpointer = Checkpointer(engine) if runtime.inline_db else None
    if checkpointer is not None:
        checkpointer.start()
    runtime.facts.start()
    await _load(runtime)  # with the history facts replayed into the model's history
    runtime.follower.start()
    watcher = asyncio.create_task(_watch(runtime)) if settings.model_reload_seconds > 0 else None
    try:
        yield
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await run_in_threadpool(runtime.follower.stop)
        await runtime.facts.stop()  # commits what is pending
        runtime.close_reader()
        if checkpointer is not None:
            await run_in_threadpool(checkpointer.stop)
        engine.dispose()


def _load_areas(runtime: Runtime) -> None:
    """Route new items by the area table when one is loaded (``risk areas load``)."""
    with runtime.session() as session:
        tree = areas.tree(session)
    runtime.policy = dataclasses.replace(runtime.policy, areas=tree)


async def _load(runtime: Runtime) -> bool:
    """Load (or reload) the model off the event loop; a failure is reported, never raised:
    the process stays up, /health/ready says why, and the next check tries again."""
    store, metrics = runtime.models, runtime.metrics
    before = store.current
    try:
        loaded = await run_in_threadpool(store.load)
    except ModelLoadError:
        metrics.reloads.labels("failed").inc()
        return False
    if loaded is not before:
        metrics.reloads.labels("loaded").inc()
        metrics.set_model(loaded.name, loaded.version)
        _freeze_heap()
    return loaded is not before


def _freeze_heap() -> None:
    """Move what is alive now (the model, MLflow, pandas: millions of objects) out of the cyclic
    garbage collector's sight. A full collection otherwise walks all of it, a pause of a few
    hundred ms in the latency tail each time. Unfrozen first, so a replaced model is collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


async def _watch(runtime: Runtime) -> None:
    settings = runtime.settings
    while True:
        await asyncio.sleep(settings.model_reload_seconds)
        # A pinned model is only retried while none is loaded; the champion alias is followed.
        if settings.reload_enabled or runtime.models.current is None:
            await _load(runtime)
