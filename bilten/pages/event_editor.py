"""`/organizer/events/new` and `/organizer/events/[event_id]/edit`: the event form, its picture,
its ticket types, and publishing, unpublishing, duplicating and cancelling it."""

from __future__ import annotations

import reflex as rx

from bilten.components.forms import field, text_area_field
from bilten.components.layout import page_header, page_shell
from bilten.components.markdown import markdown_view
from bilten.components.notice import error_text, forbidden_box, not_found_box
from bilten.pages.event_editor_languages import (
    event_translations,
    main_language_picker,
    type_translations,
)
from bilten.services.event_admin import known_timezones
from bilten.services.translations import MAX_VENUE_NOTES_LENGTH
from bilten.state.auth import AuthState
from bilten.state.event_editor import UPLOAD_ID, EventEditorState
from bilten.state.i18n import LocaleState

TIMEZONE_LIST_ID = "timezones"
t = LocaleState.t


def labelled_file_input(upload: rx.Component, label_id: str) -> rx.Component:
    """`rx.upload` renders its own <input type="file"> (react-dropzone's, visually hidden) and takes
    no props for it: name it after the drop zone's text, so a screen reader announces the field."""
    pending = [upload]
    while pending:
        component = pending.pop()
        if getattr(component, "tag", None) == "input":
            component.custom_attrs["aria-labelledby"] = label_id
            return upload
        pending.extend(component.children)
    raise ValueError("rx.upload rendered no <input>")


def timezone_options() -> rx.Component:
    return rx.el.datalist(*[rx.el.option(value=name) for name in sorted(known_timezones())], id=TIMEZONE_LIST_ID)


def _spinner() -> rx.Component:
    return rx.center(rx.spinner(size="3"), padding="3rem")


# ---------------------------------------------------------------------------------------------
# The event's details (the same fields for a new event and an existing one)


def details_fields(event) -> list[rx.Component]:  # noqa: ANN001 - an ObjectVar of EditorEventView, or None
    def value(name: str, default: str = ""):  # noqa: ANN202
        return getattr(event, name) if event is not None else default

    return [
        field(t["editor.field_title"], "title", default_value=value("title"), required=True, max_length=200),
        text_area_field(
            t["editor.field_description"],
            "description",
            rows="8",
            default_value=value("description"),
            on_blur=EventEditorState.preview,
            hint=t["editor.markdown_hint"],
        ),
        rx.cond(
            EventEditorState.preview_html != "",
            rx.card(
                rx.text(t["editor.preview"], size="1", color_scheme="gray", weight="medium"),
                markdown_view(EventEditorState.preview_html, id="description-preview"),
                width="100%",
            ),
        ),
        main_language_picker(value("main_language", EventEditorState.main_language)),
        rx.grid(
            field(t["editor.field_venue"], "venue_name", default_value=value("venue_name"), max_length=200),
            field(t["editor.field_address"], "venue_address", default_value=value("venue_address"), max_length=300),
            field(t["editor.field_city"], "city", default_value=value("city"), max_length=100),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="3",
            width="100%",
        ),
        rx.grid(
            field(
                t["editor.field_timezone"],
                "timezone",
                default_value=value("timezone", "Europe/Berlin"),
                required=True,
                list=TIMEZONE_LIST_ID,
                dir="ltr",
                hint=t["editor.timezone_hint"],
            ),
            field(
                t["editor.field_starts"],
                "starts_at",
                type_="datetime-local",
                default_value=value("starts_at"),
                required=True,
            ),
            field(
                t["editor.field_ends"], "ends_at", type_="datetime-local", default_value=value("ends_at"), required=True
            ),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="3",
            width="100%",
        ),
        text_area_field(
            t["editor.field_venue_notes"],
            "venue_notes",
            rows="3",
            default_value=value("venue_notes"),
            max_length=MAX_VENUE_NOTES_LENGTH,
            id="field-venue-notes",
        ),
        rx.text(t["editor.venue_notes_hint"], size="1", color_scheme="gray"),
        rx.flex(
            rx.checkbox(
                name="allow_ticket_transfer",
                default_checked=event.allow_ticket_transfer if event is not None else True,
                id="field-allow-transfer",
            ),
            rx.el.label(t["event_form.allow_ticket_transfer"], html_for="field-allow-transfer"),
            spacing="2",
            align="center",
        ),
        timezone_options(),
        # Under the new-event page's h1 directly, under the edit page's "Details" h2 there.
        event_translations("h3" if event is not None else "h2"),
    ]


