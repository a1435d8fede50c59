"""Configuration of the scorer and the 督办 queue: one typed ``Settings``, read from the
environment (``RISK_*``, plus the conventional ``DATABASE_URL`` and ``MLFLOW_TRACKING_URI``),
failing fast on a bad value."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from risk.levels import LEVELS, ORANGE, RED, WARNING_LEVELS, YELLOW, rank

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Hours to sign for (respond) and to report back (feedback), by warning level.
DEFAULT_DEADLINES: dict[str, tuple[float, float]] = {RED: (2, 24), ORANGE: (12, 48), YELLOW: (24, 7 * 24)}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RISK_", extra="ignore", frozen=True)

    # --- the model -------------------------------------------------------------------------
    mlflow_tracking_uri: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'models' / 'mlflow.db'}",
        validation_alias=AliasChoices(
            "MLFLOW_TRACKING_URI", "RISK_MLFLOW_TRACKING_URI", "mlflow_tracking_uri"
        ),
    )
    model_name: str | None = None  # None: the name the model registers under (risk.model.MODEL_NAME)
    model_alias: str = "champion"
    # An explicit URI (models:/name/3, runs:/..., a path) pins the model: no hot reload then.
    model_uri: str | None = None
    model_reload_seconds: float = Field(default=30.0, ge=0)  # 0 turns the alias check off
    n_reasons: int = Field(default=3, ge=1, le=10)
    # Score against the model's history plus every case scored since its cut-off (the history
    # facts, committed with each answer and followed by every worker process); False: against the
    # history as trained. The facts are committed either way.
    feed_history: bool = True
    # How often each process reads the facts committed since its last read: with the time to apply
    # them, the bound on how late a case shows in the history of every worker (history_follower).
    history_poll_seconds: float = Field(default=0.1, gt=0, le=60)
    # The group commit of facts starts a transaction at most this often; the facts of every request
    # meanwhile share it (serving.fact_writer). Longer: less CPU per case, more latency.
    history_commit_interval_ms: float = Field(default=5.0, ge=0, le=100)

    # --- the queue -------------------------------------------------------------------------
    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'models' / 'queue.db'}",
        validation_alias=AliasChoices("DATABASE_URL", "RISK_DATABASE_URL", "database_url"),
    )
    # Migrations run under a lock (PostgreSQL advisory lock, a lock file beside SQLite), so several
    # processes starting at once migrate once; `risk db upgrade` and False suit a multi-worker setup.
    migrate_on_start: bool = True
    # FULL: a commit waits for the WAL to reach the disk, so a power cut loses nothing acknowledged;
    # NORMAL is faster but may lose the last commits on an OS crash (a killed process loses nothing).
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    pg_connect_timeout_seconds: int = Field(default=10, ge=1)
    pg_statement_timeout_ms: int = Field(default=30_000, ge=0)  # 0: no limit
    # Warnings at or above this level open a supervision item; None runs a scorer without queue.
    queue_level: str | None = YELLOW
    deadlines_hours: dict[str, tuple[float, float]] = Field(default_factory=lambda: dict(DEFAULT_DEADLINES))
    # The light turns 黄 when less than this share of the time allowed for a deadline is left.
    light_warn_fraction: float = Field(default=0.25, gt=0, lt=1)
    escalation_top_level: str = "city"

    # --- input -----------------------------------------------------------------------------
    # A registered_at later than now by more than this is refused (clocks of two machines differ).
    clock_tolerance_minutes: float = Field(default=10.0, ge=0)

    # --- operations ------------------------------------------------------------------------
    metrics_require_key: bool = False  # True: /metrics answers only with a valid API key

    # --- the web console (serving/console) ---------------------------------------------------
    # A session ends after this long without a request, and in any case this long after login.
    console_idle_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    console_session_hours: float = Field(default=10.0, gt=0, le=7 * 24)
    # True behind HTTPS (the cookie is then never sent in clear); False lets the console work over
    # plain HTTP on an intranet host, where a Secure cookie would never come back.
    console_cookie_secure: bool = False
    # After this many consecutive failed logins the account is locked for console_lockout_minutes,
    # doubled for each further failure after a lock ends (capped at a day); a success resets it.
    console_max_failed_logins: int = Field(default=5, ge=1, le=100)
    console_lockout_minutes: float = Field(default=15.0, gt=0, le=24 * 60)

    # --- limits ----------------------------------------------------------------------------
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    batch_max_cases: int = Field(default=100, ge=1, le=10_000)
    page_max: int = Field(default=200, ge=1)

    # --- logging ---------------------------------------------------------------------------
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("queue_level", mode="before")
    @classmethod
    def _queue_level(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in {"", "none", "off"}:
            return None
        if value is not None and value not in WARNING_LEVELS:
            raise ValueError(f"queue_level must be one of {'/'.join(WARNING_LEVELS)} or off, got {value!r}")
        return value

    @field_validator("deadlines_hours")
    @classmethod
    def _deadlines(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for level, (respond, feedback) in value.items():
            if level not in WARNING_LEVELS:
                raise ValueError(
                    f"deadlines_hours keys must be warning levels {'/'.join(WARNING_LEVELS)}, got {level!r}"
                )
            if not 0 < respond <= feedback:
                raise ValueError(
                    f"deadlines_hours[{level}] must satisfy 0 < respond <= feedback, got {(respond, feedback)}"
                )
        return value

    @field_validator("escalation_top_level")
    @classmethod
    def _top(cls, value: str) -> str:
        if value not in ("county", "city", "province"):
            raise ValueError(f"escalation_top_level must be county, city or province, got {value!r}")
        return value

    @model_validator(mode="after")
    def _every_queued_level_has_deadlines(self) -> Settings:
        if self.queue_level is not None:
            missing = [
                lvl
                for lvl in LEVELS
                if lvl in WARNING_LEVELS
                and rank(lvl) >= rank(self.queue_level)
                and lvl not in self.deadlines_hours
            ]
            if missing:
                raise ValueError(
                    f"deadlines_hours must cover every level that opens an item, missing {missing}"
                )
        return self

    @property
    def reload_enabled(self) -> bool:
        return self.model_uri is None and self.model_reload_seconds > 0


@lru_cache
def get_settings() -> Settings:
    return Settings()
