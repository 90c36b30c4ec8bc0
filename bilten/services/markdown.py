"""Event descriptions written in Markdown, turned into HTML that is safe to put in a page.

Rendered here, on the server, with markdown-it-py rather than in the browser: Reflex's
`rx.markdown` turns raw HTML on by default (rehype-raw). Raw HTML in the text is shown as text,
links keep only safe schemes (no `javascript:`, `data:`, ...) and open without handing over the
page, and images are not rendered (an event has its own picture; remote images would track readers).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

MAX_DESCRIPTION_LENGTH = 20_000
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


def is_safe_link(url: str) -> bool:
    """Absolute links with a safe scheme, and links within this site (`/events/...`, `#part`)."""
    # Browsers ignore control characters and spaces inside a scheme ("java\tscript:"): so do we.
    cleaned = "".join(ch for ch in url if ch > " " and ch != "\x7f")
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return False
    if parts.scheme:
        return parts.scheme.lower() in SAFE_SCHEMES
    return not cleaned.startswith("//") and ":" not in cleaned.split("/")[0]


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_block", "html_inline"])
    md.validateLink = is_safe_link  # type: ignore[method-assign]  # markdown-it documents this override

    renderer: Any = md.renderer  # RendererHTML; typed as the bare protocol
    default_link_open = renderer.rules.get("link_open")

    def link_open(tokens, idx, options, env):  # noqa: ANN001, ANN202 - markdown-it's rule signature
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        tokens[idx].attrSet("target", "_blank")
        if default_link_open is not None:
            return default_link_open(tokens, idx, options, env)
        return renderer.renderToken(tokens, idx, options, env)

    renderer.rules["link_open"] = link_open
    return md


_MARKDOWN = _renderer()


@lru_cache(maxsize=256)
def render_markdown(text: str) -> str:
    """Safe HTML for a description ("" for an empty one)."""
    if not text or not text.strip():
        return ""
    return _MARKDOWN.render(text[:MAX_DESCRIPTION_LENGTH])
