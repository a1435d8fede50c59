"""Engine creation and Alembic migrations for the queue database."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

try:
    import fcntl
except ImportError:  # not POSIX: migrations then rely on SQLite's own locking
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(
    url: str,
    *,
    background_checkpoints: bool = False,
    sqlite_synchronous: str = "FULL",
    connect_timeout: int = 10,
    statement_timeout_ms: int = 30_000,
) -> Engine:
    """An engine for ``url``. SQLite gets WAL, ``synchronous`` (FULL: a commit waits for the WAL
    to reach the disk), a busy timeout and foreign keys; PostgreSQL a connect timeout and a
    statement timeout, so a stuck server or query fails a request instead of hanging it.

    ``background_checkpoints`` (SQLite): commits never checkpoint the WAL themselves (the
    checkpoint is what waits for the disk, fsync); a ``Checkpointer`` thread does it instead."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return _server_engine(url, connect_timeout, statement_timeout_ms)
    if sqlite_synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"sqlite_synchronous must be FULL or NORMAL, got {sqlite_synchronous!r}")
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, json_serializer=_json
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        # WAL lets the list endpoints read while a score is being written.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        if background_checkpoints:
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    return engine


def _server_engine(url: str, connect_timeout: int, statement_timeout_ms: int) -> Engine:
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        json_serializer=_json,
        connect_args={"connect_timeout": connect_timeout},
    )
    if engine.dialect.name == "postgresql":
        # Set per connection, not through the URL's ``options``, which the URL may carry itself.
        @event.listens_for(engine, "connect")
        def _timeouts(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
            dbapi_conn.commit()

    return engine


# One encoder: json.dumps with any non-default argument builds a new JSONEncoder per call, which
# costs more than encoding a small value (every item's reasons, every history fact's parties).
_ENCODER = json.JSONEncoder(ensure_ascii=False)  # reasons stay readable in the database


def _json(value: Any) -> str:
    return _ENCODER.encode(value)


class Checkpointer:
    """Copies the SQLite WAL into the database file every ``interval`` seconds, in a thread.

    With synchronous=NORMAL a commit writes the WAL without waiting for the disk; only a
    checkpoint fsyncs (5-10 ms here, far longer on a busy disk). Run by a commit, as SQLite does
    by default, that wait would fall on whichever request commits, on the event loop. PASSIVE
    never blocks a writer or a reader; what it cannot copy yet is copied next time."""

    def __init__(self, engine: Engine, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self.checkpoint()

    def checkpoint(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as exc:  # the WAL keeps everything meanwhile; the next try may succeed
            log.warning("WAL checkpoint failed", extra={"error": type(exc).__name__})

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.checkpoint()


class LoopReader:
    """Reads run on the event loop (SQLite only): one DBAPI connection kept open for them, so a
    lookup costs a few microseconds instead of a pool checkout, a SQLAlchemy execution and a
    return. Outside a transaction every SELECT sees the newest commit (WAL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Any = None
        self._sql: dict[Any, str] = {}

    def scalar(self, statement: Any, params: Sequence[Any]) -> Any:
        sql = self._sql.get(statement)
        if sql is None:
            sql = self._sql[statement] = str(statement.compile(dialect=self.engine.dialect))
        if self._conn is None:
            self._conn = self.engine.raw_connection()
        try:
            row = self._conn.driver_connection.execute(sql, tuple(params)).fetchone()
        except Exception:
            self.close()  # the next read reconnects
            raise
        return None if row is None else row[0]

    def row(self, statement: Any, params: Sequence[Any]) -> tuple[Any, ...] | None:
        """The first row of ``statement``, its values as the driver returns them."""
        sql = self._sql.get(statement)
        if sql is None:
            sql = self._sql[statement] = str(statement.compile(dialect=self.engine.dialect))
        if self._conn is None:
            self._conn = self.engine.raw_connection()
        try:
            found = self._conn.driver_connection.execute(sql, tuple(params)).fetchone()
        except Exception:
            self.close()
            raise
        return None if found is None else tuple(found)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on a % in a URL (e.g. %3D in options=...).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Any fixed 64-bit number: the key of the PostgreSQL advisory lock held while migrating.
_MIGRATION_LOCK_KEY = 0x6472_6B5F_6D69_6772


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (alembic upgrade head) on ``engine``. Several
    processes starting at once migrate one after the other: the first migrates, the others then
    find the schema at head (a lock file beside SQLite, an advisory lock on PostgreSQL)."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with _file_lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL statement_timeout = 0"))  # a migration may take long
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    log.info("queue database at the newest migration", extra={"database": engine.url.render_as_string()})


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on ``<database>.migrate.lock`` for a SQLite file; nothing otherwise."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    # Not POSIX (no fcntl): SQLite's own locking still keeps the file consistent.
    if not database or database == ":memory:" or fcntl is None:
        yield
        return
    with open(f"{database}.migrate.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
