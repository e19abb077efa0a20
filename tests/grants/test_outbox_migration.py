"""grants 0005 moves the reminders and the notices' send tracking into the outbox, keeping every
row: a database is taken back to 0004, given reminders and notices in every state there (through
the historical models), and migrated forwards again."""

import datetime as dt

import pytest
from django.utils import timezone

from grants.models import Notice as CurrentNotice
from kodoku_portal.jp import JST
from kodoku_portal.models import OutboxMessage
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory
from tests.support.migrations import migrate_to_latest, migrated_back

BEFORE = [("grants", "0004_call_models_moved_to_calls")]


@pytest.mark.django_db(transaction=True)
def test_reminders_and_notice_tracking_become_outbox_rows():
    call = CallFactory()
    member = UserFactory(email="Member@Example.jp", language="en")
    submitter = UserFactory(email="submitter@example.jp")
    draft = ApplicationFactory(call=call)
    sent_one = ApplicationFactory(
        call=call,
        organisation=OrganisationFactory(email="org@example.jp"),
        submitted_by=submitter,
        receipt_number="M-1",
    )
    failed_one = ApplicationFactory(
        call=call, organisation=OrganisationFactory(email="org2@example.jp"), receipt_number="M-2"
    )

    with migrated_back(BEFORE) as old:
        Reminder, Notice, Award = (old.get_model("grants", name) for name in ("Reminder", "Notice", "Award"))
        OldApplication = old.get_model("applications", "Application")
        recorded = dt.datetime(2025, 5, 27, 12, 0, tzinfo=JST)
        slot = "72h before 2025-05-30T12:00:00+09:00"
        for status in ("pending", "sent", "failed", "cancelled"):
            Reminder.objects.create(
                recipient_id=member.pk,
                kind="deadline",
                subject_key=f"application:{draft.pk}",
                slot=f"{status} {slot}",
                status=status,
                attempts=2 if status == "failed" else 1,
                last_error="boom" if status == "failed" else "",
            )
        award = Award.objects.create(application=OldApplication.objects.get(pk=sent_one.pk), status="granted")
        Reminder.objects.create(
            recipient_id=member.pk, kind="report", subject_key=f"award:{award.pk}:final", slot=slot, status="sent"
        )
        Reminder.objects.update(created_at=recorded)
        emailed = timezone.now()
        Notice.objects.create(
            application_id=sent_one.pk,
            kind="adopted",
            document_number="府孤第1号",
            issued_on=dt.date(2025, 7, 1),
            emailed_at=emailed,
            attempts=1,
        )
        Notice.objects.create(
            application_id=failed_one.pk,
            kind="not_adopted",
            document_number="府孤第2号",
            issued_on=dt.date(2025, 7, 1),
            attempts=3,
            last_error="SMTP down",
        )
        migrate_to_latest()

    reminders = OutboxMessage.objects.filter(kind__startswith="reminder_")
    assert reminders.count() == 5
    by_slot = {m.slot: m for m in reminders}
    for old_status, new_status in (
        ("pending", "queued"),
        ("sent", "sent"),
        ("failed", "failed"),
        ("cancelled", "cancelled"),
    ):
        row = by_slot[f"{old_status} {slot}"]
        assert (row.kind, row.subject_type, row.subject_id) == (
            "reminder_deadline",
            "applications.Application",
            draft.pk,
        )
        assert (row.status, row.to_email, row.recipient_id, row.language) == (
            new_status,
            "member@example.jp",
            member.pk,
            "en",
        )
        assert row.created_at == recorded and row.call_id == call.pk
    assert by_slot[f"failed {slot}"].last_error == "boom" and by_slot[f"failed {slot}"].attempts == 2
    report = by_slot[f"final {slot}"]
    assert (report.kind, report.subject_type, report.subject_id) == ("reminder_report", "grants.Award", award.pk)
    assert report.context == {"deadline": "2025-05-30T12:00:00+09:00", "report_kind": "final"}

    notices = {(m.subject_id, m.to_email): m for m in OutboxMessage.objects.filter(kind="notice")}
    first, second = (CurrentNotice.objects.get(document_number=n).pk for n in ("府孤第1号", "府孤第2号"))
    assert set(notices) == {(first, "org@example.jp"), (first, "submitter@example.jp"), (second, "org2@example.jp")}
    assert {m.status for (pk, _a), m in notices.items() if pk == first} == {"sent"}
    assert notices[(first, "org@example.jp")].sent_at == emailed
    failed = notices[(second, "org2@example.jp")]
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 3, "SMTP down")
