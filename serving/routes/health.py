"""Operations: liveness, readiness (model loaded, database reachable, live history following)
and Prometheus metrics.
Probes need no key; /metrics needs one when ``metrics_require_key`` is set. Readiness reports
states only: no model or database URI, no driver message (a URI may carry a password)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from serving.db import ping
from serving.deps import RuntimeDep, get_principal
from serving.errors import error_response, field_error
from serving.logging_config import exception_summary
from serving.schemas import LiveOut, ReadyOut, error_responses, local

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


@router.get("/health/live", response_model=LiveOut)
async def live() -> LiveOut:
    """The process answers."""
    return LiveOut(status="ok")


@router.get("/health/ready", response_model=ReadyOut, responses=error_responses(503))
def ready(rt: RuntimeDep) -> JSONResponse:
    """Ready to score: a model is loaded, the queue database answers and the model's history
    follows the history facts; 503 naming what is not (the reasons are in the server log)."""
    problems = []
    loaded = rt.models.current
    if loaded is None:
        state = "failed to load; see the server log" if rt.models.error else "still loading"
        problems.append(field_error("model", None, f"model: {state}"))
    assert rt.engine is not None
    try:
        ping(rt.engine)
    except Exception as exc:  # any driver error means not ready; its text may name the server
        log.warning("readiness: the database does not answer", extra={"error": exception_summary(exc)})
        problems.append(field_error("database", None, "database: not reachable; see the server log"))
    history = rt.follower.status(loaded.history if loaded is not None else None)
    if history.state in ("stalled", "starting") and loaded is not None:
        # A history that stopped following scores repeat parties as if their last cases never happened.
        problems.append(field_error("history", None, f"history: {history.state}; see the server log"))
    if problems or loaded is None:
        return error_response(503, "not_ready", "; ".join(p["message"] for p in problems), problems)
    body = ReadyOut.model_validate(
        {
            "status": "ok",
            "database": "ok",
            "model": {"name": loaded.name, "version": loaded.version, "loaded_at": local(loaded.loaded_at)},
            "history": {
                "state": history.state,
                "facts_applied": history.facts_applied,
                "lag_seconds": history.lag_seconds,
            },
        }
    )
    return JSONResponse(body.model_dump(mode="json"))


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, rt: RuntimeDep) -> Response:
    if rt.settings.metrics_require_key:
        await get_principal(request)  # any valid key: a scraper gets one of its own
    return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)
