"""Request and response bodies. Pydantic checks the *shape* (which fields, which JSON types);
the contract's rules (ranges, codes, lengths, vocabularies) are checked by
``features.contract`` so the API and the file loader accept exactly the same records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, overload

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from serving.queue import SHANGHAI, light_of
from serving.tables import AuditEntry, Item


@overload
def local(value: datetime) -> datetime: ...
@overload
def local(value: None) -> None: ...
def local(value: datetime | None) -> datetime | None:
    """Timestamps leave the API in Shanghai time with their offset (+08:00)."""
    return None if value is None else value.astimezone(SHANGHAI)


# ---- input --------------------------------------------------------------------------------------


def _scalar(value: Any) -> Any:
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    raise ValueError("must be a string, a number or null")


# Scalars stay as sent (a string, a number or null): the contract's checks parse them exactly
# as they parse a CSV cell, so "-3", -3 and -3.0 meet the same rule and the same message.
Scalar = Annotated[Any, BeforeValidator(_scalar)]


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    party_id: Scalar
    role: Scalar
    party_type: Scalar
    gender: Scalar = None
    age: Scalar = None
    key_groups: Scalar = None


class CaseIn(BaseModel):
    """One case as the data contract describes it, with its parties nested."""

    model_config = ConfigDict(extra="ignore")

    case_id: Scalar
    registered_at: Scalar
    area_code: Scalar
    grid_code: Scalar = None
    source: Scalar
    category: Scalar
    narrative: Scalar
    amount_yuan: Scalar = None
    n_parties: Scalar
    n_people: Scalar
    police_calls_before: Scalar = None
    mediation_attempts: Scalar = None
    parties: list[PartyIn] = Field(default_factory=list)


class BatchIn(BaseModel):
    cases: list[CaseIn]


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class EscalateIn(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class CloseIn(BaseModel):
    outcome: str
    note: str | None = Field(default=None, max_length=2000)
    escalated_at: str | None = None  # 民转刑 only: when the criminal case arose (contract date-time)
    criminal_charge: str | None = Field(default=None, max_length=32)


# ---- output -------------------------------------------------------------------------------------


class ReasonOut(BaseModel):
    code: str
    text: str
    direction: str
    contribution: float


class FlagOut(BaseModel):
    code: str
    level: str
    text: str


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
    level: str
    status: str
    light: str | None
    opened_at: datetime
    respond_by: datetime
    feedback_by: datetime
    due_at: datetime | None
    signed_at: datetime | None
    signed_by: str | None
    feedback_at: datetime | None
    escalations: int
    closed_at: datetime | None
    outcome: str | None
    escalated_at: datetime | None
    criminal_charge: str | None
    reasons: list[ReasonOut]
    flags: list[FlagOut]
    model_version: str | None
    updated_at: datetime

    @classmethod
    def of(cls, item: Item, now: datetime) -> ItemOut:
        case = item.case
        return cls(
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
            reasons=[ReasonOut(**r) for r in case.reasons],
            flags=[FlagOut(**f) for f in case.flags],
            model_version=case.model_version,
            updated_at=local(item.updated_at),
        )


class EventOut(BaseModel):
    id: int
    at: datetime
    action: str
    actor: str
    role: str
    item_id: int | None
    case_id: str | None
    from_status: str | None
    to_status: str | None
    from_level: str | None
    to_level: str | None
    from_area: str | None
    to_area: str | None
    note: str | None
    detail: dict[str, Any] | None
    request_id: str | None

    @classmethod
    def of(cls, e: AuditEntry) -> EventOut:
        return cls(
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
    level: str  # after hard flags
    model_level: str  # from the model's thresholds alone
    flags: list[FlagOut]  # hard flags that fired
    reasons: list[ReasonOut]
    model: ModelOut
    thresholds: dict[str, float]
    item: ItemOut | None
    item_created: bool
    warnings: list[str]


class BatchOut(BaseModel):
    results: list[ScoreOut]


class FeedbackLabel(BaseModel):
    case_id: str
    outcome: str
    closed_at: str
    escalated: bool
    escalated_at: str | None
    criminal_charge: str | None
