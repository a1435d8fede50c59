"""The OpenAPI document as served: FastAPI's, completed with what only the running app knows (the
batch limit in force) and with the one error body on every error answer, as JSON whatever the
route's own media type (the notice is HTML, its errors are not)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from serving.schemas import ErrorOut
from serving.settings import Settings

_REF = "#/components/schemas/{model}"


def install(app: FastAPI, settings: Settings) -> Callable[[], dict[str, Any]]:
    """Replace ``app.openapi`` with a builder of the completed document (built once)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            _error_bodies(doc)
            _batch_limit(doc, settings.batch_max_cases)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]
    return build


def _error_bodies(doc: dict[str, Any]) -> None:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    error = ErrorOut.model_json_schema(ref_template=_REF)
    schemas.update(error.pop("$defs", {}))
    schemas["ErrorOut"] = error
    json_error = {"application/json": {"schema": {"$ref": _REF.format(model="ErrorOut")}}}
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status[:1] in ("4", "5"):
                    response["content"] = dict(json_error)


def _batch_limit(doc: dict[str, Any], limit: int) -> None:
    batch = doc.get("components", {}).get("schemas", {}).get("BatchIn")
    if batch is not None:
        batch["properties"]["cases"]["maxItems"] = limit
