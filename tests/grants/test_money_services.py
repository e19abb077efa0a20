"""The services of 概算払, 額の確定, 精算払, 返還命令 and the money returned: each rule at its boundary,
each refusal's message, each state change's audit entry, the letters, and double action."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone, translation

from accounts.models import Role
from grants import money_steps
from grants.models import (
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
    ReportCost,
    ReportKind,
    ReportStatus,
)
from kodoku_portal.audit import describe
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from tests.factories import UserFactory, enable_totp
from tests.grants.lifecycle import award_at

pytestmark = pytest.mark.django_db

TODAY = lambda: money_steps.today()  # noqa: E731 - JST today, as the services see it


def entries(obj, action):
    return list(
        AuditEntry.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk), action=action).order_by("id")
    )


def final_report(case, costs, *, status=ReportStatus.ACCEPTED):
    """An accepted final report with cost lines (category, amount, verdict, eligible_amount)."""
    now = timezone.now()
    report = Report.objects.create(
        award=case.award,
        kind=ReportKind.FINAL,
        status=status,
        activities="講座を6回開催",
        participants=120,
        results="受講者の9割が満足",
        submitted_by=case.member,
        submitted_at=now - dt.timedelta(days=5),
        reviewed_by=case.staff,
        reviewed_at=now - dt.timedelta(days=1),
    )
    for position, (category, amount, verdict, eligible) in enumerate(costs):
        ReportCost.objects.create(
            report=report,
            position=position,
            category=category,
            description=category,
            amount=amount,
            verdict=verdict,
            eligible_amount=eligible,
        )
    return report


def paid(case, amount, day, kind=PaymentKind.ADVANCE):
    return Payment.objects.create(
        award=case.award, kind=kind, status=PaymentStatus.PAID, amount=amount, paid_on=day, scheduled_on=day
    )


# The budget in force of award_at: honoraria 300,000, travel 200,000, rent 400,000, supplies 600,000.
ALL_ELIGIBLE = [
    ("honoraria", 300_000, CostVerdict.ACCEPTED, None),
    ("travel", 200_000, CostVerdict.ACCEPTED, None),
    ("rental", 400_000, CostVerdict.ACCEPTED, None),
    ("supplies", 600_000, CostVerdict.ACCEPTED, None),
]


def other_staff():
    user = UserFactory(role=Role.STAFF)
    enable_totp(user)
    return user


# --- 概算払 ------------------------------------------------------------------------------------


def test_an_advance_up_to_the_granted_amount_is_accepted_and_one_yen_more_refused():
    case = award_at(AwardStatus.GRANTED)  # granted 1,500,000
    first = money_steps.advance_request(award=case.award, amount=1_000_000, reason="講師謝金の前払", by=case.member)
    assert (first.kind, first.status, first.amount) == (PaymentKind.ADVANCE, PaymentStatus.REQUESTED, 1_000_000)
    with pytest.raises(Refused) as refused, translation.override("en"):
        money_steps.advance_request(award=case.award, amount=500_001, reason="会場費", by=case.member)
    assert refused.value.code == "over_granted"
    message = refused.value.message
    assert "¥1,500,000 granted" in message and "¥1,000,000 already" in message
    assert "at most ¥500,000 more" in message and "¥500,001 was asked" in message
    last = money_steps.advance_request(award=case.award, amount=500_000, reason="会場費", by=case.member)
    assert last.amount == 500_000
    assert money_steps.advance_room(case.award) == 0


def test_a_refused_advance_no_longer_counts():
    case = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=case.award, amount=1_500_000, reason="全額", by=case.member)
    money_steps.advance_refuse(payment=payment, reason="分割してください", by=case.staff)
    assert money_steps.advance_room(case.award) == 1_500_000


def test_an_advance_request_is_audited():
    case = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=case.award, amount=300_000, reason="前払", by=case.member)
    [entry] = entries(payment, "advance_requested")
    assert entry.actor == case.member and entry.call_id == case.call.pk
    assert entry.after == {"status": "requested", "amount": 300_000}
    with translation.override("en"):
        assert "¥300,000" in describe(entry)


@pytest.mark.parametrize(
    "status", [AwardStatus.ADOPTED, AwardStatus.ACCEPTED, AwardStatus.CONFIRMED, AwardStatus.CLOSED]
)
def test_no_advance_before_the_grant_decision_or_after_the_confirmation(status):
    case = award_at(status)
    with pytest.raises(Refused) as refused:
        money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    assert refused.value.code == "step"


@pytest.mark.parametrize("status", [AwardStatus.GRANTED, AwardStatus.REPORTED, AwardStatus.REPORT_ACCEPTED])
def test_advances_are_requested_between_the_grant_decision_and_the_confirmation(status):
    case = award_at(status)
    assert money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member).pk


def test_no_advance_where_the_call_makes_none():
    case = award_at(AwardStatus.GRANTED, advance_payments=False)
    with pytest.raises(Refused) as refused:
        money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    assert refused.value.code == "not_allowed"


def test_a_contract_call_may_make_advances():
    case = award_at(AwardStatus.GRANTED, funding_kind="contract")
    assert money_steps.advance_request(award=case.award, amount=100, reason="前払", by=case.member).pk


def test_only_a_member_requests_and_only_staff_decide():
    case = award_at(AwardStatus.GRANTED)
    with pytest.raises(Refused) as refused:
        money_steps.advance_request(award=case.award, amount=1, reason="前払", by=UserFactory())
    assert refused.value.code == "forbidden"
    payment = money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    for someone in (case.member, UserFactory(role=Role.REVIEWER)):
        with pytest.raises(Refused) as refused:
            money_steps.advance_approve(payment=payment, scheduled_on=TODAY(), by=someone)
        assert refused.value.code == "forbidden"


def test_approve_then_pay_an_advance_with_audit_entries():
    case = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=case.award, amount=400_000, reason="前払", by=case.member)
    day = TODAY() + dt.timedelta(days=7)
    money_steps.advance_approve(payment=payment, scheduled_on=day, by=case.staff)
    payment.refresh_from_db()
    assert (payment.status, payment.scheduled_on, payment.decided_by) == (PaymentStatus.APPROVED, day, case.staff)
    [approved] = entries(payment, "advance_approved")
    assert approved.before == {"status": "requested"}
    assert approved.after == {"status": "approved", "amount": 400_000, "scheduled_on": day.isoformat()}
    money_steps.payment_record_paid(payment=payment, paid_on=TODAY(), by=case.staff)
    payment.refresh_from_db()
    assert (payment.status, payment.paid_on) == (PaymentStatus.PAID, TODAY())
    [paid_entry] = entries(payment, "payment_paid")
    assert paid_entry.after["status"] == "paid" and paid_entry.call_id == case.call.pk
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.GRANTED  # an advance does not move the award


def test_a_payment_cannot_be_recorded_paid_in_the_future():
    case = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    money_steps.advance_approve(payment=payment, scheduled_on=TODAY(), by=case.staff)
    with pytest.raises(Refused) as refused:
        money_steps.payment_record_paid(payment=payment, paid_on=TODAY() + dt.timedelta(days=1), by=case.staff)
    assert refused.value.code == "date"


def test_refusing_needs_a_reason_and_is_audited():
    case = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    with pytest.raises(Refused):
        money_steps.advance_refuse(payment=payment, reason="  ", by=case.staff)
    money_steps.advance_refuse(payment=payment, reason="根拠資料が不足", by=case.staff)
    payment.refresh_from_db()
    assert (payment.status, payment.decision_note) == (PaymentStatus.REFUSED, "根拠資料が不足")
    [entry] = entries(payment, "advance_refused")
    assert entry.after == {"status": "refused", "reason": "根拠資料が不足"}


def test_two_staff_deciding_the_same_advance_give_one_result():
    case = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    money_steps.advance_approve(payment=payment, scheduled_on=TODAY(), by=case.staff)
    second = other_staff()
    with pytest.raises(Refused) as refused, translation.override("en"):
        money_steps.advance_refuse(payment=payment, reason="遅れて", by=second)
    assert refused.value.code == "transition"
    assert "already Approved, scheduled" in refused.value.message and case.staff.email in refused.value.message
    with pytest.raises(Refused):
        money_steps.advance_approve(payment=payment, scheduled_on=TODAY(), by=second)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.APPROVED and payment.decided_by == case.staff
    assert len(entries(payment, "advance_approved")) == 1 and entries(payment, "advance_refused") == []


def test_recording_a_payment_twice_is_refused_with_the_day():
    case = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    money_steps.advance_approve(payment=payment, scheduled_on=TODAY(), by=case.staff)
    money_steps.payment_record_paid(payment=payment, paid_on=TODAY(), by=case.staff)
    with pytest.raises(Refused) as refused:
        money_steps.payment_record_paid(payment=payment, paid_on=TODAY(), by=other_staff())
    assert refused.value.code == "transition"
    assert len(entries(payment, "payment_paid")) == 1


@pytest.mark.django_db(transaction=True)
def test_two_staff_approving_at_the_same_moment_give_one_result():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    case = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    staff = [case.staff, other_staff()]
    barrier = threading.Barrier(2)
    done, refusals, errors = [], [], []

    def approve(user):
        try:
            barrier.wait()
            money_steps.advance_approve(payment=payment, scheduled_on=TODAY(), by=user)
            done.append(user)
        except Refused as refused:
            refusals.append(refused)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in staff]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(done) == 1 and len(refusals) == 1
    assert refusals[0].code == "transition"
    assert len(entries(payment, "advance_approved")) == 1


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_the_same_moment_never_exceed_the_granted_amount():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    case = award_at(AwardStatus.GRANTED)  # 1,500,000 granted
    barrier = threading.Barrier(2)
    done, refusals, errors = [], [], []

    def request():
        try:
            barrier.wait()
            done.append(money_steps.advance_request(award=case.award, amount=1_000_000, reason="前払", by=case.member))
        except Refused as refused:
            refusals.append(refused)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(done) == 1 and [r.code for r in refusals] == ["over_granted"]


# --- 額の確定 ------------------------------------------------------------------------------------


def test_confirm_at_the_proposal_issues_the_letter_and_schedules_the_settlement():
    case = award_at(AwardStatus.REPORT_ACCEPTED)  # granted 1,500,000
    report = final_report(
        case,
        [
            ("honoraria", 300_000, CostVerdict.ACCEPTED, None),
            ("travel", 200_000, CostVerdict.ACCEPTED, 150_000),  # eligible part set by staff
            ("rental", 400_000, CostVerdict.NOT_ELIGIBLE, None),  # counts nothing
            ("supplies", 600_000, CostVerdict.ACCEPTED, None),
        ],
    )
    paid(case, 500_000, dt.date(2025, 8, 1))
    award = money_steps.amount_confirm(award=case.award, amount=None, scheduled_on=None, by=case.staff)
    assert (award.status, award.confirmed_amount, award.confirmed_on) == (
        AwardStatus.CONFIRMED,
        1_050_000,
        TODAY(),
    )
    [entry] = entries(award, "amount_confirmed")
    assert entry.before == {"status": "report_accepted", "confirmed_amount": None}
    assert entry.after == {
        "status": "confirmed",
        "confirmed_amount": 1_050_000,
        "proposal": 1_050_000,
        "paid_so_far": 500_000,
        "balance": 550_000,
    }
    [letter] = Letter.objects.filter(award=award, kind=LetterKind.CONFIRMATION)
    assert letter.details == {
        "granted_amount": 1_500_000,
        "confirmed_amount": 1_050_000,
        "reported_on": report.submitted_at.astimezone(money_steps.JST).date().isoformat(),
        "paid_so_far": 500_000,
        "balance": 550_000,
    }
    [settlement] = Payment.objects.filter(award=award, kind=PaymentKind.SETTLEMENT)
    assert (settlement.status, settlement.amount, settlement.scheduled_on) == (
        PaymentStatus.APPROVED,
        550_000,
        TODAY() + dt.timedelta(days=30),
    )
    assert entries(settlement, "settlement_scheduled")[0].after["amount"] == 550_000


def test_the_proposal_is_the_granted_amount_when_it_binds():
    case = award_at(AwardStatus.REPORT_ACCEPTED, granted_amount=1_000_000)
    final_report(case, ALL_ELIGIBLE)  # 1,500,000 eligible
    terms = money_steps.terms_for(case.award)
    assert (terms.granted, terms.by_rate, terms.by_line, terms.binding) == (1_000_000, 1_500_000, None, "granted")
    award = money_steps.amount_confirm(award=case.award, amount=None, scheduled_on=None, by=case.staff)
    assert award.confirmed_amount == 1_000_000


def test_the_proposal_is_the_costs_times_the_rate_when_it_binds():
    case = award_at(AwardStatus.REPORT_ACCEPTED, subsidy_rate_percent=50)
    final_report(case, ALL_ELIGIBLE)  # 1,500,000 × 50% = 750,000
    terms = money_steps.terms_for(case.award)
    assert (terms.proposal, terms.binding) == (750_000, "by_rate")
    award = money_steps.amount_confirm(award=case.award, amount=None, scheduled_on=None, by=case.staff)
    assert award.confirmed_amount == 750_000


def test_the_proposal_is_the_budget_line_by_line_when_it_binds():
    case = award_at(AwardStatus.REPORT_ACCEPTED, confirm_by_line=True)
    # rent 550,000 spent against a budget of 400,000; supplies 450,000 of 600,000.
    final_report(
        case,
        [
            ("honoraria", 300_000, CostVerdict.ACCEPTED, None),
            ("travel", 200_000, CostVerdict.ACCEPTED, None),
            ("rental", 550_000, CostVerdict.ACCEPTED, None),
            ("supplies", 450_000, CostVerdict.ACCEPTED, None),
        ],
    )
    terms = money_steps.terms_for(case.award)
    # granted 1,500,000; by rate 1,500,000; by line 300,000 + 200,000 + 400,000 + 450,000 = 1,350,000
    assert (terms.granted, terms.by_rate, terms.by_line, terms.binding) == (1_500_000, 1_500_000, 1_350_000, "by_line")
    award = money_steps.amount_confirm(award=case.award, amount=None, scheduled_on=None, by=case.staff)
    assert award.confirmed_amount == 1_350_000


def test_above_the_proposal_is_refused_with_the_three_terms():
    case = award_at(AwardStatus.REPORT_ACCEPTED, confirm_by_line=True, subsidy_rate_percent=90)
    final_report(case, ALL_ELIGIBLE)
    with pytest.raises(Refused) as refused, translation.override("en"):
        money_steps.amount_confirm(award=case.award, amount=1_350_001, scheduled_on=None, by=case.staff)
    assert refused.value.code == "above_proposal"
    text = " ".join(refused.value.messages)
    assert "(¥1,350,001) cannot exceed the proposal" in text
    assert "The proposal is ¥1,350,000" in text
    assert "granted amount (交付決定額) ¥1,500,000" in text
    assert "¥1,500,000 × the subsidy rate 90% = ¥1,350,000" in text
    assert "budget in force for each category × the rate = ¥1,350,000" in text
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.REPORT_ACCEPTED
    assert not Letter.objects.filter(award=case.award).exists()


def test_a_lower_amount_than_the_proposal_may_be_confirmed():
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    final_report(case, ALL_ELIGIBLE)
    award = money_steps.amount_confirm(award=case.award, amount=1_200_000, scheduled_on=None, by=case.staff)
    assert award.confirmed_amount == 1_200_000


def test_a_zero_balance_closes_the_award():
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    final_report(case, ALL_ELIGIBLE)
    paid(case, 1_500_000, dt.date(2025, 8, 1))
    award = money_steps.amount_confirm(award=case.award, amount=None, scheduled_on=None, by=case.staff)
    assert award.status == AwardStatus.CLOSED
    assert not Payment.objects.filter(award=award, kind=PaymentKind.SETTLEMENT).exists()
    [closed] = entries(award, "award_closed")
    assert closed.before == {"status": "confirmed"} and closed.after == {"status": "closed", "paid_so_far": 1_500_000}
    assert Letter.objects.get(award=award, kind=LetterKind.CONFIRMATION).details["balance"] == 0


def test_a_negative_balance_waits_for_the_refund_order():
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    final_report(case, [("rental", 400_000, CostVerdict.ACCEPTED, None)])
    paid(case, 1_000_000, dt.date(2025, 8, 1))
    award = money_steps.amount_confirm(award=case.award, amount=None, scheduled_on=None, by=case.staff)
    assert (award.status, award.confirmed_amount) == (AwardStatus.CONFIRMED, 400_000)
    assert Letter.objects.get(award=award, kind=LetterKind.CONFIRMATION).details["balance"] == -600_000
    assert not Refund.objects.filter(award=award).exists()


def test_confirmation_waits_for_an_approved_advance_to_be_paid():
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    final_report(case, ALL_ELIGIBLE)
    payment = money_steps.advance_request(award=case.award, amount=300_000, reason="前払", by=case.member)
    money_steps.advance_approve(payment=payment, scheduled_on=TODAY(), by=case.staff)
    with pytest.raises(Refused) as refused, translation.override("en"):
        money_steps.amount_confirm(award=case.award, amount=None, scheduled_on=None, by=case.staff)
    assert refused.value.code == "open_advance"
    assert "¥300,000 is still Approved, scheduled" in refused.value.message
    assert "record it as paid" in refused.value.message


def test_confirmation_needs_an_accepted_final_report():
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    final_report(case, ALL_ELIGIBLE, status=ReportStatus.RETURNED)
    with pytest.raises(Refused) as refused:
        money_steps.amount_confirm(award=case.award, amount=None, scheduled_on=None, by=case.staff)
    assert refused.value.code == "no_report"


def test_confirming_twice_gives_one_result():
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    final_report(case, ALL_ELIGIBLE)
    money_steps.amount_confirm(award=case.award, amount=None, scheduled_on=None, by=case.staff)
    with pytest.raises(Refused) as refused, translation.override("en"):
        money_steps.amount_confirm(award=case.award, amount=1, scheduled_on=None, by=other_staff())
    assert refused.value.code == "transition" and "already confirmed (¥1,500,000" in refused.value.message
    assert Letter.objects.filter(award=case.award, kind=LetterKind.CONFIRMATION).count() == 1
    assert Payment.objects.filter(award=case.award, kind=PaymentKind.SETTLEMENT).count() == 1


def test_the_settlement_paid_closes_the_award_in_the_same_step():
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    final_report(case, ALL_ELIGIBLE)
    day = TODAY() + dt.timedelta(days=10)
    money_steps.amount_confirm(award=case.award, amount=None, scheduled_on=day, by=case.staff)
    settlement = Payment.objects.get(award=case.award, kind=PaymentKind.SETTLEMENT)
    assert settlement.scheduled_on == day
    money_steps.payment_record_paid(payment=settlement, paid_on=TODAY(), by=case.staff)
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.CLOSED
    assert len(entries(case.award, "award_closed")) == 1
    assert entries(settlement, "payment_paid")[0].after["amount"] == 1_500_000


# --- 返還命令 and the money returned ---------------------------------------------------------------


def confirmed_with_overpayment(**settings):
    """Confirmed at 900,000 with 1,200,000 paid in two advances (700,000 on 1 Aug, 500,000 on
    1 Oct 2025): 300,000 to return."""
    case = award_at(AwardStatus.REPORT_ACCEPTED, **settings)
    final_report(
        case, [("rental", 400_000, CostVerdict.ACCEPTED, None), ("supplies", 500_000, CostVerdict.ACCEPTED, None)]
    )
    paid(case, 700_000, dt.date(2025, 8, 1))
    paid(case, 500_000, dt.date(2025, 10, 1))
    money_steps.amount_confirm(award=case.award, amount=None, scheduled_on=None, by=case.staff)
    case.award.refresh_from_db()
    return case


def test_the_refund_ordered_is_paid_less_confirmed_with_its_letter():
    case = confirmed_with_overpayment()
    due = TODAY() + dt.timedelta(days=25)
    refund = money_steps.refund_order(award=case.award, due_on=due, by=case.staff)
    assert (refund.amount, refund.ordered_on, refund.due_on) == (300_000, TODAY(), due)
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.REFUND_ORDERED
    [entry] = entries(case.award, "refund_ordered")
    assert entry.after["amount"] == 300_000 and entry.before == {"status": "confirmed"}
    confirmation = Letter.objects.get(award=case.award, kind=LetterKind.CONFIRMATION)
    [letter] = Letter.objects.filter(award=case.award, kind=LetterKind.REFUND_ORDER)
    assert letter.details == {
        "amount": 300_000,
        "due_on": due.isoformat(),
        "rate": "10.95",
        "confirmation_number": confirmation.document_number,
        "confirmed_amount": 900_000,
        "paid_so_far": 1_200_000,
        "cause": "overpayment",
        "additional_charge": False,
    }
    assert refund.cause == RefundCause.OVERPAYMENT


def test_the_refund_is_due_in_20_days_by_default():
    case = confirmed_with_overpayment()
    refund = money_steps.refund_order(award=case.award, due_on=None, by=case.staff)
    assert refund.due_on == TODAY() + dt.timedelta(days=20)


def test_a_contract_refund_has_no_letter_and_no_additional_charge():
    case = confirmed_with_overpayment(funding_kind="contract")
    refund = money_steps.refund_order(award=case.award, due_on=None, by=case.staff)
    assert not Letter.objects.filter(award=case.award, kind=LetterKind.REFUND_ORDER).exists()
    due = money_steps.refund_due(refund, on=TODAY())
    assert due.additional_charge == 0 and due.total == 300_000


def test_no_refund_when_nothing_was_overpaid():
    case = award_at(AwardStatus.CONFIRMED, confirmed_amount=1_000_000)
    paid(case, 1_000_000, dt.date(2025, 8, 1))
    with pytest.raises(Refused) as refused, translation.override("en"):
        money_steps.refund_order(award=case.award, due_on=None, by=case.staff)
    assert refused.value.code == "nothing_to_return"
    assert "¥1,000,000 paid, ¥1,000,000 confirmed" in refused.value.message


def test_ordering_twice_gives_one_refund():
    case = confirmed_with_overpayment()
    money_steps.refund_order(award=case.award, due_on=None, by=case.staff)
    with pytest.raises(Refused) as refused:
        money_steps.refund_order(award=case.award, due_on=None, by=other_staff())
    assert refused.value.code == "transition"
    assert Letter.objects.filter(award=case.award, kind=LetterKind.REFUND_ORDER).count() == 1


def ordered(case, *, ordered_on, due_on):
    """A refund ordered on a given day in the past (built directly: the service orders today)."""
    refund = money_steps.refund_order(award=case.award, due_on=None, by=case.staff)
    Refund.objects.filter(pk=refund.pk).update(ordered_on=ordered_on, due_on=due_on)
    refund.refresh_from_db()
    return refund


def test_an_overpayment_returned_late_bears_late_charge_only_and_closes_the_award():
    """A return ordered after 額の確定 (article 18(2)) bears no 加算金 (article 19(1) attaches it
    only to a return after a cancellation under article 17(1)); paid late, 延滞金 (19(2))."""
    case = confirmed_with_overpayment()
    refund = ordered(case, ordered_on=dt.date(2026, 4, 1), due_on=dt.date(2026, 4, 21))
    received_on = dt.date(2026, 5, 1)  # 10 days late
    # No 加算金 (even though the money was received on 1 Oct 2025: 213 days would have been 19,170).
    # 延滞金: 22 April to 1 May = 10 days; 300,000 × 10.95% × 10 / 365 = 300,000 × 0.0003 × 10 = 900.
    due = money_steps.refund_due(refund, on=received_on)
    assert (due.additional_charge, due.late_charge, due.total) == (0, 900, 300_900)
    with pytest.raises(Refused) as refused, translation.override("en"):
        money_steps.refund_receive(award=case.award, received_on=received_on, received_amount=300_000, by=case.staff)
    assert refused.value.code == "amount"
    assert "¥300,000 to return + 延滞金 ¥900 = ¥300,900" in refused.value.message
    assert "加算金" not in refused.value.message
    refund = money_steps.refund_receive(
        award=case.award, received_on=received_on, received_amount=300_900, by=case.staff
    )
    assert (refund.received_on, refund.received_amount, refund.additional_charge, refund.late_charge) == (
        received_on,
        300_900,
        0,
        900,
    )
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.CLOSED
    [entry] = entries(case.award, "refund_received")
    assert entry.before == {"status": "refund_ordered"}
    assert entry.after["received_amount"] == 300_900 and entry.after["additional_charge"] == 0
    assert entry.after["cause"] == "overpayment"


def test_returned_by_the_due_date_bears_no_late_charge():
    case = confirmed_with_overpayment()
    refund = ordered(case, ordered_on=dt.date(2026, 4, 1), due_on=dt.date(2026, 4, 21))
    due = money_steps.refund_due(refund, on=dt.date(2026, 4, 21))
    # an overpayment (article 18(2)): no 加算金, and no 延滞金 on the due date itself
    assert (due.additional_charge, due.late_charge, due.total) == (0, 0, 300_000)
    one_day_late = money_steps.refund_due(refund, on=dt.date(2026, 4, 22))
    assert one_day_late.late_charge == 90  # 300,000 × 10.95% / 365


def test_waived_charges_need_a_note_and_take_the_amount_alone():
    case = confirmed_with_overpayment()
    ordered(case, ordered_on=dt.date(2026, 4, 1), due_on=dt.date(2026, 4, 21))
    with pytest.raises(Refused) as refused:
        money_steps.refund_receive(
            award=case.award,
            received_on=dt.date(2026, 5, 1),
            received_amount=300_000,
            waived=True,
            note="",
            by=case.staff,
        )
    assert refused.value.code == "note"
    refund = money_steps.refund_receive(
        award=case.award,
        received_on=dt.date(2026, 5, 1),
        received_amount=300_000,
        waived=True,
        note="災害により納付が遅れたため免除",
        by=case.staff,
    )
    assert (refund.additional_charge, refund.late_charge, refund.note) == (0, 0, "災害により納付が遅れたため免除")
    [entry] = entries(case.award, "refund_received")
    assert entry.after["waived"] is True and entry.after["waived_charges"] == 900


def test_recording_the_money_returned_twice_is_refused():
    case = confirmed_with_overpayment()
    refund = ordered(case, ordered_on=TODAY(), due_on=TODAY())
    due = money_steps.refund_due(refund, on=TODAY())
    money_steps.refund_receive(award=case.award, received_on=TODAY(), received_amount=due.total, by=case.staff)
    with pytest.raises(Refused) as refused:
        money_steps.refund_receive(award=case.award, received_on=TODAY(), received_amount=due.total, by=other_staff())
    assert refused.value.code == "transition"
    assert len(entries(case.award, "refund_received")) == 1


def test_the_rate_is_the_calls():
    case = confirmed_with_overpayment(late_interest_percent=Decimal("5.00"))
    refund = ordered(case, ordered_on=dt.date(2026, 4, 1), due_on=dt.date(2026, 4, 21))
    # 300,000 × 5% × 10 / 365 = 410.95… → 410
    assert money_steps.refund_due(refund, on=dt.date(2026, 5, 1)).late_charge == 410
