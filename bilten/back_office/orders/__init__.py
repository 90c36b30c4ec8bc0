"""The Orders tab: search and pages of the event's orders, an order's details with its history,
resending tickets, cancelling (and refunding) behind a confirmation."""

from bilten.back_office.orders.components import orders_section
from bilten.back_office.orders.state import OfficeOrdersState

__all__ = ["OfficeOrdersState", "orders_section"]