# ---------------------------------------------------------------------------------------------
# New event


def organization_picker() -> rx.Component:
    return rx.cond(
        EventEditorState.organizations.length() > 1,
        rx.vstack(
            rx.el.label(rx.text(t["editor.field_organization"], size="2", weight="medium")),
            rx.select.root(
                rx.select.trigger(placeholder=t["editor.choose_organization"], id="field-organization"),
                rx.select.content(
                    rx.foreach(
                        EventEditorState.organizations,
                        lambda org: rx.select.item(org.name, value=org.id),
                    )
                ),
                name="organization_id",
                required=True,
            ),
            spacing="1",
        ),
        rx.text(t["editor.organization"] + ": " + EventEditorState.organizations[0].name, size="2"),
    )


def new_event_form() -> rx.Component:
    return rx.cond(
        EventEditorState.has_organizations,
        rx.card(
            rx.form(
                rx.vstack(
                    organization_picker(),
                    *details_fields(None),
                    error_text(EventEditorState.details_error, id="details-error", width="100%"),
                    rx.button(t["editor.create"], type="submit", size="3", id="create-event"),
                    spacing="4",
                    width="100%",
                ),
                on_submit=EventEditorState.create,
                reset_on_submit=False,
                key=EventEditorState.form_key.to_string(),
                id="event-form",
            ),
            size="3",
            width="100%",
        ),
        rx.callout.root(
            rx.callout.icon(rx.icon("info")),
            rx.callout.text(t["editor.no_organization"]),
            id="no-organization",
        ),
    )


def new_event_page() -> rx.Component:
    return page_shell(
        page_header(t["editor.new_title"], t["editor.new_subtitle"]),
        rx.cond(
            EventEditorState.loaded,
            rx.cond(AuthState.denied, forbidden_box(), rx.cond(AuthState.can_organize, new_event_form())),
            _spinner(),
        ),
        page="event-new",
        loaded=EventEditorState.loaded,
    )


# ---------------------------------------------------------------------------------------------
# Editing an event


def status_actions() -> rx.Component:
    event = EventEditorState.event
    return rx.flex(
        rx.badge(
            event.status_label,
            color_scheme=rx.match(event.status, ("published", "green"), ("cancelled", "red"), "gray"),
            size="3",
            id="event-status",
            custom_attrs={"data-status": event.status},
        ),
        rx.cond(
            event.is_draft,
            rx.button(rx.icon("rocket", size=16), t["editor.publish"], on_click=EventEditorState.publish, id="publish"),
        ),
        rx.cond(
            event.is_published,
            rx.button(
                rx.icon("eye-off", size=16),
                t["editor.unpublish"],
                on_click=EventEditorState.unpublish,
                variant="soft",
                id="unpublish",
            ),
        ),
        rx.button(
            rx.icon("copy", size=16),
            t["editor.duplicate"],
            on_click=EventEditorState.duplicate,
            variant="soft",
            id="duplicate",
        ),
        rx.cond(~event.is_cancelled, cancel_dialog()),
        rx.cond(~event.is_draft, rx.link(t["office.public_page"], href=event.public_url, id="public-link")),
        rx.link(t["editor.back_office"], href=event.office_url, id="office-link"),
        spacing="3",
        align="center",
        wrap="wrap",
    )


def cancel_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                rx.icon("ban", size=16),
                t["editor.cancel_event"],
                color_scheme="red",
                variant="soft",
                loading=EventEditorState.cancelling,
                id="cancel-event",
            )
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title(t["editor.cancel_title"]),
            rx.alert_dialog.description(EventEditorState.event.cancel_warning),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(t["common.keep"], variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        t["editor.cancel_confirm"],
                        color_scheme="red",
                        on_click=EventEditorState.cancel_event,
                        id="confirm-cancel-event",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            max_width="30rem",
        ),
    )


