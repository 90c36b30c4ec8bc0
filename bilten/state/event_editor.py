"""The event editor (`/organizer/events/new`, `/organizer/events/[event_id]/edit`) and the safe
Markdown description of the public event page.

Handlers parse the form (times typed in the event's time zone, prices in major units), call one
service of `services/event_admin.py` (which checks who asks) and show the result or a translated
error. Forms are uncontrolled; `form_key` changes whenever fresh values were loaded so they redraw.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from bilten import image_pool, ratelimit, routes
from bilten.i18n import format_datetime, format_money, translate, translate_plural
from bilten.ids import parse_id
from bilten.models import EventStatus
from bilten.services import event_admin, invoices
from bilten.services.access import Permission
from bilten.services.errors import NotFound, ValidationFailed
from bilten.services.event_admin import EditableEvent, EventFields, TicketTypeFields
from bilten.services.markdown import render_markdown
from bilten.services.media import max_upload_bytes
from bilten.services.translations import EVENT_TEXTS, TICKET_TYPE_TEXTS
from bilten.settings import SUPPORTED_LOCALES, get_settings
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.i18n import LocalizedState
from bilten.state.ratelimits import refused_by_limit

DEFAULT_TIMEZONE = "Europe/Berlin"
DEFAULT_CURRENCY = "EUR"
UPLOAD_ID = "event-image-upload"


def _whole(text: str, key: str) -> int:
    try:
        return int((text or "").strip())
    except ValueError as exc:
        raise ValidationFailed(key, min=0, max=event_admin.MAX_QUANTITY) from exc


def translation_input(field: str, language: str) -> str:
    """The form input holding a field's text in another language: `title__de`."""
    return f"{field}__{language}"


def _translations_from(form: dict[str, str], texts: dict) -> dict[str, dict[str, str]]:  # noqa: ANN001
    """`{field: {language: text}}` from the language tabs' inputs (the fields the form has)."""
    found: dict[str, dict[str, str]] = {}
    for field in texts:
        for language in SUPPORTED_LOCALES:
            name = translation_input(field, language)
            if name in form:
                found.setdefault(field, {})[language] = form[name]
    return found


def _translation_values(translations: dict[str, dict[str, str]]) -> dict[str, str]:
    """The language tabs' default values: input name -> stored text."""
    return {
        translation_input(field, language): text
        for field, texts in translations.items()
        for language, text in texts.items()
    }


def _event_fields(form: dict[str, str]) -> EventFields:
    timezone = event_admin.clean_timezone(form.get("timezone", ""))
    return EventFields(
        main_language=form.get("main_language") or get_settings().default_locale,
        venue_notes=form.get("venue_notes", ""),
        allow_ticket_transfer=form.get("allow_ticket_transfer") in ("on", "true", "1"),
        translations=_translations_from(form, EVENT_TEXTS),
        title=form.get("title", ""),
        description=form.get("description", ""),
        venue_name=form.get("venue_name", ""),
        venue_address=form.get("venue_address", ""),
        city=form.get("city", ""),
        timezone=timezone,
        starts_at=event_admin.parse_local_datetime(form.get("starts_at", ""), timezone),
        ends_at=event_admin.parse_local_datetime(form.get("ends_at", ""), timezone),
    )


def _type_fields(form: dict[str, str], timezone: str) -> TicketTypeFields:
    currency = event_admin.clean_currency(form.get("currency", ""))
    return TicketTypeFields(
        name=form.get("name", ""),
        description=form.get("description", ""),
        price_minor=event_admin.price_to_minor(form.get("price", ""), currency),
        currency=currency,
        quantity=_whole(form.get("quantity", ""), "error.ticket_quantity_invalid"),
        min_per_order=_whole(form.get("min_per_order", ""), "error.order_limits_invalid"),
        max_per_order=_whole(form.get("max_per_order", ""), "error.order_limits_invalid"),
        sales_start=event_admin.parse_local_datetime(form.get("sales_start", ""), timezone),
        sales_end=event_admin.parse_local_datetime(form.get("sales_end", ""), timezone),
        is_hidden=form.get("is_hidden") in ("on", "true", "1"),
        translations=_translations_from(form, TICKET_TYPE_TEXTS),
        tax_rate_bp=invoices.parse_tax_rate(form.get("tax_rate", "")),
    )


