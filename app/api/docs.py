"""The API's interactive documentation at /api/docs, served from our own origin.

FastAPI's default page loads Swagger UI from a CDN, without subresource integrity, into a
page on our origin: whoever controls that CDN path could run script next to the session
cookie and the tokens people paste into it (issue 21, item 12). The `swagger-ui-bundle`
package ships the same assets; they are served from /api/docs/assets, and the page's CSP
(app/web/middleware.py, DOCS_CSP) allows scripts from our own origin only.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

ASSETS = "/docs/assets"


def install_docs(api: FastAPI, *, title: str) -> None:
    """/docs (under the API's mount) and its assets; `api` must be built with docs_url=None."""
    api.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @api.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{api.openapi_url}",
            title=f"{title} — docs",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon-32x32.png",
        )
