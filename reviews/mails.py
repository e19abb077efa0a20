"""rv-stages: the builder of the interview slot mail, registered in ReviewsConfig.ready.

The outbox calls it at send time: it reads the slot afresh and returns None when the slot has been
changed since (a later version has its own mail) or removed with the shortlist."""

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from kodoku_portal.links import absolute_url
from kodoku_portal.models import OutboxMessage

from .models import InterviewSlot


def build_interview_slot_mail(message: OutboxMessage) -> EmailMessage | None:
    slot = (
        InterviewSlot.objects.select_related("application__call", "application__organisation")
        .filter(pk=message.subject_id)
        .first()
    )
    if slot is None or slot.version != message.context.get("version"):
        return None
    context = {
        "slot": slot,
        "application": slot.application,
        "changed": slot.version > 1,
        "url": absolute_url("applications:detail", slot.application_id),
    }
    with translation.override(message.language or "ja"):
        subject = render_to_string("reviews/email/interview_slot_subject.txt", context).strip()
        body = render_to_string("reviews/email/interview_slot_body.txt", context)
    return EmailMessage(subject=subject, body=body, to=[message.to_email])
