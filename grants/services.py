"""Every state change after the review: decisions, notices, award tracking, publication.

Each function is one transaction, the only writer of what it changes, and writes the audit trail.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import (
    DECIDED_STATUSES,
    Application,
    ApplicationStatus,
    can_transition,
)
from calls.models import Call
from kodoku_portal.audit import audit
from kodoku_portal.jp import JST, format_yen

from .models import (
    AWARD_TRANSITIONS,
    Award,
    AwardStatus,
    Decision,
    DocumentCounter,
    Notice,
    NoticeBatch,
    NoticeKind,
    Report,
    ReportCost,
    ReportKind,
)


class GrantRefused(Exception):
    def __init__(self, message: str, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code


def committed_amount(call: Call, *, excluding: Application | None = None) -> int:
    """The sum of the award amounts of the call's adopted applications."""
    adopted = Decision.objects.filter(
        application__call=call, application__status=ApplicationStatus.ADOPTED, award_amount__isnull=False
    )
    if excluding is not None:
        adopted = adopted.exclude(application=excluding)
    return adopted.aggregate(total=Sum("award_amount"))["total"] or 0


@transaction.atomic
def decision_record(
    *, application: Application, outcome: ApplicationStatus, award_amount: int | None, decided_by, note: str = ""
) -> Application:
    """採択 / 不採択 / 補欠 (or back to undecided). An award is at most the request, which is at most
    the cap, and the call's committed total stays within its budget. Refused once a notice exists."""
    call = Call.objects.select_for_update().get(pk=application.call_id)  # one budget check at a time
    application = Application.objects.select_for_update(of=("self",)).get(pk=application.pk)
    if Notice.objects.filter(application=application).exists():
        raise GrantRefused(_("The notice has been issued; the decision can no longer be changed."), code="noticed")
    if outcome not in DECIDED_STATUSES and outcome != ApplicationStatus.SUBMITTED:
        raise GrantRefused(_("Not a decision."), code="invalid")
    if application.status != outcome and not can_transition(application.status, outcome):
        raise GrantRefused(
            _("An application that is %(current)s cannot become %(target)s.")
            % {"current": application.get_status_display(), "target": outcome.label},
            code="transition",
        )
    if outcome == ApplicationStatus.ADOPTED:
        if award_amount is None or award_amount <= 0:
            raise GrantRefused(_("Give the award amount."), code="amount")
        if award_amount > application.requested_amount:
            raise GrantRefused(
                _("The award (%(award)s) cannot exceed the requested amount (%(request)s).")
                % {"award": format_yen(award_amount), "request": format_yen(application.requested_amount)},
                code="amount",
            )
        if call.cap_amount is not None and award_amount > call.cap_amount:
            raise GrantRefused(
                _("The award (%(award)s) cannot exceed the cap (%(cap)s).")
                % {"award": format_yen(award_amount), "cap": format_yen(call.cap_amount)},
                code="amount",
            )
        if call.budget_total is not None:
            committed = committed_amount(call, excluding=application)
            if committed + award_amount > call.budget_total:
                raise GrantRefused(
                    _(
                        "This award would exceed the budget: %(committed)s already committed, "
                        "%(left)s left of %(budget)s."
                    )
                    % {
                        "committed": format_yen(committed),
                        "left": format_yen(call.budget_total - committed),
                        "budget": format_yen(call.budget_total),
                    },
                    code="budget",
                )
    else:
        award_amount = None
    decision = Decision.objects.filter(application=application).first()
    before = {"status": application.status, "award_amount": decision.award_amount if decision else None}
    application.status = outcome
    application.save(update_fields=["status", "updated_at"])
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
    audit(
        actor=decided_by,
        action="decision",
        obj=application,
        before=before,
        after={"status": outcome.value, "award_amount": award_amount},
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
    from kodoku_portal.prefectures import region_of

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
def proposal_accept(*, call: Call, application_ids: list[int], decided_by) -> int:
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


def _fiscal_year(day: dt.date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def _next_document_number(day: dt.date) -> str:
    """府孤第N号, numbered per fiscal year (April–March); the counter row is locked until commit."""
    counter, _created = DocumentCounter.objects.get_or_create(fiscal_year=_fiscal_year(day))
    counter = DocumentCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"府孤第{counter.last}号"


@transaction.atomic
def notices_prepare(*, call: Call, created_by) -> tuple[NoticeBatch, list[int]]:
    """Create the notices of every adopted and not-adopted application that has none, and return
    the batch and the ids of every notice of the call not yet e-mailed (new or left over)."""
    call = Call.objects.select_for_update().get(pk=call.pk)
    batch = NoticeBatch.objects.create(call=call, created_by=created_by)
    today = timezone.now().astimezone(JST).date()
    decided = (
        Application.objects.filter(call=call, status__in=[ApplicationStatus.ADOPTED, ApplicationStatus.NOT_ADOPTED])
        .filter(notice__isnull=True)
        .select_related("decision")
        .order_by("receipt_number")
    )
    for application in decided:
        adopted = application.status == ApplicationStatus.ADOPTED
        Notice.objects.create(
            application=application,
            batch=batch,
            kind=NoticeKind.ADOPTED if adopted else NoticeKind.NOT_ADOPTED,
            document_number=_next_document_number(today),
            issued_on=today,
            # Imported rounds (e.g. a published list) may have no Decision row and no amount.
            award_amount=getattr(getattr(application, "decision", None), "award_amount", None) if adopted else None,
        )
        if adopted:
            Award.objects.get_or_create(application=application)
    pending = list(Notice.objects.filter(application__call=call, emailed_at__isnull=True).values_list("pk", flat=True))
    Notice.objects.filter(pk__in=pending).update(batch=batch)
    audit(actor=created_by, action="notices_prepared", obj=call, before=None, after={"pending": len(pending)})
    return batch, pending


def notice_render(*, notice_id: int) -> Notice:
    """Render the notice PDF once."""
    from django.core.files.base import ContentFile

    from .documents import notice_pdf

    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice_id)
        if notice.pdf:
            return notice
        notice.pdf.save(f"{notice.document_number}.pdf", ContentFile(notice_pdf(notice)), save=False)
        notice.generated_at = timezone.now()
        notice.save(update_fields=["pdf", "generated_at"])
        return notice


def notice_send(*, notice_id: int) -> Notice:
    """E-mail the notice once; the row stays locked while sending, so two workers cannot both send."""
    from .documents import notice_email

    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice_id)
        if notice.emailed_at is not None:
            return notice
        notice_email(notice).send()
        notice.emailed_at = timezone.now()
        notice.attempts += 1
        notice.last_error = ""
        notice.save(update_fields=["emailed_at", "attempts", "last_error"])
        return notice


