"""Every state change after the review: decisions, notices, publication; the award opened at 採択.

The steps after 採択 are in their own modules: grant_steps (交付申請, 交付決定, 辞退, 繰上げ),
change_steps (変更, 中止・廃止), report_steps (状況報告, 実績報告), money_steps (額の確定, payments, 返還).

Each function is one transaction and the only writer of what it changes. State changes go through
``kodoku_portal.workflow.change_state`` (the transition table, the audit entry, the mails); other
audited changes through ``record``. Refusals are ``kodoku_portal.workflow.Refused``. Mails are
outbox messages, recorded in the transaction of the change (grants/mails.py builds them).
"""

import datetime as dt
from dataclasses import dataclass

import rules
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from applications import services as application_services
from applications.models import (
    DECIDED_STATUSES,
    Application,
    ApplicationStatus,
)
from applications.selectors import application_mail_recipients
from calls.models import Call, CallState
from kodoku_portal.jp import JST, format_datetime, format_yen
from kodoku_portal.models import OutboxMessage, OutboxStatus
from kodoku_portal.outbox import Mail, enqueue, retry
from kodoku_portal.prefectures import region_of
from kodoku_portal.workflow import Refused, change_state, record

from .documents import notice_signed
from .letters import next_document_number
from .models import (
    Award,
    AwardStatus,
    Decision,
    DecisionWindowOverride,
    Notice,
    NoticeBatch,
    NoticeKind,
    NoticesSentOutside,
)
from .signed import store_signed

NOTICE_MAIL = "notice"  # the outbox kind of a notice's mail (one per address)


def committed_amount(call: Call, *, excluding: Application | None = None) -> int:
    """What the call's adopted applications hold of its budget: each its granted amount (交付決定額)
    once the grant is decided, its award amount before; a declined award (辞退) holds nothing."""
    adopted = Decision.objects.filter(
        application__call=call, application__status=ApplicationStatus.ADOPTED, award_amount__isnull=False
    ).exclude(application__award__status=AwardStatus.DECLINED)
    if excluding is not None:
        adopted = adopted.exclude(application=excluding)
    held = Coalesce("application__award__granted_amount", "award_amount")
    return adopted.aggregate(total=Sum(held))["total"] or 0


def _check_award_amount(call: Call, application: Application, award_amount: int | None) -> None:
    """An award is at most the request, which is at most the cap, within the call's budget."""
    if award_amount is None or award_amount <= 0:
        raise Refused(_("Give the award amount."), code="amount")
    if award_amount > application.requested_amount:
        raise Refused(
            _("The award (%(award)s) cannot exceed the requested amount (%(request)s).")
            % {"award": format_yen(award_amount), "request": format_yen(application.requested_amount)},
            code="amount",
        )
    if call.cap_amount is not None and award_amount > call.cap_amount:
        raise Refused(
            _("The award (%(award)s) cannot exceed the cap (%(cap)s).")
            % {"award": format_yen(award_amount), "cap": format_yen(call.cap_amount)},
            code="amount",
        )
    if call.budget_total is not None:
        committed = committed_amount(call, excluding=application)
        if committed + award_amount > call.budget_total:
            raise Refused(
                _("This award would exceed the budget: %(committed)s already committed, %(left)s left of %(budget)s.")
                % {
                    "committed": format_yen(committed),
                    "left": format_yen(call.budget_total - committed),
                    "budget": format_yen(call.budget_total),
                },
                code="budget",
            )


def _check_decides(user: User) -> None:
    """Decisions, notices and publication are programme staff's (the same rule as the awards)."""
    if not rules.test_rule("can_manage_awards", user):
        raise Refused(_("Only programme staff decide, send notices and publish."), code="forbidden")


# --- the decision window -----------------------------------------------------------------------


def _check_decision_window(call: Call, *, now: dt.datetime | None = None) -> None:
    """Decisions wait until the call has closed (nobody is decided on while others may still
    apply), unless staff allowed them earlier with a reason (``decisions_allow_before_close``)."""
    if call.state_at(now or timezone.now()) == CallState.CLOSED:
        return
    if DecisionWindowOverride.objects.filter(call=call).exists():
        return
    if call.has_window and call.state_at(now or timezone.now()) == CallState.OPEN:
        raise Refused(
            _(
                "The call is open until %(closes)s: decisions wait until it closes. To decide earlier, "
                "give the reason on the decisions page."
            )
            % {"closes": format_datetime(call.closes_at)},
            code="call_open",
        )
    raise Refused(
        _(
            "The call has not closed yet: decisions wait until it closes. To decide earlier, "
            "give the reason on the decisions page."
        ),
        code="call_open",
    )


