"""The frame of every page: header (links by role, language switcher; a menu on phones), content, footer."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.document_locale import direction_provider, document_locale
from bilten.components.focus import focus_on_navigation
from bilten.i18n import LANGUAGE_NAMES
from bilten.settings import SUPPORTED_LOCALES
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState

# Below this width (Reflex's "lg" breakpoint, 62em = 992 px) the header is one compact row: the
# brand and a menu button; the role's links and the language switch open from the button.
COMPACT = ["flex", "flex", "flex", "none"]
WIDE = ["none", "none", "none", "flex"]
MENU_ID = "site-menu"


def nav_link(label: rx.Var[str], href: str, link_id: str) -> rx.Component:
    return rx.link(label, href=href, id=link_id, weight="medium", size="3", underline="hover")


def language_switcher(id_prefix: str = "lang") -> rx.Component:
    """One button per language, each named in its own language (a reader who cannot read the
    current one still finds theirs)."""
    return rx.hstack(
        rx.icon("languages", size=18, aria_hidden="true"),
        *[
            rx.button(
                LANGUAGE_NAMES[code],
                on_click=AuthState.choose_language(code),
                variant=rx.cond(LocaleState.lang == code, "solid", "soft"),
                size="1",
                lang=code,
                id=f"{id_prefix}-{code}",
                aria_pressed=rx.cond(LocaleState.lang == code, "true", "false"),
            )
            for code in SUPPORTED_LOCALES
        ],
        role="group",
        aria_label=LocaleState.t["nav.language"],
        spacing="2",
        align="center",
        wrap="wrap",
    )


def brand() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon("ticket", size=24, aria_hidden="true"),
            rx.text(LocaleState.t["app.name"], size="5", weight="bold"),
            align="center",
            spacing="2",
        ),
        href=routes.HOME,
        underline="none",
        id="brand",
        class_name="brand",
    )


def wide_nav() -> rx.Component:
    """The header's links in one row, for screens wider than a phone or a small tablet."""
    return rx.el.nav(
        rx.flex(
            nav_link(LocaleState.t["nav.home"], routes.HOME, "nav-home"),
            rx.cond(
                AuthState.can_organize,
                nav_link(LocaleState.t["nav.organizer"], routes.ORGANIZER, "nav-organizer"),
            ),
            rx.cond(AuthState.can_admin, nav_link(LocaleState.t["nav.admin"], routes.ADMIN, "nav-admin")),
            rx.cond(
                AuthState.is_authenticated,
                rx.fragment(
                    nav_link(LocaleState.t["nav.my_tickets"], routes.MY_TICKETS, "nav-my-tickets"),
                    nav_link(LocaleState.t["nav.account"], routes.ACCOUNT, "nav-account"),
                    rx.button(
                        LocaleState.t["nav.logout"],
                        on_click=AuthState.logout,
                        variant="ghost",
                        size="2",
                        id="nav-logout",
                    ),
                ),
                rx.fragment(
                    nav_link(LocaleState.t["nav.login"], routes.LOGIN, "nav-login"),
                    rx.link(
                        rx.button(LocaleState.t["nav.register"], size="2"),
                        href=routes.REGISTER,
                        id="nav-register",
                    ),
                ),
            ),
            language_switcher(),
            align="center",
            spacing="5",
            wrap="wrap",
        ),
        aria_label=LocaleState.t["nav.menu"],
        display=WIDE,
    )


def menu_link(label: rx.Var[str], href: str, link_id: str, icon: str) -> rx.Component:
    """A row of the compact menu: the whole row is the link (at least 44 px tall). Radix's Close
    around it closes the menu on a tap, even on a link to the page already open (it also sets
    type="button" on the <a>, which browsers ignore: the element stays a link)."""
    return rx.popover.close(
        rx.link(
            rx.icon(icon, size=18, aria_hidden="true"),
            rx.el.span(label),
            href=href,
            id=link_id,
            class_name="menu-link",
            weight="medium",
            size="3",
            underline="none",
            high_contrast=True,
        )
    )


