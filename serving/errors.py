"""The one place that turns errors into HTTP responses, all with one body shape:

    {"error": "<code>", "message": "<rule and value>", "detail": [{"field", "value", "message"}]}

Domain code (queue, auth, model store) raises the classes below or ``features.errors`` ones;
routes never build error responses themselves. A body names the field and the rule; it shows a
bad value only when it is short and coded (a level, a count, an id), never free text, and always
through the personal-data masker (``error_messages.shown``), so a body can always be encoded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from features.errors import DisputeRiskError, RecordError
from features.personal_data import mask_personal
from serving.error_messages import HIDDEN, pydantic_message, shown, with_value
from serving.logging_config import exception_summary

log = logging.getLogger(__name__)


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
    """A transition the item's current status does not allow, or a case_id taken elsewhere."""

    status, code = 409, "conflict"


class PayloadTooLarge(ServingError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ServingError):
    status, code = 415, "unsupported_media_type"


class ModelUnavailable(ServingError):
    status, code = 503, "model_unavailable"


class StoreUnavailable(ServingError):
    """A write the answer depends on (a case's history facts) did not commit: nothing of the
    request was stored, so sending it again is safe."""

    status, code = 503, "store_unavailable"


JSON_BODY_RULE = "the request body must be JSON, sent with Content-Type: application/json"


def field_error(field: str, value: Any, message: str) -> dict[str, Any]:
    """One entry of ``detail``; ``value`` is kept only where ``shown`` allows it."""
    value = shown(field, value)
    return {"field": field, "value": None if value is HIDDEN else value, "message": mask_personal(message)}


def body(code: str, message: str, detail: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"error": code, "message": mask_personal(message), "detail": list(detail)}


def error_response(
    status: int,
    code: str,
    message: str,
    detail: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    try:
        return JSONResponse(body(code, message, detail), status_code=status, headers=headers)
    except (TypeError, ValueError):  # a value that slipped through cannot be encoded: drop values
        bare = [{"field": str(d.get("field")), "value": None, "message": ""} for d in detail]
        return JSONResponse(body(code, message, bare), status_code=status, headers=headers)


def _record_detail(err: RecordError) -> dict[str, Any]:
    return field_error(err.field, err.value, with_value(f"{err.field} {err.reason}", err.field, err.value))


def _pydantic_field(loc: Sequence[Any]) -> str:
    # ("body", "cases", 3, "parties", 0, "role") -> "cases[3].parties[0].role"
    out = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def validation_detail(errors: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = () if err.get("type") == "json_invalid" else err.get("loc", ())
        field = _pydantic_field(loc)
        value = None if err.get("type") in ("missing", "json_invalid") else err.get("input")
        out.append(field_error(field, value, pydantic_message(field, err, value)))
    return out


def _not_json(errors: Sequence[dict[str, Any]]) -> bool:
    """FastAPI hands the raw bytes to validation when the content type is not JSON (curl's form
    encoding, text/plain, none at all): that is the body's media type, not a field's value."""
    return any(
        tuple(err.get("loc", ()))[:1] == ("body",) and isinstance(err.get("input"), bytes | bytearray)
        for err in errors
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if _not_json(errors):
            detail = [field_error("body", None, JSON_BODY_RULE)]
            return error_response(415, UnsupportedMediaType.code, JSON_BODY_RULE, detail)
        detail = validation_detail(errors)
        return error_response(422, "invalid_input", f"{len(detail)} invalid field(s)", detail)

    @app.exception_handler(ServingError)
    async def _serving(request: Request, exc: ServingError) -> JSONResponse:
        detail = [_record_detail(e) for e in exc.errors] if isinstance(exc, InvalidInput) else []
        message = _model_state(exc) if isinstance(exc, ModelUnavailable) else str(exc)
        return error_response(exc.status, exc.code, message, detail, exc.headers)

    @app.exception_handler(RecordError)
    async def _record(request: Request, exc: RecordError) -> JSONResponse:
        detail = _record_detail(exc)
        return error_response(422, "invalid_input", detail["message"], [detail])

    @app.exception_handler(DisputeRiskError)
    async def _domain(request: Request, exc: DisputeRiskError) -> JSONResponse:
        return error_response(400, "bad_request", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _FASTAPI_BODY_ERROR:
            detail = [field_error("body", None, UNREADABLE_BODY)]
            return error_response(400, "invalid_body", UNREADABLE_BODY, detail)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # every method of the path, not only those of the first route
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)


# FastAPI's answer when the JSON decoder itself fails beyond a syntax error (Python refuses
# integers of more than 4300 digits, for one); said in the project's words instead.
_FASTAPI_BODY_ERROR = "There was an error parsing the body"
UNREADABLE_BODY = "the body could not be read as JSON (a number may be too long: at most 4300 digits)"


def _allowed_methods(request: Request) -> list[str]:
    # A path served by several routes (GET and POST /v1/keys): Starlette's Allow names only the
    # first route's methods.
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "__none__"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _model_state(exc: ModelUnavailable) -> str:
    # The store's reason names the model URI and the tracking server (which may carry a password):
    # that goes to the server log; the answer says only the state.
    loading = str(exc).endswith("still loading")
    return "no model is loaded: " + ("still loading" if loading else "loading failed; see the server log")


def unexpected(exc: BaseException) -> JSONResponse:
    """The 500 answer to an error nothing else handled. It is logged by type and place only
    (see logging_config.exception_summary), and not raised further: the server's own handler
    would log the message and traceback text, which may carry values from the request."""
    log.error("unhandled error", extra={"error": exception_summary(exc)})
    return error_response(500, "internal_error", "internal error; see the server log with this request id")
