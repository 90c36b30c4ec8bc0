"""Security headers on every answer of the process: the compiled pages, the websocket's HTTP side,
the assets and the REST API.

Hooked into the FastAPI app that Reflex's `api_transformer` puts outermost: in Reflex 0.10.1
`App.__call__` mounts its own backend (event websocket, /ping, and under `reflex run --env prod` the
built frontend's static files) inside that app, so a middleware added here sees every request.

The page policy is as strict as the compiled Reflex app allows (checked on the prod build):
- scripts: 'self', plus the sha256 of every inline script of the built pages (each prerendered page
  carries about nine: theme, React Router's hydration data, the page's module import; they differ
  per page and per build, so they are hashed from the build when the first page is served).
  'unsafe-inline' stays only as the fallback of browsers that predate hashes (CSP 3 browsers ignore
  it when hashes are listed). 'unsafe-eval' is needed because Reflex's client evaluates what the
  server sends: every toast (`rx.toast` is `run_script`) and `rx.call_script` arrive as strings and
  run through `eval`. That also allows the QR decoder's WebAssembly on /scan ('wasm-unsafe-eval' is
  listed for when eval goes).
- styles: 'self' and 'unsafe-inline' (Emotion writes <style> elements at run time).
- connections: the same origin only, its websocket included; images and fonts from here, data: and
  blob: (QR codes are data: URIs); nothing from a CDN; no plugins, no <base>, never framed.
The camera is allowed on /scan only (Permissions-Policy), HSTS is sent when PUBLIC_URL is https.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bilten.settings import Settings

SCAN_PATHS = ("/scan", "/scan/", "/scan.html", "/scan/index.html")
API_PREFIX = "/api/"
# FastAPI's Swagger UI page loads its script and styles from this CDN (served in demo mode only).
DOCS_CDN = "https://cdn.jsdelivr.net"
HSTS_SECONDS = 365 * 24 * 3600


def _websocket_origins(settings: Settings) -> list[str]:
    """ws(s)://host for each allowed origin ('self' covers them in current browsers; older ones
    need them spelled out)."""
    origins = []
    for origin in settings.allowed_origins:
        parts = urlsplit(origin)
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.append(("wss" if parts.scheme == "https" else "ws") + "://" + parts.netloc)
    return origins


_INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def inline_script_hashes(pages_dir: Path) -> list[str]:
    """CSP sources ('sha256-...') for every inline <script> of the built pages."""
    found = set()
    for page in pages_dir.rglob("*.html"):
        for attributes, body in _INLINE_SCRIPT.findall(page.read_text(encoding="utf-8", errors="replace")):
            if "src=" not in attributes and body.strip():
                digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
                found.add(f"'sha256-{digest}'")
    return sorted(found)


def built_pages_dir() -> Path | None:
    """Where `reflex run --env prod` serves the prerendered pages from (None before a build)."""
    from reflex.utils.prerequisites import get_web_dir
    from reflex_base.constants import Dirs

    pages = get_web_dir() / Dirs.STATIC
    return pages if pages.is_dir() else None


def page_policy(settings: Settings, script_hashes: Sequence[str] = ()) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self'", *script_hashes, "'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval'"]),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "media-src 'self' data: blob:",
            "connect-src " + " ".join(["'self'", *_websocket_origins(settings)]),
            "worker-src 'self' blob:",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


# JSON, PDFs, calendars and pictures are never documents that run anything.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_POLICY = (
    f"default-src 'none'; script-src 'unsafe-inline' {DOCS_CDN}; style-src {DOCS_CDN}; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; frame-ancestors 'none'"
)


class SecurityHeaders:
    """Pure ASGI middleware (no body buffering; websockets pass untouched). A header the endpoint
    set itself is kept."""

    def __init__(self, app: ASGIApp, *, settings: Settings, docs_path: str | None = None) -> None:
        self.app = app
        self.docs_path = docs_path
        common = [
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "strict-origin-when-cross-origin"),
            ("x-frame-options", "DENY"),
        ]
        if settings.public_url.lower().startswith("https://"):
            common.append(("strict-transport-security", f"max-age={HSTS_SECONDS}"))
        self.settings = settings
        self.common = common
        self.for_pages: list[tuple[str, str]] | None = None  # built at the first page served
        self.for_scan: list[tuple[str, str]] | None = None
        self.for_api = [*common, ("content-security-policy", API_POLICY), ("permissions-policy", "camera=()")]
        self.for_docs = [*common, ("content-security-policy", DOCS_POLICY), ("permissions-policy", "camera=()")]

    def headers_for(self, path: str) -> list[tuple[str, str]]:
        if self.docs_path and path == self.docs_path:
            return self.for_docs
        if path.startswith(API_PREFIX):
            return self.for_api
        if self.for_pages is None:
            pages_dir = built_pages_dir()
            page = page_policy(self.settings, inline_script_hashes(pages_dir) if pages_dir else [])
            self.for_scan = [*self.common, ("content-security-policy", page), ("permissions-policy", "camera=(self)")]
            self.for_pages = [*self.common, ("content-security-policy", page), ("permissions-policy", "camera=()")]
        return self.for_scan if path in SCAN_PATHS else self.for_pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers_for(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", []))
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
