"""The console as an app of its own, mounted in the API at ``/console``: its routes, its static
files, its answers to refusals (a redirect to the login page, or a page saying what was refused,
never the API's JSON), the CSRF check on every POST and the security headers on every answer.

A mounted app shares the API's runtime (database, model, clock, settings) and its request
middleware (request id, body limit, metrics, access log), but not its OpenAPI schema: the
console's HTML routes are no part of the API's contract."""

from __future__ import annotations

from pathlib import Path
from typing import Final
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.console import (
    routes_actions,
    routes_assess,
    routes_auth,
    routes_index,
    routes_model,
    routes_queue,
    sessions,
)
from serving.console.deps import CsrfRefused, LoginRequired, RoleRefused, csrf_guard
from serving.console.pages import base_path, render
from serving.console.security import ConsoleHeaders
from serving.deps import Runtime
from serving.errors import Forbidden, ModelUnavailable, NotFound, ServingError

MOUNT: Final = "/console"
STATIC: Final = Path(__file__).with_name("static")


def create_console(runtime: Runtime) -> FastAPI:
    """The console app over ``runtime`` (the API's, completed by the API's lifespan)."""
    console = FastAPI(
        title="dispute-risk console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    console.state.runtime = runtime
    for module in (routes_auth, routes_queue, routes_actions, routes_index, routes_model, routes_assess):
        console.include_router(module.router)
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    _install_handlers(console)
    console.add_middleware(ConsoleHeaders)
    return console


def _page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", None, status=status, title=title, message=message)


def _install_handlers(console: FastAPI) -> None:
    @console.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        # A cookie that no longer names a session: it ended (idle, too old, logged out elsewhere).
        expired = "expired=1" if request.cookies.get(sessions.COOKIE) else ""
        login = f"{base_path(request)}/login"
        if request.method == "GET":
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            query = f"next={quote(here, safe='')}" + (f"&{expired}" if expired else "")
            response = RedirectResponse(f"{login}?{query}", status_code=303)
        else:
            response = RedirectResponse(f"{login}?{expired}" if expired else login, status_code=303)
        if expired:
            response.delete_cookie(sessions.COOKIE, path=base_path(request) or "/")
        return response

    @console.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        message = "表单已失效或来源不明（CSRF 校验未通过），操作未执行。请返回、刷新页面后重试。"
        return _page(request, 403, "操作被拒绝", message)

    @console.exception_handler(RoleRefused)
    async def _role(request: Request, exc: RoleRefused) -> Response:
        return _page(request, 403, "无权访问", "您的角色无权访问此页面。")

    @console.exception_handler(ServingError)
    async def _serving(request: Request, exc: ServingError) -> Response:
        if isinstance(exc, NotFound):  # a missing item and another area's read alike
            return _page(request, 404, "未找到", "未找到该内容，或它不在您的辖区范围内。")
        if isinstance(exc, Forbidden):
            return _page(request, 403, "无权操作", "该操作超出您的角色或辖区范围。")
        if isinstance(exc, ModelUnavailable):
            return _page(request, 503, "模型未就绪", "风险模型尚未加载完成，请稍后重试。")
        return _page(request, exc.status, "请求未完成", "请求未能完成，请返回后重试。")

    @console.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return _page(request, 400, "请求有误", "请求的参数不完整或格式不正确。")

    @console.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _page(request, 404, "未找到", "没有这个页面。")
        return _page(request, exc.status_code, "请求未完成", "该请求方式不被支持。")