# ---------------------------------------------------------------------------------------------
# Public shapes


@dataclasses.dataclass(frozen=True)
class OrganizationOption:
    id: str
    name: str


@dataclasses.dataclass(frozen=True)
class EditorEventView:
    id: str = ""
    organization: str = ""
    title: str = ""
    description: str = ""
    venue_name: str = ""
    venue_address: str = ""
    city: str = ""
    timezone: str = ""
    venue_notes: str = ""
    main_language: str = ""
    allow_ticket_transfer: bool = True
    starts_at: str = ""  # datetime-local values, in the event's time zone
    ends_at: str = ""
    when: str = ""
    status: str = ""
    status_label: str = ""
    image_url: str = ""
    public_url: str = ""
    office_url: str = ""
    is_draft: bool = False
    is_published: bool = False
    is_cancelled: bool = False
    cancel_warning: str = ""


@dataclasses.dataclass(frozen=True)
class TicketTypeEditView:
    id: str
    name: str
    price: str
    quantity: int
    sold: str
    window: str
    limits: str
    hidden: bool


@dataclasses.dataclass(frozen=True)
class TicketTypeFormView:
    name: str = ""
    description: str = ""
    price: str = ""
    currency: str = DEFAULT_CURRENCY
    quantity: str = "100"
    min_per_order: str = "1"
    max_per_order: str = "10"
    sales_start: str = ""
    sales_end: str = ""
    is_hidden: bool = False
    tax_rate: str = "0"  # percent, as typed


# ---------------------------------------------------------------------------------------------
# The editor


