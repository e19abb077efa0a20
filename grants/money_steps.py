"""Services of 額の確定 and its letter, 概算払 and 精算払, 返還命令, 加算金 and 延滞金, the payments list.

One transactional function per state change, through kodoku_portal.workflow (change_state /
record); letters through grants.letters.issue_letter. Each locks the award first (then the payment
it acts on), re-reads the state and refuses with what happened when another person acted first.

``advance_request(award=, amount=, reason=, by=)``            organisation: 概算払 requested
``advance_approve(payment=, scheduled_on=, by=)``             staff: REQUESTED → APPROVED
``advance_refuse(payment=, reason=, by=)``                    staff: REQUESTED → REFUSED
``payment_record_paid(payment=, paid_on=, by=)``              staff: APPROVED → PAID (a 精算払 closes the award)
``amount_confirm(award=, amount=, scheduled_on=, by=)``       staff: 額の確定 (article 15), letter, settlement
``refund_order(award=, due_on=, by=)``                        staff: 返還命令 (article 18(2)), letter
``refund_receive(award=, received_on=, received_amount=, waived=, note=, by=)``
                                                              staff: the money returned, with 延滞金
                                                              (and 加算金 after a cancellation)
``grant_cancel(award=, amount=, reason=, due_on=, cancelled_before=, by=)``
                                                              staff: 決定の取消 (article 17(1)), its
                                                              letter, and the 返還命令 (article 18(1))

Figures the pages show: ``advance_room``, ``paid_so_far``, ``granted_left``, ``kept_so_far``,
``eligible_by_category``, ``terms_for``, ``refund_due``.

加算金 (article 19(1)) is owed only on a return ordered after a cancellation of the grant
decision (Refund.cause CANCELLATION, article 18(1)); a return of an overpayment after 額の確定
(OVERPAYMENT, article 18(2)) bears 延滞金 only (article 19(2)). See docs/DOMAIN.md.
"""

import datetime as dt
from dataclasses import dataclass

import rules
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from kodoku_portal.jp import JST, format_date, format_yen
from kodoku_portal.workflow import Refused, change_state, record

from . import calculations
from .calculations import ConfirmationTerms
from .letters import issue_letter
from .models import (
    Award,
    AwardStatus,
    CostVerdict,
    Letter,
    LetterKind,
    Payment,
    PaymentKind,
    PaymentStatus,
    Refund,
    RefundCause,
    Report,
    ReportKind,
    ReportStatus,
)

# What the audit page says of this part's actions (registered by GrantsConfig.ready).
AUDIT_SENTENCES: dict = {
    "advance_requested": gettext_lazy("%(actor)s requested an advance payment for %(object)s (%(amount)s)"),
    "advance_approved": gettext_lazy("%(actor)s approved the advance payment of %(object)s (%(amount)s)"),
    "advance_refused": gettext_lazy("%(actor)s refused the advance payment of %(object)s"),
    "payment_paid": gettext_lazy("%(actor)s recorded %(object)s as paid (%(amount)s)"),
    "amount_confirmed": gettext_lazy("%(actor)s confirmed the amount of %(object)s (%(amount)s)"),
    "settlement_scheduled": gettext_lazy("%(actor)s scheduled the settlement of %(object)s (%(amount)s)"),
    "award_closed": gettext_lazy("%(actor)s closed %(object)s"),
    "refund_ordered": gettext_lazy("%(actor)s ordered %(object)s to return %(amount)s"),
    "refund_received": gettext_lazy("%(actor)s recorded the money returned for %(object)s (%(amount)s)"),
    "grant_cancelled": gettext_lazy("%(actor)s cancelled the grant decision of %(object)s (%(amount)s)"),
    "settlement_reduced": gettext_lazy("%(actor)s reduced the settlement of %(object)s (%(amount)s)"),
    "settlement_withdrawn": gettext_lazy("%(actor)s withdrew the settlement %(name)s"),
}
# What the audit page's filter calls them.
AUDIT_LABELS: dict = {
    "advance_requested": gettext_lazy("Advance payment requested (概算払)"),
    "advance_approved": gettext_lazy("Advance payment approved"),
    "advance_refused": gettext_lazy("Advance payment refused"),
    "payment_paid": gettext_lazy("Payment made"),
    "amount_confirmed": gettext_lazy("Amount confirmed (額の確定)"),
    "settlement_scheduled": gettext_lazy("Settlement scheduled (精算払)"),
    "award_closed": gettext_lazy("Award closed"),
    "refund_ordered": gettext_lazy("Refund ordered (返還命令)"),
    "refund_received": gettext_lazy("Refund received"),
    "grant_cancelled": gettext_lazy("Grant decision cancelled (決定の取消)"),
    "settlement_reduced": gettext_lazy("Settlement reduced after a cancellation"),
    "settlement_withdrawn": gettext_lazy("Settlement withdrawn after a cancellation"),
}

