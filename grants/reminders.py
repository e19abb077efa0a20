"""Reminders, each sent exactly once: who needs one at a given moment, recording it, sending it.

Kinds and when they are due (all times aware; shown in JST):
- deadline: an organisation has an unsubmitted draft on an open call; one reminder per member
  at each of the call's offsets (``Call.reminder_offsets_hours``, e.g. 168, 72, 24 and 3 hours
  before the close). At any moment only the most urgent offset that has passed is due: a run
  that starts late sends the 1-day reminder, not the 7-day and 3-day ones as well.
- review: a reviewer has an assignment without a submitted review, due 72 and 24 hours before
  the assignment's due date (same rule).
- report: an awarded organisation whose progress or final report is not in yet, 14 days and
  3 days before the end of its due date (JST), to every member. Not optional: reports are an
  obligation of the grant.

Exactly once: ``record_due_reminders`` writes one Reminder row per (recipient, kind, subject,
slot) under a unique constraint before anything is sent; only the run that created the row
schedules the mail. ``send_reminder`` locks the row while sending and marks it sent, so two
workers never both send it. A row left unsent (failed send, worker stopped) is picked up by the
next run. The one case that can still repeat a mail is a worker killed after the mail server
accepted it and before the row was marked sent; the portal cannot tell that case apart from a
send that never happened, and then prefers sending twice to not sending at all.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from applications.checks import application_problems
from applications.models import Application, ApplicationStatus
from calls.models import Call
from kodoku_portal.jp import JST
from kodoku_portal.links import absolute_url
from reviews.models import Assignment, AssignmentStatus, ReviewStatus

from .models import Reminder, ReminderKind, ReminderStatus

REVIEW_OFFSETS_HOURS = (72, 24)
REPORT_OFFSETS_HOURS = (14 * 24, 3 * 24)
# A reminder that is still unsent this long after its last attempt is tried again.
RETRY_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class DueReminder:
    recipient_id: int
    recipient_email: str
    kind: str
    subject_key: str
    slot: str
    label: str = field(compare=False, default="")


def _most_urgent_passed(deadline: dt.datetime, offsets, now: dt.datetime) -> int | None:
    """The smallest offset (hours) whose moment (deadline − offset) has come, before the deadline."""
    if now >= deadline:
        return None
    passed = [h for h in offsets if deadline - dt.timedelta(hours=h) <= now]
    return min(passed) if passed else None


def _slot(hours: int, deadline: dt.datetime) -> str:
    return f"{hours}h before {deadline.astimezone(JST).isoformat()}"


def due_deadline_reminders(now: dt.datetime) -> list[DueReminder]:
    calls = Call.objects.filter(opens_at__lte=now, closes_at__gt=now, closed_manually=False)
    due = []
    for call in calls:
        hours = _most_urgent_passed(call.closes_at, call.reminder_offsets_hours or [], now)
        if hours is None:
            continue
        drafts = (
            Application.objects.filter(call=call, status=ApplicationStatus.DRAFT)
            .select_related("organisation")
            .prefetch_related("organisation__memberships__user")
        )
        for application in drafts:
            for membership in application.organisation.memberships.all():
                user = membership.user
                if not (user.is_active and user.wants_deadline_reminders):
                    continue
                due.append(
                    DueReminder(
                        user.pk,
                        user.email,
                        ReminderKind.DEADLINE,
                        f"application:{application.pk}",
                        _slot(hours, call.closes_at),
                        f"{application.organisation.name} / {call}",
                    )
                )
    return due


def due_review_reminders(now: dt.datetime) -> list[DueReminder]:
    horizon = now + dt.timedelta(hours=max(REVIEW_OFFSETS_HOURS))
    assignments = (
        Assignment.objects.filter(due_at__gt=now, due_at__lte=horizon, reviewer__is_active=True)
        .exclude(status=AssignmentStatus.CONFLICT)
        .exclude(review__status=ReviewStatus.SUBMITTED)
        .filter(reviewer__wants_review_reminders=True)
        .select_related("reviewer", "application")
    )
    due = []
    for assignment in assignments:
        hours = _most_urgent_passed(assignment.due_at, REVIEW_OFFSETS_HOURS, now)
        if hours is None:
            continue
        due.append(
            DueReminder(
                assignment.reviewer_id,
                assignment.reviewer.email,
                ReminderKind.REVIEW,
                f"assignment:{assignment.pk}",
                _slot(hours, assignment.due_at),
                str(assignment.application),
            )
        )
    return due


def report_deadline(due: dt.date) -> dt.datetime:
    """A report due on a day may be filed until the end of that day in Japan."""
    return dt.datetime.combine(due + dt.timedelta(days=1), dt.time(0, 0), tzinfo=JST)


def due_report_reminders(now: dt.datetime) -> list[DueReminder]:
    from .models import Award, AwardStatus, ReportKind

    today = now.astimezone(JST).date()
    horizon = today + dt.timedelta(hours=max(REPORT_OFFSETS_HOURS) + 24)
    awards = (
        Award.objects.filter(status=AwardStatus.GRANTED)
        .filter(
            Q(progress_report_due__gte=today, progress_report_due__lte=horizon)
            | Q(final_report_due__gte=today, final_report_due__lte=horizon)
        )
        .select_related("application__organisation")
        .prefetch_related("reports", "application__organisation__memberships__user")
    )
    due = []
    for award in awards:
        filed = {report.kind for report in award.reports.all()}
        for kind, day in ((ReportKind.PROGRESS, award.progress_report_due), (ReportKind.FINAL, award.final_report_due)):
            if day is None or kind in filed:
                continue
            deadline = report_deadline(day)
            hours = _most_urgent_passed(deadline, REPORT_OFFSETS_HOURS, now)
            if hours is None:
                continue
            for membership in award.application.organisation.memberships.all():
                if membership.user.is_active:
                    due.append(
                        DueReminder(
                            membership.user_id,
                            membership.user.email,
                            ReminderKind.REPORT,
                            f"award:{award.pk}:{kind}",
                            _slot(hours, deadline),
                            str(award.application),
                        )
                    )
    return due


def due_reminders(now: dt.datetime) -> list[DueReminder]:
    """Everyone who needs a reminder at ``now`` and has not been recorded as reminded."""
    candidates = due_deadline_reminders(now) + due_review_reminders(now) + due_report_reminders(now)
    recorded = set(
        Reminder.objects.filter(
            Q(kind__in=[c.kind for c in candidates]), Q(slot__in=[c.slot for c in candidates])
        ).values_list("recipient_id", "kind", "subject_key", "slot")
    )
    return [c for c in candidates if (c.recipient_id, c.kind, c.subject_key, c.slot) not in recorded]


def record_due_reminders(now: dt.datetime) -> list[int]:
    """Record every due reminder (unique key first) and return the ids this run must send:
    the ones it created, and older ones that are still unsent after RETRY_AFTER."""
    to_send = []
    for item in due_reminders(now):
        try:
            with transaction.atomic():
                reminder = Reminder.objects.create(
                    recipient_id=item.recipient_id, kind=item.kind, subject_key=item.subject_key, slot=item.slot
                )
        except IntegrityError:
            continue  # another run recorded it first: that run sends it
        to_send.append(reminder.pk)
    cutoff = timezone.now() - RETRY_AFTER  # real time: how long the row has waited, whatever ``now`` is
    stale = Reminder.objects.filter(status__in=[ReminderStatus.PENDING, ReminderStatus.FAILED]).filter(
        Q(last_attempt_at__isnull=True, created_at__lte=cutoff) | Q(last_attempt_at__lte=cutoff)
    )
    for reminder_id, slot in stale.exclude(pk__in=to_send).values_list("pk", "slot"):
        if slot_deadline(slot) > now:
            to_send.append(reminder_id)
        else:  # its deadline has passed: a late reminder would only confuse
            Reminder.objects.filter(pk=reminder_id).update(status=ReminderStatus.CANCELLED)
    return to_send


def slot_deadline(slot: str) -> dt.datetime:
    """The deadline a slot reminds of ("24h before 2025-05-30T12:00:00+09:00")."""
    return dt.datetime.fromisoformat(slot.split(" before ", 1)[1])


# --- sending -----------------------------------------------------------------------------------


def _context(reminder: Reminder) -> dict | None:
    """What the mail says, or None when the reminder is no longer needed (submitted, done)."""
    _model, pk, *rest = reminder.subject_key.split(":")
    if reminder.kind == ReminderKind.DEADLINE:
        application = (
            Application.objects.select_related("call", "organisation__applicant_type", "theme")
            .filter(pk=pk, status=ApplicationStatus.DRAFT)
            .first()
        )
        if application is None:
            return None
        return {
            "application": application,
            "call": application.call,
            "problems": application_problems(application),
            "url": absolute_url("applications:detail", application.pk),
        }
    if reminder.kind == ReminderKind.REVIEW:
        assignment = (
            Assignment.objects.select_related("application__call")
            .filter(pk=pk)
            .exclude(status=AssignmentStatus.CONFLICT)
            .exclude(review__status=ReviewStatus.SUBMITTED)
            .first()
        )
        if assignment is None:
            return None
        return {"assignment": assignment, "url": absolute_url("reviews:assignment", assignment.pk)}
    if reminder.kind == ReminderKind.REPORT:
        from .models import Award, AwardStatus, ReportKind

        kind = ReportKind(rest[0])
        award = (
            Award.objects.select_related("application__call", "application__organisation")
            .filter(pk=pk, status=AwardStatus.GRANTED)
            .exclude(reports__kind=kind)
            .first()
        )
        if award is None:
            return None
        due = award.final_report_due if kind == ReportKind.FINAL else award.progress_report_due
        return {
            "award": award,
            "report_kind": kind,
            "due": due,
            "url": absolute_url("grants:applicant_award", award.application_id),
        }
    return None


def build_message(reminder: Reminder, context: dict) -> EmailMultiAlternatives:
    user = reminder.recipient
    context = {**context, "user": user, "settings_url": absolute_url("accounts_reminders")}
    with translation.override(user.language or "ja"):
        base = f"grants/email/reminder_{reminder.kind}"
        subject = render_to_string(f"{base}_subject.txt", context).strip()
        text = render_to_string(f"{base}.txt", context)
        html = render_to_string(f"{base}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
    message.attach_alternative(html, "text/html")
    return message


def send_reminder(*, reminder_id: int) -> str:
    """Send one recorded reminder once; returns its status afterwards."""
    with transaction.atomic():
        reminder = Reminder.objects.select_for_update(of=("self",)).select_related("recipient").get(pk=reminder_id)
        if reminder.status in (ReminderStatus.SENT, ReminderStatus.CANCELLED):
            return reminder.status
        # The problems listed in the mail are worded in the recipient's language too.
        with translation.override(reminder.recipient.language or "ja"):
            context = _context(reminder)
            message = build_message(reminder, context) if context is not None else None
        if message is None:
            reminder.status = ReminderStatus.CANCELLED
            reminder.save(update_fields=["status"])
            return reminder.status
        message.send()
        reminder.status = ReminderStatus.SENT
        reminder.sent_at = timezone.now()
        reminder.attempts += 1
        reminder.last_attempt_at = reminder.sent_at
        reminder.last_error = ""
        reminder.save()
        return reminder.status


@transaction.atomic
def record_failure(*, reminder_id: int, error: str) -> None:
    from django.db.models import F

    Reminder.objects.filter(pk=reminder_id).exclude(status=ReminderStatus.SENT).update(
        status=ReminderStatus.FAILED,
        attempts=F("attempts") + 1,
        last_error=error[:2000],
        last_attempt_at=timezone.now(),
    )
