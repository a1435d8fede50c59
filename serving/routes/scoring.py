"""Scoring at intake: POST /v1/cases/score and /v1/cases/score-batch.

The single-case route is ``async``: scoring one case is ~0.5 ms of CPU, cheaper inline on the
event loop than a hop to the threadpool and back (threads only fight over the GIL for it: with
16 clients that fight cost more CPU than the work). Every answer waits for its case's history
facts to be committed (serving.history_facts): a case that opens or has an item writes them in
the item's transaction; most cases open no item and have none (one indexed read of the queue
tells), and their facts go to the group-commit writer (serving.fact_writer), awaited. On SQLite
the read and the item write run on the loop too (see ``Runtime.inline_db``); on PostgreSQL they
wait in the threadpool, so a commit waiting for the server's disk never stalls the loop."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.concurrency import run_in_threadpool

from serving import history_facts, queue, scoring
from serving.auth import Principal
from serving.deps import Intake, Runtime, RuntimeDep
from serving.model_store import LoadedModel
from serving.schemas import BatchIn, BatchOut, CaseIn, ItemOut, ScoreOut, error_responses

router = APIRouter(
    prefix="/v1/cases", tags=["scoring"], responses=error_responses(400, 401, 403, 409, 413, 415, 422, 503)
)
_JSON = "application/json"


def _record(
    session: Session,
    policy: queue.Policy,
    scored: Sequence[scoring.Scored],
    facts: Sequence[dict[str, Any]],
    who: Principal,
    now: datetime,
) -> list[queue.ScoreResult]:
    """Write every case's item and history facts in one transaction. A concurrent request for
    the same case_id (unique item, optimistic version) makes this attempt fail; the retry then
    finds the item and updates it, so a case never gets a second item."""
    for attempt in range(3):
        try:
            results = [queue.record_score(session, policy, s.assessment, who, now) for s in scored]
            history_facts.append(session.connection(), facts)
            session.commit()
            return results
        except (IntegrityError, StaleDataError):
            session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store(
    rt: Runtime,
    scored: Sequence[scoring.Scored],
    facts: Sequence[dict[str, Any]],
    who: Principal,
    now: datetime,
    *,
    locked: bool = False,
) -> tuple[list[queue.ScoreResult], list[ItemOut | None]]:
    """The write transaction (committed before the answer) and the items as answered.
    ``locked``: the caller holds the write lock already."""
    with nullcontext() if locked else rt.writing(), rt.session() as session:
        results = _record(session, rt.policy, scored, facts, who, now)
        return results, [ItemOut.of(r.item, now) if r.item is not None else None for r in results]


def _has_item(rt: Runtime, case_id: str) -> bool:
    """Whether the case already has an item (a server database: run in the threadpool)."""
    assert rt.engine is not None, "the lifespan has not run"
    with rt.engine.connect() as conn:
        return queue.item_id_for(conn, case_id) is not None


def _fact(checked: scoring.CheckedCase, scored: scoring.Scored, now: datetime) -> dict[str, Any]:
    return history_facts.case_fact(checked.case, checked.parties, scored.scored.cues, now)


def _answer(
    rt: Runtime,
    loaded: LoadedModel,
    scored: Sequence[scoring.Scored],
    results: Sequence[queue.ScoreResult],
    items: Sequence[ItemOut | None],
) -> list[ScoreOut]:
    metrics = rt.metrics
    out = []
    for s, r, item in zip(scored, results, items, strict=True):
        metrics.scores.labels(s.assessment.level).inc()
        for flag in s.flags:
            metrics.flags.labels(flag.code).inc()
        if r.created:
            metrics.items_opened.labels(s.assessment.level).inc()
        out.append(scoring.response(s, loaded, item, r.created, r.warnings))
    return out


@router.post("/score", response_model=ScoreOut)
async def score_case(case: CaseIn, user: Intake, rt: RuntimeDep) -> Response:
    """Score one case; open its supervision item when the warning is high enough, or update
    the case's item if it has one (the same case_id never opens a second item)."""
    loaded = rt.models.get()
    checked = scoring.check_one(case, rt.intake_limits())
    user.require_area(checked.case["area_code"], f"case {checked.case['case_id']}")
    scored = scoring.score(loaded, checked, rt.settings.n_reasons)
    now = rt.clock()
    # A level that opens no item writes no item, unless the case has one to re-score.
    case_id = scored.assessment.case_id
    write = rt.policy.opens(scored.assessment.level) or (
        rt.item_id_for(case_id) is not None
        if rt.inline_db
        else await run_in_threadpool(_has_item, rt, case_id)
    )
    facts = [_fact(checked, scored, now)]
    if write and rt.inline_db and rt.try_writing():
        try:
            results, items = _store(rt, [scored], facts, user, now, locked=True)
        finally:
            rt.writing().__exit__(None, None, None)
    elif write:  # PostgreSQL, or another SQLite writer at work: wait in the threadpool
        results, items = await run_in_threadpool(_store, rt, [scored], facts, user, now)
    else:  # the facts alone: group commit with other requests' (fact_writer), awaited
        await rt.facts.commit(facts[0])
        results, items = [queue.ScoreResult(None)], [None]
    (out,) = _answer(rt, loaded, [scored], results, items)
    return Response(out.model_dump_json(), media_type=_JSON)


@router.post("/score-batch", response_model=BatchOut)
def score_batch(batch: BatchIn, user: Intake, rt: RuntimeDep) -> Response:
    """Score up to ``batch_max_cases`` cases; all are checked first, and one bad case rejects
    the batch (422 naming cases[i].field), so a batch is stored whole or not at all."""
    loaded = rt.models.get()
    checked = scoring.check_batch(batch.cases, rt.settings.batch_max_cases, rt.intake_limits())
    for c in checked:
        user.require_area(c.case["area_code"], f"case {c.case['case_id']}")
    scored = [scoring.score(loaded, c, rt.settings.n_reasons) for c in checked]
    now = rt.clock()
    facts = [_fact(c, s, now) for c, s in zip(checked, scored, strict=True)]
    results, items = _store(rt, scored, facts, user, now)
    out = BatchOut(results=_answer(rt, loaded, scored, results, items))
    return Response(out.model_dump_json(), media_type=_JSON)