@transaction.atomic
def notice_record_failure(*, notice_id: int, error: str) -> None:
    from django.db.models import F

    Notice.objects.filter(pk=notice_id).update(last_error=error[:2000], attempts=F("attempts") + 1)


# --- award tracking ---------------------------------------------------------------------------


def _award_transition(award: Award, target: AwardStatus) -> None:
    if target not in AWARD_TRANSITIONS[award.status]:
        raise GrantRefused(_("This step is not possible at this stage."), code="transition")
    award.status = target


@transaction.atomic
def award_grant(
    *, award: Award, granted_on: dt.date, granted_amount: int, progress_report_due, final_report_due, by
) -> Award:
    """交付決定: the granted amount is at most the award amount."""
    award = Award.objects.select_for_update(of=("self",)).select_related("application__decision").get(pk=award.pk)
    decided = award.application.decision.award_amount
    if not 0 < granted_amount <= decided:
        raise GrantRefused(
            _("The granted amount must be between 1 yen and the award (%(award)s).") % {"award": format_yen(decided)},
            code="amount",
        )
    before = {"status": award.status}
    _award_transition(award, AwardStatus.GRANTED)
    award.granted_on, award.granted_amount = granted_on, granted_amount
    award.progress_report_due, award.final_report_due = progress_report_due, final_report_due
    award.save()
    audit(
        actor=by,
        action="award_granted",
        obj=award,
        before=before,
        after={"status": award.status, "granted_amount": granted_amount, "granted_on": granted_on.isoformat()},
    )
    return award


