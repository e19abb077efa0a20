"""What the award page and every step's views share: finding the award for each side, the page's
address, the timeline and what is due next.

``staff_award_or_404(pk)`` / ``member_award_or_404(user, application_pk)``
    The award with what every section prints, or 404 (the member's only once the decision is
    disclosed: ``can_act_for_award``).
``award_page_url(award, *, staff)``
    The staff page (/staff/awards/<award>/) or the organisation's (/applications/<application>/award/).
``timeline(award)`` / ``next_due(award)``
    The award's life as dated events with their documents, and the dates due next with who acts.
"""

import datetime as dt
from dataclasses import dataclass, field

import rules
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User
from applications.selectors import application_for_member
from kodoku_portal.jp import JST

from .models import (
    Award,
    AwardStatus,
    ChangeStatus,
    GrantApplicationStatus,
    PaymentKind,
    PaymentStatus,
    ReportKind,
    ReportStatus,
)

AWARD_RELATED = ("application__organisation", "application__call__programme", "application__decision")


def staff_award_or_404(pk: int) -> Award:
    return get_object_or_404(Award.objects.select_related(*AWARD_RELATED), pk=pk)


def member_award_or_404(user: User, application_pk: int) -> Award:
    application = application_for_member(user, application_pk)
    award = Award.objects.select_related(*AWARD_RELATED).filter(application=application).first()
    if award is None or not rules.test_rule("can_act_for_award", user, award):
        raise Http404
    return award


def award_page_url(award: Award, *, staff: bool) -> str:
    if staff:
        return reverse("grants:award", args=[award.pk])
    return reverse("grants:applicant_award", args=[award.application_id])


@dataclass
class Event:
    when: dt.datetime | dt.date
    title: str
    detail: str = ""
    documents: list[tuple[str, str]] = field(default_factory=list)  # (label, url)
    at: dt.datetime | None = None  # when it happened, for the order, where ``when`` is a date

    rank: int = 0  # the order of the lifecycle, for events of one day known only by their date

    @property
    def sort_key(self) -> tuple:
        """By day (JST); within a day, events known only by their date take their place in the
        lifecycle's order among the timed ones (a payment recorded as paid on a day comes after
        that day's grant decision and before its report); then by time."""
        moment = self.at if self.at is not None else self.when
        if isinstance(moment, dt.datetime):
            moment = moment.astimezone(JST)
            return (moment.date(), self.rank, moment.time())
        return (moment, self.rank, dt.time(0, 0))


# Where each letter stands in the lifecycle (the order of one day's events; see Event.sort_key).
LETTER_RANKS = {
    "promoted": 1,
    "grant_decision": 20,
    "change_approved": 42,
    "change_refused": 42,
    "confirmation": 60,
    "cancellation": 62,
    "refund_order": 65,
}


