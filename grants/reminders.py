"""Reminders, each sent exactly once: who needs one at a given moment, recording it, sending it.

Kinds and when they are due (all times aware; shown in JST):
- deadline: an organisation has an unsubmitted draft on an open call; one reminder per member
  at each of the call's offsets (``Call.reminder_offsets_hours``, e.g. 168, 72, 24 and 3 hours
  before the close). At any moment only the most urgent offset that has passed is due: a run
  that starts late sends the 1-day reminder, not the 7-day and 3-day ones as well.
- review: a reviewer has an assignment without a submitted review, due 72 and 24 hours before
  the assignment's due date (same rule).
- report (kind "reminder_report", every date an award is due by): an awarded organisation whose
  交付申請, progress or final report is not in yet, or whose refund (返還) is not paid, 14 days and
  3 days before the end of its due date (JST), to every member. Not optional: these are
  obligations of the grant.

Exactly once: each reminder is an outbox message (kodoku_portal/outbox.py) of kind
"reminder_deadline", "reminder_review" or "reminder_report", about the application, the
assignment or the award, to one address, in one slot ("24h before 2025-05-30T12:00:00+09:00";
a report's slot starts with the report's kind). The outbox's unique key on those columns makes
recording it idempotent: the schedule running twice, or two processes at once, record it once, and
only the run that created the row dispatches it. Sending, retrying with back-off, the lease that
keeps two workers from sending it twice, and staff retries are the outbox's.

At send time the builder (``build_reminder_mail``) looks again: a reminder no longer needed (the
draft was submitted, the review done, the report filed, its deadline passed, the person opted out)
is cancelled, not sent; the mail is worded in the recipient's language as it is then.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from applications.checks import application_problems
from applications.models import Application, ApplicationStatus
from calls.models import Call
from kodoku_portal.jp import JST
from kodoku_portal.links import absolute_url
from kodoku_portal.models import OutboxMessage
from kodoku_portal.outbox import Mail, enqueue
from reviews.models import Assignment

from .models import Award, AwardStatus, ReminderKind, ReportKind

REVIEW_OFFSETS_HOURS = (72, 24)
REPORT_OFFSETS_HOURS = (14 * 24, 3 * 24)
# The subject of each kind of reminder, as the outbox names it (a model label).
SUBJECT_TYPES = {
    ReminderKind.DEADLINE: "applications.Application",
    ReminderKind.REVIEW: "reviews.Assignment",
    ReminderKind.REPORT: "grants.Award",
}
# The mail templates of each kind: grants/email/reminder_<name>[_subject].txt / .html
TEMPLATE_NAMES = {ReminderKind.DEADLINE: "deadline", ReminderKind.REVIEW: "review", ReminderKind.REPORT: "report"}


@dataclass(frozen=True)
class DueReminder:
    """A reminder due to one person: the outbox's unique key (kind, subject, address, slot) and
    what the mail needs to know (the deadline; for a report, which report)."""

    recipient_id: int
    recipient_email: str
    kind: str
    subject_id: int
    slot: str
    deadline: dt.datetime = field(compare=False)
    call_id: int | None = field(compare=False, default=None)
    language: str = field(compare=False, default="ja")
    report_kind: str = field(compare=False, default="")
    label: str = field(compare=False, default="")

    @property
    def subject_type(self) -> str:
        return SUBJECT_TYPES[self.kind]

    @property
    def key(self) -> tuple[str, str, int, str, str]:
        return (self.kind, self.subject_type, self.subject_id, self.recipient_email.strip().lower(), self.slot)

    def mail(self) -> Mail:
        context = {"deadline": self.deadline.isoformat()}
        if self.report_kind:
            context["report_kind"] = self.report_kind
        return Mail(
            kind=self.kind,
            subject=(self.subject_type, self.subject_id),
            to_email=self.recipient_email,
            recipient=User(pk=self.recipient_id),
            language=self.language or "ja",
            slot=self.slot,
            context=context,
            call_id=self.call_id,
        )


def _most_urgent_passed(deadline: dt.datetime, offsets: list[int] | tuple[int, ...], now: dt.datetime) -> int | None:
    """The smallest offset (hours) whose moment (deadline − offset) has come, before the deadline."""
    if now >= deadline:
        return None
    passed = [h for h in offsets if deadline - dt.timedelta(hours=h) <= now]
    return min(passed) if passed else None


def _slot(hours: int, deadline: dt.datetime) -> str:
    """Which reminder of a deadline: the offset and the deadline itself, so that a deadline moved
    later is reminded of again."""
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
                if not wants_reminder(user, ReminderKind.DEADLINE):
                    continue
                due.append(
                    DueReminder(
                        user.pk,
                        user.email,
                        ReminderKind.DEADLINE,
                        application.pk,
                        _slot(hours, call.closes_at),
                        deadline=call.closes_at,
                        call_id=call.pk,
                        language=user.language,
                        label=f"{application.organisation.name} / {call}",
                    )
                )
    return due


def due_review_reminders(now: dt.datetime) -> list[DueReminder]:
    horizon = now + dt.timedelta(hours=max(REVIEW_OFFSETS_HOURS))
    assignments = (
        Assignment.objects.awaiting_review()
        .filter(due_at__gt=now, due_at__lte=horizon, reviewer__is_active=True)
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
                assignment.pk,
                _slot(hours, assignment.due_at),
                deadline=assignment.due_at,
                call_id=assignment.application.call_id,
                language=assignment.reviewer.language,
                label=str(assignment.application),
            )
        )
    return due


def report_deadline(due: dt.date) -> dt.datetime:
    """A report due on a day may be filed until the end of that day in Japan."""
    return dt.datetime.combine(due + dt.timedelta(days=1), dt.time(0, 0), tzinfo=JST)


@dataclass(frozen=True)
class AwardDue:
    """Something an award's organisation owes by a date: "grant_application", "refund", or a
    report kind ("progress", "final")."""

    key: str
    label: str
    on: dt.date


def award_dues(award: Award) -> list[AwardDue]:
    """What the organisation of ``award`` owes now, with its date (select ``application__call``
    and ``refund``, prefetch ``reports`` for many)."""
    dues = []
    if (
        award.status == AwardStatus.ADOPTED
        and award.application.call.uses_grant_application
        and award.grant_application_due
    ):
        dues.append(AwardDue("grant_application", str(_("Grant application (交付申請)")), award.grant_application_due))
    for kind in award.reports_open():
        day = award.final_report_due if kind == ReportKind.FINAL else award.progress_report_due
        if day is not None:
            dues.append(AwardDue(kind, str(ReportKind(kind).label), day))
    refund = getattr(award, "refund", None) if award.status == AwardStatus.REFUND_ORDERED else None
    if refund is not None and refund.received_on is None:
        dues.append(AwardDue("refund", str(_("Refund (返還)")), refund.due_on))
    return dues


def due_report_reminders(now: dt.datetime) -> list[DueReminder]:
    today = now.astimezone(JST).date()
    horizon = today + dt.timedelta(hours=max(REPORT_OFFSETS_HOURS) + 24)
    awards = (
        Award.objects.filter(
            Q(status=AwardStatus.GRANTED)
            & (
                Q(progress_report_due__gte=today, progress_report_due__lte=horizon)
                | Q(final_report_due__gte=today, final_report_due__lte=horizon)
            )
            | Q(status=AwardStatus.ADOPTED, grant_application_due__gte=today, grant_application_due__lte=horizon)
            | Q(status=AwardStatus.REFUND_ORDERED, refund__due_on__gte=today, refund__due_on__lte=horizon)
        )
        .select_related("application__organisation", "application__call", "refund")
        .prefetch_related("reports", "application__organisation__memberships__user")
    )
    due = []
    for award in awards:
        for owed in award_dues(award):
            kind, day = owed.key, owed.on
            deadline = report_deadline(day)
            hours = _most_urgent_passed(deadline, REPORT_OFFSETS_HOURS, now)
            if hours is None:
                continue
            for membership in award.application.organisation.memberships.all():
                if wants_reminder(membership.user, ReminderKind.REPORT):
                    due.append(
                        DueReminder(
                            membership.user_id,
                            membership.user.email,
                            ReminderKind.REPORT,
                            award.pk,
                            f"{kind} {_slot(hours, deadline)}",
                            deadline=deadline,
                            call_id=award.application.call_id,
                            language=membership.user.language,
                            report_kind=kind,
                            label=str(award.application),
                        )
                    )
    return due


def wants_reminder(user: User, kind: str) -> bool:
    """Deadline and review reminders can be switched off; report reminders cannot (reports are an
    obligation of the grant). Nobody inactive is reminded."""
    if not user.is_active:
        return False
    if kind == ReminderKind.DEADLINE:
        return user.wants_deadline_reminders
    if kind == ReminderKind.REVIEW:
        return user.wants_review_reminders
    return True


def due_reminders(now: dt.datetime) -> list[DueReminder]:
    """Everyone who needs a reminder at ``now`` and has not been recorded as reminded."""
    candidates = due_deadline_reminders(now) + due_review_reminders(now) + due_report_reminders(now)
    recorded = set(
        OutboxMessage.objects.filter(
            kind__in={c.kind for c in candidates}, slot__in={c.slot for c in candidates}
        ).values_list("kind", "subject_type", "subject_id", "to_email", "slot")
    )
    return [c for c in candidates if c.key not in recorded]


def record_due_reminders(now: dt.datetime) -> list[int]:
    """Record every due reminder in the outbox and return the ids of the messages. One transaction
    for the run: its messages are dispatched once all are recorded (sending does not slow the
    recording down), and a run at the same moment waits on the unique key for this one to commit,
    then finds them recorded. One recorded already by another run is left to that run."""
    ids = []
    with transaction.atomic():
        for item in due_reminders(now):
            message = enqueue(item.mail())
            if message is not None:
                ids.append(message.pk)
    return ids


# --- building the mail (at send time, in the worker) ----------------------------------------------


def _context(kind: str, subject_id: int, report_kind: str) -> dict | None:
    """What the mail says, or None when the reminder is no longer needed (submitted, done, filed)."""
    if kind == ReminderKind.DEADLINE:
        application = (
            Application.objects.select_related("call", "organisation__applicant_type", "theme")
            .filter(pk=subject_id, status=ApplicationStatus.DRAFT)
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
    if kind == ReminderKind.REVIEW:
        assignment = (
            Assignment.objects.awaiting_review().select_related("application__call").filter(pk=subject_id).first()
        )
        if assignment is None:
            return None
        return {"assignment": assignment, "url": absolute_url("reviews:assignment", assignment.pk)}
    if kind == ReminderKind.REPORT:
        award = (
            Award.objects.select_related("application__call", "application__organisation", "refund")
            .prefetch_related("reports")
            .filter(pk=subject_id)
            .first()
        )
        owed = next((item for item in award_dues(award) if item.key == report_kind), None) if award else None
        if owed is None:
            return None  # filed, paid, or no longer owed
        return {
            "award": award,
            "report_kind": owed,
            "due": owed.on,
            "url": absolute_url("grants:applicant_award", award.application_id),
        }
    return None


def build_message(kind: str, user: User, context: dict) -> EmailMultiAlternatives:
    """The reminder mail, in the active language."""
    context = {**context, "user": user, "settings_url": absolute_url("accounts_reminders")}
    base = f"grants/email/reminder_{TEMPLATE_NAMES[kind]}"
    subject = render_to_string(f"{base}_subject.txt", context).strip()
    text = render_to_string(f"{base}.txt", context)
    html = render_to_string(f"{base}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
    message.attach_alternative(html, "text/html")
    return message


def build_reminder_mail(message: OutboxMessage) -> EmailMultiAlternatives | None:
    """The outbox builder of the three reminder kinds: the mail, or None (cancelled) when it is no
    longer needed, its deadline has passed or the recipient has switched it off."""
    user = message.recipient
    context = message.context or {}
    if user is None or not wants_reminder(user, message.kind):
        return None
    deadline = dt.datetime.fromisoformat(context["deadline"])
    if timezone.now() >= deadline:
        return None  # a late reminder would only confuse
    # Everything in the mail, the problems listed included, in the recipient's language as it is now.
    with translation.override(user.language or "ja"):
        mail_context = _context(message.kind, message.subject_id, context.get("report_kind", ""))
        if mail_context is None:
            return None
        email = build_message(message.kind, user, mail_context)
    email.to = [message.to_email]
    return email
