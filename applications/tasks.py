"""Celery tasks: thin, idempotent wrappers over the services; ids as keyword arguments."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)
EAGER_ATTEMPTS = 3


@shared_task(bind=True, max_retries=8)
def issue_receipt(self, *, application_id: int) -> None:
    """Render the receipt PDF, then e-mail it; each step happens once however often this runs.

    A failure is recorded on the receipt (staff see it) and retried with backoff by the worker.
    Run in-process (no broker), it is tried a few times at once and never breaks the request that
    submitted the application: the submission is already committed.
    """
    attempts = EAGER_ATTEMPTS if self.request.is_eager else 1
    for attempt in range(1, attempts + 1):
        try:
            services.receipt_render(application_id=application_id)
            services.receipt_send(application_id=application_id)
            return
        except Exception as exc:
            services.receipt_record_failure(application_id=application_id, error=repr(exc))
            logger.warning("receipt for application %s failed (attempt %s): %r", application_id, attempt, exc)
            if not self.request.is_eager:
                raise self.retry(exc=exc, countdown=min(3600, 30 * 2**self.request.retries)) from exc


@shared_task(bind=True, max_retries=8)
def send_invitation(self, *, invitation_id: int) -> None:
    from .documents import invitation_email
    from .models import Invitation

    invitation = Invitation.objects.select_related("organisation", "invited_by").get(pk=invitation_id)
    try:
        invitation_email(invitation).send()
    except Exception as exc:
        if self.request.is_eager:
            logger.warning("invitation %s could not be sent: %r", invitation_id, exc)
            return
        raise self.retry(exc=exc, countdown=min(3600, 30 * 2**self.request.retries)) from exc
