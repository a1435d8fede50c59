"""Injectable dependencies, declared once as ``Annotated`` aliases.

Everything a route needs sits in one ``Runtime`` (built by ``create_app``, completed by the
lifespan). Few, cheap, ``async`` dependencies: FastAPI resolves each dependency on every
request, and on the scoring path that resolution costs as much as the model does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from serving.auth import ADMIN, ANALYST, INTAKE, KEY_BY_HASH, SUPERVISOR, Principal, digest_of, principal_of
from serving.db import LoopReader
from serving.fact_writer import FactWriter
from serving.history_follower import HistoryFollower
from serving.intake_rules import IntakeLimits
from serving.live_history import LiveHistory
from serving.metrics import Metrics
from serving.model_store import ModelStore
from serving.queue import ITEM_ID_BY_CASE, Policy
from serving.settings import Settings
from serving.write_lock import FifoLock, write_lock_for


@dataclass
class Runtime:
    """The app's long-lived parts. ``clock`` returns aware datetimes and drives every deadline."""

    settings: Settings
    clock: Callable[[], datetime]
    metrics: Metrics = field(default_factory=Metrics)
    engine: Engine | None = None  # set by the lifespan
    sessions: sessionmaker[Session] | None = None
    reader: LoopReader | None = None  # the event loop's own SQLite connection, made on first use

    def __post_init__(self) -> None:
        s = self.settings
        self.policy = Policy.from_settings(s)
        # Facts are committed with every answer; each process follows them (history_follower).
        self.follower = HistoryFollower(
            self._engine,
            self._current_history,
            self.metrics,
            enabled=s.feed_history,
            poll_seconds=s.history_poll_seconds,
        )
        self.models = ModelStore(s, prepare_history=self.follower.prepare)
        self._write_lock = write_lock_for(s.database_url)
        # SQLite is a local file: a read takes microseconds, and a commit appends to the WAL
        # (checkpoints run in a thread, see db.Checkpointer). The scoring route runs both on the
        # event loop, where they cost less CPU than a threadpool hop and fight no thread for the
        # GIL. A server database is a network round trip and a commit waits for its disk: the
        # threadpool waits for those.
        self.inline_db = make_url(s.database_url).get_backend_name() == "sqlite"
        # Scored cases' facts without an item: group commit, awaited by the route (fact_writer).
        self.facts = FactWriter(
            self._engine,
            self.writing,
            self.metrics,
            try_lock=self.try_writing if self.inline_db else None,
            interval=s.history_commit_interval_ms / 1000,
        )
        self.metrics.history_lag.set_function(self._history_lag)

    def _engine(self) -> Engine:
        assert self.engine is not None, "the lifespan has not run"
        return self.engine

    def _current_history(self) -> LiveHistory | None:
        loaded = self.models.current
        return None if loaded is None else loaded.history

    def _history_lag(self) -> float:
        lag = self.follower.status(self._current_history()).lag_seconds
        return -1.0 if lag is None else lag  # -1: no history followed (yet)

    def writing(self) -> AbstractContextManager[Any]:
        """Held around each write transaction (see write_lock.write_lock_for)."""
        return self._write_lock

    def try_writing(self) -> bool:
        """Take the write lock now if it is free (True; leave it with ``writing().__exit__``).
        The event loop writes only then: a thread's write in progress (a batch, a transition)
        would otherwise stall every request on the loop until it commits."""
        lock = self._write_lock
        return lock.try_enter() if isinstance(lock, FifoLock) else True

    def intake_limits(self) -> IntakeLimits:
        return IntakeLimits(self.clock(), timedelta(minutes=self.settings.clock_tolerance_minutes))

    def _loop_reader(self) -> LoopReader:
        if self.reader is None or self.reader.engine is not self.engine:
            assert self.engine is not None, "the lifespan has not run"
            if self.reader is not None:
                self.reader.close()
            self.reader = LoopReader(self.engine)
        return self.reader

    def item_id_for(self, case_id: str) -> int | None:
        """The case's item id, read on the event loop (SQLite; see ``inline_db``)."""
        return self._loop_reader().scalar(ITEM_ID_BY_CASE, (case_id,))

    def key_row(self, digest: str) -> Sequence[Any] | None:
        """The key's row by its hash (``auth.KEY_BY_HASH``): on the event loop for SQLite,
        through the pool (call it in the threadpool) for a server database."""
        if self.inline_db:
            return self._loop_reader().row(KEY_BY_HASH, (digest,))
        assert self.engine is not None, "the lifespan has not run"
        with self.engine.connect() as conn:
            row = conn.execute(KEY_BY_HASH, {"key_hash": digest}).first()
        return None if row is None else tuple(row)

    def close_reader(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def session(self) -> Session:
        assert self.sessions is not None, "the lifespan has not run"
        return self.sessions()


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_session(request: Request) -> AsyncIterator[Session]:
    # A Session connects lazily, so creating one here blocks nothing; routes that use it are sync.
    with request.app.state.runtime.session() as session:
        yield session


# Declares the bearer scheme in the OpenAPI schema (Swagger's Authorize button); the header itself
# is read by get_principal, which says what is wrong with it in the project's error shape.
bearer = HTTPBearer(auto_error=False, description="an API key from `risk apikey create`")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def get_principal(request: Request) -> Principal:
    """The caller, from its key's row read now: a revoked or expired key is refused at once."""
    runtime: Runtime = request.app.state.runtime
    digest = digest_of(request.headers.get("authorization"))
    if runtime.inline_db:
        row = runtime.key_row(digest)
    else:
        row = await run_in_threadpool(runtime.key_row, digest)
    return principal_of(row, runtime.clock())


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionDep = Annotated[Session, Depends(get_session)]


def role_in(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def check(request: Request, _: Bearer) -> Principal:
        return (await get_principal(request)).require(roles)

    return check


Intake = Annotated[Principal, Depends(role_in(INTAKE, ADMIN))]
Supervisor = Annotated[Principal, Depends(role_in(SUPERVISOR, ADMIN))]
Reader = Annotated[Principal, Depends(role_in(SUPERVISOR, ANALYST, ADMIN))]
Analyst = Annotated[Principal, Depends(role_in(ANALYST, ADMIN))]
Admin = Annotated[Principal, Depends(role_in(ADMIN))]
CurrentUser = Annotated[Principal, Depends(role_in(INTAKE, SUPERVISOR, ANALYST, ADMIN))]
