"""One event's back office (`/organizer/events/[event_id]`), one module per tab, each holding its
state, its view shapes (display text only) and its components:

- `frame`: the access check, the event's header and the page of tabs (`BackOfficeState`);
- `dashboard`: the Sales tab's live figures and check-in counters (`OfficeDashboardState`);
- `orders`: search, details with history, resend, cancel and refund (`OfficeOrdersState`);
- `checkin`: the attendee list, manual check-in and undo (`OfficeCheckinState`);
- `staff`: who scans at the doors (`OfficeStaffState`);
- `exports`: CSV and XLSX files made in the background (`OfficeExportsState`);
- `vouchers`: codes with their uses, new codes, the CSV of codes, orders by code (`OfficeVouchersState`).
- `waiting_list`: the waiting list, its CSV, removals and settings (`OfficeWaitingListState`).

Importing this package registers every section with the frame.
"""

from bilten.back_office.frame.page import back_office_page
from bilten.back_office.frame.state import BackOfficeState

__all__ = ["BackOfficeState", "back_office_page"]
