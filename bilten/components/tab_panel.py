"""The pieces of a page made of tabs (the back office, the admin area): a tab's title, and its
panel that shows a spinner until the tab's rows are loaded."""

from __future__ import annotations

import reflex as rx

from bilten.state.i18n import LocaleState


def tab_trigger(tab: str, label: rx.Var[str], icon: str, count: rx.Var[int] | None = None) -> rx.Component:
    parts = [
        rx.icon(icon, size=16, aria_hidden="true", display=rx.breakpoints(initial="none", sm="block")),
        rx.text(label),
    ]
    if count is not None:
        parts.append(rx.badge(count, variant="soft", radius="full", size="1"))
    return rx.tabs.trigger(rx.hstack(*parts, align="center", spacing="2"), value=tab, id=f"tab-{tab}")


def tab_panel(loaded: rx.Var[bool], *children: rx.Component, name: str) -> rx.Component:
    """`#section-<name>`, with `data-section-loaded` for tests to wait on."""
    return rx.box(
        rx.cond(
            loaded, rx.vstack(*children, spacing="4", width="100%"), rx.center(rx.spinner(size="3"), padding="2rem")
        ),
        id=f"section-{name}",
        custom_attrs={"data-section-loaded": rx.cond(loaded, "true", "false")},
        width="100%",
        padding_top="1.25rem",
    )


def reading_flip() -> rx.Var[str]:
    """A transform for things drawn left to right whatever the language (Radix progress bars,
    arrows): mirrored in right-to-left languages."""
    return rx.cond(LocaleState.dir == "rtl", "scaleX(-1)", "none")
