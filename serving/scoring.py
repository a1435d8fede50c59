"""From a contract-shaped case to what the API answers and the queue keeps: the contract's
own checks (``features.contract``, the ones the file loader applies), the model's single-case
path, and the hard flags beside it. No pandas here: this runs once per request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from features.errors import RecordError
from features.records import check_case, check_party, record_warnings
from risk.flags import Flag, apply_flags, evaluate_flags
from risk.model import ScoredCase
from serving import intake_rules
from serving.errors import InvalidInput
from serving.intake_rules import IntakeLimits
from serving.model_store import LoadedModel
from serving.queue import Assessment
from serving.schemas import CaseIn, FlagOut, ModelOut, ReasonOut, ScoreOut


@dataclass(frozen=True)
class CheckedCase:
    case: dict[str, Any]  # typed contract values (registered_at naive Shanghai time, NaN = unknown)
    parties: list[dict[str, Any]]
    warnings: list[str]


def _prefixed(where: str, errors: Sequence[RecordError]) -> list[RecordError]:
    return [RecordError(f"{where}{e.field}", e.value, e.reason) for e in errors]


def check(
    case_in: CaseIn, where: str = "", limits: IntakeLimits | None = None
) -> tuple[CheckedCase | None, list[RecordError]]:
    """The typed case and parties, or every broken rule (fields named as in the request body)."""
    case, errors = check_case(case_in.model_dump(exclude={"parties"}))
    errors = _prefixed(where, errors)
    if limits is not None:
        errors += intake_rules.check(case_in, case, where, limits)
    parties = []
    for i, party_in in enumerate(case_in.parties):
        party, party_errors = check_party(party_in.model_dump() | {"case_id": case_in.case_id})
        # The nested party's case_id is the case's own; its errors are reported on the case.
        errors += _prefixed(f"{where}parties[{i}].", [e for e in party_errors if e.field != "case_id"])
        parties.append(party)
    if errors:
        return None, errors
    return CheckedCase(case, parties, record_warnings(case)), []


def check_one(case_in: CaseIn, limits: IntakeLimits | None = None) -> CheckedCase:
    checked, errors = check(case_in, limits=limits)
    if checked is None:
        raise InvalidInput(errors)
    return checked


def check_batch(cases: Sequence[CaseIn], limit: int, limits: IntakeLimits | None = None) -> list[CheckedCase]:
    if len(cases) > limit:
        raise InvalidInput([RecordError("cases", len(cases), f"must hold at most {limit} cases")])
    out: list[CheckedCase] = []
    errors: list[RecordError] = []
    seen: set[object] = set()
    for i, case_in in enumerate(cases):
        if case_in.case_id in seen:
            errors.append(
                RecordError(f"cases[{i}].case_id", case_in.case_id, "must be unique within a batch")
            )
        seen.add(case_in.case_id)
        checked, case_errors = check(case_in, f"cases[{i}].", limits)
        errors += case_errors
        if checked is not None:
            out.append(checked)
    if errors:
        raise InvalidInput(errors)
    return out


@dataclass(frozen=True)
class Scored:
    assessment: Assessment
    scored: ScoredCase
    flags: list[Flag]
    warnings: list[str]


def score(loaded: LoadedModel, checked: CheckedCase, n_reasons: int) -> Scored:
    scored = loaded.model.score_case(
        checked.case, checked.parties, history=loaded.history, n_reasons=n_reasons
    )
    flags = evaluate_flags(checked.case, checked.parties, scored.cues)
    case = checked.case
    assessment = Assessment(
        case_id=case["case_id"],
        area_code=case["area_code"],
        category=case["category"],
        source=case["source"],
        registered_at=case["registered_at"],
        risk=float(scored.risk),
        model_level=scored.level,
        level=apply_flags(scored.level, flags),
        flags=[{"code": f.code, "level": f.level, "text": f.text} for f in flags],
        reasons=[
            {"code": r.code, "text": r.text, "direction": r.direction, "contribution": float(r.contribution)}
            for r in scored.reasons
        ],
        model_name=loaded.name,
        model_version=loaded.version,
    )
    return Scored(assessment, scored, flags, checked.warnings)


def response(
    s: Scored, loaded: LoadedModel, item: Any, created: bool, queue_warnings: Sequence[str]
) -> ScoreOut:
    a = s.assessment
    return ScoreOut(
        case_id=a.case_id,
        risk=a.risk,
        level=a.level,
        model_level=a.model_level,
        flags=[FlagOut(**f) for f in a.flags],
        reasons=[ReasonOut(**r) for r in a.reasons],
        model=ModelOut(name=loaded.name, version=loaded.version, horizon_days=loaded.model.horizon_days),
        thresholds=dict(loaded.model.thresholds),
        item=item,
        item_created=created,
        warnings=[*s.warnings, *queue_warnings],
    )
