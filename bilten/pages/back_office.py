"""`/organizer/events/[event_id]`: one event's back office, built in `bilten.back_office` (a tab
per module, each with its state and components); registered in `bilten.bilten` with
`BackOfficeState.load` as its on_load."""

from bilten.back_office import BackOfficeState, back_office_page

__all__ = ["BackOfficeState", "back_office_page"]