def details_form() -> rx.Component:
    event = EventEditorState.event
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(t["editor.details"], size="5", as_="h2"),
                rx.text(t["editor.organization"] + ": " + event.organization, size="2", color_scheme="gray"),
                *details_fields(event),
                error_text(EventEditorState.details_error, id="details-error", width="100%"),
                rx.button(t["editor.save"], type="submit", disabled=event.is_cancelled, id="save-details"),
                spacing="4",
                width="100%",
            ),
            on_submit=EventEditorState.save_details,
            reset_on_submit=False,
            key=EventEditorState.form_key.to_string(),
            id="event-form",
        ),
        size="3",
        width="100%",
    )


def image_section() -> rx.Component:
    event = EventEditorState.event
    return rx.card(
        rx.vstack(
            rx.heading(t["editor.image"], size="5", as_="h2"),
            rx.cond(
                event.image_url != "",
                rx.image(
                    src=event.image_url, alt=event.title, max_height="240px", border_radius="8px", id="event-image"
                ),
                rx.text(t["editor.no_image"], size="2", color_scheme="gray"),
            ),
            rx.cond(
                ~event.is_cancelled,
                labelled_file_input(
                    rx.upload(
                        rx.vstack(
                            rx.icon("image-up", size=24, aria_hidden="true"),
                            rx.text(t["editor.image_drop"], size="2", id="image-drop-text"),
                            rx.text(
                                t["editor.image_rules"] + " " + EventEditorState.max_upload_mb.to_string() + " MB",
                                size="1",
                                color_scheme="gray",
                            ),
                            align="center",
                            spacing="1",
                        ),
                        id=UPLOAD_ID,
                        multiple=False,
                        accept={"image/jpeg": [".jpg", ".jpeg"], "image/png": [".png"], "image/webp": [".webp"]},
                        on_drop=EventEditorState.upload_image(rx.upload_files(upload_id=UPLOAD_ID)),
                        border="1px dashed var(--gray-a7)",
                        border_radius="8px",
                        padding="1.25rem",
                        width="100%",
                        cursor="pointer",
                    ),
                    "image-drop-text",
                ),
            ),
            error_text(EventEditorState.image_error, id="image-error", width="100%"),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def type_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of TicketTypeEditView
    return rx.table.row(
        rx.table.row_header_cell(
            rx.hstack(
                rx.text(row.name, weight="medium"),
                rx.cond(row.hidden, rx.badge(t["editor.hidden"], color_scheme="gray", variant="soft")),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(row.price),
        rx.table.cell(row.sold),
        rx.table.cell(rx.text(row.window, size="1"), rx.text(row.limits, size="1", color_scheme="gray")),
        rx.table.cell(
            rx.cond(
                ~EventEditorState.event.is_cancelled,
                rx.button(
                    t["editor.edit"],
                    size="1",
                    variant="soft",
                    on_click=EventEditorState.edit_type(row.id),
                    class_name="edit-type",
                ),
            )
        ),
        custom_attrs={"data-ticket-type-id": row.id},
    )


def type_form() -> rx.Component:
    form = EventEditorState.type_form
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(
                    rx.cond(EventEditorState.editing_type_id == "", t["editor.type_new"], t["editor.type_edit"]),
                    size="4",
                    as_="h3",
                ),
                rx.grid(
                    field(
                        t["editor.type_name"],
                        "name",
                        default_value=form.name,
                        required=True,
                        max_length=120,
                        id="type-name",
                    ),
                    field(
                        t["editor.type_price"], "price", default_value=form.price, input_mode="decimal", id="type-price"
                    ),
                    field(
                        t["editor.type_currency"],
                        "currency",
                        default_value=form.currency,
                        max_length=3,
                        dir="ltr",
                        id="type-currency",
                    ),
                    field(
                        t["editor.type_tax_rate"],
                        "tax_rate",
                        default_value=form.tax_rate,
                        input_mode="decimal",
                        id="type-tax-rate",
                        hint=t["editor.type_tax_rate_hint"],
                    ),
                    columns=rx.breakpoints(initial="1", sm="4"),
                    spacing="3",
                    width="100%",
                ),
                field(
                    t["editor.type_description"],
                    "description",
                    default_value=form.description,
                    max_length=500,
                    id="type-description",
                ),
                rx.grid(
                    field(
                        t["editor.type_quantity"],
                        "quantity",
                        type_="number",
                        default_value=form.quantity,
                        min=0,
                        id="type-quantity",
                    ),
                    field(
                        t["editor.type_min"],
                        "min_per_order",
                        type_="number",
                        default_value=form.min_per_order,
                        min=1,
                        id="type-min",
                    ),
                    field(
                        t["editor.type_max"],
                        "max_per_order",
                        type_="number",
                        default_value=form.max_per_order,
                        min=1,
                        id="type-max",
                    ),
                    columns=rx.breakpoints(initial="1", sm="3"),
                    spacing="3",
                    width="100%",
                ),
                rx.grid(
                    field(
                        t["editor.type_sales_start"],
                        "sales_start",
                        type_="datetime-local",
                        default_value=form.sales_start,
                        id="type-sales-start",
                    ),
                    field(
                        t["editor.type_sales_end"],
                        "sales_end",
                        type_="datetime-local",
                        default_value=form.sales_end,
                        id="type-sales-end",
                        hint=t["editor.sales_hint"],
                    ),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="3",
                    width="100%",
                ),
                type_translations(),
                rx.el.label(
                    rx.hstack(
                        rx.checkbox(name="is_hidden", default_checked=form.is_hidden, id="type-hidden"),
                        rx.text(t["editor.type_hidden"], size="2"),
                        align="center",
                        spacing="2",
                    )
                ),
                error_text(EventEditorState.type_error, id="type-error", width="100%"),
                rx.hstack(
                    rx.button(t["editor.save"], type="submit", id="save-type"),
                    rx.button(
                        t["editor.close_form"],
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=EventEditorState.close_type_form,
                    ),
                    spacing="3",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=EventEditorState.save_type,
            reset_on_submit=False,
            key="type-" + EventEditorState.form_key.to_string(),
            id="type-form",
        ),
        width="100%",
        variant="surface",
    )


def ticket_types_section() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading(t["editor.ticket_types"], size="5", as_="h2"),
                rx.cond(
                    ~EventEditorState.event.is_cancelled,
                    rx.button(
                        rx.icon("plus", size=16),
                        t["editor.add_type"],
                        on_click=EventEditorState.new_type,
                        id="add-type",
                    ),
                ),
                justify="between",
                align="center",
                width="100%",
            ),
            rx.cond(
                EventEditorState.has_ticket_types,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell(t["editor.type_name"]),
                            rx.table.column_header_cell(t["editor.type_price"]),
                            rx.table.column_header_cell(t["editor.col_sold"]),
                            rx.table.column_header_cell(t["editor.col_sales"]),
                            rx.table.column_header_cell(rx.el.span(t["office.col_actions"], class_name="rt-sr-only")),
                        )
                    ),
                    rx.table.body(rx.foreach(EventEditorState.ticket_types, type_row)),
                    width="100%",
                    id="ticket-type-list",
                ),
                rx.text(t["editor.no_types"], color_scheme="gray", size="2"),
            ),
            rx.cond(EventEditorState.type_form_open, type_form()),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def editor() -> rx.Component:
    return rx.cond(
        EventEditorState.ready,
        rx.vstack(
            rx.heading(EventEditorState.event.title, size="7", as_="h1", id="editor-title"),
            rx.text(EventEditorState.event.when, color_scheme="gray"),
            status_actions(),
            rx.cond(
                EventEditorState.event.is_cancelled,
                rx.callout.root(
                    rx.callout.icon(rx.icon("ban")),
                    rx.callout.text(t["editor.is_cancelled"]),
                    color_scheme="red",
                    id="cancelled-note",
                ),
            ),
            details_form(),
            image_section(),
            ticket_types_section(),
            spacing="4",
            width="100%",
        ),
    )


def edit_event_page() -> rx.Component:
    return page_shell(
        rx.cond(
            EventEditorState.loaded,
            rx.cond(
                EventEditorState.not_found,
                not_found_box(),
                rx.cond(AuthState.denied, forbidden_box(), editor()),
            ),
            _spinner(),
        ),
        page="event-edit",
        loaded=EventEditorState.loaded,
    )