# 交付決定 made, 額の確定 not yet: when 概算払 may be requested and approved.
ADVANCE_STEPS = frozenset({AwardStatus.GRANTED, AwardStatus.REPORTED, AwardStatus.REPORT_ACCEPTED})
# Advances that count towards the 交付決定額 (a refused request does not).
COUNTED_ADVANCES = (PaymentStatus.REQUESTED, PaymentStatus.APPROVED, PaymentStatus.PAID)
# The steps at which staff may cancel the grant decision (article 17(1); 17(3): also after 額の確定).
CANCEL_STEPS = frozenset(
    {AwardStatus.GRANTED, AwardStatus.REPORTED, AwardStatus.REPORT_ACCEPTED, AwardStatus.CONFIRMED}
)
SETTLEMENT_DAYS = 30  # default: the 精算払 is scheduled 30 days after 額の確定
REFUND_DAYS = 20  # default: the refund is due 20 days after the order


def today() -> dt.date:
    return timezone.now().astimezone(JST).date()


# --- figures ---------------------------------------------------------------------------------


def advances_counted(award: Award) -> int:
    """The advances requested, approved or paid (what counts towards the 交付決定額)."""
    total = award.payments.filter(kind=PaymentKind.ADVANCE, status__in=COUNTED_ADVANCES).aggregate(total=Sum("amount"))[
        "total"
    ]
    return total or 0


def granted_left(award: Award) -> int:
    """The 交付決定額 in force: the amount granted less what was cancelled (article 17(1))."""
    return max((award.granted_amount or 0) - award.cancelled_amount, 0)


def ordered_back_on_cancellation(award: Award) -> int:
    """What was ordered back after a cancellation (article 18(1)): money paid that the
    organisation no longer keeps, whether or not it has come back yet."""
    refund = Refund.objects.filter(award=award, cause=RefundCause.CANCELLATION).first()
    return refund.amount if refund is not None else 0


def advance_room(award: Award) -> int:
    """How much more may be requested as 概算払: the 交付決定額 in force (less what was cancelled)
    less the advances counted (less what of them was ordered back after a cancellation)."""
    return max(granted_left(award) - (advances_counted(award) - ordered_back_on_cancellation(award)), 0)


def paid_so_far(award: Award) -> int:
    total = award.payments.filter(status=PaymentStatus.PAID).aggregate(total=Sum("amount"))["total"]
    return total or 0


def kept_so_far(award: Award) -> int:
    """What was paid less what was ordered back after a cancellation: what 額の確定 balances."""
    return paid_so_far(award) - ordered_back_on_cancellation(award)


def receipts(award: Award) -> list[tuple[dt.date, int]]:
    """What the organisation received: (day paid, amount) of every paid payment."""
    return list(award.payments.filter(status=PaymentStatus.PAID).values_list("paid_on", "amount"))


def accepted_final_report(award: Award) -> Report | None:
    return (
        award.reports.filter(kind=ReportKind.FINAL, status=ReportStatus.ACCEPTED)
        .order_by("-submitted_at", "-id")
        .first()
    )


def eligible_by_category(report: Report) -> dict[str, int]:
    """The eligible actual costs of an accepted final report by 費目: a line's eligible amount as
    staff set it, else the whole line when it was found eligible, else nothing."""
    totals: dict[str, int] = {}
    for cost in report.costs.all():
        if cost.eligible_amount is not None:
            eligible = cost.eligible_amount
        elif cost.verdict == CostVerdict.ACCEPTED:
            eligible = cost.amount
        else:
            eligible = 0
        totals[cost.category] = totals.get(cost.category, 0) + eligible
    return totals


def terms_for(award: Award) -> ConfirmationTerms | None:
    """The terms of the proposed confirmed amount, or None without an accepted final report."""
    report = accepted_final_report(award)
    if report is None:
        return None
    call = award.application.call
    budget = None
    if call.confirm_by_line:
        version = award.budget_in_force()
        budget = version.by_category() if version is not None else {}
    return calculations.confirmation_terms(
        granted=granted_left(award),  # the 交付決定額 less what was cancelled (article 17(1))
        eligible_by_category=eligible_by_category(report),
        rate_percent=call.subsidy_rate_percent,
        budget_by_category=budget,
    )


@dataclass(frozen=True)
class RefundDue:
    """What is due on a refund if it is paid back on ``on``."""

    on: dt.date
    amount: int
    additional_charge: int  # 加算金 (article 19(1)); only after a cancellation, never for a contract
    late_charge: int  # 延滞金 (article 19(2))

    @property
    def total(self) -> int:
        return self.amount + self.additional_charge + self.late_charge


def charges_additional(refund: Refund) -> bool:
    """Whether the refund bears 加算金: ordered after a cancellation (article 19(1)), of a subsidy."""
    return refund.cause == RefundCause.CANCELLATION and refund.award.application.call.is_subsidy


def refund_due(refund: Refund, *, on: dt.date) -> RefundDue:
    award = refund.award
    call = award.application.call
    rate = call.late_interest_percent
    additional = 0
    # 加算金 is owed on a return ordered in connection with a cancellation under article 17(1)
    # (article 19(1)); not on an overpayment returned after 額の確定 (article 18(2)), nor by a
    # contract (委託), which is not under the subsidies Act.
    if charges_additional(refund):
        paid = [(day, amount) for day, amount in receipts(award) if day <= on]
        if sum(amount for _day, amount in paid) >= refund.amount:
            additional = calculations.additional_charge(refund=refund.amount, receipts=paid, paid_on=on, rate=rate)
    late = calculations.late_charge(unpaid=refund.amount, due_on=refund.due_on, paid_on=on, rate=rate)
    return RefundDue(on=on, amount=refund.amount, additional_charge=additional, late_charge=late)


