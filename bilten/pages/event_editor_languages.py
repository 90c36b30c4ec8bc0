"""The event editor's texts in other languages: a tab per language (the main language's is
hidden, its texts are the form's own fields). Every tab's inputs stay in the form (hidden ones
too), so switching tabs keeps what was typed and one submit saves every language."""

from __future__ import annotations

import reflex as rx

from bilten.components.forms import field, text_area_field
from bilten.i18n import LANGUAGE_NAMES
from bilten.settings import SUPPORTED_LOCALES
from bilten.state.event_editor import EventEditorState, translation_input
from bilten.state.i18n import LocaleState

t = LocaleState.t


def main_language_picker(default_value) -> rx.Component:  # noqa: ANN001
    return rx.vstack(
        rx.el.label(
            rx.text(t["editor.field_main_language"], size="2", weight="medium"), html_for="field-main-language"
        ),
        rx.el.select(
            *[rx.el.option(LANGUAGE_NAMES[code], value=code, lang=code) for code in SUPPORTED_LOCALES],
            name="main_language",
            id="field-main-language",
            default_value=default_value,
            on_change=EventEditorState.choose_main_language,
            style={
                "width": "100%",
                "min_height": "44px",
                "padding": "0 0.75rem",
                "border": "1px solid var(--gray-a7)",
                "border_radius": "var(--radius-2)",
                "background": "var(--color-surface)",
                "color": "var(--gray-12)",
            },
        ),
        rx.text(t["editor.main_language_hint"], size="1", color_scheme="gray"),
        spacing="1",
        width="100%",
    )


def language_tab(code: str, main_language: rx.Var[str]) -> rx.Component:
    selected = EventEditorState.shown_translation == code
    return rx.cond(
        main_language != code,
        rx.button(
            LANGUAGE_NAMES[code],
            type="button",
            variant=rx.cond(selected, "solid", "soft"),
            on_click=EventEditorState.show_translation(code),
            id=f"language-tab-{code}",
            lang=code,
            custom_attrs={
                "role": "tab",
                "aria-selected": rx.cond(selected, "true", "false"),
                "aria-controls": f"language-panel-{code}",
            },
        ),
    )


def event_translation_panel(code: str) -> rx.Component:
    values = EventEditorState.translation_values
    title, description, notes = (translation_input(name, code) for name in ("title", "description", "venue_notes"))
    return rx.box(
        rx.vstack(
            field(t["editor.field_title"], title, default_value=values[title], max_length=200, id=f"field-{title}"),
            text_area_field(t["editor.field_description"], description, rows="6", default_value=values[description]),
            text_area_field(t["editor.field_venue_notes"], notes, rows="3", default_value=values[notes]),
            spacing="3",
            width="100%",
        ),
        id=f"language-panel-{code}",
        lang=code,
        display=rx.cond(EventEditorState.shown_translation == code, "block", "none"),
        custom_attrs={"role": "tabpanel", "aria-labelledby": f"language-tab-{code}"},
        width="100%",
    )


def event_translations(heading_level: str) -> rx.Component:
    return rx.vstack(
        rx.heading(t["editor.translations"], size="4", as_=heading_level),
        rx.text(t["editor.translations_hint"], size="1", color_scheme="gray"),
        rx.flex(
            *[language_tab(code, EventEditorState.main_language) for code in SUPPORTED_LOCALES],
            spacing="2",
            wrap="wrap",
            custom_attrs={"role": "tablist", "aria-label": t["editor.translations"]},
        ),
        *[event_translation_panel(code) for code in SUPPORTED_LOCALES],
        spacing="3",
        width="100%",
        id="event-translations",
    )


def type_translations() -> rx.Component:
    """A ticket type's name and description in the event's other languages, one row each."""
    values = EventEditorState.type_translation_values
    rows = []
    for code in SUPPORTED_LOCALES:
        name, description = translation_input("name", code), translation_input("description", code)
        rows.append(
            rx.cond(
                EventEditorState.event.main_language != code,
                rx.grid(
                    field(
                        t["editor.type_name"] + " · " + LANGUAGE_NAMES[code],
                        name,
                        default_value=values[name],
                        max_length=120,
                        id=f"type-{name}",
                        lang=code,
                    ),
                    field(
                        t["editor.type_description"] + " · " + LANGUAGE_NAMES[code],
                        description,
                        default_value=values[description],
                        max_length=500,
                        id=f"type-{description}",
                        lang=code,
                    ),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="3",
                    width="100%",
                ),
            )
        )
    return rx.vstack(
        rx.heading(t["editor.translations"], size="3", as_="h4"),
        rx.text(t["editor.type_translations_hint"], size="1", color_scheme="gray"),
        *rows,
        spacing="2",
        width="100%",
        id="type-translations",
    )
