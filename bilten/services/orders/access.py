"""Who may see an order: services/order_access.py, outside this package so that modules the orders
import (questions, invoices) can check an order's link without importing the whole package."""

from bilten.services.order_access import may_view_order, order_access_token

__all__ = ["may_view_order", "order_access_token"]