# --- checks ----------------------------------------------------------------------------------


def _check_staff(user: User) -> None:
    if not rules.test_rule("can_manage_awards", user):
        raise Refused(_("Only programme staff manage payments, 額の確定 and refunds."), code="forbidden")


def _check_member(user: User, award: Award) -> None:
    if not rules.test_rule("can_act_for_award", user, award):
        raise Refused(_("Only a member of the organisation may request an advance payment."), code="forbidden")


def _lock_award(award: Award) -> Award:
    return (
        Award.objects.select_for_update(of=("self",))
        .select_related("application__call", "application__organisation")
        .get(pk=award.pk)
    )


def _lock_payment(award: Award, payment: Payment) -> Payment:
    payment = Payment.objects.select_for_update(of=("self",)).select_related("decided_by").get(pk=payment.pk)
    if payment.award_id != award.pk:
        raise Refused(_("This payment is not one of this award's."), code="invalid")
    return payment


def _not_in_future(day: dt.date, what: str) -> None:
    if day > today():
        raise Refused(
            _("%(what)s cannot be later than today (%(today)s).") % {"what": what, "today": format_date(today())},
            code="date",
        )


def _already_decided(payment: Payment) -> Refused:
    """The refusal of a second decision on a payment: what the first one did, and who."""
    who = payment.decided_by.email if payment.decided_by else _("someone else")
    return Refused(
        _("This payment is already %(status)s (%(who)s); nothing was changed.")
        % {"status": payment.get_status_display(), "who": who},
        code="transition",
    )


def _call_id(award: Award) -> int:
    return award.application.call_id


# --- 概算払 ------------------------------------------------------------------------------------


@transaction.atomic
def advance_request(*, award: Award, amount: int, reason: str, by: User) -> Payment:
    """The organisation asks for an advance payment (概算払): allowed where the call allows
    advances, after the grant decision and before 額の確定; the advances requested, approved and
    paid together never above the 交付決定額 (refused with the figures)."""
    award = _lock_award(award)  # one request at a time: the total is checked under the lock
    _check_member(by, award)
    call = award.application.call
    if not call.advance_payments:
        raise Refused(_("This call does not make advance payments (概算払)."), code="not_allowed")
    if award.status not in ADVANCE_STEPS:
        raise Refused(
            _(
                "Advance payments may be requested after the grant decision and before the amount is "
                "confirmed; this award is at the step “%(step)s”."
            )
            % {"step": award.get_status_display()},
            code="step",
        )
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_("Give the reason for the advance payment."), code="reason")
    if amount is None or amount <= 0:
        raise Refused(_("Give the amount of the advance payment."), code="amount")
    counted = advances_counted(award) - ordered_back_on_cancellation(award)
    granted = granted_left(award)
    if counted + amount > granted:
        raise Refused(
            _(
                "Advance payments may not exceed the granted amount (交付決定額) in total: %(granted)s granted, "
                "%(counted)s already requested, approved or paid, so at most %(room)s more; %(amount)s was asked."
            )
            % {
                "granted": format_yen(granted),
                "counted": format_yen(counted),
                "room": format_yen(max(granted - counted, 0)),
                "amount": format_yen(amount),
            },
            code="over_granted",
        )
    # Created in its first state (creation is not a transition), and audited.
    payment = Payment.objects.create(
        award=award,
        kind=PaymentKind.ADVANCE,
        status=PaymentStatus.REQUESTED,
        amount=amount,
        reason=reason,
        requested_by=by,
        requested_at=timezone.now(),
    )
    record(
        payment,
        by=by,
        action="advance_requested",
        before={"status": None},
        after={"status": PaymentStatus.REQUESTED.value, "amount": amount},
        call_id=_call_id(award),
    )
    return payment


@transaction.atomic
def advance_approve(*, payment: Payment, scheduled_on: dt.date, by: User) -> Payment:
    """Staff approve a requested advance with the day it is to be paid (REQUESTED → APPROVED)."""
    _check_staff(by)
    award = _lock_award(payment.award)
    payment = _lock_payment(award, payment)
    if payment.kind != PaymentKind.ADVANCE:
        raise Refused(_("Only an advance payment is approved this way."), code="invalid")
    if payment.status != PaymentStatus.REQUESTED:
        raise _already_decided(payment)
    if award.status not in ADVANCE_STEPS:
        raise Refused(
            _("The amount of this award is already confirmed; the advance request can only be refused."),
            code="step",
        )
    if scheduled_on is None:
        raise Refused(_("Give the day the advance is to be paid."), code="date")
    payment.decided_by = by
    payment.decided_at = timezone.now()
    payment.scheduled_on = scheduled_on
    change_state(
        payment,
        PaymentStatus.APPROVED,
        by=by,
        action="advance_approved",
        update_fields=["decided_by", "decided_at", "scheduled_on"],
        after={"amount": payment.amount, "scheduled_on": scheduled_on.isoformat()},
        call_id=_call_id(award),
    )
    return payment


