"""The queue's tables (SQLAlchemy 2). What is stored of a scored case is what the queue needs:
codes, category, times, risk, level, reasons, model version. Never the narrative, names or
free text: those stay with the registering platform. Party ids (pseudonymous, per the data
contract) are kept in ``history_facts`` only, as the as-of history needs them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in Python, a naive UTC timestamp in the database (SQLite has no
    time zones, and one convention for both backends keeps comparisons in SQL exact)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a queue timestamp must carry a time zone, got naive {value.isoformat()}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    area_code: Mapped[str | None] = mapped_column(String(12))  # None: every area (--all-areas)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the key
    key_prefix: Mapped[str] = mapped_column(String(12))  # shown in listings to tell keys apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Area(Base):
    """The area table (统计用区划代码) serving routes by and checks new keys against."""

    __tablename__ = "areas"

    area_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(12))
    population: Mapped[float | None] = mapped_column(Float)


class ScoredCase(Base):
    __tablename__ = "scored_cases"

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    category: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[datetime] = mapped_column(
        DateTime
    )  # naive Asia/Shanghai wall time, as in the contract
    risk: Mapped[float] = mapped_column(Float)
    model_level: Mapped[str] = mapped_column(String(2))
    level: Mapped[str] = mapped_column(String(2))  # after hard flags
    flags: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(32))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    n_scores: Mapped[int] = mapped_column(Integer, default=1)


class Item(Base):
    """A supervision item (督办事项): one per case at most."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("scored_cases.case_id"), unique=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)  # the responsible 综治中心
    level: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(8), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime)
    feedback_by: Mapped[datetime] = mapped_column(UTCDateTime)
    # The deadline now running and when its light turns 黄; both NULL once nothing is due.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by: Mapped[str | None] = mapped_column(String(100))
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 民转刑: when the criminal case arose
    criminal_charge: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Optimistic locking: two people acting on one item at once cannot overwrite each other;
    # the second gets a conflict (409) instead, on SQLite and PostgreSQL alike.
    version: Mapped[int] = mapped_column(Integer)

    case: Mapped[ScoredCase] = relationship(lazy="joined", innerjoin=True)

    __mapper_args__ = {"version_id_col": version}


class AuditEntry(Base):
    """Who read or changed which item. Transitions (open, rescore, sign, note, escalate,
    close) are rows here too, so an item's history is its audit trail without the reads."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    case_id: Mapped[str | None] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(8))
    to_status: Mapped[str | None] = mapped_column(String(8))
    from_level: Mapped[str | None] = mapped_column(String(2))
    to_level: Mapped[str | None] = mapped_column(String(2))
    from_area: Mapped[str | None] = mapped_column(String(12))
    to_area: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The console user who acted (serving.users); key_id is the API key's. Neither: the CLI.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("console_users.id"))

    __table_args__ = (Index("ix_audit_log_item_id_at", "item_id", "at"),)


# 64-bit ids on a server database (a fact per scored case adds up); SQLite's rowid is already 64-bit
# and only an INTEGER PRIMARY KEY column is its alias.
FactId = BigInteger().with_variant(Integer(), "sqlite")


class HistoryFact(Base):
    """What the as-of history learnt, in the order it was committed: a scored case (``kind``
    "case": time, area, parties with their key groups, 110 calls, mediations, cue counts) or a
    民转刑 close ("escalation": the case and when it turned criminal). Never the narrative, names
    or free text. Appended only; read by id (followers) and by time (replay after a cut-off)."""

    __tablename__ = "history_facts"

    id: Mapped[int] = mapped_column(FactId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)  # naive Shanghai
    area_code: Mapped[str | None] = mapped_column(String(12))
    # [[party_id, party_type, key_groups], ...]: what the history keeps of each party
    parties: Mapped[list[list[str]] | None] = mapped_column(JSON)
    police_calls_before: Mapped[int | None] = mapped_column(Integer)
    mediation_attempts: Mapped[int | None] = mapped_column(Integer)
    cues: Mapped[dict[str, int] | None] = mapped_column(JSON)  # non-negated cue counts, non-zero only
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)  # naive Shanghai
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AreaIndex(Base):
    """One row of the weekly 社会矛盾风险指数 (``risk.area_index``): an area (or 网格) in an ISO week,
    as ``risk index --store`` last computed it. The key (area_code, week) is what an upsert replaces."""

    __tablename__ = "area_index"

    area_code: Mapped[str] = mapped_column(String(64), primary_key=True)  # 统计用区划代码 or grid_code
    week: Mapped[str] = mapped_column(String(8), primary_key=True)  # ISO week, "2026-W09" (sorts as text)
    week_start: Mapped[date] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    index: Mapped[float] = mapped_column(Float)
    lower: Mapped[float] = mapped_column(Float)
    upper: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(2))
    trend: Mapped[str] = mapped_column(String(16))
    red_3_weeks: Mapped[bool] = mapped_column(Boolean)
    forecast_escalations: Mapped[float] = mapped_column(Float)
    expected_escalations: Mapped[float] = mapped_column(Float)
    open_cases: Mapped[int] = mapped_column(Integer)
    warnings: Mapped[int] = mapped_column(Integer)
    cases: Mapped[int] = mapped_column(Integer)
    escalations: Mapped[int] = mapped_column(Integer)
    overdue_items: Mapped[int] = mapped_column(Integer)
    population: Mapped[float | None] = mapped_column(Float)
    top_drivers: Mapped[str] = mapped_column(Text)
    drivers: Mapped[dict[str, float]] = mapped_column(JSON)  # share of the forecast by driver
    categories: Mapped[dict[str, float]] = mapped_column(JSON)  # share of the model's forecast by category
    model_version: Mapped[str | None] = mapped_column(String(32))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_area_index_level_week", "level", "week"),
        Index("ix_area_index_parent_week", "parent_code", "week"),
    )


class WeeklyReportRow(Base):
    """A stored 周研判 report (``risk report --store``): its numbers as JSON, the page and the PDF.
    ``scope_code`` None is the every-area report; ``scope_key`` is the same with "" for None, so
    that one report per (week, scope) is a plain unique constraint on every backend."""

    __tablename__ = "weekly_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(8))
    week_start: Mapped[date] = mapped_column(Date)
    scope_code: Mapped[str | None] = mapped_column(String(12))
    scope_key: Mapped[str] = mapped_column(String(12))
    scope_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the report time it was built for
    model_version: Mapped[str | None] = mapped_column(String(32))
    headline: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    sections: Mapped[dict[str, list[dict[str, Any]]]] = mapped_column(JSON)  # table name -> records
    score_drift: Mapped[float | None] = mapped_column(Float)
    health_warnings: Mapped[list[str]] = mapped_column(JSON)
    html: Mapped[str] = mapped_column(Text, deferred=True)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    __table_args__ = (UniqueConstraint("week", "scope_key", name="uq_weekly_reports_week_scope"),)


class ConsoleUser(Base):
    """A person who logs in to the web console (serving.users): the roles and area scopes of the
    API keys, the password only as its argon2 hash, and the failed-login count behind lock-out."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    area_code: Mapped[str | None] = mapped_column(String(12))  # None: every area (--all-areas)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # consecutive, since the last success
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """A logged-in browser: the SHA-256 of its cookie's random token (the token itself is never
    stored), its absolute expiry and when it was last seen (the idle expiry)."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoticeIssue(Base):
    """When an item's 预警提示函 was first issued, and by whom: every later print shows that date."""

    __tablename__ = "notice_issues"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(100))
