"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from assets shipped in the package.

FastAPI's own docs pages load Swagger UI, ReDoc, a favicon and Google Fonts from CDNs,
so on a network without internet they are blank. Here the same pages are built with
FastAPI's ``get_swagger_ui_html`` / ``get_redoc_html`` pointing at copies vendored
from npm (pinned, with their licences) under ``api/static/``, and served by Linde.
Swagger UI's validator badge, which calls validator.swagger.io, is turned off.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_URL = "/docs/static"
SWAGGER_UI = f"{STATIC_URL}/swagger-ui-dist-5.36.0"
REDOC = f"{STATIC_URL}/redoc-2.5.4"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def install(app: FastAPI) -> None:
    """Serve the docs pages and their assets (the app must be made with
    ``docs_url=None, redoc_url=None``)."""
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title}: API"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{REDOC}/redoc.standalone.js",
            redoc_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
            with_google_fonts=False,
        )

    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="docs-assets")
