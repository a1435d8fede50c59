"""One pure-ASGI middleware for what every request needs: a request id (X-Request-ID in and
out, and in every log line), the body size limit checked before any parsing, the latency
histogram and one access log line. Pure ASGI rather than BaseHTTPMiddleware: it adds almost
nothing to a request that takes a few milliseconds."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

from serving.errors import error_response, unexpected
from serving.logging_config import request_id_var
from serving.metrics import Metrics

log = logging.getLogger("serving.access")

_SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
Scope = dict[str, Any]


class RequestContextMiddleware:
    def __init__(self, app: Any, *, max_body_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        # An incoming id is kept only if it is short and plain: it goes into logs and headers.
        rid = incoming if _SAFE_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        status, started = 500, False
        start = time.perf_counter()

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (b"x-request-id", rid.encode())],
                }
            await send(message)

        try:
            receive_body = await self._limited_body(headers, receive)
            if receive_body is None:
                response = error_response(
                    413, "payload_too_large", f"the request body must be at most {self.max_body_bytes} bytes"
                )
                await response(scope, receive, send_with_id)
            else:
                await self.app(scope, receive_body, send_with_id)
        except Exception as exc:
            if started:  # too late for a clean answer: the client sees the connection drop
                raise
            await unexpected(exc)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.latency.labels(scope["method"], path, str(status)).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": path,
                    "path": scope["path"],
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)

    async def _limited_body(self, headers: dict[bytes, bytes], receive: Any) -> Any | None:
        """``receive`` itself when the declared length is within the limit; a replay of the
        buffered body when no length is declared (chunked) and it fits; None when too large."""
        declared = headers.get(b"content-length")
        if declared is not None:
            return receive if declared.isdigit() and int(declared) <= self.max_body_bytes else None
        if b"transfer-encoding" not in headers:
            return receive
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return receive  # disconnected: let the app see it
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def receive_replay() -> dict[str, Any]:
            return replay.pop() if replay else await receive()

        return receive_replay
