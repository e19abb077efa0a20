"""Reminders: due at each offset (boundaries), exactly once through the outbox, retried after a
failure, cancelled when no longer needed, opt-out.

The deadlines lie in the future (2099): a reminder is built at send time against the real clock,
and one whose deadline has passed is cancelled, not sent."""

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role
from applications.models import ApplicationStatus, MemberRole, Membership
from grants import reminders
from grants.models import ReminderKind
from kodoku_portal import outbox
from kodoku_portal.jp import JST, format_datetime
from kodoku_portal.models import OutboxMessage, OutboxStatus
from kodoku_portal.tasks import deliver_message
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory, enable_totp

pytestmark = pytest.mark.django_db

CLOSE = dt.datetime(2099, 5, 29, 12, 0, tzinfo=JST)
CLOSE_ISO = "2099-05-29T12:00:00+09:00"


@pytest.fixture
def record(django_capture_on_commit_callbacks):
    """Record the reminders due at a moment, dispatching them as the commit would (eager)."""

    def run(moment):
        with django_capture_on_commit_callbacks(execute=True):
            return reminders.record_due_reminders(moment)

    return run


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
    expected = ("member@example.jp", f"{hours}h before {CLOSE_ISO}")
    assert expected not in before
    assert at == [expected]


def test_nothing_is_due_before_the_first_offset_or_after_the_close(draft):
    assert slots(CLOSE - dt.timedelta(hours=168, microseconds=1)) == []
    assert slots(CLOSE) == []


def test_a_late_run_sends_only_the_most_urgent_reminder(draft):
    # The schedule did not run for days: at 2 hours before the close only the 3-hour reminder is due.
    assert slots(CLOSE - dt.timedelta(hours=2)) == [("member@example.jp", f"3h before {CLOSE_ISO}")]


def test_submitted_applications_get_no_reminder(draft):
    draft.status = ApplicationStatus.SUBMITTED
    draft.save()
    assert slots(CLOSE - dt.timedelta(hours=24)) == []


def test_the_schedule_twice_at_the_same_moment_sends_once(draft, record):
    moment = CLOSE - dt.timedelta(hours=24)
    first = record(moment)
    second = record(moment)
    assert len(first) == 1 and second == []
    for message_id in first + first:  # a duplicate delivery of the task as well
        deliver_message.delay(message_id=message_id)
    assert len(mail.outbox) == 1
    message = OutboxMessage.objects.get()
    assert (message.kind, message.status, message.attempts) == (ReminderKind.DEADLINE, OutboxStatus.SENT, 1)
    # The unique key is the outbox's structured columns.
    assert (message.subject_type, message.subject_id, message.to_email, message.slot) == (
        "applications.Application",
        draft.pk,
        "member@example.jp",
        f"24h before {CLOSE_ISO}",
    )


def test_the_mail_says_when_the_call_closes_and_what_is_missing(draft, record):
    record(CLOSE - dt.timedelta(hours=72))
    message = mail.outbox[0]
    assert message.to == ["member@example.jp"]
    assert format_datetime(CLOSE, "ja") in message.subject + message.body
    assert "下書きの事業" in message.body
    assert "概要" in message.body  # a missing field is named
    assert f"/applications/{draft.pk}/" in message.body
    html = message.alternatives[0][0]
    assert f"/applications/{draft.pk}/" in html and "<ul>" in html


def test_english_speaking_members_get_it_in_english(draft, record):
    member = draft.organisation.memberships.get().user
    member.language = "en"
    member.save()
    record(CLOSE - dt.timedelta(hours=24))
    assert "Reminder" in mail.outbox[0].subject
    assert format_datetime(CLOSE, "en") in mail.outbox[0].subject


def test_opting_out_of_deadline_reminders(draft):
    member = draft.organisation.memberships.get().user
    member.wants_deadline_reminders = False
    member.save()
    assert slots(CLOSE - dt.timedelta(hours=24)) == []


