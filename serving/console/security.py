"""The console's response headers and its last line of defence against an unexpected error.

Every console response gets a strict Content-Security-Policy (only the app's own scripts,
styles, images and fonts; no inline script or event handler; forms post only here; never
framed), unless its route set a stricter one of its own (a printable page allows its one inline
style by hash). Pages are never cached: they carry personal data.

An error no route handled becomes a plain HTML 500 page, logged by type and place only
(``logging_config.exception_summary``), as the API's middleware does: the console runs as a
mounted app, whose own error middleware would otherwise answer in text and raise again.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any, Final

from starlette.responses import HTMLResponse

from serving.logging_config import exception_summary

log = logging.getLogger(__name__)

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS: Final = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
NO_STORE: Final = "no-store"


def page_csp(style_hash: str) -> str:
    """The CSP of a page whose only inline content is one fixed stylesheet: ``style_hash``
    (``'sha256-…'``) allows exactly it, and still nothing else."""
    return CSP.replace("style-src 'self'", f"style-src 'self' {style_hash}")


class ConsoleHeaders:
    """Pure ASGI middleware: the headers above on every response, and the 500 page."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        # Read before the app runs: routing rewrites the scope's root_path in place.
        static = scope.get("path", "").startswith(f"{scope.get('root_path', '')}/static/")

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                extra = dict(HEADERS)
                extra["content-security-policy"] = CSP
                if not static:  # the style and script may be cached; pages never
                    extra["cache-control"] = NO_STORE
                headers += [(k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception as exc:
            if started:
                raise
            log.error("console error", extra={"error": exception_summary(exc)})
            page = HTMLResponse(ERROR_500, status_code=500)
            await page(scope, receive, with_headers)


ERROR_500: Final = (
    '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>系统错误</title></head>'
    "<body><h1>系统错误</h1><p>处理请求时发生内部错误，已记录在服务器日志中。请稍后重试，或联系系统管理员。</p>"
    '<p><a href="./">返回首页</a></p></body></html>'
)
