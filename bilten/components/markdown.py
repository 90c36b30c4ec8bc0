"""An event description, as the HTML `services/markdown.py` made of its Markdown."""

from __future__ import annotations

import reflex as rx


def markdown_view(html: rx.Var[str], **props) -> rx.Component:
    """Safe to show as HTML: raw HTML in the Markdown was escaped and unsafe links dropped."""
    return rx.html(html, class_name="markdown-body", **props)