@transaction.atomic
def report_submit(
    *,
    award: Award,
    kind: ReportKind,
    activities: str,
    participants: int,
    results: str,
    issues: str,
    costs: list[tuple[str, int]],
    by,
) -> Report:
    """The organisation's progress or final report (実績報告, with actual costs by 費目)."""
    award = Award.objects.select_for_update().get(pk=award.pk)
    if award.status not in (AwardStatus.GRANTED,) or Report.objects.filter(award=award, kind=kind).exists():
        raise GrantRefused(_("This report cannot be submitted now."), code="state")
    if kind == ReportKind.FINAL and not costs:
        raise GrantRefused(_("Give the actual costs."), code="costs")
    report = Report.objects.create(
        award=award,
        kind=kind,
        activities=activities,
        participants=participants,
        results=results,
        issues=issues,
        submitted_by=by,
        submitted_at=timezone.now(),
    )
    ReportCost.objects.bulk_create(ReportCost(report=report, category=c, amount=a) for c, a in costs)
    if kind == ReportKind.FINAL:
        _award_transition(award, AwardStatus.REPORTED)
        award.save(update_fields=["status"])
    audit(actor=by, action=f"report_{kind}", obj=award, before=None, after={"report": report.pk})
    return report


@transaction.atomic
def award_confirm(*, award: Award, confirmed_amount: int, confirmed_on: dt.date, by) -> Award:
    """額の確定: at most the granted amount and at most the actual costs reported."""
    award = Award.objects.select_for_update().get(pk=award.pk)
    final = Report.objects.filter(award=award, kind=ReportKind.FINAL).first()
    actual = final.costs.aggregate(total=Sum("amount"))["total"] or 0 if final else 0
    limit = min(award.granted_amount or 0, actual)
    if not 0 <= confirmed_amount <= limit:
        raise GrantRefused(
            _("The confirmed amount must be at most %(limit)s (the granted amount and the actual costs).")
            % {"limit": format_yen(limit)},
            code="amount",
        )
    before = {"status": award.status}
    _award_transition(award, AwardStatus.CONFIRMED)
    award.confirmed_amount, award.confirmed_on = confirmed_amount, confirmed_on
    award.save()
    audit(
        actor=by,
        action="award_confirmed",
        obj=award,
        before=before,
        after={"status": award.status, "confirmed_amount": confirmed_amount},
    )
    return award


@transaction.atomic
def award_pay(*, award: Award, paid_on: dt.date, by) -> Award:
    award = Award.objects.select_for_update().get(pk=award.pk)
    before = {"status": award.status}
    _award_transition(award, AwardStatus.PAID)
    award.paid_on = paid_on
    award.save()
    audit(
        actor=by,
        action="award_paid",
        obj=award,
        before=before,
        after={"status": award.status, "paid_on": paid_on.isoformat()},
    )
    return award


@transaction.atomic
def adoptions_publish(*, call: Call, publish: bool, by) -> Call:
    """Publish (or withdraw) the public page of the call's adopted projects."""
    call = Call.objects.select_for_update().get(pk=call.pk)
    unnotified = Application.objects.filter(call=call, status=ApplicationStatus.ADOPTED).exclude(
        notice__emailed_at__isnull=False
    )
    if publish and unnotified.exists():
        raise GrantRefused(
            _("Send the notices first: the list is published only when every adopted organisation has been told."),
            code="unnotified",
        )
    before = {"published_at": call.adoptions_published_at.isoformat() if call.adoptions_published_at else None}
    call.adoptions_published_at = timezone.now() if publish else None
    call.save(update_fields=["adoptions_published_at"])
    audit(
        actor=by,
        action="adoptions_published" if publish else "adoptions_withdrawn",
        obj=call,
        before=before,
        after={"published_at": call.adoptions_published_at.isoformat() if publish else None},
    )
    return call