def timeline(award: Award, *, letter_url=None) -> list[Event]:
    """Every step of the award so far, oldest first. ``letter_url(letter)`` gives each letter's
    download link for the side that reads the page."""
    events: list[Event] = []
    notice = getattr(award.application, "notice", None)
    if notice is not None:
        # The notice the award began with: 採択, or 補欠 for an award promoted from the reserve list.
        events.append(
            Event(notice.issued_on, notice.get_kind_display(), notice.document_number, at=notice.created_at, rank=0)
        )
    for filing in award.grant_applications.all():
        events.append(Event(filing.submitted_at, _("Grant application filed (交付申請)"), f"#{filing.number}", rank=10))
        if filing.reviewed_at and filing.status == GrantApplicationStatus.RETURNED:
            returned = _("Grant application returned for correction")
            events.append(Event(filing.reviewed_at, returned, filing.return_reason, rank=11))
        elif filing.reviewed_at and filing.status == GrantApplicationStatus.ACCEPTED:
            events.append(Event(filing.reviewed_at, _("Grant application accepted"), rank=12))
    for change in award.changes.all():
        events.append(Event(change.requested_at, change.get_kind_display(), change.get_status_display(), rank=40))
        if change.decided_at and change.status in (ChangeStatus.APPROVED, ChangeStatus.REFUSED):
            events.append(Event(change.decided_at, change.get_status_display(), change.decision_note, rank=41))
    for report in award.reports.all():
        events.append(Event(report.submitted_at, report.get_kind_display(), _("Filed"), rank=50))
        if report.reviewed_at and report.status != ReportStatus.SUBMITTED:
            events.append(Event(report.reviewed_at, report.get_kind_display(), report.get_status_display(), rank=51))
    for payment in award.payments.all():
        if payment.requested_at:
            events.append(Event(payment.requested_at, payment.get_kind_display(), _("Requested"), rank=30))
        if payment.paid_on:
            events.append(
                Event(
                    payment.paid_on,
                    payment.get_kind_display(),
                    _("Paid"),
                    rank=31 if payment.kind == PaymentKind.ADVANCE else 70,
                )
            )
    refund = getattr(award, "refund", None)
    if refund is not None and refund.received_on:
        events.append(Event(refund.received_on, _("Refund received"), "", rank=75))
    if award.declined_at:
        events.append(Event(award.declined_at, _("Declined (辞退)"), award.decline_reason, rank=90))
    for letter in award.letters.all():
        documents = [(letter.document_number, letter_url(letter))] if letter_url and letter.pdf else []
        events.append(
            Event(
                letter.issued_on,
                letter.get_kind_display(),
                letter.document_number,
                documents,
                at=letter.created_at,
                rank=LETTER_RANKS.get(letter.kind, 80),
            )
        )
    return sorted(events, key=lambda event: event.sort_key)


@dataclass(frozen=True)
class Due:
    what: str
    on: dt.date | None
    organisation_acts: bool  # False: staff act next

    def overdue(self, today: dt.date) -> bool:
        return self.on is not None and self.on < today


def next_due(award: Award) -> list[Due]:
    """What the award waits on now, with its date where one is set."""
    status = award.status
    due: list[Due] = []
    if status == AwardStatus.ADOPTED:
        if award.application.call.uses_grant_application:
            due.append(Due(_("Grant application (交付申請)"), award.grant_application_due, True))
        else:
            due.append(Due(_("Grant decision (交付決定)"), None, False))
    elif status == AwardStatus.APPLIED:
        due.append(Due(_("Check the grant application"), None, False))
    elif status == AwardStatus.ACCEPTED:
        due.append(Due(_("Grant decision (交付決定)"), None, False))
    elif status == AwardStatus.GRANTED:
        for kind in award.reports_open():
            on = award.final_report_due if kind == ReportKind.FINAL else award.progress_report_due
            due.append(Due(ReportKind(kind).label, on, True))
    elif status == AwardStatus.REPORTED:
        due.append(Due(_("Review the final report"), None, False))
    elif status == AwardStatus.REPORT_ACCEPTED:
        due.append(Due(_("Confirm the amount (額の確定)"), None, False))
    elif status == AwardStatus.CONFIRMED:
        paid = sum(p.amount for p in award.payments.all() if p.status == PaymentStatus.PAID)
        if award.confirmed_amount is not None and paid > award.confirmed_amount:
            due.append(Due(_("Order the refund (返還命令)"), None, False))
        elif not any(p.kind == PaymentKind.SETTLEMENT for p in award.payments.all()):
            due.append(Due(_("Settlement (精算払)"), None, False))
    elif status == AwardStatus.REFUND_ORDERED:
        refund = getattr(award, "refund", None)
        due.append(Due(_("Refund (返還)"), refund.due_on if refund else None, True))
    if status not in (AwardStatus.CLOSED, AwardStatus.DECLINED):
        for report in award.reports.all():
            if report.kind == ReportKind.PROGRESS and report.status == ReportStatus.SUBMITTED:
                due.append(Due(_("Review the progress report"), None, False))
        for change in award.changes.all():
            if change.status == ChangeStatus.PENDING:
                due.append(Due(_("Decide on change request %(number)s") % {"number": change.number}, None, False))
        for payment in award.payments.all():
            if payment.status == PaymentStatus.REQUESTED:
                due.append(Due(_("Decide on the advance payment request"), None, False))
            elif payment.status == PaymentStatus.APPROVED:
                due.append(Due(_("Pay %(kind)s") % {"kind": payment.get_kind_display()}, payment.scheduled_on, False))
    return due
