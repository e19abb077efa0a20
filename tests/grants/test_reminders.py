"""Reminders: due at each offset (boundaries), exactly once, retried after a failure, opt-out."""

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role
from applications.models import ApplicationStatus, MemberRole, Membership
from grants import reminders
from grants.models import Reminder, ReminderStatus
from grants.tasks import send_reminder
from kodoku_portal.jp import JST
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory, enable_totp

pytestmark = pytest.mark.django_db

CLOSE = dt.datetime(2025, 5, 30, 12, 0, tzinfo=JST)


@pytest.fixture
def draft(db):
    call = CallFactory(opens_at=dt.datetime(2025, 4, 21, tzinfo=JST), closes_at=CLOSE)
    organisation = OrganisationFactory()
    member = UserFactory(role=Role.APPLICANT, email="member@example.jp")
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    return ApplicationFactory(call=call, organisation=organisation, title="下書きの事業")


def slots(now):
    return sorted((d.recipient_email, d.slot) for d in reminders.due_reminders(now))


@pytest.mark.parametrize("hours", [168, 72, 24, 3])
def test_each_offset_is_due_from_its_exact_moment(draft, hours):
    moment = CLOSE - dt.timedelta(hours=hours)
    before = slots(moment - dt.timedelta(microseconds=1))
    at = slots(moment)
    expected = ("member@example.jp", f"{hours}h before 2025-05-30T12:00:00+09:00")
    assert expected not in before
    assert at == [expected]


def test_nothing_is_due_before_the_first_offset_or_after_the_close(draft):
    assert slots(CLOSE - dt.timedelta(hours=168, microseconds=1)) == []
    assert slots(CLOSE) == []


def test_a_late_run_sends_only_the_most_urgent_reminder(draft):
    # The schedule did not run for days: at 2 hours before the close only the 3-hour reminder is due.
    assert slots(CLOSE - dt.timedelta(hours=2)) == [("member@example.jp", "3h before 2025-05-30T12:00:00+09:00")]


def test_submitted_applications_get_no_reminder(draft):
    draft.status = ApplicationStatus.SUBMITTED
    draft.save()
    assert slots(CLOSE - dt.timedelta(hours=24)) == []


def test_the_schedule_twice_at_the_same_moment_sends_once(draft):
    moment = CLOSE - dt.timedelta(hours=24)
    first = reminders.record_due_reminders(moment)
    second = reminders.record_due_reminders(moment)
    assert len(first) == 1 and second == []
    for reminder_id in first + first:  # a duplicate delivery of the task as well
        send_reminder.delay(reminder_id=reminder_id)
    assert len(mail.outbox) == 1
    assert Reminder.objects.get().status == ReminderStatus.SENT


def test_the_mail_says_when_the_call_closes_and_what_is_missing(draft):
    [reminder_id] = reminders.record_due_reminders(CLOSE - dt.timedelta(hours=72))
    send_reminder.delay(reminder_id=reminder_id)
    message = mail.outbox[0]
    assert message.to == ["member@example.jp"]
    assert "2025年5月30日（金）12:00" in message.subject + message.body
    assert "下書きの事業" in message.body
    assert "概要" in message.body  # a missing field is named
    assert f"/applications/{draft.pk}/" in message.body
    html = message.alternatives[0][0]
    assert f"/applications/{draft.pk}/" in html and "<ul>" in html


def test_english_speaking_members_get_it_in_english(draft):
    member = draft.organisation.memberships.get().user
    member.language = "en"
    member.save()
    [reminder_id] = reminders.record_due_reminders(CLOSE - dt.timedelta(hours=24))
    send_reminder.delay(reminder_id=reminder_id)
    assert "Reminder" in mail.outbox[0].subject
    assert "Fri 30 May 2025 12:00 JST" in mail.outbox[0].subject


def test_opting_out_of_deadline_reminders(draft):
    member = draft.organisation.memberships.get().user
    member.wants_deadline_reminders = False
    member.save()
    assert slots(CLOSE - dt.timedelta(hours=24)) == []


def test_a_failed_send_is_recorded_and_retried_by_the_next_run(draft, monkeypatch):
    calls = {"n": 0}
    real = reminders.build_message

    def flaky(reminder, context):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("SMTP server unreachable")
        return real(reminder, context)

    monkeypatch.setattr(reminders, "build_message", flaky)
    moment = CLOSE - dt.timedelta(hours=24)
    [reminder_id] = reminders.record_due_reminders(moment)
    send_reminder.delay(reminder_id=reminder_id)
    reminder = Reminder.objects.get()
    assert reminder.status == ReminderStatus.FAILED
    assert "SMTP server unreachable" in reminder.last_error
    assert mail.outbox == []
    # Not retried at once; once it has waited, the next run of the schedule sends it.
    assert reminders.record_due_reminders(moment) == []
    Reminder.objects.update(last_attempt_at=timezone.now() - reminders.RETRY_AFTER)
    assert reminders.record_due_reminders(moment) == [reminder_id]
    send_reminder.delay(reminder_id=reminder_id)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT and reminder.attempts == 2
    assert len(mail.outbox) == 1


def test_a_reminder_no_longer_needed_is_cancelled_not_sent(draft):
    [reminder_id] = reminders.record_due_reminders(CLOSE - dt.timedelta(hours=24))
    draft.status = ApplicationStatus.SUBMITTED
    draft.save()
    send_reminder.delay(reminder_id=reminder_id)
    assert Reminder.objects.get().status == ReminderStatus.CANCELLED
    assert mail.outbox == []


