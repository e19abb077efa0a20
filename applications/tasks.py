"""Celery tasks: thin, idempotent wrappers over the services; ids as keyword arguments."""

from celery import shared_task

from . import services


@shared_task(bind=True, max_retries=5, retry_backoff=True)
def issue_receipt(self, *, application_id: int) -> None:
    """Render the receipt PDF, then e-mail it; each step happens once however often this runs."""
    try:
        services.receipt_render(application_id=application_id)
        services.receipt_send(application_id=application_id)
    except Exception as exc:
        services.receipt_record_failure(application_id=application_id, error=repr(exc))
        if self.request.is_eager and self.request.retries >= self.max_retries:
            raise
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc


@shared_task(bind=True, max_retries=5)
def send_invitation(self, *, invitation_id: int) -> None:
    from .documents import invitation_email
    from .models import Invitation

    invitation = Invitation.objects.select_related("organisation", "invited_by").get(pk=invitation_id)
    try:
        invitation_email(invitation).send()
    except Exception as exc:
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc
