"""Scoring at intake: POST /v1/cases/score and /v1/cases/score-batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fastapi import APIRouter, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from serving import queue, scoring
from serving.auth import Principal
from serving.deps import Intake, Runtime, RuntimeDep
from serving.model_store import LoadedModel
from serving.schemas import BatchIn, BatchOut, CaseIn, ItemOut, ScoreOut

router = APIRouter(prefix="/v1/cases", tags=["scoring"])


def _record(
    session: Session, policy: queue.Policy, scored: Sequence[scoring.Scored], who: Principal, now: datetime
) -> list[queue.ScoreResult]:
    """Write every case's item in one transaction. A concurrent request for the same case_id
    (unique item, optimistic version) makes this attempt fail; the retry then finds the item
    and updates it, so a case never gets a second item."""
    for attempt in range(3):
        try:
            results = [queue.record_score(session, policy, s.assessment, who, now) for s in scored]
            session.commit()
            return results
        except (IntegrityError, StaleDataError):
            session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _answer(
    rt: Runtime,
    loaded: LoadedModel,
    checked: Sequence[scoring.CheckedCase],
    scored: Sequence[scoring.Scored],
    results: Sequence[queue.ScoreResult],
    now: datetime,
) -> list[ScoreOut]:
    metrics = rt.metrics
    out = []
    for c, s, r in zip(checked, scored, results, strict=True):
        if rt.settings.feed_history:  # the next case of the same people will see this one
            rt.history.submit(loaded.model, c.case, c.parties)
        metrics.scores.labels(s.assessment.level).inc()
        for flag in s.flags:
            metrics.flags.labels(flag.code).inc()
        if r.created:
            metrics.items_opened.labels(s.assessment.level).inc()
        item = ItemOut.of(r.item, now) if r.item is not None else None
        out.append(scoring.response(s, loaded, item, r.created, r.warnings))
    return out


@router.post("/score", response_model=ScoreOut)
def score_case(case: CaseIn, user: Intake, rt: RuntimeDep) -> Response:
    """Score one case; open its supervision item when the warning is high enough, or update
    the case's item if it has one (the same case_id never opens a second item)."""
    loaded = rt.models.get()
    checked = scoring.check_one(case)
    user.require_area(checked.case["area_code"], f"case {checked.case['case_id']}")
    scored = scoring.score(loaded, checked, rt.settings.n_reasons)
    now = rt.clock()
    with rt.writing(), rt.session() as session:
        results = _record(session, rt.policy, [scored], user, now)
        (out,) = _answer(rt, loaded, [checked], [scored], results, now)
    return Response(out.model_dump_json(), media_type="application/json")


@router.post("/score-batch", response_model=BatchOut)
def score_batch(batch: BatchIn, user: Intake, rt: RuntimeDep) -> Response:
    """Score up to ``batch_max_cases`` cases; all are checked first, and one bad case rejects
    the batch (422 naming cases[i].field), so a batch is stored whole or not at all."""
    loaded = rt.models.get()
    checked = scoring.check_batch(batch.cases, rt.settings.batch_max_cases)
    for c in checked:
        user.require_area(c.case["area_code"], f"case {c.case['case_id']}")
    scored = [scoring.score(loaded, c, rt.settings.n_reasons) for c in checked]
    now = rt.clock()
    with rt.writing(), rt.session() as session:
        results = _record(session, rt.policy, scored, user, now)
        out = BatchOut(results=_answer(rt, loaded, checked, scored, results, now))
    return Response(out.model_dump_json(), media_type="application/json")
