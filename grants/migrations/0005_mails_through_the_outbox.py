"""Notices' and reminders' mails move to the outbox (kodoku_portal.OutboxMessage).

- Every Reminder row becomes one outbox row (kind "reminder_<kind>", the subject key parsed here,
  once, into subject_type / subject_id; status pending→queued, sent→sent, failed→failed,
  cancelled→cancelled; attempts, last error and times kept), then the Reminder table goes.
- Every notice gets one outbox row per address it is written to (the organisation, the submitter),
  carrying what the notice recorded: sent (at ``emailed_at``), failed (attempts, last error), or
  queued; then the notice's own ``attempts`` and ``last_error`` go. ``emailed_at`` stays: it is
  set from the outbox's "sent" from now on.
- A returned report is kept (``Report.returned_at``); only a report not returned counts as filed.
"""

import datetime as dt

from django.db import migrations, models
from django.utils import timezone

SUBJECT_TYPES = {"application": "applications.Application", "assignment": "reviews.Assignment", "award": "grants.Award"}
STATUSES = {"pending": "queued", "sent": "sent", "failed": "failed", "cancelled": "cancelled"}


def _deadline(slot: str) -> str:
    """The deadline a legacy slot names ("24h before 2025-05-30T12:00:00+09:00"), as ISO."""
    _hours, _sep, moment = slot.partition(" before ")
    try:
        return dt.datetime.fromisoformat(moment).isoformat()
    except ValueError:
        return ""


def _call_of(apps, subject_type: str, subject_id: int) -> int | None:
    Application = apps.get_model("applications", "Application")
    if subject_type == "applications.Application":
        return Application.objects.filter(pk=subject_id).values_list("call_id", flat=True).first()
    if subject_type == "reviews.Assignment":
        Assignment = apps.get_model("reviews", "Assignment")
        return Assignment.objects.filter(pk=subject_id).values_list("application__call_id", flat=True).first()
    Award = apps.get_model("grants", "Award")
    return Award.objects.filter(pk=subject_id).values_list("application__call_id", flat=True).first()


def reminders_to_outbox(apps, schema_editor):
    Reminder = apps.get_model("grants", "Reminder")
    OutboxMessage = apps.get_model("kodoku_portal", "OutboxMessage")
    now = timezone.now()
    for reminder in Reminder.objects.select_related("recipient").order_by("pk").iterator():
        model, _sep, rest = reminder.subject_key.partition(":")
        subject_id, _sep, report_kind = rest.partition(":")
        context = {"deadline": _deadline(reminder.slot)}
        slot = reminder.slot
        if report_kind:  # "award:5:final": the report's kind leads the slot, as new rows have it
            context["report_kind"] = report_kind
            slot = f"{report_kind} {slot}"
        status = STATUSES.get(reminder.status, "failed")
        message, created = OutboxMessage.objects.get_or_create(
            kind=f"reminder_{reminder.kind}",
            subject_type=SUBJECT_TYPES[model],
            subject_id=int(subject_id),
            to_email=reminder.recipient.email.strip().lower(),
            slot=slot,
            defaults={
                "recipient": reminder.recipient,
                "language": reminder.recipient.language or "ja",
                "context": context,
                "call_id": _call_of(apps, SUBJECT_TYPES[model], int(subject_id)),
                "status": status,
                "attempts": reminder.attempts,
                "last_error": reminder.last_error,
                "sent_at": reminder.sent_at,
                # Still to be sent: the sweeper dispatches it (its builder cancels it if too late).
                "next_attempt_at": now if status in ("queued", "failed") else None,
            },
        )
        if created:  # auto_now_add set the migration's time; keep when it was recorded
            OutboxMessage.objects.filter(pk=message.pk).update(created_at=reminder.created_at)


def notices_to_outbox(apps, schema_editor):
    Notice = apps.get_model("grants", "Notice")
    OutboxMessage = apps.get_model("kodoku_portal", "OutboxMessage")
    now = timezone.now()
    notices = Notice.objects.select_related("application__organisation", "application__submitted_by")
    for notice in notices.order_by("pk").iterator():
        application = notice.application
        # The recipients rule of applications.selectors.application_mail_recipients, as it stands.
        addresses = [application.organisation.email]
        if application.submitted_by_id and application.submitted_by.email:
            addresses.append(application.submitted_by.email)
        addresses = list(dict.fromkeys(a.strip().lower() for a in addresses if a and a.strip()))
        if notice.emailed_at is not None:
            status, next_attempt_at = "sent", None
        elif notice.attempts:
            status, next_attempt_at = "failed", now
        else:
            status, next_attempt_at = "queued", now
        for address in addresses:
            message, created = OutboxMessage.objects.get_or_create(
                kind="notice",
                subject_type="grants.Notice",
                subject_id=notice.pk,
                to_email=address,
                slot="",
                defaults={
                    "language": "ja",
                    "call_id": application.call_id,
                    "status": status,
                    "attempts": notice.attempts,
                    "last_error": notice.last_error,
                    "sent_at": notice.emailed_at,
                    "next_attempt_at": next_attempt_at,
                },
            )
            if created:
                OutboxMessage.objects.filter(pk=message.pk).update(created_at=notice.created_at)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_language_user_wants_deadline_reminders_and_more"),
        # After the applications layer has read what it needs of the notices (decision disclosure).
        ("applications", "0005_receipt_mails_in_the_outbox"),
        ("reviews", "0002_call_models_in_calls"),
        ("grants", "0004_call_models_moved_to_calls"),
        ("kodoku_portal", "0002_audit_context_and_outbox"),
    ]

    operations = [
        migrations.RunPython(reminders_to_outbox, migrations.RunPython.noop),
        migrations.RunPython(notices_to_outbox, migrations.RunPython.noop),
        migrations.DeleteModel(name="Reminder"),
        migrations.RemoveField(model_name="notice", name="attempts"),
        migrations.RemoveField(model_name="notice", name="last_error"),
        migrations.AddField(
            model_name="report",
            name="returned_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="returned at"),
        ),
        migrations.RemoveConstraint(model_name="report", name="report_once_per_kind"),
        migrations.AddConstraint(
            model_name="report",
            constraint=models.UniqueConstraint(
                condition=models.Q(returned_at__isnull=True), fields=("award", "kind"), name="report_once_per_kind"
            ),
        ),
    ]
