"""The queue's tables (SQLAlchemy 2). What is stored of a scored case is what the queue needs:
codes, category, times, risk, level, reasons, model version. Never the narrative, names or
party ids: those stay with the registering platform."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, TypeDecorator
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

    __table_args__ = (Index("ix_audit_log_item_id_at", "item_id", "at"),)