@transaction.atomic
def advance_refuse(*, payment: Payment, reason: str, by: User) -> Payment:
    """Staff refuse a requested advance, with the reason the organisation sees."""
    _check_staff(by)
    award = _lock_award(payment.award)
    payment = _lock_payment(award, payment)
    if payment.kind != PaymentKind.ADVANCE:
        raise Refused(_("Only an advance payment is refused this way."), code="invalid")
    if payment.status != PaymentStatus.REQUESTED:
        raise _already_decided(payment)
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_("Give the reason for refusing the advance payment."), code="reason")
    payment.decided_by = by
    payment.decided_at = timezone.now()
    payment.decision_note = reason
    change_state(
        payment,
        PaymentStatus.REFUSED,
        by=by,
        action="advance_refused",
        update_fields=["decided_by", "decided_at", "decision_note"],
        after={"reason": reason},
        call_id=_call_id(award),
    )
    return payment


@transaction.atomic
def payment_record_paid(*, payment: Payment, paid_on: dt.date, by: User) -> Payment:
    """Staff record an approved payment as paid, with the day (APPROVED → PAID). For the 精算払
    the award is closed in the same transaction (CONFIRMED → CLOSED)."""
    _check_staff(by)
    award = _lock_award(payment.award)
    payment = _lock_payment(award, payment)
    if payment.status == PaymentStatus.PAID:
        raise Refused(
            _("This payment was already recorded as paid on %(day)s; nothing was changed.")
            % {"day": format_date(payment.paid_on)},
            code="transition",
        )
    if payment.status != PaymentStatus.APPROVED:
        raise Refused(
            _("Only an approved payment can be recorded as paid; this one is %(status)s.")
            % {"status": payment.get_status_display()},
            code="transition",
        )
    if paid_on is None:
        raise Refused(_("Give the day the payment was made."), code="date")
    _not_in_future(paid_on, _("The day of payment"))
    payment.paid_on = paid_on
    change_state(
        payment,
        PaymentStatus.PAID,
        by=by,
        action="payment_paid",
        update_fields=["paid_on"],
        after={"amount": payment.amount, "paid_on": paid_on.isoformat()},
        call_id=_call_id(award),
    )
    if payment.kind == PaymentKind.SETTLEMENT:
        change_state(
            award,
            AwardStatus.CLOSED,
            by=by,
            action="award_closed",
            after={"paid_so_far": paid_so_far(award)},
            call_id=_call_id(award),
        )
    return payment


# --- 額の確定 (article 15) -----------------------------------------------------------------------


def _refuse_open_advances(award: Award, message: str) -> None:
    """Refuse while an advance payment (概算払) is requested or approved but not paid: ``message``
    (translated, with %(amount)s and %(status)s) once per such advance, so the sum that follows
    counts what was really paid."""
    open_advances = list(
        award.payments.filter(
            kind=PaymentKind.ADVANCE, status__in=(PaymentStatus.REQUESTED, PaymentStatus.APPROVED)
        ).order_by("id")
    )
    if open_advances:
        raise Refused(
            *(
                message % {"amount": format_yen(advance.amount), "status": advance.get_status_display()}
                for advance in open_advances
            ),
            code="open_advance",
        )


