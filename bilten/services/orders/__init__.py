"""Orders: reserve seats without ever overselling, pay, issue tickets, expire, cancel and refund.

One module per use case, each function one transaction (services/transaction.py):
`placing` (hold seats, create the order), `payments` (open a checkout, apply provider updates
exactly once, refund late money), `holds` (expire), `cancelling` (cancel and refund), `status`
(the one table of allowed status moves, outcome and audit names), `seats` (the seat counter and
live availability), `issuing` (paid: tickets), `views` (an order as the API returns it). Who may
see an order lives outside the package, in services/order_access.py, so that modules the orders
import (questions, invoices) can check an order's link without importing the whole package.

Seats live in one counter per ticket type (`TicketType.reserved`: held + sold), changed only by
guarded UPDATEs in ticket type id order; lock waits are capped (3 s, see db.py) and turn into a
"try again" answer.

Callers import from here (`from bilten.services import orders; orders.place_order(...)`).
"""

from bilten.services.order_access import may_view_order, order_access_token
from bilten.services.orders.cancelling import cancel_order
from bilten.services.orders.holds import SWEEP_BATCH, ExpiredHold, expire_holds
from bilten.services.orders.payments import (
    PaymentOutcome,
    apply_payment_update,
    pay_with_test_provider,
    pending_refunds,
    refund_unbacked_payment,
    start_payment,
)
from bilten.services.orders.placing import MAX_QUANTITY, MAX_TYPES_PER_ORDER, PlacedOrder, place_order
from bilten.services.orders.seats import AVAILABILITY_PUBLISH_DELAY_SECONDS, availability, wait_for_pending_publishes
from bilten.services.orders.status import (
    AuditAction,
    CancelReason,
    IllegalTransition,
    PaymentResult,
    change_status,
)
from bilten.services.orders.views import OrderReceipt, OrderTicket, PaymentSummary, order_receipt

__all__ = [
    "AVAILABILITY_PUBLISH_DELAY_SECONDS",
    "MAX_QUANTITY",
    "MAX_TYPES_PER_ORDER",
    "SWEEP_BATCH",
    "AuditAction",
    "CancelReason",
    "ExpiredHold",
    "IllegalTransition",
    "OrderReceipt",
    "OrderTicket",
    "PaymentOutcome",
    "PaymentResult",
    "PaymentSummary",
    "PlacedOrder",
    "apply_payment_update",
    "availability",
    "cancel_order",
    "change_status",
    "expire_holds",
    "may_view_order",
    "order_access_token",
    "order_receipt",
    "pay_with_test_provider",
    "pending_refunds",
    "place_order",
    "refund_unbacked_payment",
    "start_payment",
    "wait_for_pending_publishes",
]
