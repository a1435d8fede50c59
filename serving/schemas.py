"""Response bodies, typed as the OpenAPI schema documents them (enums for the vocabularies, free text
masked for personal numbers on its way out). Request bodies live in ``serving.inputs``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, overload

from pydantic import BaseModel

from serving.field_types import (
    AuditAction,
    LevelName,
    LevelOut,
    LightName,
    Masked,
    OutcomeName,
    RoleName,
    StatusName,
    WarningLevelOut,
)
from serving.inputs import BatchIn, CaseIn, CloseIn, EscalateIn, NoteIn
from serving.queue import SHANGHAI, light_of
from serving.tables import ApiKey, AuditEntry, Item

__all__ = ["BatchIn", "CaseIn", "CloseIn", "EscalateIn", "NoteIn"]  # re-exported: routes import them here


@overload
def local(value: datetime) -> datetime: ...
@overload
def local(value: None) -> None: ...
def local(value: datetime | None) -> datetime | None:
    """Timestamps leave the API in Shanghai time with their offset (+08:00)."""
    return None if value is None else value.astimezone(SHANGHAI)


# ---- output -------------------------------------------------------------------------------------


class ReasonOut(BaseModel):
    code: str
    text: Masked
    direction: Literal["升高", "降低"]
    contribution: float


class FlagOut(BaseModel):
    code: str
    level: WarningLevelOut  # the level the rule raises the warning to, at least
    text: Masked


class ModelOut(BaseModel):
    name: str
    version: str | None
    horizon_days: int


class ItemOut(BaseModel):
    id: int
    case_id: str
    area_code: str  # the responsible 综治中心
    case_area_code: str  # where the dispute arose
    category: str
    registered_at: datetime
    risk: float
    level: LevelName
    status: StatusName
    light: LightName | None  # None once the item is closed
    opened_at: datetime
    respond_by: datetime
    feedback_by: datetime
    due_at: datetime | None
    signed_at: datetime | None
    signed_by: str | None
    feedback_at: datetime | None
    escalations: int
    closed_at: datetime | None
    outcome: OutcomeName | None
    escalated_at: datetime | None
    criminal_charge: Masked | None
    reasons: list[ReasonOut]
    flags: list[FlagOut]
    model_version: str | None
    updated_at: datetime

    @classmethod
    def of(cls, item: Item, now: datetime) -> ItemOut:
        case = item.case
        return cls.model_validate(
            dict(
                id=item.id,
                case_id=item.case_id,
                area_code=item.area_code,
                case_area_code=case.area_code,
                category=case.category,
                registered_at=case.registered_at.replace(tzinfo=SHANGHAI),
                risk=case.risk,
                level=item.level,
                status=item.status,
                light=light_of(item, now),
                opened_at=local(item.opened_at),
                respond_by=local(item.respond_by),
                feedback_by=local(item.feedback_by),
                due_at=local(item.due_at),
                signed_at=local(item.signed_at),
                signed_by=item.signed_by,
                feedback_at=local(item.feedback_at),
                escalations=item.escalations,
                closed_at=local(item.closed_at),
                outcome=item.outcome,
                escalated_at=local(item.escalated_at),
                criminal_charge=item.criminal_charge,
                reasons=[ReasonOut.model_validate(r) for r in case.reasons],
                flags=[FlagOut.model_validate(f) for f in case.flags],
                model_version=case.model_version,
                updated_at=local(item.updated_at),
            )
        )


class EventOut(BaseModel):
    id: int
    at: datetime
    action: AuditAction
    actor: str
    role: RoleName
    item_id: int | None
    case_id: str | None
    from_status: StatusName | None
    to_status: StatusName | None
    from_level: LevelName | None
    to_level: LevelName | None
    from_area: str | None
    to_area: str | None
    note: Masked | None  # notes, 提级 reasons and closing notes: personal numbers masked
    detail: dict[str, Any] | None
    request_id: str | None

    @classmethod
    def of(cls, e: AuditEntry) -> EventOut:
        return cls.model_validate(
            dict(
                id=e.id,
                at=local(e.at),
                action=e.action,
                actor=e.actor,
                role=e.role,
                item_id=e.item_id,
                case_id=e.case_id,
                from_status=e.from_status,
                to_status=e.to_status,
                from_level=e.from_level,
                to_level=e.to_level,
                from_area=e.from_area,
                to_area=e.to_area,
                note=e.note,
                detail=e.detail,
                request_id=e.request_id,
            )
        )


class ItemDetail(ItemOut):
    history: list[EventOut]


class ItemPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ItemOut]


class AuditPage(BaseModel):
    total: int
    limit: int
    offset: int
    entries: list[EventOut]


class ScoreOut(BaseModel):
    case_id: str
    risk: float  # calibrated probability of 民转刑 within model.horizon_days
    level: LevelOut  # after hard flags
    model_level: LevelOut  # from the model's thresholds alone
    flags: list[FlagOut]  # hard flags that fired
    reasons: list[ReasonOut]
    model: ModelOut
    thresholds: dict[str, float]
    item: ItemOut | None
    item_created: bool
    warnings: list[Masked]


class BatchOut(BaseModel):
    results: list[ScoreOut]


class FeedbackLabel(BaseModel):
    case_id: str
    outcome: OutcomeName
    closed_at: str
    escalated: bool
    escalated_at: str | None
    criminal_charge: Masked | None
    risk: float  # what was served when the warning was raised
    level: LevelName
    model_version: str | None


class FieldErrorOut(BaseModel):
    field: str
    value: str | int | float | bool | None  # shown only when short and coded, never free text
    message: str


class ErrorOut(BaseModel):
    """Every error answer, whatever its status."""

    error: str
    message: str
    detail: list[FieldErrorOut]


class KeyOut(BaseModel):
    id: int
    name: str
    role: RoleName
    area_code: str | None  # None: every area
    all_areas: bool
    key_prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    status: Literal["active", "revoked", "expired"]

    @classmethod
    def of(cls, row: ApiKey, now: datetime) -> KeyOut:
        expired = row.expires_at is not None and row.expires_at <= now
        return cls.model_validate(
            dict(
                id=row.id,
                name=row.name,
                role=row.role,
                area_code=row.area_code,
                all_areas=row.area_code is None,
                key_prefix=row.key_prefix,
                created_at=local(row.created_at),
                expires_at=local(row.expires_at),
                revoked_at=local(row.revoked_at),
                status="revoked" if row.revoked_at is not None else "expired" if expired else "active",
            )
        )


class KeyCreated(KeyOut):
    key: str  # shown this once; only its hash is stored
    warnings: list[str]


class LiveOut(BaseModel):
    status: Literal["ok"]


class ModelStateOut(BaseModel):
    name: str
    version: str | None
    loaded_at: datetime


class HistoryStateOut(BaseModel):
    """The live history the current model scores against (serving.history_follower)."""

    state: Literal["following", "as_trained"]  # as_trained: feed_history is off
    facts_applied: int  # history facts after the model's cut-off applied to its history
    lag_seconds: float | None  # since the last read of every committed fact; None: not following


class ReadyOut(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
    model: ModelStateOut
    history: HistoryStateOut


_STATUS_TEXT = {
    400: "a request the domain rules refuse",
    401: "no API key, or one that is not valid, revoked or expired",
    403: "the key's role or area does not allow this",
    404: "no such item or key, or one outside the key's area (answered alike)",
    409: "the item's status does not allow this, it changed meanwhile, or the case_id belongs to another area",
    413: "the body is larger than the configured limit",
    415: "the body is not sent as JSON (Content-Type: application/json)",
    422: "a field breaks a rule; each is named with the rule",
    503: "no model is loaded yet, or the queue database did not take the write (nothing was stored)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route can give; serving.openapi gives each the one JSON error body."""
    return {code: {"description": _STATUS_TEXT[code]} for code in codes}