@transaction.atomic
def amount_confirm(*, award: Award, amount: int | None, scheduled_on: dt.date | None, by: User) -> Award:
    """額の確定: staff confirm the proposed amount or a lower one (never above the proposal) on an
    award whose final report is accepted (REPORT_ACCEPTED → CONFIRMED), and the 額の確定通知書 is
    issued. Then, by the balance (confirmed − paid so far): positive, a 精算払 is scheduled for
    ``scheduled_on`` (default in 30 days); zero, the award is closed; negative, staff issue the
    返還命令 from the page (refund_order).

    Refused while an advance is requested or approved but not paid: it must be decided or
    recorded as paid first, so that the balance is what was really paid."""
    _check_staff(by)
    award = _lock_award(award)
    if award.status == AwardStatus.CONFIRMED or award.confirmed_amount is not None:
        raise Refused(
            _("The amount of this award was already confirmed (%(amount)s on %(day)s); nothing was changed.")
            % {"amount": format_yen(award.confirmed_amount), "day": format_date(award.confirmed_on)},
            code="transition",
        )
    if award.status != AwardStatus.REPORT_ACCEPTED:
        raise Refused(
            _("The amount is confirmed once the final report is accepted; this award is at the step “%(step)s”.")
            % {"step": award.get_status_display()},
            code="step",
        )
    _refuse_open_advances(
        award,
        _(
            "The advance payment of %(amount)s is still %(status)s: decide on it or record it as paid "
            "before confirming the amount, so that the balance counts what was really paid."
        ),
    )
    terms = terms_for(award)
    if terms is None:
        raise Refused(_("This award has no accepted final report to confirm the amount from."), code="no_report")
    proposal = terms.proposal
    if amount is None:
        amount = proposal
    if amount < 0:
        raise Refused(_("The confirmed amount cannot be negative."), code="amount")
    if amount > proposal:
        raise Refused(
            _("The confirmed amount (%(amount)s) cannot exceed the proposal.") % {"amount": format_yen(amount)},
            describe_terms(terms),
            code="above_proposal",
        )
    paid = kept_so_far(award)  # less what was ordered back after a cancellation
    balance = amount - paid
    confirmed_on = today()
    award.confirmed_amount = amount
    award.confirmed_on = confirmed_on
    change_state(
        award,
        AwardStatus.CONFIRMED,
        by=by,
        action="amount_confirmed",
        update_fields=["confirmed_amount", "confirmed_on"],
        before={"confirmed_amount": None},
        after={"confirmed_amount": amount, "proposal": proposal, "paid_so_far": paid, "balance": balance},
        call_id=_call_id(award),
    )
    report = accepted_final_report(award)
    issue_letter(
        LetterKind.CONFIRMATION,
        application=award.application,
        award=award,
        details={
            "granted_amount": granted_left(award),
            "confirmed_amount": amount,
            "reported_on": report.submitted_at.astimezone(JST).date().isoformat(),
            "paid_so_far": paid,
            "balance": balance,
        },
        by=by,
    )
    if balance > 0:
        scheduled_on = scheduled_on or confirmed_on + dt.timedelta(days=SETTLEMENT_DAYS)
        # A settlement is created approved (its first state): 額の確定 is its decision.
        settlement = Payment.objects.create(
            award=award,
            kind=PaymentKind.SETTLEMENT,
            status=PaymentStatus.APPROVED,
            amount=balance,
            decided_by=by,
            decided_at=timezone.now(),
            scheduled_on=scheduled_on,
        )
        record(
            settlement,
            by=by,
            action="settlement_scheduled",
            before={"status": None},
            after={"status": PaymentStatus.APPROVED.value, "amount": balance, "scheduled_on": scheduled_on.isoformat()},
            call_id=_call_id(award),
        )
    elif balance == 0:
        change_state(
            award,
            AwardStatus.CLOSED,
            by=by,
            action="award_closed",
            after={"paid_so_far": paid},
            call_id=_call_id(award),
        )
    return award


def describe_terms(terms: ConfirmationTerms) -> str:
    """The proposal's terms in one sentence, with their figures (for refusals and the page)."""
    parts = [
        _("the granted amount (交付決定額) %(granted)s") % {"granted": format_yen(terms.granted)},
        _("the eligible costs %(eligible)s × the subsidy rate %(rate)s%% = %(by_rate)s")
        % {
            "eligible": format_yen(terms.eligible_total),
            "rate": terms.rate_percent,
            "by_rate": format_yen(terms.by_rate),
        },
    ]
    if terms.by_line is not None:
        parts.append(
            _("the eligible costs counted at most up to the budget in force for each category × the rate = %(by_line)s")
            % {"by_line": format_yen(terms.by_line)}
        )
    return _("The proposal is %(proposal)s, the smallest of: %(terms)s.") % {
        "proposal": format_yen(terms.proposal),
        "terms": "; ".join(parts),
    }


# --- 返還命令 (article 18) and the money returned (article 19) --------------------------------


@transaction.atomic
def refund_order(*, award: Award, due_on: dt.date | None, by: User) -> Refund:
    """返還命令 (article 18(2)): where more was paid than the confirmed amount, staff order the
    difference back with a due date (default in 20 days); CONFIRMED → REFUND_ORDERED, and the
    返還命令書 is issued (not for a contract: issue_letter returns None). The refund's cause is
    OVERPAYMENT: no 加算金, only 延滞金 when it is paid after the due date (article 19(2))."""
    _check_staff(by)
    award = _lock_award(award)
    existing = Refund.objects.filter(award=award).first()
    if existing is not None:
        raise Refused(
            _("A refund of %(amount)s was already ordered on %(day)s; nothing was changed.")
            % {"amount": format_yen(existing.amount), "day": format_date(existing.ordered_on)},
            code="transition",
        )
    if award.status != AwardStatus.CONFIRMED:
        raise Refused(
            _("A refund is ordered after the amount is confirmed; this award is at the step “%(step)s”.")
            % {"step": award.get_status_display()},
            code="step",
        )
    paid = paid_so_far(award)
    confirmed = award.confirmed_amount or 0
    if paid <= confirmed:
        raise Refused(
            _("Nothing is to be returned: %(paid)s paid, %(confirmed)s confirmed.")
            % {"paid": format_yen(paid), "confirmed": format_yen(confirmed)},
            code="nothing_to_return",
        )
    ordered_on = today()
    due_on = due_on or ordered_on + dt.timedelta(days=REFUND_DAYS)
    if due_on < ordered_on:
        raise Refused(
            _("The due date (%(due)s) cannot be before the order (%(today)s).")
            % {"due": format_date(due_on), "today": format_date(ordered_on)},
            code="date",
        )
    amount = paid - confirmed
    refund = Refund.objects.create(
        award=award,
        amount=amount,
        ordered_on=ordered_on,
        due_on=due_on,
        ordered_by=by,
        cause=RefundCause.OVERPAYMENT,
    )
    change_state(
        award,
        AwardStatus.REFUND_ORDERED,
        by=by,
        action="refund_ordered",
        after={"amount": amount, "due_on": due_on.isoformat(), "paid_so_far": paid, "confirmed_amount": confirmed},
        call_id=_call_id(award),
    )
    confirmation = award.letters.filter(kind=LetterKind.CONFIRMATION).order_by("-id").first()
    issue_letter(
        LetterKind.REFUND_ORDER,
        application=award.application,
        award=award,
        details={
            "amount": amount,
            "due_on": due_on.isoformat(),
            "rate": str(award.application.call.late_interest_percent),
            "confirmation_number": confirmation.document_number if confirmation else "",
            "confirmed_amount": confirmed,
            "paid_so_far": paid,
            "cause": RefundCause.OVERPAYMENT.value,
            "additional_charge": False,
        },
        by=by,
    )
    return refund