def test_reviewers_are_reminded_before_their_due_date(db):
    from reviews.models import Assignment

    reviewer = UserFactory(role=Role.REVIEWER, email="rev@example.jp")
    application = ApplicationFactory(status=ApplicationStatus.SUBMITTED, receipt_number="X-0001")
    due = dt.datetime(2025, 7, 1, 17, 0, tzinfo=JST)
    Assignment.objects.create(application=application, reviewer=reviewer, due_at=due)
    assert [d.slot for d in reminders.due_reminders(due - dt.timedelta(hours=72))] == [
        "72h before 2025-07-01T17:00:00+09:00"
    ]
    assert [d.slot for d in reminders.due_reminders(due - dt.timedelta(hours=24))] == [
        "24h before 2025-07-01T17:00:00+09:00"
    ]
    assert reminders.due_reminders(due - dt.timedelta(hours=72, microseconds=1)) == []
    reviewer.wants_review_reminders = False
    reviewer.save()
    assert reminders.due_reminders(due - dt.timedelta(hours=24)) == []


def test_the_command_dry_run_lists_and_a_second_run_sends_nothing(draft):
    out = StringIO()
    call_command("send_reminders", "--now", "2025-05-29T12:00+09:00", "--dry-run", stdout=out)
    assert "member@example.jp" in out.getvalue()
    assert "1 reminder(s) due" in out.getvalue()
    assert not Reminder.objects.exists()
    call_command("send_reminders", "--now", "2025-05-29T12:00+09:00", stdout=StringIO())
    assert len(mail.outbox) == 1
    out = StringIO()
    call_command("send_reminders", "--now", "2025-05-29T12:00+09:00", stdout=out)
    assert "0 reminder(s)" in out.getvalue()
    assert len(mail.outbox) == 1


def test_the_command_refuses_a_time_without_offset(draft):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("send_reminders", "--now", "2025-05-29T12:00", stdout=StringIO())


def test_staff_see_the_log_and_applicants_do_not(client, draft):
    [reminder_id] = reminders.record_due_reminders(CLOSE - dt.timedelta(hours=24))
    send_reminder.delay(reminder_id=reminder_id)
    staff = UserFactory(role=Role.STAFF)
    enable_totp(staff)
    client.force_login(staff)
    page = client.get("/staff/reminders/").content.decode()
    assert "member@example.jp" in page and page.count('data-testid="reminder-row"') == 1
    client.force_login(draft.organisation.memberships.get().user)
    assert client.get("/staff/reminders/").status_code == 403


def test_users_switch_reminders_off_themselves(client, draft):
    member = draft.organisation.memberships.get().user
    client.force_login(member)
    assert client.get("/accounts/reminders/").status_code == 200
    client.post("/accounts/reminders/", {"language": "en", "wants_review_reminders": "on"})
    member.refresh_from_db()
    assert member.language == "en"
    assert member.wants_deadline_reminders is False


def test_awarded_organisations_are_reminded_before_a_report_is_due(db):
    from grants.models import Award, AwardStatus, Decision

    organisation = OrganisationFactory()
    member = UserFactory(role=Role.APPLICANT, email="awardee@example.jp")
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    application = ApplicationFactory(
        organisation=organisation, status=ApplicationStatus.ADOPTED, receipt_number="A-0001"
    )
    Decision.objects.create(
        application=application, award_amount=1_000_000, decided_by=member, decided_at=timezone.now()
    )
    award = Award.objects.create(
        application=application, status=AwardStatus.GRANTED, final_report_due=dt.date(2026, 3, 31)
    )
    end_of_due_day = dt.datetime(2026, 4, 1, 0, 0, tzinfo=JST)
    three_days = end_of_due_day - dt.timedelta(hours=72)
    assert reminders.due_reminders(three_days - dt.timedelta(microseconds=1))[0].slot.startswith("336h")
    [item] = reminders.due_reminders(three_days)
    assert (item.kind, item.recipient_email, item.subject_key) == (
        "report",
        "awardee@example.jp",
        f"award:{award.pk}:final",
    )
    assert item.slot == "72h before 2026-04-01T00:00:00+09:00"
    [reminder_id] = reminders.record_due_reminders(three_days)
    send_reminder.delay(reminder_id=reminder_id)
    assert "2026年3月31日" in mail.outbox[0].subject + mail.outbox[0].body
    assert f"/applications/{application.pk}/award/" in mail.outbox[0].body
    # Report reminders are an obligation of the grant: not switched off with the deadline ones.
    member.wants_deadline_reminders = False
    member.save()
    assert reminders.due_reminders(end_of_due_day - dt.timedelta(hours=1)) == []  # already reminded at 72h
    assert reminders.due_reminders(end_of_due_day) == []  # the due day is over


def test_a_failed_reminder_is_not_retried_after_its_deadline(draft, monkeypatch):
    monkeypatch.setattr(reminders, "build_message", lambda reminder, context: 1 / 0)
    moment = CLOSE - dt.timedelta(hours=3)
    [reminder_id] = reminders.record_due_reminders(moment)
    send_reminder.delay(reminder_id=reminder_id)
    Reminder.objects.update(last_attempt_at=timezone.now() - reminders.RETRY_AFTER)
    assert reminders.record_due_reminders(CLOSE) == []
    assert Reminder.objects.get().status == ReminderStatus.CANCELLED
