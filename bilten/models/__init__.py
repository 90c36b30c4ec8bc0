"""All tables, imported here so SQLModel.metadata (and Alembic) sees every one."""

from bilten.models.audit import AuditEntry
from bilten.models.checkin import CheckIn, CheckInResult, ScanDevice
from bilten.models.event import Event, EventStatus, StaffAssignment, TicketType
from bilten.models.export import ExportFormat, ExportJob, ExportKind, ExportStatus
from bilten.models.invoice import Invoice, InvoiceKind, InvoiceSequence, InvoiceSettings
from bilten.models.notification import Notification, NotificationStatus, OutboxEvent
from bilten.models.order import (
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProcessedWebhook,
    Ticket,
    TicketStatus,
)
from bilten.models.organization import Invitation, Membership, Organization, TeamRole
from bilten.models.question import Answer, Question, QuestionKind
from bilten.models.user import (
    ApiSession,
    EmailVerification,
    LoginThrottle,
    LoginUnlock,
    PasswordResetToken,
    RecoveryCode,
    RefreshToken,
    Role,
    SignInMethod,
    SignInRecord,
    TwoFactor,
    User,
    UserPublic,
    WebSession,
)
from bilten.models.voucher import Voucher, VoucherKind
from bilten.models.waiting_list import WaitingListEntry, WaitingListSettings, WaitingState
from bilten.models.webhook import WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint

__all__ = [
    "Answer",
    "Question",
    "QuestionKind",
    "ApiSession",
    "AuditEntry",
    "CheckIn",
    "CheckInResult",
    "Event",
    "ExportFormat",
    "ExportJob",
    "ExportKind",
    "ExportStatus",
    "Invitation",
    "Invoice",
    "InvoiceKind",
    "InvoiceSequence",
    "InvoiceSettings",
    "EventStatus",
    "EmailVerification",
    "LoginThrottle",
    "LoginUnlock",
    "Membership",
    "Notification",
    "NotificationStatus",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Organization",
    "OutboxEvent",
    "PasswordResetToken",
    "Payment",
    "PaymentStatus",
    "ProcessedWebhook",
    "RecoveryCode",
    "RefreshToken",
    "Role",
    "ScanDevice",
    "SignInMethod",
    "SignInRecord",
    "StaffAssignment",
    "TeamRole",
    "Ticket",
    "TicketStatus",
    "TicketType",
    "TwoFactor",
    "User",
    "UserPublic",
    "Voucher",
    "VoucherKind",
    "WaitingListEntry",
    "WaitingListSettings",
    "WaitingState",
    "WebSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "WebhookEndpoint",
]
