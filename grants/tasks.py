"""Celery tasks of the grants layer: thin wrappers over grants/reminders.py."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import reminders

logger = logging.getLogger(__name__)


@shared_task
def enqueue_reminders() -> int:
    """Run by Celery beat: record every due reminder and schedule one mail per new record."""
    ids = reminders.record_due_reminders(timezone.now())
    for reminder_id in ids:
        transaction.on_commit(lambda reminder_id=reminder_id: send_reminder.delay(reminder_id=reminder_id))
    return len(ids)


@shared_task(bind=True, max_retries=6)
def send_reminder(self, *, reminder_id: int) -> str | None:
    try:
        return reminders.send_reminder(reminder_id=reminder_id)
    except Exception as exc:
        reminders.record_failure(reminder_id=reminder_id, error=repr(exc))
        logger.warning("reminder %s failed: %r", reminder_id, exc)
        if self.request.is_eager:
            return None  # the next run of the schedule tries it again
        raise self.retry(exc=exc, countdown=min(3600, 60 * 2**self.request.retries)) from exc


@shared_task(bind=True, max_retries=8)
def issue_notice(self, *, notice_id: int) -> None:
    """Render the notice PDF, then e-mail it; each step happens once however often this runs."""
    from . import services

    try:
        services.notice_render(notice_id=notice_id)
        services.notice_send(notice_id=notice_id)
    except Exception as exc:
        services.notice_record_failure(notice_id=notice_id, error=repr(exc))
        logger.warning("notice %s failed: %r", notice_id, exc)
        if self.request.is_eager:
            return  # shown to staff as failed; "send the notices" again retries it
        raise self.retry(exc=exc, countdown=min(3600, 30 * 2**self.request.retries)) from exc


def send_notices(*, call, created_by):
    """Prepare the call's notices and schedule one task per notice not yet e-mailed."""
    from . import services

    batch, pending = services.notices_prepare(call=call, created_by=created_by)
    for notice_id in pending:
        transaction.on_commit(lambda notice_id=notice_id: issue_notice.delay(notice_id=notice_id))
    return batch, pending
