"""Organizers' side of events: create, edit, publish, unpublish, duplicate and cancel events, and
their ticket types.

Every function checks who asks (`authorize`), validates everything before writing (a refusal
leaves nothing changed), writes an audit entry and is one transaction (services/transaction.py);
cancelling an event is the one exception, by design (see `cancelling`).

Times arrive timezone-aware (UTC in the database); `parse_local_datetime` reads what organizers
type in the event's own time zone. Prices are integer minor units of an ISO 4217 currency.

Modules: `fields` (input rules), `reading` (the editor's view), `events`, `ticket_types`,
`cancelling`. Callers import from here (`from bilten.services import event_admin`).
"""

from bilten.services.event_admin.cancelling import CancellationReport, cancel_event
from bilten.services.event_admin.events import (
    check_event_image_allowed,
    create_event,
    duplicate_event,
    publish_event,
    set_event_image,
    unpublish_event,
    update_event,
)
from bilten.services.event_admin.fields import (
    MAX_PER_ORDER,
    MAX_PRICE_MINOR,
    MAX_QUANTITY,
    MAX_TITLE_LENGTH,
    UNSET,
    EventFields,
    TicketTypeFields,
    clean_currency,
    clean_timezone,
    event_fields_from,
    known_currencies,
    known_timezones,
    local_input_value,
    minor_to_price_text,
    parse_local_datetime,
    price_to_minor,
    ticket_type_fields_from,
)
from bilten.services.event_admin.reading import (
    EditableEvent,
    OrganizationChoice,
    TicketTypeRow,
    get_event_for_editing,
    manageable_organizations,
    ticket_type_row,
)
from bilten.services.event_admin.ticket_types import create_ticket_type, update_ticket_type

__all__ = [
    "MAX_PER_ORDER",
    "MAX_PRICE_MINOR",
    "MAX_QUANTITY",
    "MAX_TITLE_LENGTH",
    "UNSET",
    "CancellationReport",
    "EditableEvent",
    "EventFields",
    "OrganizationChoice",
    "TicketTypeFields",
    "TicketTypeRow",
    "cancel_event",
    "check_event_image_allowed",
    "clean_currency",
    "clean_timezone",
    "create_event",
    "create_ticket_type",
    "duplicate_event",
    "event_fields_from",
    "get_event_for_editing",
    "known_currencies",
    "known_timezones",
    "local_input_value",
    "manageable_organizations",
    "minor_to_price_text",
    "parse_local_datetime",
    "price_to_minor",
    "publish_event",
    "set_event_image",
    "ticket_type_fields_from",
    "ticket_type_row",
    "unpublish_event",
    "update_event",
    "update_ticket_type",
]