@transaction.atomic
def decisions_allow_before_close(*, call: Call, by: User, reason: str) -> DecisionWindowOverride:
    """Staff allow decisions on a call that has not closed yet, saying why (e.g. a practice call,
    or a call stopped early whose window was left as it was). Audited; given once per call."""
    _check_decides(by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_("Give the reason for deciding before the call closes."), code="reason")
    if call.state == CallState.CLOSED:
        raise Refused(_("The call has closed: decisions need no override."), code="closed")
    if DecisionWindowOverride.objects.filter(call=call).exists():
        raise Refused(_("Decisions on this call are already allowed before it closes."), code="allowed")
    override = DecisionWindowOverride.objects.create(call=call, reason=reason, allowed_by=by)
    record(
        override,
        by=by,
        action="decisions_allowed_before_close",
        after={"reason": reason},
        call_id=call.pk,
    )
    return override


@transaction.atomic
def decision_record(
    *,
    application: Application,
    outcome: ApplicationStatus,
    award_amount: int | None,
    decided_by: User,
    note: str = "",
) -> Application:
    """採択 / 不採択 / 補欠 (or back to undecided): the application's status, through the workflow
    (``Application.TRANSITIONS``), and the award amount. Refused once a notice exists. Each refusal
    names the application by its receipt number (the decisions page lists many)."""
    _check_decides(decided_by)
    call = Call.objects.select_for_update().get(pk=application.call_id)  # one budget check at a time
    application = Application.objects.select_for_update(of=("self",)).get(pk=application.pk)
    try:
        _check_decision_window(call)
        if Notice.objects.filter(application=application).exists():
            raise Refused(_("The notice has been issued; the decision can no longer be changed."), code="noticed")
        if outcome not in DECIDED_STATUSES and outcome != ApplicationStatus.SUBMITTED:
            raise Refused(_("Not a decision."), code="invalid")
        if outcome == ApplicationStatus.ADOPTED:
            _check_award_amount(call, application, award_amount)
        else:
            award_amount = None
        decision = Decision.objects.filter(application=application).first()
        before = {"award_amount": decision.award_amount if decision else None}
        after = {"award_amount": award_amount}
        if application.status == outcome:
            # The same outcome again (e.g. another amount): audited, but not a state change.
            record(
                application,
                by=decided_by,
                action="decision",
                before={"status": application.status, **before},
                after={"status": ApplicationStatus(outcome).value, **after},
            )
        else:
            change_state(
                application,
                outcome,
                by=decided_by,
                action="decision",
                before=before,
                after=after,
            )
    except Refused as refused:
        raise Refused(
            *(
                _("%(number)s: %(message)s") % {"number": application.receipt_number, "message": message}
                for message in refused.messages
            ),
            code=refused.code,
        ) from refused
    if outcome == ApplicationStatus.SUBMITTED:
        Decision.objects.filter(application=application).delete()
    else:
        Decision.objects.update_or_create(
            application=application,
            defaults={
                "award_amount": award_amount,
                "decided_by": decided_by,
                "decided_at": timezone.now(),
                "note": note,
            },
        )
    return application


# --- adoption proposal ------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    application_id: int
    score: float
    amount: int
    theme_id: int | None
    prefecture: str


def propose(candidates: list[Candidate], *, budget: int | None, balance_by: str = "") -> list[int]:
    """Which applications to adopt: highest score first, each at its requested amount, skipping
    any that no longer fits the budget. With ``balance_by`` "theme" or "region", the groups take
    turns (each group's best remaining application, best first), so one theme or one region
    cannot take the whole budget. The total never exceeds the budget."""
    ordered = sorted(candidates, key=lambda c: (-c.score, c.application_id))
    group_of = {
        "theme": lambda c: c.theme_id,
        "region": lambda c: region_of(c.prefecture) if c.prefecture else "",
    }.get(balance_by)
    if group_of is not None:
        queues: dict = {}
        for candidate in ordered:
            queues.setdefault(group_of(candidate), []).append(candidate)
        ordered = []
        while any(queues.values()):
            heads = sorted((q[0] for q in queues.values() if q), key=lambda c: (-c.score, c.application_id))
            for head in heads:
                ordered.append(queues[group_of(head)].pop(0))
    chosen, total = [], 0
    for candidate in ordered:
        if budget is None or total + candidate.amount <= budget:
            chosen.append(candidate.application_id)
            total += candidate.amount
    return chosen


@transaction.atomic
def proposal_accept(*, call: Call, application_ids: list[int], decided_by: User) -> int:
    """Adopt the proposed applications at their requested amounts (each checked as by hand)."""
    count = 0
    for application in Application.objects.filter(call=call, pk__in=application_ids).order_by("pk"):
        decision_record(
            application=application,
            outcome=ApplicationStatus.ADOPTED,
            award_amount=application.requested_amount,
            decided_by=decided_by,
            note=_("From the adoption proposal"),
        )
        count += 1
    return count