@transaction.atomic
def refund_receive(
    *,
    award: Award,
    received_on: dt.date,
    received_amount: int,
    waived: bool = False,
    note: str = "",
    by: User,
) -> Refund:
    """Staff record the money returned, in one payment: the amount must be what is due on that
    day — the amount ordered back + 加算金 (after a cancellation only) + 延滞金 as the portal
    computes them for that day (or the amount ordered back alone when the charges are waived,
    with a note saying why: article 19, やむを得ない事情). The charges computed are stored on the
    refund (0 when waived; the audit entry keeps what was waived); REFUND_ORDERED → CLOSED. The
    refund of a partial cancellation before 額の確定 leaves the award at its step (the entry is
    recorded without a state change)."""
    _check_staff(by)
    award = _lock_award(award)
    refund = Refund.objects.select_for_update().filter(award=award).first()
    if refund is not None and refund.received_on is not None:
        raise Refused(
            _("The money returned was already recorded on %(day)s; nothing was changed.")
            % {"day": format_date(refund.received_on)},
            code="transition",
        )
    if refund is None or (award.status != AwardStatus.REFUND_ORDERED and refund.cause != RefundCause.CANCELLATION):
        raise Refused(_("No refund has been ordered for this award."), code="step")
    if received_on is None or received_amount is None:
        raise Refused(_("Give the day the money was received and the amount."), code="invalid")
    _not_in_future(received_on, _("The day the money was received"))
    if received_on < refund.ordered_on:
        raise Refused(
            _("The day the money was received cannot be before the order (%(day)s).")
            % {"day": format_date(refund.ordered_on)},
            code="date",
        )
    note = (note or "").strip()
    if waived and not note:
        raise Refused(_("Say why the charges are waived (article 19: unavoidable reasons)."), code="note")
    due = refund_due(refund, on=received_on)
    expected = due.amount if waived else due.total
    if received_amount != expected:
        if charges_additional(refund):
            message = _(
                "The amount received (%(received)s) is not what is due on %(day)s: %(amount)s to return "
                "+ 加算金 %(additional)s + 延滞金 %(late)s = %(total)s%(waived)s."
            )
        else:
            message = _(
                "The amount received (%(received)s) is not what is due on %(day)s: %(amount)s to return "
                "+ 延滞金 %(late)s = %(total)s%(waived)s."
            )
        raise Refused(
            message
            % {
                "received": format_yen(received_amount),
                "day": format_date(received_on),
                "amount": format_yen(due.amount),
                "additional": format_yen(due.additional_charge),
                "late": format_yen(due.late_charge),
                "total": format_yen(due.total),
                "waived": (_(" (with the charges waived: %(amount)s)") % {"amount": format_yen(due.amount)})
                if waived
                else "",
            },
            code="amount",
        )
    refund.received_on = received_on
    refund.received_amount = received_amount
    refund.additional_charge = 0 if waived else due.additional_charge
    refund.late_charge = 0 if waived else due.late_charge
    refund.note = note
    refund.recorded_by = by
    refund.save(
        update_fields=["received_on", "received_amount", "additional_charge", "late_charge", "note", "recorded_by"]
    )
    after = {
        "received_amount": received_amount,
        "received_on": received_on.isoformat(),
        "cause": refund.cause,
        "additional_charge": refund.additional_charge,
        "late_charge": refund.late_charge,
        "waived": waived,
        "waived_charges": due.additional_charge + due.late_charge if waived else 0,
        "note": note,
    }
    if award.status == AwardStatus.REFUND_ORDERED:
        change_state(award, AwardStatus.CLOSED, by=by, action="refund_received", after=after, call_id=_call_id(award))
    else:  # a partial cancellation's refund: the award goes on at its step
        record(
            award, by=by, action="refund_received", before={"received_on": None}, after=after, call_id=_call_id(award)
        )
    return refund


def confirmation_letter(award: Award) -> Letter | None:
    return award.letters.filter(kind=LetterKind.CONFIRMATION).order_by("-id").first()


# --- 決定の取消 (article 17(1)) and the return it orders (article 18(1)) ------------------------