@private_state
class EventEditorState(LocalizedState, rx.State):
    loaded: bool = False
    not_found: bool = False
    organizations: list[OrganizationOption] = []
    form_key: int = 0
    details_error: str = ""
    type_error: str = ""
    image_error: str = ""
    saving: bool = False
    uploading: bool = False
    cancelling: bool = False
    preview_html: str = ""
    # The ticket type form: "" adds a new type, else the id of the type being edited.
    editing_type_id: str = ""
    type_form_open: bool = False
    type_form: TicketTypeFormView = TicketTypeFormView()
    # Texts in other languages: the main language chosen in the form (it hides that language's
    # tab), the tab shown, and the tabs' default values (input name -> text, `title__de`).
    main_language: str = ""
    translation_tab: str = ""
    translation_values: dict[str, str] = {}
    type_translation_values: dict[str, str] = {}
    _detail: EditableEvent | None = None

    # -- what the page shows ------------------------------------------------------------------

    @rx.var
    def has_organizations(self) -> bool:
        return bool(self.organizations)

    @rx.var
    def ready(self) -> bool:
        return self._detail is not None

    @rx.var
    def event(self) -> EditorEventView:
        detail = self._detail
        if detail is None:
            return EditorEventView()
        locale = self._display_locale()
        tz = detail.timezone
        return EditorEventView(
            id=str(detail.id),
            organization=detail.organization_name,
            title=detail.title,
            description=detail.description,
            venue_name=detail.venue_name,
            venue_address=detail.venue_address,
            city=detail.city,
            timezone=tz,
            venue_notes=detail.venue_notes,
            main_language=detail.main_language,
            allow_ticket_transfer=detail.allow_ticket_transfer,
            starts_at=event_admin.local_input_value(detail.starts_at, tz),
            ends_at=event_admin.local_input_value(detail.ends_at, tz),
            when=format_datetime(detail.starts_at, tz, locale),
            status=str(detail.status),
            status_label=translate(f"status.{detail.status}", locale),
            image_url=detail.image_url,
            public_url=routes.event_url(detail.id),
            office_url=routes.organizer_event_url(detail.id),
            is_draft=detail.status == EventStatus.DRAFT,
            is_published=detail.status == EventStatus.PUBLISHED,
            is_cancelled=detail.status == EventStatus.CANCELLED,
            cancel_warning=translate(
                "editor.cancel_warning", locale, paid=detail.paid_orders, pending=detail.pending_orders
            ),
        )

    @rx.var
    def ticket_types(self) -> list[TicketTypeEditView]:
        detail = self._detail
        if detail is None:
            return []
        locale = self._display_locale()
        views = []
        for t in detail.ticket_types:
            if t.sales_start or t.sales_end:
                window = translate(
                    "editor.window",
                    locale,
                    start=format_datetime(t.sales_start, detail.timezone, locale) if t.sales_start else "…",
                    end=format_datetime(t.sales_end, detail.timezone, locale) if t.sales_end else "…",
                )
            else:
                window = translate("editor.window_always", locale)
            views.append(
                TicketTypeEditView(
                    id=str(t.id),
                    name=t.name,
                    price=(
                        translate("event.free", locale)
                        if t.price_minor == 0
                        else format_money(t.price_minor, t.currency, locale)
                    ),
                    quantity=t.quantity,
                    sold=translate("editor.sold_of", locale, sold=t.reserved, quantity=t.quantity),
                    window=window,
                    limits=translate("editor.limits", locale, min=t.min_per_order, max=t.max_per_order),
                    hidden=t.is_hidden,
                )
            )
        return views

    @rx.var
    def shown_translation(self) -> str:
        """The language tab shown: the one chosen, never the main language."""
        if self.translation_tab and self.translation_tab != self.main_language:
            return self.translation_tab
        return next(code for code in SUPPORTED_LOCALES if code != self.main_language)

    @rx.var
    def has_ticket_types(self) -> bool:
        return bool(self._detail and self._detail.ticket_types)

    @rx.var
    def max_upload_mb(self) -> int:
        return max_upload_bytes() // (1024 * 1024)

    # -- loading ------------------------------------------------------------------------------

    def _clear(self) -> None:
        self.not_found = False
        self.details_error = ""
        self.type_error = ""
        self.image_error = ""
        self.type_form_open = False
        self.editing_type_id = ""
        self._detail = None
        self.organizations = []
        self.preview_html = ""
        self.main_language = get_settings().default_locale
        self.translation_tab = ""
        self.translation_values = {}
        self.type_translation_values = {}

    def _show_detail(self, detail: EditableEvent) -> None:
        self._detail = detail
        self.main_language = detail.main_language
        self.translation_values = _translation_values(detail.translations)
        self.preview_html = render_markdown(detail.description)
        self.form_key += 1

    @rx.event
    async def load_new(self):
        """on_load of /organizer/events/new: anyone in the organizer area; the organizations
        listed are those where they may create events."""
        self.loaded = False
        self._clear()
        async with service_call(self) as call:
            access = await call.guard(Permission.ORGANIZER_AREA)
            if access.user is None:
                self.loaded = True
                return access.redirect
            choices = event_admin.manageable_organizations(call.session, actor=access.user)
        if call.failed:
            return call.error_toast()
        self.organizations = [OrganizationOption(id=str(c.id), name=c.name) for c in choices]
        self.form_key += 1
        self.loaded = True
        return None

    @rx.event
    async def load_edit(self):
        """on_load of /organizer/events/[event_id]/edit: the event's managers (EVENT_MANAGE)."""
        self.loaded = False
        self._clear()
        async with service_call(self) as call:
            event_id = parse_id(self.event_id)
            if event_id is None:
                raise NotFound()
            access = await call.guard(Permission.EVENT_MANAGE, event_id=event_id)
            if access.user is None:
                self.loaded = True
                return access.redirect
            detail = event_admin.get_event_for_editing(call.session, actor=access.user, event_id=event_id)
        if isinstance(call.failure, NotFound):
            self.not_found = True
            self.loaded = True
            return None
        if call.failed:
            return call.error_toast()
        self._show_detail(detail)
        self.loaded = True
        return None

    def _reload(self, session, actor) -> None:  # noqa: ANN001
        self._show_detail(event_admin.get_event_for_editing(session, actor=actor, event_id=self._detail.id))

    # -- the event ----------------------------------------------------------------------------

    @rx.event
    def choose_main_language(self, language: str):
        """The main-language select changed: its tab hides (the form keeps what was typed)."""
        if language in SUPPORTED_LOCALES:
            self.main_language = language

    @rx.event
    def show_translation(self, language: str):
        if language in SUPPORTED_LOCALES:
            self.translation_tab = language

    @rx.event
    def preview(self, text: str):
        """The description as the public page will show it."""
        self.preview_html = render_markdown(text or "")

    @rx.event
    async def create(self, form_data: dict[str, str]):
        self.details_error = ""
        organization_id = parse_id(form_data.get("organization_id"))
        if organization_id is None and len(self.organizations) == 1:
            organization_id = parse_id(self.organizations[0].id)
        async with service_call(self) as call:
            event = event_admin.create_event(
                call.session,
                actor=call.user,
                organization_id=organization_id,
                fields=_event_fields(form_data),
                now=call.now,
            )
        if call.failed:
            self.details_error = call.error
            return None
        return [
            rx.toast.success(call.text("editor.created")),
            rx.redirect(routes.event_editor_url(event.id)),
        ]

    @rx.event
    async def save_details(self, form_data: dict[str, str]):
        self.details_error = ""
        if self._detail is None:
            return None
        async with service_call(self) as call:
            event_admin.update_event(
                call.session, actor=call.user, event_id=self._detail.id, fields=_event_fields(form_data), now=call.now
            )
            self._reload(call.session, call.user)
        if call.failed:
            self.details_error = call.error
            return None
        return rx.toast.success(call.text("editor.saved"))

    async def _status_action(self, action, success_key: str):  # noqa: ANN001
        if self._detail is None:
            return None
        async with service_call(self) as call:
            action(call.session, actor=call.user, event_id=self._detail.id, now=call.now)
            self._reload(call.session, call.user)
        if call.failed:
            return call.error_toast()
        return rx.toast.success(call.text(success_key))

    @rx.event
    async def publish(self):
        return await self._status_action(event_admin.publish_event, "editor.published")

    @rx.event
    async def unpublish(self):
        return await self._status_action(event_admin.unpublish_event, "editor.unpublished")

    @rx.event
    async def duplicate(self):
        if self._detail is None:
            return None
        async with service_call(self) as call:
            copy = event_admin.duplicate_event(
                call.session,
                actor=call.user,
                event_id=self._detail.id,
                now=call.now,
                title_suffix=call.text("editor.copy_suffix"),
            )
        if call.failed:
            return call.error_toast()
        return [rx.toast.success(call.text("editor.duplicated")), rx.redirect(routes.event_editor_url(copy.id))]

    @rx.event(background=True)
    async def cancel_event(self):
        """After the confirmation dialog. Refunds go to the payment provider (network): this runs
        in the background so the tab stays responsive."""
        async with self:
            if self._detail is None or self.cancelling:
                return
            self.cancelling = True
            event_id = self._detail.id
        async with service_call(self, background=True) as call:
            report = event_admin.cancel_event(call.session, actor=call.user, event_id=event_id, now=call.now)
        if call.failed:
            message = call.error_toast()
        elif report.failed:
            message = rx.toast.warning(translate_plural("editor.cancel_partial", len(report.failed), call.locale))
        else:
            message = rx.toast.success(
                call.text("editor.cancelled", refunded=report.refunded, cancelled=report.cancelled)
            )
        async with self:
            self.cancelling = False
            async with service_call(self) as reload:
                self._reload(reload.session, reload.user)
        return message

    # -- the picture --------------------------------------------------------------------------

    @rx.event
    async def upload_image(self, files: list[rx.UploadFile]):
        self.image_error = ""
        if self._detail is None or not files:
            return None
        limit = max_upload_bytes()
        data = files[0].file.read(limit + 1)  # one byte more than allowed is enough to refuse
        event_id = self._detail.id
        async with service_call(self) as call:
            user_id = event_admin.check_event_image_allowed(call.session, actor=call.user, event_id=event_id).id
        if call.failed:
            self.image_error = call.error
            return rx.clear_selected_files(UPLOAD_ID)
        if refused := await refused_by_limit(self, ratelimit.UPLOAD, account=user_id):
            return [rx.clear_selected_files(UPLOAD_ID), refused]
        async with service_call(self) as call:
            # Decoded in the image pool: this process's event loop and threads stay free meanwhile.
            name = await image_pool.store_image(data)
            event_admin.set_event_image(call.session, actor=call.user, event_id=event_id, name=name, now=call.now)
            self._reload(call.session, call.user)
        if call.failed:
            self.image_error = call.error
            return rx.clear_selected_files(UPLOAD_ID)
        return [rx.clear_selected_files(UPLOAD_ID), rx.toast.success(call.text("editor.image_saved"))]

    # -- ticket types -------------------------------------------------------------------------

    @rx.event
    def new_type(self):
        self.type_error = ""
        self.editing_type_id = ""
        currency = DEFAULT_CURRENCY
        if self._detail and self._detail.ticket_types:
            currency = self._detail.ticket_types[0].currency
        self.type_form = TicketTypeFormView(currency=currency)
        self.type_translation_values = {}
        self.type_form_open = True
        self.form_key += 1

    @rx.event
    def edit_type(self, type_id: str):
        self.type_error = ""
        detail = self._detail
        found = next((t for t in detail.ticket_types if str(t.id) == type_id), None) if detail else None
        if found is None:
            return None
        tz = detail.timezone
        self.type_form = TicketTypeFormView(
            name=found.name,
            description=found.description,
            price=event_admin.minor_to_price_text(found.price_minor, found.currency),
            currency=found.currency,
            quantity=str(found.quantity),
            min_per_order=str(found.min_per_order),
            max_per_order=str(found.max_per_order),
            sales_start=event_admin.local_input_value(found.sales_start, tz),
            sales_end=event_admin.local_input_value(found.sales_end, tz),
            is_hidden=found.is_hidden,
            tax_rate=invoices.format_tax_rate(found.tax_rate_bp),
        )
        self.type_translation_values = _translation_values(found.translations)
        self.editing_type_id = type_id
        self.type_form_open = True
        self.form_key += 1
        return None

    @rx.event
    def close_type_form(self):
        self.type_form_open = False
        self.type_error = ""

    @rx.event
    async def save_type(self, form_data: dict[str, str]):
        self.type_error = ""
        detail = self._detail
        if detail is None:
            return None
        async with service_call(self) as call:
            fields = _type_fields(form_data, detail.timezone)
            if self.editing_type_id:
                type_id = parse_id(self.editing_type_id)
                if type_id is None:
                    raise NotFound()
                event_admin.update_ticket_type(
                    call.session,
                    actor=call.user,
                    event_id=detail.id,
                    ticket_type_id=type_id,
                    fields=fields,
                    now=call.now,
                )
            else:
                event_admin.create_ticket_type(
                    call.session, actor=call.user, event_id=detail.id, fields=fields, now=call.now
                )
            self._reload(call.session, call.user)
        if call.failed:
            self.type_error = call.error
            return None
        self.type_form_open = False
        self.editing_type_id = ""
        return rx.toast.success(call.text("editor.type_saved"))
