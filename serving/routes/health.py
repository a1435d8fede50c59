"""Operations: liveness, readiness (model loaded, database reachable) and Prometheus metrics.
Open without a key, as probes and scrapers expect."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from serving.db import ping
from serving.deps import RuntimeDep
from serving.errors import error_response, field_error

router = APIRouter(tags=["operations"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/health/ready")
def ready(rt: RuntimeDep) -> JSONResponse:
    """Ready to score: a model is loaded and the queue database answers; 503 naming what is not."""
    problems = []
    loaded = rt.models.current
    if loaded is None:
        problems.append(field_error("model", rt.models.target_uri, rt.models.error or "still loading"))
    assert rt.engine is not None
    try:
        ping(rt.engine)
    except Exception as exc:  # any driver error means not ready
        problems.append(
            field_error(
                "database",
                rt.engine.url.render_as_string(),
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}",
            )
        )
    if problems or loaded is None:
        return error_response(503, "not_ready", "; ".join(p["message"] for p in problems), problems)
    return JSONResponse(
        {
            "status": "ok",
            "database": "ok",
            "model": {
                "name": loaded.name,
                "version": loaded.version,
                "uri": loaded.uri,
                "loaded_at": loaded.loaded_at.isoformat(timespec="seconds"),
            },
        }
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(rt: RuntimeDep) -> Response:
    return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)
