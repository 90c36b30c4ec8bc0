"""A link to a file from the REST API (tickets PDF, calendar entry, exports) that downloads when clicked."""

from __future__ import annotations

import reflex as rx


def download_link(*children: rx.Component | rx.Var, href: rx.Var[str] | str, **props) -> rx.Component:  # noqa: ANN003
    """An `<a href download>` the browser follows itself.

    In Reflex 0.10 `rx.el.a` is React Router's `Link`: it takes every same-origin click for
    client-side routing, so `/api/...` showed the app's 404 page instead of a file. With
    `reload_document` the Link leaves the click to the browser, which honours `download`.
    """
    return rx.el.a(*children, href=href, download=True, reload_document=True, **props)