# --- notices ----------------------------------------------------------------------------------


def notice_mails(notice: Notice) -> list[Mail]:
    """The mails of a notice: one per address the application is written to (one outbox row each)."""
    application = notice.application
    submitter = application.submitted_by if application.submitted_by_id else None
    return [
        Mail(
            kind=NOTICE_MAIL,
            subject=notice,
            to_email=address,
            recipient=submitter if submitter is not None and submitter.email.lower() == address else None,
            language="ja",  # official letters are issued in Japanese
            call_id=application.call_id,
        )
        for address in application_mail_recipients(application)
    ]


@transaction.atomic
def notices_prepare(*, call: Call, created_by: User) -> tuple[NoticeBatch, list[int]]:
    """Create the notices of every adopted and not-adopted application that has none, record their
    mails in the outbox (sent after commit), put back in the queue any that failed, and return the
    batch and the ids of the call's notices not yet sent to every address (new or left over)."""
    _check_decides(created_by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    batch = NoticeBatch.objects.create(call=call, created_by=created_by)
    today = timezone.now().astimezone(JST).date()
    kinds = {
        ApplicationStatus.ADOPTED: NoticeKind.ADOPTED,
        ApplicationStatus.NOT_ADOPTED: NoticeKind.NOT_ADOPTED,
        ApplicationStatus.RESERVE: NoticeKind.RESERVE,  # told they are on the list (補欠)
    }
    decided = (
        Application.objects.filter(call=call, status__in=list(kinds))
        .filter(notice__isnull=True, notices_sent_outside__isnull=True)
        .select_related("decision")
        .order_by("receipt_number")
    )
    for application in decided:
        adopted = application.status == ApplicationStatus.ADOPTED
        Notice.objects.create(
            application=application,
            batch=batch,
            kind=kinds[application.status],
            document_number=next_document_number(today, practice=call.is_practice),
            issued_on=today,
            # Imported rounds (e.g. a published list) may have no Decision row and no amount.
            award_amount=getattr(getattr(application, "decision", None), "award_amount", None) if adopted else None,
        )
        if adopted:
            award_open(application=application, notice_day=today)
    pending = []
    notices = Notice.objects.filter(application__call=call).select_related(
        "application__organisation", "application__submitted_by"
    )
    for notice in notices.order_by("document_number"):
        unsent = False
        for mail in notice_mails(notice):
            message = enqueue(mail)  # a message recorded before is returned as it is
            if message is None:
                continue
            if message.status == OutboxStatus.FAILED:
                retry(message.pk)  # "send the notices" again retries what failed
            unsent = unsent or message.status != OutboxStatus.SENT
        if unsent:
            pending.append(notice.pk)
    Notice.objects.filter(pk__in=pending).update(batch=batch)
    record(call, by=created_by, action="notices_prepared", after={"pending": len(pending)}, call_id=call.pk)
    return batch, pending


def outside_notice_candidates(call: Call) -> QuerySet[Application]:
    """The call's applications imported as already decided (an outcome but no decision taken in
    the portal: no ``Decision`` row) that have no notice, from the portal or recorded as sent
    outside it, and whose decision is not yet disclosed: what ``notices_record_outside`` covers.
    A decision taken in the portal is notified by the portal."""
    return Application.objects.filter(
        call=call,
        status__in=list(DECIDED_STATUSES),
        decision__isnull=True,
        notice__isnull=True,
        notices_sent_outside__isnull=True,
        decision_disclosed_at__isnull=True,
    )


@transaction.atomic
def notices_record_outside(*, call: Call, by: User, note: str, sent_on: dt.date | None = None) -> NoticesSentOutside:
    """A past round imported as already decided: its organisations were told outside the portal.
    Record so (who — the staff member recording —, when, when the notices went if known, a note):
    each decided application without a notice counts as told (its decision is disclosed), the
    portal sends it no notice, and the adopted list may be published. Audited."""
    _check_decides(by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    note = (note or "").strip()
    if not note:
        raise Refused(_("Say in the note how and by whom the organisations were told."), code="note")
    if call.is_practice:
        raise Refused(_("A practice call's notices are not recorded as sent outside the portal."), code="practice")
    if call.state != CallState.CLOSED:
        raise Refused(_("The call has not closed: its notices cannot have been sent yet."), code="call_open")
    today = timezone.now().astimezone(JST).date()
    if sent_on is not None and sent_on > today:
        raise Refused(_("The day the notices were sent cannot be in the future."), code="sent_on")
    applications = list(outside_notice_candidates(call).select_for_update(of=("self",)).order_by("receipt_number"))
    if not applications:
        raise Refused(
            _("No decided application of this call is waiting for its notice: there is nothing to record."),
            code="nothing",
        )
    entry = NoticesSentOutside.objects.create(call=call, sent_on=sent_on, note=note, recorded_by=by)
    entry.applications.set(applications)
    now = timezone.now()
    for application in applications:
        application_services.application_disclose_decision(application_id=application.pk, at=now)
    record(
        entry,
        by=by,
        action="notices_recorded_outside",
        after={
            "applications": [a.receipt_number for a in applications],
            "sent_on": sent_on.isoformat() if sent_on else None,
            "note": note,
        },
        call_id=call.pk,
    )
    return entry


def notice_render(*, notice_id: int) -> Notice:
    """The notice with its PDF (signed, with its verification code: documents.notice_signed),
    rendered and signed once and kept; a stored notice is never signed again. Rendering takes a while, so it happens
    outside any transaction or lock; if another worker stored one meanwhile, that one is kept."""
    notice = Notice.objects.get(pk=notice_id)
    if notice.pdf:
        return notice
    rendered = notice_signed(notice)
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice_id)
        if not notice.pdf:
            notice.pdf.save(f"{notice.document_number}.pdf", ContentFile(rendered.data), save=False)
            notice.generated_at = timezone.now()
            notice.save(update_fields=["pdf", "generated_at", *store_signed(notice, rendered)])
    return notice


@transaction.atomic
def notice_mail_sent(*, notice_id: int, at: dt.datetime) -> None:
    """A mail of the notice has been sent: the notice counts as e-mailed (the first time) and the
    organisation may now see the decision. Safe to call again."""
    Notice.objects.filter(pk=notice_id, emailed_at__isnull=True).update(emailed_at=at)
    application_id = Notice.objects.filter(pk=notice_id).values_list("application_id", flat=True).first()
    if application_id is not None:
        application_services.application_disclose_decision(application_id=application_id, at=at)


def notices_record_sent(*, call: Call | None = None) -> int:
    """Repair: a notice whose mail the outbox has sent but that is not recorded as e-mailed (the
    worker stopped, or recording failed, between the mail server's answer and the record) is
    recorded now, with the time the outbox sent it, and its decision disclosed. Run by beat and
    before the notices page and publication read the notices; returns how many were repaired."""
    sent = OutboxMessage.objects.filter(
        kind=NOTICE_MAIL, subject_type=Notice._meta.label, status=OutboxStatus.SENT, sent_at__isnull=False
    )
    unrecorded = Notice.objects.filter(emailed_at__isnull=True, pk__in=sent.values("subject_id"))
    if call is not None:
        unrecorded = unrecorded.filter(application__call=call)
    repaired = 0
    for notice_id in unrecorded.values_list("pk", flat=True):
        first = sent.filter(subject_id=notice_id).order_by("sent_at").values_list("sent_at", flat=True).first()
        with transaction.atomic():
            notice_mail_sent(notice_id=notice_id, at=first)
        repaired += 1
    return repaired


# --- the award, opened at 採択 ----------------------------------------------------------------


def award_open(*, application: Application, notice_day: dt.date) -> Award:
    """The award of an adopted application, created with its notice (or a 繰上げ採択): the 交付申請
    is due the call's number of days after the notice (none where the application serves as it)."""
    call = application.call
    due = notice_day + dt.timedelta(days=call.grant_application_due_days) if call.uses_grant_application else None
    award, _created = Award.objects.get_or_create(
        application=application,
        defaults={
            "grant_application_due": due,
            "project_start": application.period_start,
            "project_end": application.period_end,
        },
    )
    return award


# --- publication ------------------------------------------------------------------------------


@transaction.atomic
def adoptions_publish(*, call: Call, publish: bool, by: User) -> Call:
    """Publish (or withdraw) the public page of the call's adopted projects.

    Not a state of the workflow: publication is a moment on the call (``adoptions_published_at``,
    set or cleared, and the calls app owns the model), so it is an audited change (``record``)."""
    _check_decides(by)
    notices_record_sent(call=call)
    call = Call.objects.select_for_update().get(pk=call.pk)
    # Told = the decision is disclosed (applications' rule, set when a notice mail is sent).
    unnotified = Application.objects.filter(
        call=call, status=ApplicationStatus.ADOPTED, decision_disclosed_at__isnull=True
    )
    if publish and unnotified.exists():
        raise Refused(
            _(
                "Send the notices first (or, for a round whose notices were sent outside the portal, record "
                "that on the notices page): the list is published only when every adopted organisation has been told."
            ),
            code="unnotified",
        )
    before = {"adoptions_published_at": call.adoptions_published_at}
    call.adoptions_published_at = timezone.now() if publish else None
    call.save(update_fields=["adoptions_published_at"])
    record(
        call,
        by=by,
        action="adoptions_published" if publish else "adoptions_withdrawn",
        before=before,
        after={"adoptions_published_at": call.adoptions_published_at},
        call_id=call.pk,
    )
    return call