def test_a_failed_send_is_recorded_and_retried_by_the_next_run(
    draft, record, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.grants.mail_backends.UnreachableBackend"
    moment = CLOSE - dt.timedelta(hours=24)
    [message_id] = record(moment)
    message = OutboxMessage.objects.get(pk=message_id)
    assert message.status == OutboxStatus.FAILED
    assert "SMTP server unreachable" in message.last_error
    assert mail.outbox == []
    # Not recorded again, and not retried before its back-off; the outbox's sweep sends it then.
    assert record(moment) == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.sweep(now=timezone.now()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.sweep(now=message.next_attempt_at) == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.attempts == 2
    assert len(mail.outbox) == 1


def test_a_reminder_no_longer_needed_is_cancelled_not_sent(draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as dispatches:
        [message_id] = reminders.record_due_reminders(CLOSE - dt.timedelta(hours=24))
    draft.status = ApplicationStatus.SUBMITTED
    draft.save()
    for dispatch in dispatches:  # the worker gets to it after the draft was submitted
        dispatch()
    assert OutboxMessage.objects.get(pk=message_id).status == OutboxStatus.CANCELLED
    assert mail.outbox == []


def test_a_member_who_opts_out_after_recording_gets_nothing(draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as dispatches:
        [message_id] = reminders.record_due_reminders(CLOSE - dt.timedelta(hours=24))
    member = draft.organisation.memberships.get().user
    member.wants_deadline_reminders = False
    member.save()
    for dispatch in dispatches:
        dispatch()
    assert OutboxMessage.objects.get(pk=message_id).status == OutboxStatus.CANCELLED
    assert mail.outbox == []


def test_reviewers_are_reminded_before_their_due_date(db):
    from reviews.models import Assignment

    reviewer = UserFactory(role=Role.REVIEWER, email="rev@example.jp")
    application = ApplicationFactory(status=ApplicationStatus.SUBMITTED, receipt_number="X-0001")
    due = dt.datetime(2099, 7, 1, 17, 0, tzinfo=JST)
    Assignment.objects.create(application=application, reviewer=reviewer, due_at=due)
    assert [d.slot for d in reminders.due_reminders(due - dt.timedelta(hours=72))] == [
        "72h before 2099-07-01T17:00:00+09:00"
    ]
    assert [d.slot for d in reminders.due_reminders(due - dt.timedelta(hours=24))] == [
        "24h before 2099-07-01T17:00:00+09:00"
    ]
    assert reminders.due_reminders(due - dt.timedelta(hours=72, microseconds=1)) == []
    reviewer.wants_review_reminders = False
    reviewer.save()
    assert reminders.due_reminders(due - dt.timedelta(hours=24)) == []


def test_the_command_dry_run_lists_and_a_second_run_sends_nothing(draft, django_capture_on_commit_callbacks):
    moment = (CLOSE - dt.timedelta(hours=24)).isoformat()
    out = StringIO()
    call_command("send_reminders", "--now", moment, "--dry-run", stdout=out)
    assert "member@example.jp" in out.getvalue()
    assert "1 reminder(s) due" in out.getvalue()
    assert not OutboxMessage.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):  # each recording commits, then dispatches
        call_command("send_reminders", "--now", moment, stdout=StringIO())
    assert len(mail.outbox) == 1
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_reminders", "--now", moment, stdout=out)
    assert "0 reminder(s)" in out.getvalue()
    assert len(mail.outbox) == 1


def test_the_command_refuses_a_time_without_offset(draft):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("send_reminders", "--now", "2025-05-29T12:00", stdout=StringIO())


def test_staff_see_the_log_and_applicants_do_not(client, draft, record):
    record(CLOSE - dt.timedelta(hours=24))
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


def test_awarded_organisations_are_reminded_before_a_report_is_due(db, record):
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
        application=application, status=AwardStatus.GRANTED, final_report_due=dt.date(2099, 3, 31)
    )
    end_of_due_day = dt.datetime(2099, 4, 1, 0, 0, tzinfo=JST)
    three_days = end_of_due_day - dt.timedelta(hours=72)
    assert reminders.due_reminders(three_days - dt.timedelta(microseconds=1))[0].slot.startswith("final 336h")
    [item] = reminders.due_reminders(three_days)
    assert (item.kind, item.recipient_email, item.subject_type, item.subject_id, item.report_kind) == (
        ReminderKind.REPORT,
        "awardee@example.jp",
        "grants.Award",
        award.pk,
        "final",
    )
    assert item.slot == "final 72h before 2099-04-01T00:00:00+09:00"
    record(three_days)
    assert "2099年3月31日" in mail.outbox[0].subject + mail.outbox[0].body
    assert f"/applications/{application.pk}/award/" in mail.outbox[0].body
    # Report reminders are an obligation of the grant: not switched off with the deadline ones.
    member.wants_deadline_reminders = False
    member.save()
    assert reminders.due_reminders(end_of_due_day - dt.timedelta(hours=1)) == []  # already reminded at 72h
    assert reminders.due_reminders(end_of_due_day) == []  # the due day is over


def test_a_report_filed_before_its_reminder_is_sent_cancels_it(db, django_capture_on_commit_callbacks):
    from grants.models import Award, AwardStatus, Decision, Report, ReportKind

    organisation = OrganisationFactory()
    member = UserFactory(role=Role.APPLICANT, email="awardee@example.jp")
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    application = ApplicationFactory(organisation=organisation, status=ApplicationStatus.ADOPTED, receipt_number="A-2")
    Decision.objects.create(application=application, award_amount=1, decided_by=member, decided_at=timezone.now())
    award = Award.objects.create(
        application=application, status=AwardStatus.GRANTED, final_report_due=dt.date(2099, 3, 31)
    )
    with django_capture_on_commit_callbacks(execute=False) as dispatches:
        [message_id] = reminders.record_due_reminders(dt.datetime(2099, 3, 29, 0, 0, tzinfo=JST))
    Report.objects.create(
        award=award,
        kind=ReportKind.FINAL,
        activities="-",
        participants=1,
        results="-",
        submitted_by=member,
        submitted_at=timezone.now(),
    )
    for dispatch in dispatches:
        dispatch()
    assert OutboxMessage.objects.get(pk=message_id).status == OutboxStatus.CANCELLED
    assert mail.outbox == []


def test_a_failed_reminder_is_not_retried_after_its_deadline(db, settings, record, django_capture_on_commit_callbacks):
    import time

    # A call closing two seconds from now: its 3-hour reminder is due, and soon too late.
    closes_at = timezone.now() + dt.timedelta(seconds=2)
    call = CallFactory(opens_at=closes_at - dt.timedelta(days=7), closes_at=closes_at)
    organisation = OrganisationFactory()
    member = UserFactory(role=Role.APPLICANT, email="late@example.jp")
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    ApplicationFactory(call=call, organisation=organisation)
    settings.EMAIL_BACKEND = "tests.grants.mail_backends.UnreachableBackend"
    [message_id] = record(closes_at - dt.timedelta(hours=3))
    assert OutboxMessage.objects.get(pk=message_id).status == OutboxStatus.FAILED
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    time.sleep(max(0.0, (closes_at - timezone.now()).total_seconds()) + 0.1)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.sweep(now=timezone.now() + dt.timedelta(hours=1))
    assert OutboxMessage.objects.get(pk=message_id).status == OutboxStatus.CANCELLED
    assert mail.outbox == []


def test_the_grant_application_and_the_refund_are_reminded_before_they_are_due(db, record):
    from grants.models import AwardStatus, Refund
    from tests.grants.lifecycle import award_at

    adopted = award_at(AwardStatus.ADOPTED)
    adopted.award.grant_application_due = dt.date(2099, 6, 30)
    adopted.award.save()
    ordered = award_at(AwardStatus.REFUND_ORDERED, staff=adopted.staff, confirmed_amount=1_000_000)
    Refund.objects.create(
        award=ordered.award,
        amount=500_000,
        ordered_on=dt.date(2099, 6, 1),
        due_on=dt.date(2099, 6, 30),
        ordered_by=adopted.staff,
    )
    three_days = dt.datetime(2099, 7, 1, 0, 0, tzinfo=JST) - dt.timedelta(hours=72)
    due = {(item.subject_id, item.report_kind, item.recipient_email) for item in reminders.due_reminders(three_days)}
    assert due == {
        (adopted.award.pk, "grant_application", adopted.member.email),
        (ordered.award.pk, "refund", ordered.member.email),
    }
    record(three_days)
    bodies = sorted(message.subject for message in mail.outbox)
    assert len(bodies) == 2 and all("2099年6月30日" in subject for subject in bodies)


def test_a_grant_application_filed_before_its_reminder_is_sent_cancels_it(db, django_capture_on_commit_callbacks):
    from grants.models import Award, AwardStatus
    from tests.grants.lifecycle import award_at

    case = award_at(AwardStatus.ADOPTED)
    case.award.grant_application_due = dt.date(2099, 6, 30)
    case.award.save()
    with django_capture_on_commit_callbacks(execute=False) as dispatches:
        [message_id] = reminders.record_due_reminders(dt.datetime(2099, 6, 28, 0, 0, tzinfo=JST))
    # The filing, in short (a test may set a state directly; the services go through the workflow).
    Award.objects.filter(pk=case.award.pk).update(status=AwardStatus.APPLIED)
    for dispatch in dispatches:
        dispatch()
    assert OutboxMessage.objects.get(pk=message_id).status == OutboxStatus.CANCELLED
    assert mail.outbox == []
