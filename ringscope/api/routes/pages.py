"""The investigator web page: the single-page shell and its static assets.

The page is a static single-page app (plain ES modules, no build step) shipped inside the
package, so ``ringscope serve`` needs nothing else. Every client-side route under ``/ui/``
returns the same shell and the browser's router picks the view. Loading the page needs no
key: the page asks the user for one and sends it with each API call.

The shell's ``<base href>`` is rewritten to the app's ``root_path`` so the page and its
relative asset and API URLs keep working behind a reverse proxy that mounts the app under a
prefix.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
SHELL_BASE = '<base href="/">'

# Module scripts must be served with a JavaScript type; the platform's mimetypes table is
# not trusted for that, so the types of what the page ships are fixed here.
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".md": "text/plain; charset=utf-8",
    ".LICENSE": "text/plain; charset=utf-8",
    ".NOTICE": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}

# Only the page's own scripts run; API data is inserted as text, and this policy is the
# second line of defence should that ever slip. Inline *styles* stay allowed because
# Cytoscape.js sets style attributes on the elements it creates.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; base-uri 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def _shell(request: Request, name: str = "index.html") -> HTMLResponse:
    """A page of the package with its base URL set to where the app is mounted."""
    root = html.escape(request.scope.get("root_path", "").rstrip("/"), quote=True)
    page = (STATIC_DIR / name).read_text(encoding="utf-8")
    return HTMLResponse(
        page.replace(SHELL_BASE, f'<base href="{root}/">', 1), headers=SECURITY_HEADERS
    )


@router.api_route("/docs", methods=["GET", "HEAD"], response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``, its assets vendored in the package (no CDN, so
    nothing from another origin runs beside a page that holds an API key)."""
    return _shell(request, "docs.html")


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def queue_page(request: Request) -> HTMLResponse:
    """The ranked queue (the page's start view)."""
    return _shell(request)


@router.api_route("/ui/{page_path:path}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def client_route(request: Request, page_path: str) -> HTMLResponse:
    """Any client-side route (``/ui/clusters/<id>``, ...): the shell; the browser routes."""
    return _shell(request)


@router.api_route("/static/{asset_path:path}", methods=["GET", "HEAD"])
def static_asset(asset_path: str) -> FileResponse:
    """A file of the page (script, style sheet, icon, vendored library), never outside it.

    Any path that names no such file (``..``, a NUL byte, a name too long) is a 404.
    """
    try:
        path = (STATIC_DIR / asset_path).resolve()
        found = path.is_relative_to(STATIC_DIR) and path.is_file()
    except (ValueError, OSError):
        found = False
    if not found:
        raise HTTPException(status_code=404, detail=f"no static asset {asset_path!r}")
    media_type = MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)
