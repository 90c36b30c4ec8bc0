"""Notifications: the outbox dispatcher, email rendering, senders and the worker.

Entry points for the rest of the app:
    bilten.notifications.worker.notification_loop()           asyncio task for the web app (no Redis)
    bilten.notifications.worker.run_worker_until_signalled()  `bilten worker` (Redis queue with REDIS_URL)
    list_failed_notifications(), retry_notification()         the admin page (imported from here)
"""

from bilten.notifications.admin import (
    NotificationNotFailed,
    NotificationPublic,
    list_failed_notifications,
    retry_notification,
)

__all__ = ["NotificationNotFailed", "NotificationPublic", "list_failed_notifications", "retry_notification"]
