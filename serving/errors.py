"""The one place that turns errors into HTTP responses, all with one body shape:

    {"error": "<code>", "message": "<rule and value>", "detail": [{"field", "value", "message"}]}

Domain code (queue, auth, model store) raises the classes below or ``features.errors`` ones;
routes never build error responses themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from features.errors import DisputeRiskError, RecordError
from serving.logging_config import exception_summary

log = logging.getLogger(__name__)

_VALUE_MAX_CHARS = 200  # echo bad values back, but not a whole narrative


class ServingError(DisputeRiskError):
    status = 400
    code = "bad_request"
    headers: dict[str, str] | None = None


class InvalidInput(ServingError):
    """One or more fields break the data contract; each is a RecordError."""

    status, code = 422, "invalid_input"

    def __init__(self, errors: Sequence[RecordError]) -> None:
        super().__init__(f"{len(errors)} invalid field(s): " + "; ".join(e.field for e in errors))
        self.errors = list(errors)


class Unauthorized(ServingError):
    status, code = 401, "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(ServingError):
    status, code = 403, "forbidden"


class NotFound(ServingError):
    status, code = 404, "not_found"


class Conflict(ServingError):
    """A transition the item's current status does not allow."""

    status, code = 409, "conflict"


class PayloadTooLarge(ServingError):
    status, code = 413, "payload_too_large"


class ModelUnavailable(ServingError):
    status, code = 503, "model_unavailable"


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _VALUE_MAX_CHARS:
        return value[:_VALUE_MAX_CHARS] + "…"
    if isinstance(value, dict | list) and len(repr(value)) > _VALUE_MAX_CHARS:
        return None  # a large nested object is named by its field, not echoed whole
    return value


def field_error(field: str, value: Any, message: str) -> dict[str, Any]:
    return {"field": field, "value": _clip(value), "message": message}


def body(code: str, message: str, detail: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"error": code, "message": message, "detail": list(detail)}


def error_response(
    status: int,
    code: str,
    message: str,
    detail: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(body(code, message, detail), status_code=status, headers=headers)


def _record_detail(err: RecordError) -> dict[str, Any]:
    return field_error(err.field, err.value, f"{err.field} {err.reason}, got {_clip(err.value)!r}")


def _pydantic_field(loc: Sequence[Any]) -> str:
    # ("body", "cases", 3, "parties", 0, "role") -> "cases[3].parties[0].role"
    out = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _pydantic_message(field: str, err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return f"{field} is required"
    if kind == "json_invalid":
        return f"the body must be valid JSON: {err.get('ctx', {}).get('error', err.get('msg'))}"
    if kind == "value_error":  # our own validators state the rule themselves
        return f"{field} {err['ctx']['error']}, got {_clip(err.get('input'))!r}"
    return f"{field}: {err.get('msg', 'invalid value')}, got {_clip(err.get('input'))!r}"


def validation_detail(errors: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = () if err.get("type") == "json_invalid" else err.get("loc", ())
        field = _pydantic_field(loc)
        value = None if err.get("type") in ("missing", "json_invalid") else err.get("input")
        out.append(field_error(field, value, _pydantic_message(field, err)))
    return out


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = validation_detail(exc.errors())
        return error_response(422, "invalid_input", f"{len(detail)} invalid field(s)", detail)

    @app.exception_handler(ServingError)
    async def _serving(request: Request, exc: ServingError) -> JSONResponse:
        detail = [_record_detail(e) for e in exc.errors] if isinstance(exc, InvalidInput) else []
        return error_response(exc.status, exc.code, str(exc), detail, exc.headers)

    @app.exception_handler(RecordError)
    async def _record(request: Request, exc: RecordError) -> JSONResponse:
        detail = _record_detail(exc)
        return error_response(422, "invalid_input", detail["message"], [detail])

    @app.exception_handler(DisputeRiskError)
    async def _domain(request: Request, exc: DisputeRiskError) -> JSONResponse:
        return error_response(400, "bad_request", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))


def unexpected(exc: BaseException) -> JSONResponse:
    """The 500 answer to an error nothing else handled. It is logged by type and place only
    (see logging_config.exception_summary), and not raised further: the server's own handler
    would log the message and traceback text, which may carry values from the request."""
    log.error("unhandled error", extra={"error": exception_summary(exc)})
    return error_response(500, "internal_error", "internal error; see the server log with this request id")
