"""Receipt mails move to the outbox: the receipt's own send-tracking columns (emailed_at, attempts,
last_error) become outbox messages of kind "receipt", one per address, then are removed.

- a receipt already e-mailed: a message marked sent, at the time it was sent;
- a receipt whose sending failed: a failed message with its attempts and last error, due now (the
  outbox's sweeper tries it again);
- a receipt not yet sent: a queued message, due now (the sweeper dispatches it).

The addresses are those the receipt went to: the organisation's contact address and the member
who submitted, each once, lower-cased (as selectors.application_mail_recipients).
"""

from django.db import migrations, models
from django.utils import timezone

SUBJECT_TYPE = "applications.Application"


def _addresses(application):
    addresses = [application.organisation.email]
    if application.submitted_by_id and application.submitted_by.email:
        addresses.append(application.submitted_by.email)
    return list(dict.fromkeys(address.strip().lower() for address in addresses if address and address.strip()))


def receipts_to_outbox(apps, schema_editor):
    Receipt = apps.get_model("applications", "Receipt")
    OutboxMessage = apps.get_model("kodoku_portal", "OutboxMessage")
    now = timezone.now()
    receipts = Receipt.objects.select_related("application__organisation", "application__submitted_by")
    for receipt in receipts.iterator():
        application = receipt.application
        submitter = application.submitted_by
        if receipt.emailed_at is not None:
            state = {
                "status": "sent",
                "sent_at": receipt.emailed_at,
                "attempts": max(1, receipt.attempts),
                "next_attempt_at": None,
            }
        elif receipt.attempts:
            state = {
                "status": "failed",
                "attempts": receipt.attempts,
                "last_error": receipt.last_error,
                "next_attempt_at": now,
            }
        else:
            state = {"status": "queued", "next_attempt_at": now}
        for address in _addresses(application):
            OutboxMessage.objects.get_or_create(
                kind="receipt",
                subject_type=SUBJECT_TYPE,
                subject_id=application.pk,
                to_email=address,
                slot="",
                defaults={
                    "recipient": submitter if submitter and submitter.email.lower() == address else None,
                    "language": "ja",
                    "call_id": application.call_id,
                    **state,
                },
            )


def outbox_to_receipts(apps, schema_editor):
    """Back: a receipt counts as e-mailed when its first receipt message was sent."""
    Receipt = apps.get_model("applications", "Receipt")
    OutboxMessage = apps.get_model("kodoku_portal", "OutboxMessage")
    for receipt in Receipt.objects.iterator():
        messages = OutboxMessage.objects.filter(kind="receipt", subject_type=SUBJECT_TYPE, subject_id=receipt.application_id)
        sent = messages.filter(status="sent").order_by("sent_at").first()
        failed = messages.exclude(status="sent").exclude(last_error="").first()
        receipt.emailed_at = sent.sent_at if sent else None
        receipt.attempts = min(32767, max((m.attempts for m in messages), default=0))
        receipt.last_error = failed.last_error if failed and not sent else ""
        receipt.save(update_fields=["emailed_at", "attempts", "last_error"])


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0004_application_decision_disclosed_at"),
        ("kodoku_portal", "0002_audit_context_and_outbox"),
    ]

    operations = [
        migrations.RunPython(receipts_to_outbox, outbox_to_receipts),
        migrations.RemoveField(model_name="receipt", name="attempts"),
        migrations.RemoveField(model_name="receipt", name="emailed_at"),
        migrations.RemoveField(model_name="receipt", name="last_error"),
    ]
