"""Background work of 共享交换: the periodic job expires grants past their period, sends renewal
reminders and flags overdue requests (SharingConfig.ready() registers it with core.periodic)."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def sharing_housekeeping() -> dict[str, Any]:
    from .services import do_expire_share_grants, do_notify_overdue_requests, do_send_renewal_reminders

    return {
        "expired": do_expire_share_grants(),
        "reminded": do_send_renewal_reminders(),
        "overdue": do_notify_overdue_requests(),
    }