def _check_staff_cancels(user: User) -> None:
    if not rules.test_rule("can_manage_awards", user):
        raise Refused(_("Only programme staff cancel a grant decision."), code="forbidden")


@transaction.atomic
def grant_cancel(
    *,
    award: Award,
    amount: int | None,
    reason: str,
    due_on: dt.date | None = None,
    cancelled_before: int | None = None,
    by: User,
) -> Award:
    """決定の取消 (article 17(1)): staff cancel the grant decision in whole or in part (1 yen up to
    what remains granted), with the reason (use for another purpose, a condition violated …), on
    a GRANTED, REPORTED, REPORT_ACCEPTED or CONFIRMED award (article 17(3): also after 額の確定).

    Recorded on the award (cancelled_on, cancelled_amount in all, cancel_reason; audit
    "grant_cancelled") and notified by the 交付決定取消通知書 (article 17(4) applying article 8).
    What the organisation may keep is then the 交付決定額 left (granted − cancelled), or the
    confirmed amount where lower; when more was paid, the difference is ordered back in the same
    transaction (Refund with cause CANCELLATION, due ``due_on``, default in 20 days; 返還命令書
    under article 18(1), bearing 加算金 under article 19(1)).

    The award's step: a whole cancellation closes it (nothing paid) or moves it to REFUND_ORDERED
    (money to return); a partial one leaves it at its step with the lower ceiling (額の確定 and
    概算払 use granted − cancelled). After 額の確定 a scheduled 精算払 is reduced to what is still
    due, or withdrawn when nothing is (then the award is closed, or the refund ordered).

    ``cancelled_before`` (the amount cancelled the page showed): when given and another person
    cancelled meanwhile, refused so that one act gives one result.

    Refused (what is not modelled): while an advance is requested or approved but not paid (decide
    or pay it first); when a refund was already ordered for the award (one refund per award);
    after 額の確定 with an overpayment still to be ordered (article 18(2)) when the cancellation
    would reach below the confirmed amount (the two returns bear different charges)."""
    _check_staff_cancels(by)
    award = _lock_award(award)
    left = granted_left(award)
    if cancelled_before is not None and award.cancelled_amount != cancelled_before:
        raise Refused(
            _(
                "Meanwhile the grant decision was cancelled for %(cancelled)s in all (last on %(day)s); "
                "nothing was changed. Check the figures before cancelling again."
            )
            % {"cancelled": format_yen(award.cancelled_amount), "day": format_date(award.cancelled_on)},
            code="transition",
        )
    if award.status not in CANCEL_STEPS:
        if award.cancelled_on is not None and left == 0:
            raise Refused(
                _("The grant decision was already cancelled in whole on %(day)s; nothing was changed.")
                % {"day": format_date(award.cancelled_on)},
                code="transition",
            )
        raise Refused(
            _(
                "A grant decision is cancelled after it was made and before the award is settled; "
                "this award is at the step “%(step)s”."
            )
            % {"step": award.get_status_display()},
            code="step",
        )
    reason = (reason or "").strip()
    if not reason:
        raise Refused(
            _("Give the reason for the cancellation (for example: use for another purpose, a condition violated)."),
            code="reason",
        )
    if amount is None or amount < 1 or amount > left:
        raise Refused(
            _(
                "The amount cancelled must be at least ¥1 and at most what remains granted: %(granted)s granted, "
                "%(cancelled)s already cancelled, so at most %(left)s; %(amount)s was given."
            )
            % {
                "granted": format_yen(award.granted_amount or 0),
                "cancelled": format_yen(award.cancelled_amount),
                "left": format_yen(left),
                "amount": format_yen(amount or 0),
            },
            code="amount",
        )
    _refuse_open_advances(
        award,
        _(
            "The advance payment of %(amount)s is still %(status)s: decide on it or record it as paid "
            "before cancelling the grant decision, so that the refund counts what was really paid."
        ),
    )
    existing = Refund.objects.filter(award=award).first()
    if existing is not None:
        raise Refused(
            _(
                "A refund of %(amount)s was already ordered for this award on %(day)s; the portal orders one "
                "refund per award, so this cancellation cannot be recorded here."
            )
            % {"amount": format_yen(existing.amount), "day": format_date(existing.ordered_on)},
            code="refund_exists",
        )
    paid = paid_so_far(award)
    new_left = left - amount
    confirmed = award.confirmed_amount
    if confirmed is not None and paid > confirmed and new_left < confirmed:
        raise Refused(
            _(
                "More was paid than confirmed (%(paid)s paid, %(confirmed)s confirmed): that overpayment is "
                "returned under article 18(2) without 加算金, which a cancellation below the confirmed amount "
                "would mix with a return under article 18(1). Order the refund of the overpayment first; "
                "the portal does not record this cancellation."
            )
            % {"paid": format_yen(paid), "confirmed": format_yen(confirmed)},
            code="overpayment",
        )
    entitled = new_left if confirmed is None else min(confirmed, new_left)
    # What the cancellation takes back of the money paid. An overpayment after 額の確定 is not its
    # part (it stays for the 返還命令 of article 18(2); above, the cancellation does not reach it).
    overpaid = confirmed is not None and paid > confirmed
    to_return = 0 if overpaid else max(paid - entitled, 0)
    cancelled_on = today()
    if to_return:
        due_on = due_on or cancelled_on + dt.timedelta(days=REFUND_DAYS)
        if due_on < cancelled_on:
            raise Refused(
                _("The due date (%(due)s) cannot be before the order (%(today)s).")
                % {"due": format_date(due_on), "today": format_date(cancelled_on)},
                code="date",
            )
    whole = new_left == 0
    before = {
        "cancelled_amount": award.cancelled_amount,
        "cancelled_on": award.cancelled_on.isoformat() if award.cancelled_on else None,
    }
    award.cancelled_on = cancelled_on
    award.cancelled_amount += amount
    award.cancel_reason = reason
    award.save(update_fields=["cancelled_on", "cancelled_amount", "cancel_reason"])
    record(
        award,
        by=by,
        action="grant_cancelled",
        before=before,
        after={
            "amount": amount,
            "cancelled_amount": award.cancelled_amount,
            "cancelled_on": cancelled_on.isoformat(),
            "granted_left": new_left,
            "whole": whole,
            "reason": reason,
            "paid_so_far": paid,
            "to_return": to_return,
        },
        call_id=_call_id(award),
    )
    decision = award.letters.filter(kind=LetterKind.GRANT_DECISION).order_by("-id").first()
    cancellation = issue_letter(
        LetterKind.CANCELLATION,
        application=award.application,
        award=award,
        details={
            "cancelled_on": cancelled_on.isoformat(),
            "amount": amount,
            "reason": reason,
            "granted_amount": award.granted_amount or 0,
            "cancelled_before": before["cancelled_amount"],
            "granted_after": new_left,
            "whole": whole,
            "decision_number": decision.document_number if decision else "",
            "decided_on": award.granted_on.isoformat() if award.granted_on else "",
            "confirmed_amount": confirmed,
            "paid_so_far": paid,
            "to_return": to_return,
        },
        by=by,
    )
    # After 額の確定: the scheduled 精算払 is what is still due, or nothing.
    settlement_withdrawn = False
    if confirmed is not None:
        for settlement in award.payments.select_for_update().filter(
            kind=PaymentKind.SETTLEMENT, status=PaymentStatus.APPROVED
        ):
            still_due = entitled - paid
            if still_due > 0:
                if settlement.amount != still_due:
                    old = settlement.amount
                    settlement.amount = still_due
                    settlement.save(update_fields=["amount"])
                    record(
                        settlement,
                        by=by,
                        action="settlement_reduced",
                        before={"amount": old},
                        after={"amount": still_due},
                        call_id=_call_id(award),
                    )
            else:
                settlement.decision_note = _("Withdrawn: the grant decision was cancelled (article 17(1)).")
                change_state(
                    settlement,
                    PaymentStatus.REFUSED,
                    by=by,
                    action="settlement_withdrawn",
                    update_fields=["decision_note"],
                    after={"amount": settlement.amount, "reason": "grant_cancelled"},
                    call_id=_call_id(award),
                )
                settlement_withdrawn = True
    if to_return:
        refund = Refund.objects.create(
            award=award,
            amount=to_return,
            ordered_on=cancelled_on,
            due_on=due_on,
            ordered_by=by,
            cause=RefundCause.CANCELLATION,
        )
        if whole or confirmed is not None:
            change_state(
                award,
                AwardStatus.REFUND_ORDERED,
                by=by,
                action="refund_ordered",
                after={
                    "amount": to_return,
                    "due_on": due_on.isoformat(),
                    "paid_so_far": paid,
                    "cause": RefundCause.CANCELLATION.value,
                },
                call_id=_call_id(award),
            )
        else:  # a partial cancellation before 額の確定: the award goes on at its step
            record(
                refund,
                by=by,
                action="refund_ordered",
                before={"status": None},
                after={"amount": to_return, "due_on": due_on.isoformat(), "cause": RefundCause.CANCELLATION.value},
                call_id=_call_id(award),
            )
        confirmation = confirmation_letter(award)
        issue_letter(
            LetterKind.REFUND_ORDER,
            application=award.application,
            award=award,
            details={
                "amount": to_return,
                "due_on": due_on.isoformat(),
                "rate": str(award.application.call.late_interest_percent),
                "confirmation_number": confirmation.document_number if confirmation else "",
                "confirmed_amount": confirmed or 0,
                "paid_so_far": paid,
                "cause": RefundCause.CANCELLATION.value,
                "additional_charge": True,
                "cancellation_number": cancellation.document_number if cancellation else "",
                "cancelled_on": cancelled_on.isoformat(),
                "entitled_amount": entitled,
            },
            by=by,
        )
    elif whole or settlement_withdrawn:
        # Nothing paid beyond what remains (for a whole cancellation: nothing paid at all).
        change_state(
            award,
            AwardStatus.CLOSED,
            by=by,
            action="award_closed",
            after={"paid_so_far": paid, "cause": "grant_cancelled"},
            call_id=_call_id(award),
        )
    return award