def compact_menu() -> rx.Component:
    """The menu button of the compact header and what it opens: the role's links, log out and the
    language switch. A Radix popover: the button carries aria-expanded/aria-controls, focus moves
    into the menu, Escape or a click outside closes it, and following a link closes it too."""
    return rx.popover.root(
        rx.popover.trigger(
            rx.icon_button(
                rx.icon("menu", size=22, aria_hidden="true"),
                variant="soft",
                size="3",
                id="menu-button",
                aria_label=LocaleState.t["nav.open_menu"],
                aria_controls=MENU_ID,
                class_name="menu-button",
            ),
        ),
        rx.popover.content(
            rx.el.nav(
                rx.vstack(
                    menu_link(LocaleState.t["nav.home"], routes.HOME, "menu-home", "calendar"),
                    rx.cond(
                        AuthState.can_organize,
                        menu_link(LocaleState.t["nav.organizer"], routes.ORGANIZER, "menu-organizer", "briefcase"),
                    ),
                    rx.cond(
                        AuthState.can_admin,
                        menu_link(LocaleState.t["nav.admin"], routes.ADMIN, "menu-admin", "shield"),
                    ),
                    rx.cond(
                        AuthState.is_authenticated,
                        rx.fragment(
                            menu_link(LocaleState.t["nav.my_tickets"], routes.MY_TICKETS, "menu-my-tickets", "ticket"),
                            menu_link(LocaleState.t["nav.account"], routes.ACCOUNT, "menu-account", "user"),
                            rx.popover.close(
                                rx.button(
                                    rx.icon("log-out", size=18, aria_hidden="true"),
                                    LocaleState.t["nav.logout"],
                                    on_click=AuthState.logout,
                                    variant="soft",
                                    color_scheme="gray",
                                    size="3",
                                    width="100%",
                                    id="menu-logout",
                                ),
                            ),
                        ),
                        rx.fragment(
                            menu_link(LocaleState.t["nav.login"], routes.LOGIN, "menu-login", "log-in"),
                            menu_link(LocaleState.t["nav.register"], routes.REGISTER, "menu-register", "user-plus"),
                        ),
                    ),
                    rx.divider(),
                    language_switcher("menu-lang"),
                    spacing="1",
                    width="100%",
                ),
                aria_label=LocaleState.t["nav.menu"],
            ),
            id=MENU_ID,
            aria_label=LocaleState.t["nav.menu"],
            side="bottom",
            align="end",
            width="min(20rem, calc(100vw - 1.5rem))",
            class_name="site-menu",
        ),
    )


def navbar() -> rx.Component:
    return rx.el.header(
        rx.flex(
            brand(),
            wide_nav(),
            rx.flex(compact_menu(), display=COMPACT, align="center"),
            justify="between",
            align="center",
            wrap="wrap",
            spacing="4",
            max_width="1100px",
            margin_x="auto",
            padding_x="1.25rem",
            padding_y=["0.5rem", "0.5rem", "0.5rem", "0.9rem"],
        ),
        id="site-header",
        border_bottom="1px solid var(--gray-a5)",
        background_color="var(--color-panel-solid)",
        position="sticky",
        top="0",
        z_index="10",
    )


def footer() -> rx.Component:
    return rx.el.footer(
        rx.vstack(
            rx.text(LocaleState.t["footer.text"], size="2", color_scheme="gray"),
            rx.text(LocaleState.t["footer.license"], size="1", color_scheme="gray"),
            spacing="1",
            max_width="1100px",
            margin_x="auto",
            padding_x="1.25rem",
            padding_y="1.5rem",
        ),
        border_top="1px solid var(--gray-a5)",
        margin_top="3rem",
    )


def page_shell(*children: rx.Component, page: str, loaded: rx.Var[bool]) -> rx.Component:
    """Wraps a page. `data-loaded="true"` appears once the page's on_load handlers have all run
    (the page's own flag and Reflex's hydration flag, which navigation resets), for browser tests."""
    root = rx.el.div(
        document_locale(),
        focus_on_navigation(),
        navbar(),
        rx.el.main(
            *children,
            max_width="1100px",
            margin_x="auto",
            padding_x="1.25rem",
            padding_y="2rem",
            width="100%",
            flex="1",
        ),
        footer(),
        id="app-root",
        dir=LocaleState.dir,
        lang=LocaleState.lang,
        custom_attrs={
            "data-page": page,
            "data-loaded": rx.cond(loaded & rx.State.is_hydrated, "true", "false"),
        },
        min_height="100vh",
        display="flex",
        flex_direction="column",
    )
    return direction_provider(root, dir=LocaleState.dir)


def page_header(title: rx.Var[str], subtitle: rx.Var[str] | None = None) -> rx.Component:
    parts = [rx.heading(title, size="7", as_="h1")]
    if subtitle is not None:
        parts.append(rx.text(subtitle, color_scheme="gray", size="3"))
    return rx.vstack(*parts, spacing="1", margin_bottom="1.5rem")
