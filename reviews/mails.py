"""rv-stages: the builders of the interview slot mail and of its cancellation, registered in
ReviewsConfig.ready.

The outbox calls it at send time: it reads the slot afresh and returns None when the slot has been
changed since (a later version has its own mail) or removed with the shortlist."""

import datetime as dt

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from applications.models import Application
from kodoku_portal.links import absolute_url
from kodoku_portal.models import OutboxMessage

from .models import InterviewSlot, Shortlisting


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


def build_interview_cancelled_mail(message: OutboxMessage) -> EmailMessage | None:
    """The application left the shortlist after its organisation was told of a slot: the interview
    will not take place. Not sent if it is back on the shortlist by the time the mail goes."""
    application = Application.objects.select_related("call", "organisation").filter(pk=message.subject_id).first()
    if application is None or Shortlisting.objects.filter(application=application).exists():
        return None
    context = {
        "application": application,
        "starts_at": dt.datetime.fromisoformat(message.context["starts_at"]),
        "url": absolute_url("applications:detail", application.pk),
    }
    with translation.override(message.language or "ja"):
        subject = render_to_string("reviews/email/interview_cancelled_subject.txt", context).strip()
        body = render_to_string("reviews/email/interview_cancelled_body.txt", context)
    return EmailMessage(subject=subject, body=body, to=[message.to_email])
