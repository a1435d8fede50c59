"""Swagger UI and ReDoc served by the app itself: their scripts and styles come from a Python
package (fastapi-standalone-docs ships swagger-ui-dist and the ReDoc bundle as files), so the
pages work on an intranet with no internet, and no page names an outside URL."""

from __future__ import annotations

from pathlib import Path

import fastapi_standalone_docs
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_standalone_docs.__file__).parent / "static"
router = APIRouter(include_in_schema=False)


def mount_assets(app: FastAPI) -> None:
    app.mount("/docs/assets/swagger", StaticFiles(directory=ASSETS / "swagger"), name="swagger-assets")
    app.mount("/docs/assets/redoc", StaticFiles(directory=ASSETS / "redoc"), name="redoc-assets")
    app.mount("/docs/assets/icon", StaticFiles(directory=ASSETS / "fastapi"), name="docs-icon")


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs")
async def swagger(request: Request) -> HTMLResponse:
    base = _base(request)
    return get_swagger_ui_html(
        openapi_url=f"{base}/openapi.json",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{base}/docs/assets/swagger/swagger-ui-bundle.js",
        swagger_css_url=f"{base}/docs/assets/swagger/swagger-ui.css",
        swagger_favicon_url=f"{base}/docs/assets/icon/favicon.png",
        # No validator badge: it would send the schema to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    base = _base(request)
    return get_redoc_html(
        openapi_url=f"{base}/openapi.json",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{base}/docs/assets/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{base}/docs/assets/icon/favicon.png",
        with_google_fonts=False,
    )
