"""Celery tasks of the grants layer: thin beat entry points. Mails are outbox messages, sent by
kodoku_portal.tasks.deliver_message (found by autodiscovery); nothing here sends."""

from celery import shared_task
from django.utils import timezone

from . import letters, reminders, services


@shared_task
def enqueue_reminders() -> int:
    """Run by Celery beat: record every due reminder in the outbox (each dispatched on commit)."""
    return len(reminders.record_due_reminders(timezone.now()))


@shared_task
def record_sent_notices() -> int:
    """Run by Celery beat: a notice or letter mail sent but not recorded (a worker stopped in
    between) is recorded, and a notice's decision disclosed."""
    return services.notices_record_sent() + letters.letters_record_sent()
