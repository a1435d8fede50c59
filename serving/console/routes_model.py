"""模型状态 (analysts, admins): the registry's champion with its validation figures, the promotion
gate's decisions, when it held champion, the monitoring warnings; beside what this server has
loaded and how its live history follows intake."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from serving.console import auditing
from serving.console.deps import ModelReader
from serving.console.model_status import METRICS, WINDOW_NAMES, read_status
from serving.console.pages import render
from serving.deps import Runtime

router = APIRouter()


@router.get("/model", name="model_status")
async def model_status(request: Request, login: ModelReader) -> HTMLResponse:
    rt: Runtime = request.app.state.runtime
    state = await run_in_threadpool(read_status, rt.settings)  # MLflow: local files or a server
    loaded = rt.models.current
    history = rt.follower.status(loaded.history if loaded is not None else None)
    await run_in_threadpool(auditing.view, rt, login.who, {"page": "model"})
    return render(
        request, "model.html", login.who, login.csrf,
        model=state, loaded=loaded, load_error=rt.models.error is not None, history=history,
        metric_names=[label for _, label in METRICS], window_names=WINDOW_NAMES,
    )  # fmt: skip
