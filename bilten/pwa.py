"""The scan page as an installable PWA: after each production build, tell the service worker
exactly which files the page needs offline.

The build lands in `.web/build/client/`. Starting from the page's prerendered HTML, the plugin
follows every asset it references and, recursively, every chunk those chunks import (static
imports, dynamic imports such as the lazily loaded camera scanner, Vite's preload maps), adds
the zxing decoder (fetched only when the camera starts, so caching pages "as browsed" misses it),
the manifest and icons, and writes that list and a content hash into the built `sw.js`. A new
build with different files gets a new version, so phones update their cache on the next visit.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from reflex_base.plugins.base import Plugin

SCAN_PAGE = "scan/index.html"
SERVICE_WORKER = "sw.js"
ALWAYS = ("zxing_reader.wasm", "manifest.json", "scan-icon-192.png", "scan-icon-512.png", "scan-icon-maskable-512.png")
# React Router's route manifest names every page's chunks: cache it, but do not follow it.
NOT_FOLLOWED = re.compile(r"^assets/manifest-[\w-]+\.js$")
HTML_REFERENCE = re.compile(r"""(?:href|src)=["']/([^"'?#]+)["']""")
CHUNK_REFERENCE = re.compile(r"""["'`(,](?:\./|/assets/|assets/)([\w.\-]+\.(?:js|css|wasm))""")


def precache_files(static_dir: Path) -> list[str]:
    """Paths (relative to `static_dir`) the scan page needs offline, page first."""
    page = static_dir / SCAN_PAGE
    if not page.exists():
        return []
    found: list[str] = []
    pending = [m for m in HTML_REFERENCE.findall(page.read_text(encoding="utf-8")) if m.startswith("assets/")]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or not (static_dir / name).is_file():
            continue
        seen.add(name)
        found.append(name)
        if name.endswith(".js") and not NOT_FOLLOWED.match(name):
            text = (static_dir / name).read_text(encoding="utf-8", errors="replace")
            pending.extend(f"assets/{chunk}" for chunk in CHUNK_REFERENCE.findall(text))
    extras = [name for name in ALWAYS if (static_dir / name).is_file()]
    return [SCAN_PAGE, *sorted(found), *extras]


def write_service_worker(static_dir: Path) -> list[str]:
    """Fill VERSION and PRECACHE into the built sw.js; returns the precached URLs."""
    worker = static_dir / SERVICE_WORKER
    files = precache_files(static_dir)
    if not worker.exists() or not files:
        return []
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode())
        digest.update((static_dir / name).read_bytes())
    urls = ["/scan/" if name == SCAN_PAGE else f"/{name}" for name in files]
    text = worker.read_text(encoding="utf-8")
    text = re.sub(
        r"^const VERSION = .*;$",
        f"const VERSION = {json.dumps(digest.hexdigest()[:16])};",
        text,
        count=1,
        flags=re.MULTILINE,
    )
    text = re.sub(r"^const PRECACHE = .*;$", f"const PRECACHE = {json.dumps(urls)};", text, count=1, flags=re.MULTILINE)
    worker.write_text(text, encoding="utf-8")
    return urls


class ScanPwaPlugin(Plugin):
    """Listed in rxconfig.py's `plugins`; runs after the Vite build, before compression."""

    def post_build(self, **context) -> None:
        write_service_worker(Path(context["static_dir"]))
