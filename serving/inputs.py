"""Request bodies. Their types (``serving.field_types``) are the OpenAPI schema and the first check;
the contract's own record rules (``features.records``, the ones the file loader applies) then run on
the same values, and ``serving.intake_rules`` adds what only the API can know (the clock, the party
list beside n_parties)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from serving.field_types import (
    Age,
    Amount,
    AreaCode,
    CaseAreaCode,
    CaseId,
    Charge,
    Count,
    DateTimeText,
    Gender,
    Line,
    Narrative,
    Note,
    OptionalLine,
    OutcomeName,
    PartyId,
    PartyRole,
    PartyType,
    PositiveCount,
    RoleName,
)

MAX_PARTIES = 100
MAX_BATCH = 10_000  # the most any deployment may allow (settings.batch_max_cases is the limit in force)


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    party_id: PartyId
    role: PartyRole
    party_type: PartyType
    gender: Gender | None = None
    age: Age | None = None
    key_groups: OptionalLine | None = Field(default=None, description="`;`-separated 重点人群 tags")


class CaseIn(BaseModel):
    """One case as the data contract describes it, with its parties nested. Rules beyond this
    schema (422 naming the field): registered_at is a real date and time, not later than the
    server's clock plus its tolerance (10 minutes); n_parties equals the number of parties when
    they are listed; in a batch, each case_id appears once."""

    model_config = ConfigDict(extra="ignore")

    case_id: CaseId
    registered_at: DateTimeText
    area_code: CaseAreaCode
    grid_code: OptionalLine | None = None
    source: Line = Field(description="来源渠道; an unseen value is treated as 其他, with a warning")
    category: Line = Field(description="纠纷类别; an unseen value is treated as 其他, with a warning")
    narrative: Narrative
    amount_yuan: Amount | None = None
    n_parties: PositiveCount = Field(
        description="当事方数量; equals the number of parties when they are listed"
    )
    n_people: PositiveCount
    police_calls_before: Count | None = None
    mediation_attempts: Count | None = None
    parties: list[PartyIn] = Field(default_factory=list, max_length=MAX_PARTIES)


class BatchIn(BaseModel):
    cases: list[CaseIn] = Field(max_length=MAX_BATCH)


class NoteIn(BaseModel):
    text: Note


class EscalateIn(BaseModel):
    reason: Note | None = None


class CloseIn(BaseModel):
    """Beyond this schema (422): escalated_at is a real time, neither in the future nor before
    the case was registered, and only given (like criminal_charge) with the outcome 民转刑."""

    outcome: OutcomeName
    note: Note | None = None
    escalated_at: DateTimeText | None = Field(
        default=None, description="民转刑 only: when the criminal case arose (default: now)"
    )
    criminal_charge: Charge | None = None


class _KeyIn(BaseModel):
    """Beyond this schema (422): expires_at lies in the future; once the area table is loaded,
    area_code must be one of its areas."""

    model_config = ConfigDict(extra="forbid")

    role: RoleName
    name: Line | None = Field(default=None, description="who holds the key (shown in the audit log)")
    expires_at: DateTimeText | None = Field(
        default=None, description="when the key stops working (401 from then on); must lie in the future"
    )


class KeyForArea(_KeyIn):
    """A key limited to one area and everything below it."""

    area_code: AreaCode


class KeyForAllAreas(_KeyIn):
    """A key for every area: said explicitly, never implied by a missing area."""

    all_areas: Literal[True]


KeyIn = KeyForArea | KeyForAllAreas
